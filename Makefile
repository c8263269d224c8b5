# The README's commands: `make run` and `make test`. Everything lives in .venv; nothing global changes
# except that `make run` starts a local redis-server when no Redis answers and one is installed.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: install run test lint bench soak clean

$(STAMP): pyproject.toml
	@$(PYTHON) -c 'import sys; sys.exit(sys.version_info < (3, 11))' || \
		{ echo "xingtu-worker needs Python 3.11 or newer; run e.g. make PYTHON=python3.12 $(MAKECMDGOALS)"; exit 1; }
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --disable-pip-version-check -e '.[test]'
	@touch $@

install: $(STAMP)

run: install
	$(BIN)/xingtu db upgrade
	@.ci/ensure-redis
	exec $(BIN)/xingtu worker

test: install
	$(BIN)/pytest $(PYTEST_ARGS)

lint: install
	$(BIN)/ruff check .

# Not part of the tests: minutes of load against the local PostgreSQL and Redis (see bench/__main__.py).
bench: install
	@$(BIN)/pip install --quiet --disable-pip-version-check -e '.[bench]'
	@$(BIN)/python -m bench

# The stateful property test at 20,000 examples of up to 50 steps instead of CI's 500 of up to 40
# (by extrapolation about an hour and a half on 2 cores); `make soak EXAMPLES=5000` for a shorter one.
EXAMPLES ?= 20000
soak: install
	XINGTU_HYPOTHESIS_PROFILE=soak XINGTU_HYPOTHESIS_EXAMPLES=$(EXAMPLES) $(BIN)/pytest tests/properties $(PYTEST_ARGS)

clean:
	rm -rf $(VENV) *.egg-info .pytest_cache
