"""Spool throughput against per_worker, measured by the worker's own response timings.

Each case queues N tasks in a fresh spool, runs `launch-worker serve --exit-when-empty` on
them, and computes tasks/s from the first start to the last finish recorded in the responses
(so process start-up and bundle loading are not counted). Ratios compare cases of the same
run on the same machine.

Usage: benchmarks/spool_concurrency.py WORKER FIXTURES_DIR
"""

import json
import subprocess
import sys
import tempfile
from datetime import datetime
from pathlib import Path

from launch_worker.spool import SpoolClient


def throughput(worker: str, bundle: Path, args: dict, tasks: int, per_worker: int) -> float:
    """Tasks per second for `tasks` copies of `args` at `per_worker`."""
    with tempfile.TemporaryDirectory(prefix="bench-spool-") as folder:
        client = SpoolClient(folder)
        ids = [client.submit(args) for _ in range(tasks)]
        subprocess.run(
            [worker, "serve", str(bundle), "--queue", f"spool:{folder}", "--per-worker",
             str(per_worker), "--exit-when-empty", "--log-level", "error"],
            check=True,
        )
        responses = [client.get(task_id) for task_id in ids]
    failed = [r for r in responses if r["status"] != "SUCCESS"]
    if failed:
        raise SystemExit(f"{len(failed)} tasks failed, e.g. {failed[0]}")
    starts = [datetime.fromisoformat(r["timings"]["started_at"]) for r in responses]
    ends = [datetime.fromisoformat(r["timings"]["finished_at"]) for r in responses]
    return tasks / (max(ends) - min(starts)).total_seconds()


def main() -> None:
    worker, fixtures = sys.argv[1], Path(sys.argv[2])
    rows = []
    sleepy_1 = throughput(worker, fixtures / "sleepy", {"seconds": 0.05}, 40, 1)
    sleepy_8 = throughput(worker, fixtures / "sleepy", {"seconds": 0.05}, 160, 8)
    rows.append(("sleep 50 ms, per_worker 8 vs 1", sleepy_8, sleepy_1, 8.0))
    cpu_1 = throughput(worker, fixtures / "cpu", {"n": 200_000}, 100, 1)
    cpu_4 = throughput(worker, fixtures / "cpu", {"n": 200_000}, 100, 4)
    rows.append(("pure-Python CPU, per_worker 4 vs 1", cpu_4, cpu_1, 1.0))
    print(f"{'case':40} {'tasks/s':>10} {'baseline':>10} {'ratio':>7} {'ideal':>6}")
    for name, ours, baseline, ideal in rows:
        print(f"{name:40} {ours:10.1f} {baseline:10.1f} {ours / baseline:7.2f} {ideal:6.1f}")
    print(json.dumps({name: round(ours / baseline, 3) for name, ours, baseline, _ in rows}))


if __name__ == "__main__":
    main()
