"""Alembic migrations, shipped inside the package so ``xingtu db upgrade`` works from any install."""

from pathlib import Path

SCRIPT_LOCATION = str(Path(__file__).parent)
# The newest revision, so that checking a database's schema (every command does) needs no scan of the
# revision files; tests/integration/test_schema.py fails when a new revision does not move it here.
HEAD = "0005"
