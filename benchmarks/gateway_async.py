"""Async tasks through the gateway: tasks/s from the first `POST /task_async/{endpoint}` to the
last result read back with `GET /task/result/{id}`, as one client sees them, for

- `launch-worker gateway` with its endpoint's tasks in a spool (the default),
- `launch-worker gateway --broker redis://...` (Celery's messages on Redis), and
- llm-engine's shape: a FastAPI gateway that queues with Celery's `send_task`
  (benchmarks/baselines/celery_gateway.py) and a Celery worker serving the queue as llm-engine's
  does (runtime/tests/celery_bundle_worker.py: prefork, acks_late, prefetch 1);

each with one worker of `--per-worker` slots (Celery: as many processes) for the trivial bundle,
in alternating rounds. The client submits every task on one kept-alive connection, then reads
each result on another until it is no longer PENDING. A part of suite.py's run, and runnable
alone:

    benchmarks/gateway_async.py WORKER FIXTURES_DIR [--tasks N] [--rounds N] [--markdown BENCHMARKS.md]
"""

import argparse
import http.client
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from gateway_rows import AUTHORIZATION, call, create_endpoint, start_gateway, write_rows
from measure import free_port, kill_running, loadavg, stop, wait_until
from redis_celery import start_celery_worker

REPO = Path(__file__).resolve().parents[1]
BODY = json.dumps({"args": {"x": 1}, "return_pickled": False})
ENDPOINT = "bench-async"


def run_tasks(url, path, count):
    """Submits `count` tasks to `url`'s `path` and reads each result back; returns tasks/s from
    the first submission to the last result, failing on any answer that is not SUCCESS."""
    host = url.removeprefix("http://")
    submit, read = http.client.HTTPConnection(host, timeout=60), http.client.HTTPConnection(host, timeout=60)
    headers = {"Authorization": AUTHORIZATION, "Content-Type": "application/json"}
    began = time.monotonic()
    ids = []
    for _ in range(count):
        submit.request("POST", path, BODY, headers)
        answer = submit.getresponse()
        ids.append(json.loads(answer.read())["task_id"])
    submitted = time.monotonic()
    for task_id in ids:
        while True:
            read.request("GET", f"/task/result/{task_id}", "{}", headers)
            result = json.loads(read.getresponse().read())
            if result["state"] != "PENDING":
                break
            time.sleep(0.001)
        if result["state"] != "SUCCESS":
            raise SystemExit(f"bench: task {task_id} ended {result}")
    ended = time.monotonic()
    print(f"  submitted {count / (submitted - began):.0f}/s, read back in {ended - submitted:.2f} s", flush=True)
    return count / (ended - began)


def start_celery(broker, bundle, port, concurrency, children):
    """Starts llm-engine's shape: the FastAPI gateway on `port` and a Celery worker on its queue."""
    gateway = subprocess.Popen([sys.executable, REPO / "benchmarks" / "baselines" / "celery_gateway.py", broker,
                                str(port)])
    children.append(gateway)
    worker = start_celery_worker(bundle, broker, f"launch-endpoint-id-{ENDPOINT}", concurrency)
    children.append(worker)

    def answers():
        try:
            return call(f"http://127.0.0.1:{port}", "GET", "task/result/none")["state"] == "PENDING"
        except OSError:
            return False

    wait_until(answers, "the FastAPI gateway answers")
    return [gateway, worker]


def measure(worker, fixtures, scratch, tasks, rounds, per_worker, children):
    """The median tasks/s of `rounds` alternating rounds of each configuration, by name
    (`spool`, `redis`, `celery`), and the load average when they began."""
    trivial = fixtures / "trivial"
    scratch.mkdir(parents=True, exist_ok=True)
    broker = subprocess.run([REPO / "scripts" / "test-redis", "start", scratch / "redis"], capture_output=True,
                            text=True, check=True).stdout.strip()
    try:
        spool, spool_url = start_gateway(worker, scratch / "spool", children)
        create_endpoint(spool_url, trivial, ENDPOINT, "async", per_worker)
        redis, redis_url = start_gateway(worker, scratch / "redis-gateway", children, "--broker", broker)
        create_endpoint(redis_url, trivial, ENDPOINT, "async", per_worker)
        port = free_port()
        celery = start_celery(broker, trivial, port, per_worker, children)
        since = loadavg()
        runs = {"spool": [], "redis": [], "celery": []}
        path = f"/task_async/{ENDPOINT}"
        for _ in range(rounds):
            runs["spool"].append(run_tasks(spool_url, path, tasks))
            runs["celery"].append(run_tasks(f"http://127.0.0.1:{port}", path, tasks))
            runs["redis"].append(run_tasks(redis_url, path, tasks))
        for process in [spool, redis, *celery]:
            stop(process)
        return {name: statistics.median(values) for name, values in runs.items()}, runs, since
    finally:
        subprocess.run([REPO / "scripts" / "test-redis", "stop", scratch / "redis"], check=False)


def gateway_async_rows(suite, tasks=2000):
    """Adds the async rows to `suite` (a suite.Suite)."""
    per_worker = os.cpu_count() or 2
    medians, _, since = measure(suite.worker, suite.fixtures, suite.scratch / "gateway-async", tasks, suite.rounds,
                                per_worker, suite.children)
    for row in rows(medians, tasks, suite.rounds, per_worker):
        suite.row(*row, since)


def rows(medians, tasks, rounds, per_worker):
    """The rows' fields (name, ours, baseline, unit, target, met, reproduce) from `measure`'s
    medians; "(info)" rows, with no target."""
    how = (f"{tasks} trivial tasks a round, median of {rounds} alternating rounds: POST /task_async then GET "
           f"/task/result/{{id}} from one client through `launch-worker gateway` (1 worker, per_worker {per_worker}) "
           f"vs benchmarks/baselines/celery_gateway.py + a Celery worker of {per_worker} processes: "
           f"benchmarks/gateway_async.py")
    return [(f"async tasks through the gateway, {kind}: tasks/s vs llm-engine's shape (FastAPI + Celery)",
             medians[name], medians["celery"], "tasks/s", "(info)", None, how)
            for name, kind in (("spool", "spool"), ("redis", "--broker redis"))]


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("worker")
    parser.add_argument("fixtures", type=Path)
    parser.add_argument("--tasks", type=int, default=2000, help="tasks a round")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--per-worker", type=int, default=os.cpu_count() or 2,
                        help="the worker's slots and the Celery worker's processes")
    parser.add_argument("--markdown", type=Path, help="put the rows into this BENCHMARKS.md's table")
    options = parser.parse_args()
    children = []
    try:
        # A worker the gateway stopped may still be writing its answers into the folder.
        with tempfile.TemporaryDirectory(prefix="launch-worker-gateway-async-",
                                         ignore_cleanup_errors=True) as scratch:
            medians, runs, since = measure(options.worker, options.fixtures, Path(scratch), options.tasks,
                                           options.rounds, options.per_worker, children)
    finally:
        kill_running(children)
    print(f"load {since:.2f} -> {loadavg():.2f}")
    for name, values in runs.items():
        print(f"{name:7} median {medians[name]:8.1f} tasks/s  rounds {', '.join(f'{value:.0f}' for value in values)}")
    for name in ("spool", "redis"):
        print(f"{name}: {medians[name] / medians['celery']:.2f}x llm-engine's shape")
    if options.markdown:
        write_rows(options.markdown, rows(medians, options.tasks, options.rounds, options.per_worker), since,
                   marker="async tasks through the gateway")


if __name__ == "__main__":
    main()
