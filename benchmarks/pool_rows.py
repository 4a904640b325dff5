"""The process pool's rows (`serve --processes`): CPU-bound Python over HTTP and through the
spool, trivial over HTTP against one process and the best Python configuration, and recycling's
cost. A part of suite.py's run."""

import json
import statistics

from measure import loadavg, stop

CPU_BODY = json.dumps({"args": {"n": 200000}})  # about 10 ms of pure Python per task
TRIVIAL_BODY = json.dumps({"args": {"x": 1}})


def pool_rows(suite):
    """Adds the pool's rows to `suite` (a suite.Suite)."""
    cpu_rows(suite)
    trivial_rows(suite)


def cpu_rows(suite):
    """A pure-Python CPU-bound predict: 2 processes against 1, over HTTP and through the spool
    (target: 1.8x on 2 cores)."""
    cpu = str(suite.fixtures / "cpu")
    servers = {processes: suite.serve_http(cpu, 1, ["--processes", str(processes)]) for processes in (1, 2)}
    line = f"wrk -t2 -c8 -d{suite.seconds}s, median of {suite.rounds} alternating rounds"
    since = loadavg()
    results = suite.alternate({processes: url for processes, (_, url) in servers.items()}, CPU_BODY)
    suite.row("pure-Python CPU-bound over HTTP, --processes 2: req/s vs --processes 1", results[2]["rps"],
              results[1]["rps"], "req/s", ">= 1.8", lambda r: r >= 1.8,
              f"{line}: `serve cpu --listen --processes 2` vs `--processes 1`, body {CPU_BODY}", since)
    for process, _ in servers.values():
        stop(process)
    since = loadavg()
    runs = {1: [], 2: []}
    for _ in range(suite.rounds):
        for processes, values in runs.items():
            values.append(suite.spool_ours(cpu, CPU_BODY, 300, True, extra=["--processes", str(processes)]))
    spool = {processes: statistics.median(values) for processes, values in runs.items()}
    suite.row("pure-Python CPU-bound through the spool, --processes 2: tasks/s vs --processes 1", spool[2], spool[1],
              "tasks/s", ">= 1.8", lambda r: r >= 1.8,
              f"300 tasks, median of {suite.rounds} alternating rounds: `serve cpu --queue spool: --processes 2` vs "
              f"`--processes 1`, body {CPU_BODY}", since)


def trivial_rows(suite):
    """A trivial predict over HTTP: 2 processes against 1 and against the best Python
    configuration (async FastAPI on uvloop and httptools, 2 uvicorn workers; target 2x), and 2
    processes recycled every 1,000 tasks against none (target 0.9x, no failed request: wrk
    stops the run on one)."""
    trivial = str(suite.fixtures / "trivial")
    servers = {
        "1": suite.serve_http(trivial, 1, ["--processes", "1"]),
        "2": suite.serve_http(trivial, 1, ["--processes", "2"]),
        "recycled": suite.serve_http(trivial, 1, ["--processes", "2", "--max-tasks-per-process", "1000"]),
    }
    best_process, best_url = suite.serve_fastapi_best(trivial)
    line = f"wrk -t2 -c8 -d{suite.seconds}s, median of {suite.rounds} alternating rounds"
    since = loadavg()
    results = suite.alternate({**{name: url for name, (_, url) in servers.items()}, "best": best_url}, TRIVIAL_BODY,
                              tolerate=("recycled",))
    suite.row("trivial over HTTP, --processes 2: req/s vs --processes 1", results["2"]["rps"], results["1"]["rps"],
              "req/s", "(info)", None, f"{line}: `serve trivial --listen --processes 2` vs `--processes 1`", since)
    suite.row("trivial over HTTP, --processes 2: req/s vs the best Python configuration", results["2"]["rps"],
              results["best"]["rps"], "req/s", ">= 2", lambda r: r >= 2,
              f"{line}: `serve trivial --listen --processes 2` vs benchmarks/baselines/fastapi_best.py (2 workers)",
              since)
    failed = results["recycled"]["failed"]
    suite.row(f"trivial over HTTP, --processes 2 recycled every 1,000 tasks: req/s vs not recycled "
              f"({failed} failed requests)", results["recycled"]["rps"], results["2"]["rps"], "req/s",
              ">= 0.9, none failed", lambda r: r >= 0.9 and failed == 0,
              f"{line}: `serve trivial --listen --processes 2 --max-tasks-per-process 1000` vs without", since)
    for process, _ in [*servers.values(), (best_process, None)]:
        stop(process)
