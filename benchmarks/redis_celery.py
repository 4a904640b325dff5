"""Redis/Celery throughput: launch-worker against a Celery worker as llm-engine runs it.

Usage: python benchmarks/redis_celery.py WORKER FIXTURES [--tasks N] [--per-worker N]

WORKER is a built ``launch-worker``; FIXTURES holds the test bundles
(Tests/Fixtures/build_test_bundles.py). On a private redis-server (scripts/test-redis), the
same tasks are queued with the real ``celery`` package (``send_task`` with llm-engine's task
name and ``[request, arrival_timestamp, return_pickled]``) before the worker starts, for:

- the trivial bundle (``trivial``: returns its input), at the machine's core count and at four
  times that (more slots let launch-worker claim several messages per round trip), and
- a GIL-releasing bundle (``sleepy``: sleeps 10 ms);

each served by ``launch-worker serve --queue redis://...`` and by a Celery worker shaped
like llm-engine's (prefork, ``acks_late``, prefetch 1, JSON; runtime/tests/celery_bundle_worker.py)
with the same concurrency. Throughput is measured from the results' own ``date_done``
(first to last answer), so start-up is not counted. Prints tasks/s and the ratio.
"""

import argparse
import contextlib
import datetime
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

import redis
from celery import Celery

from measure import busy_core, loadavg

REPO = Path(__file__).resolve().parents[1]
TESTS = REPO / "runtime" / "tests"
TASK = "hosted_model_inference.inference.async_inference.tasks.predict"


def wait_for(predicate, timeout, what):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.05)
    raise SystemExit(f"bench: timed out waiting for {what}")


def enqueue(broker, queue, args, count):
    app = Celery("bench-producer", broker=broker, backend=broker)
    app.conf.update(task_serializer="json", result_serializer="json", accept_content=["json"])
    now = datetime.datetime.now(datetime.timezone.utc)
    with app.producer_or_acquire() as producer:
        return [
            app.send_task(TASK, args=[{"args": args}, now, False], queue=queue, producer=producer).id
            for _ in range(count)
        ]


def throughput(client, ids, timeout):
    """Tasks/s between the first and the last answer, once all are answered."""
    keys = [f"celery-task-meta-{task_id}" for task_id in ids]

    def finished():
        # A key may hold STARTED (track_started) before its final state.
        values = client.mget(keys)
        return all(value is not None and json.loads(value)["status"] not in ("PENDING", "STARTED") for value in values)

    wait_for(lambda: client.exists(*keys) == len(keys), timeout, "every result")
    wait_for(finished, timeout, "every result in its final state")
    metas = [json.loads(value) for value in client.mget(keys)]
    failed = [meta for meta in metas if meta["status"] != "SUCCESS"]
    if failed:
        raise SystemExit(f"bench: {len(failed)} tasks failed, e.g. {failed[0]}")
    done = sorted(datetime.datetime.fromisoformat(meta["date_done"]) for meta in metas)
    seconds = (done[-1] - done[0]).total_seconds()
    return (len(ids) - 1) / seconds if seconds > 0 else float("inf")


def run_launch_worker(worker, bundle, broker, queue, per_worker, ids, client):
    process = subprocess.Popen(
        [worker, "serve", bundle, "--queue", f"{broker}?queue={queue}", "--per-worker", str(per_worker),
         "--log-level", "warning"],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )
    try:
        return throughput(client, ids, timeout=600)
    finally:
        process.terminate()
        process.wait(timeout=60)


def start_celery_worker(bundle, broker, queue, concurrency):
    """A Celery worker shaped like llm-engine's serving `queue` with `concurrency` processes."""
    env = {**os.environ, "CELERY_BROKER": broker, "CELERY_BUNDLE": str(bundle), "PYTHONPATH": str(TESTS)}
    return subprocess.Popen(
        [sys.executable, "-m", "celery", "-A", "celery_bundle_worker", "worker", "-Q", queue, "-P", "prefork",
         "-c", str(concurrency), "--prefetch-multiplier", "1", "--without-gossip", "--without-mingle",
         "--without-heartbeat", "-l", "WARNING"],
        cwd=TESTS, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )


def run_celery(bundle, broker, queue, concurrency, ids, client):
    process = start_celery_worker(bundle, broker, queue, concurrency)
    try:
        return throughput(client, ids, timeout=600)
    finally:
        process.terminate()
        process.wait(timeout=60)


def measure_ours(options, broker, client, bundle, args, count, per_worker):
    queue = f"bench-{uuid.uuid4().hex[:8]}"
    return run_launch_worker(options.worker, bundle, broker, queue, per_worker, enqueue(broker, queue, args, count),
                             client)


def measure_celery(broker, client, bundle, args, count, concurrency):
    queue = f"bench-{uuid.uuid4().hex[:8]}"
    return run_celery(bundle, broker, queue, concurrency, enqueue(broker, queue, args, count), client)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("worker")
    parser.add_argument("fixtures", type=Path)
    parser.add_argument("--tasks", type=int, default=6000, help="tasks per trivial measurement")
    parser.add_argument("--per-worker", type=int, default=os.cpu_count() or 2, help="launch-worker slots and Celery processes")
    parser.add_argument("--rounds", type=int, default=3, help="alternating rounds of each comparison")
    parser.add_argument("--markdown", type=Path, help="append the results as a section of this file (BENCHMARKS.md)")
    options = parser.parse_args()
    comparisons, scaling = [], []

    scratch = Path(tempfile.mkdtemp(prefix="bench-redis-"))
    broker = subprocess.run(
        [REPO / "scripts" / "test-redis", "start", scratch / "redis"], capture_output=True, text=True, check=True
    ).stdout.strip()
    client = redis.Redis.from_url(broker)
    trivial = options.fixtures / "trivial"
    cases = [
        ("trivial", {"x": 1}, options.tasks, options.per_worker),
        # More slots let launch-worker claim several messages per round trip; Celery gets as
        # many processes.
        ("trivial", {"x": 1}, options.tasks, 4 * options.per_worker),
        ("sleepy 10 ms (releases the GIL)", {"seconds": 0.01}, max(100, options.tasks // 5), 8 * options.per_worker),
    ]
    print(f"{'bundle':<34} {'concurrency':>11} {'tasks':>6} {'launch-worker/s':>16} {'celery/s':>10} {'ratio':>7}  load")
    try:
        for name, args, count, concurrency in cases:
            bundle = options.fixtures / name.split()[0]
            since = loadavg()
            ours, theirs = [], []
            for _ in range(options.rounds):
                ours.append(measure_ours(options, broker, client, bundle, args, count, concurrency))
                theirs.append(measure_celery(broker, client, bundle, args, count, concurrency))
            ours, theirs, load = statistics.median(ours), statistics.median(theirs), f"{since:.2f} → {loadavg():.2f}"
            print(f"{name:<34} {concurrency:>11} {count:>6} {ours:>16.0f} {theirs:>10.0f} {ours / theirs:>6.1f}x  {load}")
            comparisons.append((name, concurrency, count, ours, theirs, load))
        # Adding slots must never make GIL-bound work slower: per_worker N against 1, quiet and
        # with one core kept busy.
        for busy in (False, True):
            since = loadavg()
            runs = {per_worker: [] for per_worker in ((1, 8, 20) if busy else (1, 2, 8, 20))}
            with busy_core() if busy else contextlib.nullcontext():
                for _ in range(options.rounds):
                    for per_worker in runs:
                        runs[per_worker].append(
                            measure_ours(options, broker, client, trivial, {"x": 1}, options.tasks, per_worker))
            load = f"{since:.2f} → {loadavg():.2f}"
            single = statistics.median(runs[1])
            for per_worker, values in runs.items():
                if per_worker == 1:
                    continue
                ours = statistics.median(values)
                print(f"trivial, per_worker {per_worker} vs 1{' (a core busy)' if busy else ''}: "
                      f"{ours:.0f} vs {single:.0f} tasks/s, {ours / single:.2f}  {load}")
                scaling.append((per_worker, busy, ours, single, load))
    finally:
        subprocess.run([REPO / "scripts" / "test-redis", "stop", scratch / "redis"], check=False)
    if options.markdown:
        write_markdown(options, comparisons, scaling)


def write_markdown(options, comparisons, scaling):
    lines = [
        "",
        "## Redis: launch-worker against a Celery worker",
        "",
        "Both consume the same Celery messages from a local redis-server (`benchmarks/redis_celery.py`); the "
        "Celery worker runs as llm-engine runs it (prefork, acks_late, prefetch 1, no `task_track_started`), and "
        f"launch-worker without `--track-started`. Each figure is the median of {options.rounds} rounds, ours and "
        "Celery alternating; `load` is the 1-minute load average before and after. Target: at least 20x on the "
        "trivial bundle.",
        "",
        "| bundle | concurrency | tasks | launch-worker tasks/s | Celery tasks/s | ratio | met | load |",
        "|---|---:|---:|---:|---:|---:|---|---|",
    ]
    for name, concurrency, count, ours, theirs, load in comparisons:
        met = "yes" if ours / theirs >= 20 else "**no**" if name == "trivial" else "-"
        lines.append(f"| {name} | {concurrency} | {count} | {ours:.0f} | {theirs:.0f} | {ours / theirs:.1f} | {met} | "
                     f"{load} |")
    lines += [
        "",
        "More slots must never make GIL-bound work slower (target: per_worker 8 and 20 at least 0.95x per_worker 1 "
        f"on a quiet machine, 0.9x with one core kept busy by `python -c 'while True: pass'`), {options.tasks} "
        "trivial tasks a measurement:",
        "",
        "| per_worker | condition | tasks/s | per_worker 1 tasks/s | ratio | target | met | load |",
        "|---:|---|---:|---:|---:|---|---|---|",
    ]
    for per_worker, busy, ours, single, load in scaling:
        target = None if per_worker == 2 else 0.9 if busy else 0.95
        met = "-" if target is None else "yes" if ours / single >= target else "**no**"
        lines.append(f"| {per_worker} | {'a core busy' if busy else 'quiet'} | {ours:.0f} | {single:.0f} | "
                     f"{ours / single:.2f} | {'(info)' if target is None else f'>= {target}'} | {met} | {load} |")
    with options.markdown.open("a") as file:
        file.write("\n".join(lines) + "\n")


if __name__ == "__main__":
    main()
