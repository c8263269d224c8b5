"""The creator record at scale (issue 11): one creator's record (``creator show``) must stay a read of
``ix_orders_creator_record`` however many orders there are, and ranking every creator by acceptance
rate (``creator list --sort acceptance_rate --limit 20``) well under a second at 20,000 creators and
1,000,000 orders.

On each backend, on a fresh copy of the same seeded database: ``creator_record.of`` for the busiest
creator, with the plan of the very statement it sends (is it an index-only / covering read?);
``creator_record.ranked`` fully consumed, against a floor (the bare ranking aggregate written by hand
for the driver, no ORM, no join, no other counts); and the real CLI for both, against ``xingtu --help``
(the CLI's own start-up: imports, no database) and ``python -c pass`` (starting any Python at all).

BENCH_RECORD_CREATORS and BENCH_RECORD_ORDERS scale it (20,000 and 1,000,000). ``python -m bench.record``
runs only this part and prints its block with the plans.
"""

import hashlib
import inspect
import json
import os
import re
import sqlite3
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from typing import Any

import psycopg
from sqlalchemy import Engine, event, make_url

from bench import data
from bench.processes import BIN
from worker.database import schema
from worker.database.engines import make_engine, read_session_factory
from worker.services import creator_record

CREATORS = int(os.environ.get("BENCH_RECORD_CREATORS", "20000"))
ORDERS = int(os.environ.get("BENCH_RECORD_ORDERS", "1000000"))
CLIENTS = 1000
SHOW_RUNS, LIST_RUNS, CLI_RUNS = 200, 15, 5
BACKENDS = ("postgresql", "sqlite")
INDEX = "ix_orders_creator_record"

# How orders end, in thousandths: (share, status, cancel reason, ever accepted). Most accepted orders
# complete; declines and timeouts outnumber cancellations, and a client cancels before acceptance
# more often than after. Every field of the record counts some of them.
OUTCOMES = (
    (550, "completed", None, True),
    (80, "accepted", None, True),
    (70, "pending", None, False),
    (120, "cancelled", "creator_declined", False),
    (80, "cancelled", "acceptance_timeout", False),
    (40, "cancelled", "client_cancelled", False),
    (30, "cancelled", "client_cancelled", True),
    (30, "cancelled", "creator_cancelled", True),
)
assert sum(share for share, *_ in OUTCOMES) == 1000

MINSTD = 48271, 2**31 - 1  # the Park-Miller generator: the same draws on both backends, no random()


def _draws(dialect: str, count: int) -> str:
    """Rows ``g`` (1 to ``count``) with three pseudo-random draws ``a``, ``b``, ``c``: successive steps
    of the generator from ``g``, in 64-bit integers on both backends."""
    step = lambda x: f"{x} * {MINSTD[0]} % {MINSTD[1]}"  # noqa: E731
    numbers = f"SELECT g, {step('CAST(g AS BIGINT)')} AS a FROM ({data.numbers(dialect, count)}) AS n"
    return f"SELECT g, a, b, {step('b')} AS c FROM (SELECT g, a, {step('a')} AS b FROM ({numbers}) AS n1) AS n2"


def seed(url: str, creators: int, orders: int) -> None:
    """``creators`` creators and ``orders`` orders ending as OUTCOMES says, in a few set-based statements.

    The creator of an order is the product of two uniform draws scaled to ``creators``, so the load is
    skewed as on a real marketplace: creator 1 has about ten times the average, median creators fewer
    than the average, and the last ids (the newest creators) hardly any, some none at all (a null rate).
    PostgreSQL is vacuumed, so its visibility map lets an index-only scan skip the table.
    """
    engine = make_engine(url)
    schema.upgrade(engine)
    dialect = engine.dialect.name
    at = lambda seconds: data.instant(dialect, seconds)  # noqa: E731  # seconds from NOW
    with engine.begin() as connection:
        data.parties(connection, dialect, "clients", CLIENTS)
        data.parties(connection, dialect, "creators", creators)
        data.run(
            connection,
            dialect,
            f"WITH outcome(low, high, status, reason, accepted) AS (VALUES {_outcomes()})"
            " INSERT INTO orders (client_id, creator_id, title, amount_fen, status, published_at, accept_deadline,"
            " remind_at, accepted_at, first_upload_at, upload_count, completed_at, cancelled_at, cancel_reason,"
            " creator_payout_fen, client_refund_fen, updated_at, version)"
            f" SELECT a % {CLIENTS} + 1, (a % {creators}) * (b % {creators}) / {creators} + 1, '夏季新品推广 #' || g,"
            f" amount, status, {at('-age')}, {at('86400 - age')},"
            f" CASE WHEN status = 'pending' THEN {at('79200 - age')} END,"
            f" CASE WHEN accepted = 1 THEN {at('3600 - age')} END,"
            f" CASE WHEN status = 'completed' THEN {at('86400 - age')} END,"
            " CASE WHEN status = 'completed' THEN 1 ELSE 0 END,"
            f" CASE WHEN status = 'completed' THEN {at('172800 - age')} END,"
            f" CASE WHEN status = 'cancelled' THEN {at('7200 - age')} END, reason,"
            " CASE status WHEN 'completed' THEN amount WHEN 'cancelled' THEN 0 END,"
            " CASE status WHEN 'completed' THEN 0 WHEN 'cancelled' THEN amount END,"
            f" {at('-age')}, 1"
            # pending orders were published within the last day, the others 2 to 62 days ago
            " FROM (SELECT g, a, b, 10000 + b % 990000 AS amount, outcome.*, CASE WHEN outcome.status = 'pending'"
            " THEN g % 70000 + 1000 ELSE 172800 + g % 5184000 END AS age"
            f" FROM ({_draws(dialect, orders)}) AS d JOIN outcome ON d.c % 1000 >= low AND d.c % 1000 < high) AS o",
        )
        if dialect == "sqlite":
            connection.exec_driver_sql("ANALYZE")
    if dialect == "postgresql":
        with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
            connection.exec_driver_sql("VACUUM (ANALYZE)")
    engine.dispose()


def _outcomes() -> str:
    """OUTCOMES as rows of SQL VALUES: an order whose draw ``c % 1000`` is in [low, high) ends so."""
    rows, low = [], 0
    for share, status, reason, accepted in OUTCOMES:
        rows.append(
            f"({low}, {low + share}, '{status}', {'NULL' if reason is None else repr(reason)}, {int(accepted)})"
        )
        low += share
    return ", ".join(rows)


def template(backend: str) -> str:
    """The seeded database for this size; its name carries a digest of the seeding code here, so that a
    change to it never reuses a database seeded the old way."""
    code = "".join(inspect.getsource(function) for function in (seed, _draws, _outcomes)) + repr(OUTCOMES)
    digest = hashlib.sha1(code.encode()).hexdigest()[:6]
    return data.cached(backend, f"rec_{CREATORS}_{ORDERS}_{digest}", lambda url: seed(url, CREATORS, ORDERS))


def median_ms(call: Callable[[], Any], runs: int, warm: int = 2) -> float:
    """Median milliseconds of ``call``; the first ``warm`` runs fill the pool, caches and statement cache."""
    for _ in range(warm):
        call()
    timings = []
    for _ in range(runs):
        started = time.perf_counter()
        call()
        timings.append((time.perf_counter() - started) * 1000)
    return statistics.median(timings)


def emitted(engine: Engine, call: Callable[[], Any]) -> tuple[str, Any, bool]:
    """The SELECT ``call`` sends, exactly as SQLAlchemy compiled it for this driver, its parameters, and
    whether it went through a server-side cursor: the plan is then that of the statement the project
    runs, not of a rewrite of it."""
    sent = []

    def note(connection, cursor, statement, parameters, context, executemany):
        if statement.lstrip().upper().startswith("SELECT"):
            sent.append((statement, parameters, isinstance(cursor, psycopg.ServerCursor)))

    event.listen(engine, "before_cursor_execute", note)
    try:
        call()
    finally:
        event.remove(engine, "before_cursor_execute", note)
    (statement,) = sent
    return statement


def plan(engine: Engine, statement: tuple[str, Any, bool]) -> list[str]:
    """PostgreSQL's ``EXPLAIN (ANALYZE, BUFFERS)`` or SQLite's ``EXPLAIN QUERY PLAN``, one line a node.

    A statement read through a server-side cursor (``yield_per``) is explained as the cursor it was:
    PostgreSQL plans a cursor apart, without parallel workers and for its first rows."""
    sql, parameters, server_side = statement
    with engine.connect() as connection:
        if engine.dialect.name == "postgresql":
            sql = f"DECLARE plan CURSOR FOR {sql}" if server_side else sql
            rows = connection.exec_driver_sql(f"EXPLAIN (ANALYZE, BUFFERS) {sql}", parameters)
            return [line for (line,) in rows]
        rows = connection.exec_driver_sql(f"EXPLAIN QUERY PLAN {sql}", parameters).all()
    depth = {0: -1}
    lines = []
    for node, parent, _, detail in rows:
        depth[node] = depth.get(parent, -1) + 1
        lines.append("  " * depth[node] + detail)
    return lines


def index_only(backend: str, lines: list[str]) -> bool:
    """Whether the orders are read from INDEX alone: an index-only scan that fetched no heap page, or
    SQLite's covering index."""
    text = "\n".join(lines)
    if backend == "postgresql":
        fetches = [int(n) for n in re.findall(r"Heap Fetches: (\d+)", text)]
        return f"Index Only Scan using {INDEX}" in text and fetches == [0] * len(fetches)
    return f"COVERING INDEX {INDEX}" in text


# The least work that ranks creators by acceptance rate: one aggregate over orders, nothing else.
FLOOR = """
SELECT creator_id, accepted * 1.0 / nullif(answered, 0) AS rate FROM (
    SELECT creator_id, count(accepted_at) AS accepted,
        count(accepted_at) + count(*) FILTER (WHERE cancel_reason IN ('creator_declined', 'acceptance_timeout'))
            AS answered
    FROM orders GROUP BY creator_id
) AS record
ORDER BY rate DESC NULLS LAST, creator_id LIMIT 20
"""


def floor_ms(url: str) -> float:
    """FLOOR through the bare driver (psycopg, sqlite3), rows fetched."""
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        connection = sqlite3.connect(parsed.database)
    else:
        connection = psycopg.connect(parsed.set(drivername="postgresql").render_as_string(hide_password=False))
    try:
        return median_ms(lambda: connection.execute(FLOOR).fetchall(), LIST_RUNS)
    finally:
        connection.close()


LIST = ("creator", "list", "--sort", "acceptance_rate", "--limit", "20")
SHOW = ("creator", "show", "1")


def _process(url: str, command: list[str]) -> Callable[[], str]:
    """``command`` run to its end against ``url``: what a user waits for, start-up included."""
    env = {**os.environ, "XINGTU_DATABASE_URL": url}
    return lambda: subprocess.run(command, env=env, capture_output=True, text=True, check=True).stdout


def _xingtu(url: str, arguments: tuple[str, ...]) -> Callable[[], str]:
    return _process(url, [str(BIN / "xingtu"), "--json", *arguments])


def measure(backend: str) -> dict[str, Any]:
    url = data.copy(template(backend))
    engine = make_engine(url)
    sessions = read_session_factory(engine)

    def show() -> dict[str, Any]:
        with sessions() as session:
            return creator_record.of(session, 1)

    def ranking() -> list[int]:
        with sessions() as session:
            return [creator.id for creator, _ in creator_record.ranked(session, sort="acceptance_rate", limit=20)]

    try:
        top = ranking()
        listed = json.loads(_xingtu(url, LIST)())
        assert [row["id"] for row in listed] == top, "the CLI lists what ranked() ranks"
        shown = json.loads(_xingtu(url, SHOW)())
        assert shown["record"] == show(), "the CLI shows what of() counts"
        show_plan, list_plan = plan(engine, emitted(engine, show)), plan(engine, emitted(engine, ranking))
        return {
            "creator_id": 1,
            "creator_orders": shown["record"]["offered"],
            "show_ms": median_ms(show, SHOW_RUNS),
            "show_index_only": index_only(backend, show_plan),
            "show_plan": show_plan,
            "list_ms": median_ms(ranking, LIST_RUNS),
            "floor_ms": floor_ms(url),
            "list_index_only": index_only(backend, list_plan),
            "list_plan": list_plan,
            "top": top,
            "cli_list_ms": median_ms(_xingtu(url, LIST), CLI_RUNS, warm=1),
            "cli_show_ms": median_ms(_xingtu(url, SHOW), CLI_RUNS, warm=1),
            "cli_help_ms": median_ms(_xingtu(url, ("--help",)), CLI_RUNS, warm=1),
            "python_ms": median_ms(_process(url, [sys.executable, "-c", "pass"]), CLI_RUNS, warm=1),
        }
    finally:
        engine.dispose()
        data.drop(url)


def _node(lines: list[str]) -> str:
    """The plan's line that reads the orders, without PostgreSQL's cost estimate."""
    line = next((line for line in lines if re.search(r"Scan.* on orders\b|(SCAN|SEARCH) orders\b", line)), lines[0])
    return re.sub(r"\s+\(cost=[^)]*\)", "", line.strip().removeprefix("->").strip())


def report(section: dict[str, Any], plans: bool = False) -> None:
    """The block ``make bench`` prints: ms medians, the ratio to the floor, and the line of each plan that
    reads the orders (all plans with ``plans``)."""
    first = section[BACKENDS[0]]
    print(f"creator record, {section['creators']:,} creators, {section['orders']:,} orders"
          f" (show: creator {first['creator_id']}, the busiest, {first['creator_orders']:,} orders):")  # fmt: skip
    print(f"{'':<11}{'show ms':>9}{'index-only':>12}{'list ms':>9}{'floor ms':>10}{'list/floor':>12}"
          f"{'CLI list ms':>13}{'CLI show ms':>13}{'CLI help ms':>13}{'python ms':>11}")  # fmt: skip
    for backend in BACKENDS:
        run = section[backend]
        print(f"{backend:<11}{run['show_ms']:>9.2f}{'yes' if run['show_index_only'] else 'NO':>12}{run['list_ms']:>9.1f}"
              f"{run['floor_ms']:>10.1f}{run['list_ms'] / run['floor_ms']:>12.2f}{run['cli_list_ms']:>13.0f}"
              f"{run['cli_show_ms']:>13.0f}{run['cli_help_ms']:>13.0f}{run['python_ms']:>11.0f}")  # fmt: skip
    for backend in BACKENDS:
        for what in ("show", "list"):
            lines = section[backend][f"{what}_plan"]
            if plans:
                print(f"plan of {what}, {backend}:", *lines, sep="\n    ")
            else:
                print(f"plan of {what}, {backend}: {_node(lines)}")


def main() -> None:
    section = {"creators": CREATORS, "orders": ORDERS}
    for backend in BACKENDS:
        section[backend] = measure(backend)
    print()
    report(section, plans=True)


if __name__ == "__main__":
    main()
