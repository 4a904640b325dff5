"""The benchmark suite: launch-worker against the Python workers it replaces, on the same
machine in the same run, printed as ratios and written to BENCHMARKS.md.

Usage: suite.py WORKER FIXTURES_DIR SAMPLES_DIR --out BENCHMARKS.md [--seconds S] [--rounds N]
                [--batch-inputs N]
"""

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from datetime import datetime, timezone
from pathlib import Path

from batch_rows import batch_rows
from environments import environment_rows
from gateway_async import gateway_async_rows
from gateway_rows import gateway_rows
from launch_worker.spool import SpoolClient
from measure import (busy_core, free_port, http_ok, kill_running, loadavg, machine_description, spool_throughput,
                     stop, timed_ms, wait_until, wrk)
from pool_rows import pool_rows

HERE = Path(__file__).resolve().parent
BASELINES = HERE / "baselines"
PYTHON = sys.executable
TRIVIAL_BODY = json.dumps({"args": {"x": 1}})


class Suite:
    """Runs each comparison and keeps its row."""

    def __init__(self, worker, fixtures, samples, seconds, rounds, batch_inputs=100_000):
        self.worker, self.fixtures, self.samples, self.seconds = worker, fixtures, samples, seconds
        self.rounds, self.batch_inputs = rounds, batch_inputs
        self.rows = []
        self.children = []
        self.scratch = Path(tempfile.mkdtemp(prefix="launch-worker-bench-"))

    # --- measuring our worker -------------------------------------------------------------

    def bench(self, bundle, body, via="inprocess", per_worker=1, concurrency=1):
        """`launch-worker bench --json` for `seconds`, in .venv (`--environment none`: the linear-model
        sample's numpy is there, and its env_params name pytorch, which it does not use)."""
        command = [
            self.worker, "bench", bundle, "--environment", "none", "--request", body, "--via", via,
            "--per-worker", str(per_worker),
            "--concurrency", str(concurrency), "--duration", str(self.seconds), "--log-level", "error", "--json",
        ]
        return json.loads(subprocess.run(command, capture_output=True, text=True, check=True).stdout)

    def serve_http(self, bundle, per_worker, extra=(), log_level="error"):
        """Starts `launch-worker serve --listen`; returns (process, base URL). At another level
        than `error` its stderr is a pipe that a thread reads to the end, as a container's
        runtime reads it."""
        ready = self.scratch / f"ready-{time.monotonic_ns()}"
        logs = subprocess.PIPE if log_level != "error" else None
        process = subprocess.Popen(
            [self.worker, "serve", bundle, "--listen", "127.0.0.1:0", "--per-worker", str(per_worker),
             "--ready-file", ready, "--log-level", log_level, *extra], stdout=subprocess.DEVNULL, stderr=logs)
        if logs:
            threading.Thread(target=discard, args=(process.stderr,), daemon=True).start()
        self.children.append(process)
        wait_until(lambda: ready.exists(), "our worker is ready")
        listen = next(line for line in ready.read_text().splitlines() if line.startswith("listen "))
        return process, "http://" + listen.removeprefix("listen ")

    def spool_ours(self, bundle, body, tasks, fsync, per_worker=1, extra=()):
        """Tasks/s of `serve --queue spool:` (with `extra` arguments) from the first start to the
        last finish."""
        folder = self.scratch / f"spool-{time.monotonic_ns()}"
        client = SpoolClient(folder)
        ids = [client.submit_request(json.loads(body)) for _ in range(tasks)]
        command = [self.worker, "serve", bundle, "--queue", f"spool:{folder}", "--per-worker", str(per_worker),
                   "--exit-when-empty", "--log-level", "error"]
        subprocess.run(command + ([] if fsync else ["--no-fsync"]) + list(extra), check=True)
        return spool_throughput(folder, client, ids)

    # --- measuring the baselines ----------------------------------------------------------

    def serve_fastapi(self, bundle, per_worker):
        """Starts the FastAPI baseline; returns (process, base URL)."""
        port = free_port()
        process = subprocess.Popen(
            [PYTHON, BASELINES / "fastapi_server.py", bundle, str(port), str(per_worker)], cwd=BASELINES,
            stdout=subprocess.DEVNULL)
        self.children.append(process)
        url = f"http://127.0.0.1:{port}"
        wait_until(lambda: http_ok(url + "/healthz"), "the FastAPI baseline is ready")
        return process, url

    def serve_fastapi_best(self, bundle):
        """Starts the best Python configuration (async FastAPI on uvloop and httptools, 2
        processes); returns (process, base URL)."""
        port = free_port()
        process = subprocess.Popen([PYTHON, BASELINES / "fastapi_best.py", bundle, str(port), "2"], cwd=BASELINES,
                                   stdout=subprocess.DEVNULL)
        self.children.append(process)
        url = f"http://127.0.0.1:{port}"
        wait_until(lambda: http_ok(url + "/healthz"), "the best Python baseline is ready")
        return process, url

    def spool_python(self, bundle, body, tasks):
        """Tasks/s of the Python spool consumer on the same protocol, with fsync."""
        folder = self.scratch / f"pyspool-{time.monotonic_ns()}"
        client = SpoolClient(folder)
        ids = [client.submit_request(json.loads(body)) for _ in range(tasks)]
        subprocess.run([PYTHON, BASELINES / "spool_consumer.py", bundle, folder], cwd=BASELINES, check=True)
        return spool_throughput(folder, client, ids)

    def embedding_limit(self, bundle, body):
        """Requests/s of the Python work alone."""
        out = subprocess.run([PYTHON, BASELINES / "embedding_limit.py", bundle, body, str(self.seconds)],
                             cwd=BASELINES, capture_output=True, text=True, check=True).stdout
        return float(out.strip())

    # --- rows -----------------------------------------------------------------------------

    def row(self, name, ours, baseline, unit, target, met, reproduce, since):
        """Keeps a row; `since` is the load average when its measurement began. An "(info)"
        row has no target and `met` None."""
        ratio = ours / baseline if baseline else float("nan")
        verdict = None if met is None else met(ratio)
        load = f"{since:.2f} → {loadavg():.2f}"
        self.rows.append(dict(name=name, ours=ours, baseline=baseline, unit=unit, ratio=ratio, target=target,
                              met=verdict, reproduce=reproduce, load=load))
        shown = "-" if verdict is None else "ok" if verdict else "MISSED"
        print(f"{name:64} {ours:10.1f} {baseline:10.1f} {ratio:7.2f}  {target:8} {shown:6} load {load}", flush=True)

    def alternate(self, urls, body, connections=8, tolerate=()):
        """wrk against each server in `urls` in turn, `rounds` times: the median of each's rounds
        (requests/s and latencies), so a noisy moment hits every server alike, and the failed
        requests of all rounds; a failed request stops the run unless its server is in `tolerate`."""
        runs = {name: [] for name in urls}
        for _ in range(self.rounds):
            for name, url in urls.items():
                runs[name].append(wrk(url, body, connections, self.seconds, expect_errors=name in tolerate))
        return {name: {**{key: statistics.median(run[key] for run in results) for key in ("rps", "p50", "p99")},
                       "failed": sum(run["failed"] for run in results)}
                for name, results in runs.items()}

    def run(self):
        print(f"{'case':64} {'ours':>10} {'baseline':>10} {'ratio':>7}  target", flush=True)
        self.http_rows()
        self.launch_shaped_rows()
        self.inprocess_rows()
        self.spool_rows()
        self.concurrency_rows()
        pool_rows(self)
        gateway_rows(self)  # a sync predict through the gateway against the worker directly
        gateway_async_rows(self)  # async tasks through the gateway against FastAPI + Celery
        self.cold_start_row()
        environment_rows(self)  # a cold prepare with uv against venv + pip, and a warm one
        batch_rows(self, self.batch_inputs)  # batch against a hand-written Python loop, and its memory

    def http_rows(self):
        """Trivial over HTTP: against llm-engine's FastAPI shape, and per_worker 2, 8 and 20
        against 1, on a quiet machine and with a core kept busy."""
        trivial, body = str(self.fixtures / "trivial"), TRIVIAL_BODY
        servers = {per_worker: self.serve_http(trivial, per_worker) for per_worker in (1, 2, 8, 20)}
        timeout_process, timeout_url = self.serve_http(trivial, 1, ["--task-timeout", "60"])
        logging_process, logging_url = self.serve_http(trivial, 1, log_level="info")
        fastapi_process, fastapi_url = self.serve_fastapi(trivial, 1)
        urls = {per_worker: url for per_worker, (_, url) in servers.items()}
        wrk_line = f"wrk -t2 -c8 -d{self.seconds}s -s benchmarks/wrk_post.lua, median of {self.rounds} alternating rounds"

        since = loadavg()
        results = self.alternate({**urls, "timeout": timeout_url, "info": logging_url, "fastapi": fastapi_url}, body)
        reproduce = f"{wrk_line}: `launch-worker serve trivial --listen` and benchmarks/baselines/fastapi_server.py"
        self.row("trivial over HTTP, 8 connections: req/s vs FastAPI (llm-engine's shape)", results[1]["rps"],
                 results["fastapi"]["rps"], "req/s", ">= 10", lambda r: r >= 10, reproduce, since)
        self.row("trivial over HTTP: our p99 vs FastAPI p50 (ms, lower is better)", results[1]["p99"],
                 results["fastapi"]["p50"], "ms", "< 1", lambda r: r < 1, reproduce, since)
        for per_worker in (2, 8, 20):
            self.row(f"trivial over HTTP, per_worker {per_worker}: req/s vs per_worker 1", results[per_worker]["rps"],
                     results[1]["rps"], "req/s", ">= 0.95" if per_worker > 2 else "(info)",
                     (lambda r: r >= 0.95) if per_worker > 2 else None,
                     f"{wrk_line}: `serve trivial --listen --per-worker {per_worker}` vs `--per-worker 1`", since)
        self.row("trivial over HTTP with --task-timeout 60: req/s vs without", results["timeout"]["rps"],
                 results[1]["rps"], "req/s", "(info)", None,
                 f"{wrk_line}: `serve trivial --listen --task-timeout 60` vs without", since)
        self.row("trivial over HTTP at the default --log-level info (a line a task): req/s vs --log-level error",
                 results["info"]["rps"], results[1]["rps"], "req/s", "(info)", None,
                 f"{wrk_line}: `serve trivial --listen --log-level info`, its stderr a pipe read as it fills, vs "
                 f"`--log-level error`", since)

        since = loadavg()
        with busy_core():
            busy = self.alternate({per_worker: urls[per_worker] for per_worker in (1, 8, 20)}, body)
        for per_worker in (8, 20):
            self.row(f"the same with one core kept busy, per_worker {per_worker}: req/s vs per_worker 1",
                     busy[per_worker]["rps"], busy[1]["rps"], "req/s", ">= 0.9", lambda r: r >= 0.9,
                     f"{wrk_line}, beside `python -c 'while True: pass'`", since)

        since = loadavg()
        # The same server answering 400 to a body with neither args nor url: no Python at all,
        # so the HTTP stack's own ceiling on this machine.
        ceiling = wrk(urls[1], "{}", 8, self.seconds, expect_errors=True)
        self.row("a 400 without Python over HTTP (the HTTP stack's ceiling): req/s vs FastAPI", ceiling["rps"],
                 results["fastapi"]["rps"], "req/s", "(info)", None, f"{wrk_line}, body {{}}", since)
        for process, _ in [*servers.values(), (timeout_process, None), (logging_process, None),
                           (fastapi_process, None)]:
            stop(process)

    def launch_shaped_rows(self):
        """A bundle shaped as Launch users write them (`predict(x, y, scale)` returning a dict)
        at per_worker 8, against llm-engine's FastAPI shape and the best Python configuration."""
        bundle = str(self.fixtures / "launch-shaped")
        body = json.dumps({"args": {"x": 3, "y": 4, "scale": 2}})
        ours_process, ours_url = self.serve_http(bundle, 8)
        fastapi_process, fastapi_url = self.serve_fastapi(bundle, 8)
        best_process, best_url = self.serve_fastapi_best(bundle)
        since = loadavg()
        results = self.alternate({"ours": ours_url, "fastapi": fastapi_url, "best": best_url}, body)
        line = f"wrk -t2 -c8 -d{self.seconds}s, median of {self.rounds} alternating rounds: `serve launch-shaped --listen --per-worker 8`"
        self.row("Launch-shaped bundle over HTTP, per_worker 8: req/s vs FastAPI (llm-engine's shape)",
                 results["ours"]["rps"], results["fastapi"]["rps"], "req/s", ">= 10", lambda r: r >= 10,
                 f"{line} and benchmarks/baselines/fastapi_server.py (per_worker 8)", since)
        self.row("the same: req/s vs the best Python (async FastAPI, uvloop, httptools, 2 processes)",
                 results["ours"]["rps"], results["best"]["rps"], "req/s", ">= 2", lambda r: r >= 2,
                 f"{line} and benchmarks/baselines/fastapi_best.py", since)
        for process in (ours_process, fastapi_process, best_process):
            stop(process)

    def inprocess_rows(self):
        """In-process against the embedding limit, for every bundle kind."""
        trivial = str(self.fixtures / "trivial")
        one_mib = self.scratch / "one-mib.bin"
        one_mib.write_bytes(os.urandom(1 << 20))
        cases = [
            ("trivial", trivial, TRIVIAL_BODY),
            ("numpy linear model", str(self.samples / "linear-model"),
             json.dumps({"args": {"features": [[1.0, 2.0, 3.0]]}})),
            ("1 MiB input via url", str(self.fixtures / "bytes-echo"), json.dumps({"url": str(one_mib)})),
            ("pickled result", trivial, json.dumps({"args": {"x": 1}, "return_pickled": True})),
        ]
        for name, bundle, body in cases:
            since = loadavg()
            ours = self.bench(bundle, body)["requests_per_second"]
            limit = self.embedding_limit(bundle, body)
            self.row(f"{name} in-process: req/s vs the embedding limit", ours, limit, "req/s", ">= 0.5",
                     lambda r: r >= 0.5, f"launch-worker bench {Path(bundle).name} --request '{body}' --duration "
                     f"{self.seconds} vs benchmarks/baselines/embedding_limit.py", since)

    def spool_rows(self):
        """The spool against the Python consumer of the same protocol, per_worker 2, 8 and 20
        against 1, and without fsync against with."""
        trivial = str(self.fixtures / "trivial")
        # Enough tasks that the first-start-to-last-answer window is long.
        tasks = 2000 if self.seconds >= 3 else 150
        configurations = {
            "python": lambda: self.spool_python(trivial, TRIVIAL_BODY, tasks),
            **{per_worker: (lambda per_worker=per_worker: self.spool_ours(trivial, TRIVIAL_BODY, tasks, True, per_worker))
               for per_worker in (1, 2, 8, 20)},
            "no-fsync": lambda: self.spool_ours(trivial, TRIVIAL_BODY, tasks, False),
        }
        since = loadavg()
        runs = {name: [] for name in configurations}
        for _ in range(self.rounds):
            for name, measure in configurations.items():
                runs[name].append(measure())
        median = {name: statistics.median(values) for name, values in runs.items()}
        how = f"{tasks} tasks, median of {self.rounds} alternating rounds"
        self.row("trivial through the spool, fsync on: tasks/s vs Python consumer", median[1], median["python"],
                 "tasks/s", ">= 2", lambda r: r >= 2,
                 f"{how}: `launch-worker serve --queue spool:` vs benchmarks/baselines/spool_consumer.py", since)
        for per_worker in (2, 8, 20):
            self.row(f"the same, per_worker {per_worker}: tasks/s vs per_worker 1", median[per_worker], median[1],
                     "tasks/s", ">= 0.95" if per_worker > 2 else "(info)",
                     (lambda r: r >= 0.95) if per_worker > 2 else None,
                     f"{how}: `serve --queue spool: --per-worker {per_worker}` vs `--per-worker 1`", since)
        self.row("trivial through the spool, fsync off: tasks/s vs fsync on", median["no-fsync"], median[1],
                 "tasks/s", ">= 1.0", lambda r: r >= 1.0, f"{how}: `serve --queue spool: --no-fsync` vs with fsync",
                 since)
        since = loadavg()
        busy = {1: [], 8: []}
        with busy_core():
            for _ in range(self.rounds):
                for per_worker, values in busy.items():
                    values.append(configurations[per_worker]())
        single, eight = statistics.median(busy[1]), statistics.median(busy[8])
        self.row("the spool with one core kept busy, per_worker 8: tasks/s vs per_worker 1", eight, single, "tasks/s",
                 ">= 0.9", lambda r: r >= 0.9, f"{how}, beside `python -c 'while True: pass'`", since)

    def concurrency_rows(self):
        """A predict that releases the GIL scales with slots; one that holds it does not slow down."""
        sleepy = str(self.fixtures / "sleepy")
        sleep_body = json.dumps({"args": {"seconds": 0.01}})
        since = loadavg()
        single = self.bench(sleepy, sleep_body)["requests_per_second"]
        for per_worker in (4, 16, 64):
            ours = self.bench(sleepy, sleep_body, per_worker=per_worker, concurrency=per_worker)["requests_per_second"]
            self.row(f"sleep 10 ms, per_worker {per_worker}: req/s vs per_worker 1 x {per_worker}", ours,
                     single * per_worker, "req/s", ">= 0.9" if per_worker <= 16 else "(info)",
                     (lambda r: r >= 0.9) if per_worker <= 16 else None,
                     f"launch-worker bench sleepy --per-worker {per_worker} --concurrency {per_worker}", since)
        sleep_50 = json.dumps({"args": {"seconds": 0.05}})
        since = loadavg()
        single = self.bench(sleepy, sleep_50)["requests_per_second"]
        ours = self.bench(sleepy, sleep_50, per_worker=8, concurrency=8)["requests_per_second"]
        self.row("sleep 50 ms, per_worker 8: req/s vs per_worker 1 x 8", ours, single * 8, "req/s", ">= 0.9",
                 lambda r: r >= 0.9, "launch-worker bench sleepy --per-worker 8 --concurrency 8", since)
        # One run a side let one busy moment decide the row (0.80 in one full run, 0.93-0.97 by
        # hand right after): the median of alternating rounds, as the HTTP and queue rows take.
        cpu = str(self.fixtures / "cpu")
        cpu_body = json.dumps({"args": {"n": 20000}})
        since = loadavg()
        rounds = {1: [], 4: []}
        for _ in range(self.rounds):
            for per_worker, values in rounds.items():
                values.append(self.bench(cpu, cpu_body, per_worker=per_worker,
                                         concurrency=per_worker)["requests_per_second"])
        self.row("pure-Python CPU-bound, per_worker 4: req/s vs per_worker 1", statistics.median(rounds[4]),
                 statistics.median(rounds[1]), "req/s", ">= 0.9", lambda r: r >= 0.9,
                 f"launch-worker bench cpu --per-worker 4 --concurrency 4 vs --per-worker 1, median of {self.rounds} "
                 "alternating rounds", since)

    def cold_start_row(self):
        """Process start to ready, against importing cloudpickle."""
        trivial = str(self.fixtures / "trivial")
        since = loadavg()
        ours = statistics.median(
            json.loads(subprocess.run([self.worker, "bench", trivial, "--request", TRIVIAL_BODY, "--requests", "1",
                                       "--warmup", "0", "--log-level", "error", "--json"],
                                      capture_output=True, text=True, check=True).stdout)["cold_start_ms"]
            for _ in range(5))
        base = statistics.median(timed_ms([PYTHON, "-c", "import cloudpickle"]) for _ in range(5))
        self.row("cold start of a trivial bundle: ms vs python -c 'import cloudpickle'", ours, base, "ms", "< 2",
                 lambda r: r < 2, "launch-worker bench trivial --requests 1 (cold_start_ms), median of 5", since)


    def write(self, path):
        machine = machine_description()
        lines = [
            "# Benchmarks",
            "",
            "Written by `scripts/bench` (benchmarks/suite.py); do not edit by hand. Every ratio compares "
            "two measurements taken in the same run on the same machine; `load` is the 1-minute load "
            "average when the row's measurement began and when it ended.",
            "",
            f"- when: {datetime.now(timezone.utc).strftime('%Y-%m-%d %H:%M UTC')}",
            *[f"- {key}: {value}" for key, value in machine.items()],
            "",
            "| case | ours | baseline | ratio | target | met | load | how to reproduce |",
            "|---|---:|---:|---:|---|---|---|---|",
        ]
        for row in self.rows:
            met = "-" if row["met"] is None else "yes" if row["met"] else "**no**"
            lines.append(f"| {row['name']} | {row['ours']:.1f} {row['unit']} | {row['baseline']:.1f} {row['unit']} | "
                         f"{row['ratio']:.2f} | {row['target']} | {met} | {row['load']} | {row['reproduce']} |")
        missed = [row for row in self.rows if row["met"] is False]
        lines += ["", "## Targets missed", ""]
        if not missed:
            lines.append("None in this run's table (the Redis section below has its own).")
        for row in missed:
            lines.append(f"- **{row['name']}**: {row['ratio']:.2f} against a target of {row['target']}. "
                         "See the profile notes below.")
        notes = HERE / "NOTES.md"
        if notes.exists():
            lines += ["", notes.read_text().strip()]
        Path(path).write_text("\n".join(lines) + "\n")


def discard(stream):
    """Reads `stream` to its end, keeping nothing."""
    while stream.read1(1 << 16):
        pass


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("worker")
    parser.add_argument("fixtures", type=Path)
    parser.add_argument("samples", type=Path)
    parser.add_argument("--out", required=True)
    parser.add_argument("--seconds", type=float, default=4, help="seconds per measurement")
    parser.add_argument("--rounds", type=int, default=3, help="alternating rounds of each comparison")
    parser.add_argument("--batch-inputs", type=int, default=100_000,
                        help="inputs of the batch row (its memory row runs a tenth and ten times as many)")
    options = parser.parse_args()
    suite = Suite(options.worker, options.fixtures, options.samples, options.seconds, options.rounds,
                  options.batch_inputs)
    try:
        suite.run()
    finally:
        kill_running(suite.children)
    suite.write(options.out)
    print(f"wrote {options.out}")


if __name__ == "__main__":
    main()
