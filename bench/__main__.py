"""``make bench``: the scan against its floor and its peer on both databases, the no-op scan, outbox
dispatch against bare Celery, lateness under a running worker, what an idempotency key costs a publish
(``bench.keyed``), the creator record at scale
(``bench.record``), the task API against bare Celery and its use cases against their raw-SQL floors
(``bench.task_api``). Prints a table; writes
bench/results/results.json and bench/results/scan.png; the last two lines read
``task-api/bare: publish=R accept=R`` and ``project/floor: postgresql=R sqlite=R``.

BENCH_ORDERS and BENCH_DUE scale the main run (1,000,000 and 100,000); BENCH_PLOT_DUE lists the sizes
of the plot (10000,100000,1000000); BENCH_RECORD_CREATORS and BENCH_RECORD_ORDERS the record's
(20000 and 1000000); BENCH_TASK_* the task API's (see ``bench.task_api``). Needs PostgreSQL
(BENCH_POSTGRES_URL) and Redis (BENCH_REDIS_URL).
"""

import json
import os
import platform
from pathlib import Path

from bench import dispatch, keyed, lateness, record, scan, task_api

ORDERS = int(os.environ.get("BENCH_ORDERS", "1000000"))
DUE = int(os.environ.get("BENCH_DUE", "100000"))
PLOT_DUE = [int(n) for n in os.environ.get("BENCH_PLOT_DUE", "10000,100000,1000000").split(",") if n]
BACKENDS = ("postgresql", "sqlite")
RESULTS = Path(__file__).parent / "results"


def machine() -> str:
    cpus = os.cpu_count()
    memory = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30
    return f"{platform.machine()}, {cpus} cores, {memory:.0f} GiB, Python {platform.python_version()}"


def main() -> None:
    print(f"machine: {machine()}; {ORDERS:,} orders of which {DUE:,} due", flush=True)
    results = {"machine": machine(), "orders": ORDERS, "due": DUE, "scan": {}, "plot": {}, "noop_ms": {},
               "dispatch": {}, "dispatch_aliyun": {}, "lateness": {}, "keyed": {}, "record": {"creators": record.CREATORS, "orders": record.ORDERS}}  # fmt: skip
    for backend in BACKENDS:
        results["scan"][backend] = {c: scan.run(c, backend, ORDERS, DUE) for c in scan.CONTENDERS}
        results["noop_ms"][backend] = scan.noop_scan_ms(backend, ORDERS)
        results["plot"][backend] = {
            due: {c: scan.run(c, backend, max(ORDERS, due), due) for c in scan.CONTENDERS} for due in PLOT_DUE
        }
        results["dispatch"][backend] = dispatch.project(backend)
        results["dispatch_aliyun"][backend] = dispatch.aliyun(backend)
        results["lateness"][backend] = lateness.measure(backend)
        results["keyed"][backend] = keyed.measure(backend)
        results["record"][backend] = record.measure(backend)
        print(f"{backend}: done", flush=True)
    results["dispatch"]["bare_celery"] = dispatch.bare_celery()
    results["task_api"] = task_api.measure()
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / "results.json").write_text(json.dumps(results, indent=2))
    plot(results)
    report(results)


def plot(results: dict) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    figure, axes = plt.subplots(1, len(BACKENDS), figsize=(11, 4.2), sharey=True)
    for axis, backend in zip(axes, BACKENDS):
        sizes = sorted(results["plot"][backend])
        for contender, style in zip(scan.CONTENDERS, ("o-", "s--", "^:")):
            axis.plot(sizes, [results["plot"][backend][n][contender]["rate"] for n in sizes], style, label=contender)
        axis.set(xscale="log", yscale="log", title=backend, xlabel="orders due")
        axis.grid(True, which="both", alpha=0.3)
    axes[0].set_ylabel("orders cancelled per second")
    axes[0].legend()
    figure.suptitle(f"Acceptance timeouts: project vs floor vs peer ({results['machine']})", fontsize=9)
    figure.tight_layout()
    figure.savefig(RESULTS / "scan.png", dpi=110)


def report(results: dict) -> None:
    print()
    print(f"{'':<11}{'project/s':>11}{'floor/s':>10}{'peer/s':>9}{'proj/floor':>12}{'proj/peer':>11}"
          f"{'peak MB p/f/e':>17}{'no-op ms':>10}")  # fmt: skip
    for backend in BACKENDS:
        run = results["scan"][backend]
        peaks = "/".join(f"{run[c]['peak_mb']:.0f}" for c in scan.CONTENDERS)
        print(f"{backend:<11}{run['project']['rate']:>11,.0f}{run['floor']['rate']:>10,.0f}{run['peer']['rate']:>9,.0f}"
              f"{run['project']['rate'] / run['floor']['rate']:>12.2f}{run['project']['rate'] / run['peer']['rate']:>11.1f}"
              f"{peaks:>17}{results['noop_ms'][backend]:>10.2f}")  # fmt: skip
    print()
    for backend in BACKENDS:
        memory = ", ".join(f"{due:,} due: {results['plot'][backend][due]['project']['peak_mb']:.0f} MB"
                           for due in sorted(results["plot"][backend]))  # fmt: skip
        print(f"project peak memory, {backend}: {memory}")
    bare = results["dispatch"]["bare_celery"]
    for backend in BACKENDS:
        rate = results["dispatch"][backend]
        late = results["lateness"][backend]
        print(f"dispatch, {backend}: {rate:,.0f} notifications/s vs bare Celery no-op {bare:,.0f} tasks/s"
              f" = {rate / bare:.1f}x; lateness p50 {late['p50']:.2f} s, p99 {late['p99']:.2f} s"
              f" (scan every {late['interval']} s)")  # fmt: skip
    for backend in BACKENDS:
        run = results["dispatch_aliyun"][backend]
        print(f"dispatch through Aliyun, {backend}: {run['aliyun']:,.0f} notifications/s to the local gateway vs"
              f" {run['noop']:,.0f}/s with the no-op sender ({dispatch.ALIYUN_NOTIFICATIONS:,} each)")  # fmt: skip
    keyed.report(results["keyed"])
    print()
    record.report(results["record"])
    print()
    task_api.report(results["task_api"])
    print()
    print(task_api.ratio_line(results["task_api"]))
    ratios = {b: results["scan"][b]["project"]["rate"] / results["scan"][b]["floor"]["rate"] for b in BACKENDS}
    print(f"project/floor: postgresql={ratios['postgresql']:.2f} sqlite={ratios['sqlite']:.2f}")


if __name__ == "__main__":
    main()
