"""The benchmark suite: launch-worker against the Python workers it replaces, on the same
machine in the same run, printed as ratios and written to BENCHMARKS.md.

Usage: suite.py WORKER FIXTURES_DIR SAMPLES_DIR --out BENCHMARKS.md [--seconds S]
                [--batch-inputs N] [--only-batch]
"""

import argparse
import json
import os
import platform
import re
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import datetime, timezone
from pathlib import Path

from launch_worker.spool import SpoolClient

HERE = Path(__file__).resolve().parent
BASELINES = HERE / "baselines"
PYTHON = sys.executable


class Suite:
    """Runs each comparison and keeps its row."""

    def __init__(self, worker, fixtures, samples, seconds, batch_inputs=100_000):
        self.worker, self.fixtures, self.samples, self.seconds = worker, fixtures, samples, seconds
        self.batch_inputs = batch_inputs
        self.rows = []
        self.children = []
        self.scratch = Path(tempfile.mkdtemp(prefix="launch-worker-bench-"))

    # --- measuring our worker -------------------------------------------------------------

    def bench(self, bundle, body, via="inprocess", per_worker=1, concurrency=1):
        """`launch-worker bench --json` for `seconds`."""
        command = [
            self.worker, "bench", bundle, "--request", body, "--via", via, "--per-worker", str(per_worker),
            "--concurrency", str(concurrency), "--duration", str(self.seconds), "--log-level", "error", "--json",
        ]
        return json.loads(subprocess.run(command, capture_output=True, text=True, check=True).stdout)

    def serve_http(self, bundle, per_worker):
        """Starts `launch-worker serve --listen`; returns (process, base URL)."""
        ready = self.scratch / f"ready-{time.monotonic_ns()}"
        process = subprocess.Popen(
            [self.worker, "serve", bundle, "--listen", "127.0.0.1:0", "--per-worker", str(per_worker),
             "--ready-file", ready, "--log-level", "error"], stdout=subprocess.DEVNULL)
        self.children.append(process)
        wait_until(lambda: ready.exists(), "our worker is ready")
        listen = next(line for line in ready.read_text().splitlines() if line.startswith("listen "))
        return process, "http://" + listen.removeprefix("listen ")

    def spool_ours(self, bundle, body, tasks, fsync, per_worker=1):
        """Tasks/s of `serve --queue spool:` from the first start to the last finish."""
        folder = self.scratch / f"spool-{time.monotonic_ns()}"
        client = SpoolClient(folder)
        ids = [client.submit_request(json.loads(body)) for _ in range(tasks)]
        command = [self.worker, "serve", bundle, "--queue", f"spool:{folder}", "--per-worker", str(per_worker),
                   "--exit-when-empty", "--log-level", "error"]
        subprocess.run(command + ([] if fsync else ["--no-fsync"]), check=True)
        return spool_throughput(client, ids)

    def batch_ours(self, bundle, rows):
        """`launch-worker batch` over a CSV of `rows` trivial inputs: its summary.json."""
        output = self.scratch / f"batch-{time.monotonic_ns()}"
        subprocess.run([self.worker, "batch", bundle, "--input", self.batch_csv(rows), "--output", output,
                        "--log-level", "error"], check=True, stderr=subprocess.DEVNULL)
        return json.loads((output / "summary.json").read_text())

    def batch_csv(self, rows):
        """A CSV of `rows` trivial inputs (`id,args`), made once per size."""
        path = self.scratch / f"batch-{rows}.csv"
        if not path.exists():
            with open(path, "w", encoding="utf-8") as file:
                file.write("id,args\n")
                file.writelines(f'{row},"{{""x"": {row}}}"\n' for row in range(rows))
        return path

    # --- measuring the baselines ----------------------------------------------------------

    def batch_python(self, bundle, rows):
        """Items/s of the hand-written Python loop over the same CSV."""
        out = subprocess.run([PYTHON, BASELINES / "batch_loop.py", bundle, self.batch_csv(rows),
                              self.scratch / f"python-batch-{rows}.jsonl"],
                             cwd=BASELINES, capture_output=True, text=True, check=True).stdout
        return float(out.strip())

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

    def spool_python(self, bundle, body, tasks, fsync):
        """Tasks/s of the Python spool consumer on the same protocol."""
        folder = self.scratch / f"pyspool-{time.monotonic_ns()}"
        client = SpoolClient(folder)
        ids = [client.submit_request(json.loads(body)) for _ in range(tasks)]
        subprocess.run([PYTHON, BASELINES / "spool_consumer.py", bundle, folder] + ([] if fsync else ["--no-fsync"]),
                       cwd=BASELINES, check=True)
        return spool_throughput(client, ids)

    def embedding_limit(self, bundle, body):
        """Requests/s of the Python work alone."""
        out = subprocess.run([PYTHON, BASELINES / "embedding_limit.py", bundle, body, str(self.seconds)],
                             cwd=BASELINES, capture_output=True, text=True, check=True).stdout
        return float(out.strip())

    # --- rows -----------------------------------------------------------------------------

    def row(self, name, ours, baseline, unit, target, met, reproduce, note=""):
        ratio = ours / baseline if baseline else float("nan")
        self.rows.append(dict(name=name, ours=ours, baseline=baseline, unit=unit, ratio=ratio, target=target,
                              met=met(ratio), reproduce=reproduce, note=note))
        print(f"{name:58} {ours:10.1f} {baseline:10.1f} {ratio:7.2f}  {target:12} {'ok' if met(ratio) else 'MISSED'}",
              flush=True)

    def run(self):
        trivial = str(self.fixtures / "trivial")
        sleepy = str(self.fixtures / "sleepy")
        echo = str(self.fixtures / "bytes-echo")
        numpy_model = str(self.samples / "linear-model")
        trivial_body = json.dumps({"args": {"x": 1}})

        # Sync: the same wrk load against both servers.
        for connections in (8,):
            ours_process, ours_url = self.serve_http(trivial, 1)
            ours = wrk(ours_url, trivial_body, connections, self.seconds)
            # The same server answering 400 to a body with neither args nor url: no Python at
            # all, so the HTTP stack's own ceiling on this machine.
            ceiling = wrk(ours_url, "{}", connections, self.seconds, expect_errors=True)
            stop(ours_process)
            base_process, base_url = self.serve_fastapi(trivial, 1)
            base = wrk(base_url, trivial_body, connections, self.seconds)
            stop(base_process)
            reproduce = (f"wrk -t2 -c{connections} -d{self.seconds}s -s benchmarks/wrk_post.lua against "
                         "`launch-worker serve trivial --listen` and benchmarks/baselines/fastapi_server.py")
            self.row(f"trivial over HTTP, {connections} connections: req/s vs FastAPI", ours["rps"], base["rps"],
                     "req/s", ">= 10", lambda r: r >= 10, reproduce)
            self.row("trivial over HTTP: our p99 vs FastAPI p50 (ms, lower is better)", ours["p99"], base["p50"],
                     "ms", "< 1", lambda r: r < 1, reproduce)
            self.row("a 400 without Python over HTTP (the HTTP stack's ceiling): req/s vs FastAPI", ceiling["rps"],
                     base["rps"], "req/s", "(info)", lambda r: True, reproduce.replace("lua against", "lua, body {}, against"))

        # In-process against the embedding limit, for every bundle kind.
        one_mib = self.scratch / "one-mib.bin"
        one_mib.write_bytes(os.urandom(1 << 20))
        cases = [
            ("trivial", trivial, trivial_body),
            ("numpy linear model", numpy_model, json.dumps({"args": {"features": [[1.0, 2.0, 3.0]]}})),
            ("1 MiB input via url", echo, json.dumps({"url": str(one_mib)})),
            ("pickled result", trivial, json.dumps({"args": {"x": 1}, "return_pickled": True})),
        ]
        limits = {}
        for name, bundle, body in cases:
            ours = self.bench(bundle, body)["requests_per_second"]
            limit = limits[name] = self.embedding_limit(bundle, body)
            self.row(f"{name} in-process: req/s vs the embedding limit", ours, limit, "req/s", ">= 0.5",
                     lambda r: r >= 0.5, f"launch-worker bench {Path(bundle).name} --request '{body}' --duration "
                     f"{self.seconds} vs benchmarks/baselines/embedding_limit.py")

        # Spool against the Python consumer of the same protocol.
        # Enough tasks that the first-start-to-last-finish window (millisecond timings) is long.
        tasks = 2000 if self.seconds >= 3 else 150
        ours = self.spool_ours(trivial, trivial_body, tasks, fsync=True)
        base = self.spool_python(trivial, trivial_body, tasks, fsync=True)
        self.row("trivial through the spool, fsync on: tasks/s vs Python consumer", ours, base, "tasks/s", ">= 2",
                 lambda r: r >= 2, f"{tasks} tasks: `launch-worker serve --queue spool:` vs benchmarks/baselines/"
                 "spool_consumer.py")
        ours = self.spool_ours(trivial, trivial_body, tasks * 2, fsync=True, per_worker=8)
        self.row("the same, per_worker 8 (fsyncs overlap): tasks/s vs Python consumer", ours, base, "tasks/s", ">= 2",
                 lambda r: r >= 2, f"{tasks * 2} tasks: `launch-worker serve --queue spool: --per-worker 8` vs "
                 "benchmarks/baselines/spool_consumer.py")
        ours = self.spool_ours(trivial, trivial_body, tasks, fsync=False)
        self.row("trivial through the spool, fsync off: tasks/s vs the embedding limit", ours, limits["trivial"],
                 "tasks/s", "bounded", lambda r: r <= 1.05, "`serve --queue spool: --no-fsync`; the Python work bounds it")

        # Concurrency: a predict that releases the GIL for 10 ms.
        sleep_body = json.dumps({"args": {"seconds": 0.01}})
        single = self.bench(sleepy, sleep_body)["requests_per_second"]
        for per_worker in (4, 16, 64):
            ours = self.bench(sleepy, sleep_body, per_worker=per_worker, concurrency=per_worker)["requests_per_second"]
            self.row(f"sleep 10 ms, per_worker {per_worker}: req/s vs per_worker 1 x {per_worker}", ours,
                     single * per_worker, "req/s", ">= 0.9" if per_worker <= 16 else "(info)",
                     (lambda r: r >= 0.9) if per_worker <= 16 else (lambda r: True),
                     f"launch-worker bench sleepy --per-worker {per_worker} --concurrency {per_worker}")

        # The spool issue's own case: a 50 ms sleep at per_worker 8, and a predict that holds the
        # GIL, which must not get slower with more slots.
        sleep_50 = json.dumps({"args": {"seconds": 0.05}})
        single = self.bench(sleepy, sleep_50)["requests_per_second"]
        ours = self.bench(sleepy, sleep_50, per_worker=8, concurrency=8)["requests_per_second"]
        self.row("sleep 50 ms, per_worker 8: req/s vs per_worker 1 x 8", ours, single * 8, "req/s", ">= 0.9",
                 lambda r: r >= 0.9, "launch-worker bench sleepy --per-worker 8 --concurrency 8")
        cpu = str(self.fixtures / "cpu")
        cpu_body = json.dumps({"args": {"n": 20000}})
        single = self.bench(cpu, cpu_body)["requests_per_second"]
        ours = self.bench(cpu, cpu_body, per_worker=4, concurrency=4)["requests_per_second"]
        self.row("pure-Python CPU-bound, per_worker 4: req/s vs per_worker 1", ours, single, "req/s", ">= 0.9",
                 lambda r: r >= 0.9, "launch-worker bench cpu --per-worker 4 --concurrency 4 vs --per-worker 1")

        # Cold start: process start to ready, against importing cloudpickle.
        ours = statistics.median(
            json.loads(subprocess.run([self.worker, "bench", trivial, "--request", trivial_body, "--requests", "1",
                                       "--warmup", "0", "--log-level", "error", "--json"],
                                      capture_output=True, text=True, check=True).stdout)["cold_start_ms"]
            for _ in range(5))
        base = statistics.median(timed_ms([PYTHON, "-c", "import cloudpickle"]) for _ in range(5))
        self.row("cold start of a trivial bundle: ms vs python -c 'import cloudpickle'", ours, base, "ms", "< 2",
                 lambda r: r < 2, "launch-worker bench trivial --requests 1 (cold_start_ms), median of 5")

    def run_batch(self):
        """`launch-worker batch` against the Python loop a user would write, and its memory as
        the input grows a hundredfold."""
        trivial = str(self.fixtures / "trivial")
        rows = self.batch_inputs
        ours = self.batch_ours(trivial, rows)
        base = self.batch_python(trivial, rows)
        self.row(f"batch of {rows:,} trivial CSV rows: items/s vs a Python loop", ours["run"]["items_per_second"],
                 base, "items/s", ">= 3", lambda r: r >= 3,
                 f"launch-worker batch trivial --input rows.csv --output DIR ({rows:,} rows, summary.json's "
                 "items_per_second) vs benchmarks/baselines/batch_loop.py")
        small = self.batch_ours(trivial, rows // 10)["peak_rss_bytes"] / (1 << 20)
        large = self.batch_ours(trivial, rows * 10)["peak_rss_bytes"] / (1 << 20)
        self.row(f"batch peak RSS: {rows * 10:,} vs {rows // 10:,} inputs (MiB, lower is better)", large, small,
                 "MiB", "< 1.2", lambda r: r < 1.2, "launch-worker batch trivial, summary.json's peak_rss_bytes")

    def write(self, path):
        machine = machine_description()
        lines = [
            "# Benchmarks",
            "",
            "Written by `scripts/bench` (benchmarks/suite.py); do not edit by hand. Every ratio compares "
            "two measurements taken in the same run on the same machine.",
            "",
            f"- when: {datetime.now(timezone.utc).strftime('%Y-%m-%d %H:%M UTC')}",
            *[f"- {key}: {value}" for key, value in machine.items()],
            "",
            "| case | ours | baseline | ratio | target | met | how to reproduce |",
            "|---|---:|---:|---:|---|---|---|",
        ]
        for row in self.rows:
            lines.append(f"| {row['name']} | {row['ours']:.1f} {row['unit']} | {row['baseline']:.1f} {row['unit']} | "
                         f"{row['ratio']:.2f} | {row['target']} | {'yes' if row['met'] else '**no**'} | "
                         f"{row['reproduce']} |")
        missed = [row for row in self.rows if not row["met"]]
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


def wrk(url, body, connections, seconds, expect_errors=False):
    """Requests/s and latency percentiles (ms) from wrk with the POST script; every answer must
    be a success unless `expect_errors`."""
    output = subprocess.run(
        ["wrk", "-t2", f"-c{connections}", f"-d{max(1, round(seconds))}s", "--latency", "-s", HERE / "wrk_post.lua",
         url],
        env={**os.environ, "BENCH_BODY": body}, capture_output=True, text=True, check=True).stdout
    non_2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", output)
    if non_2xx and not expect_errors:
        raise SystemExit(f"wrk saw {non_2xx.group(1)} failed responses from {url}:\n{output}")

    def percentile(label):
        match = re.search(rf"^\s+{label}%\s+([\d.]+)(us|ms|s)\s*$", output, re.MULTILINE)
        value, unit = float(match.group(1)), match.group(2)
        return value / 1000 if unit == "us" else value * 1000 if unit == "s" else value

    return {"rps": float(re.search(r"Requests/sec:\s+([\d.]+)", output).group(1)),
            "p50": percentile("50"), "p99": percentile("99")}


def spool_throughput(client, ids):
    responses = [client.get(task_id) for task_id in ids]
    failed = [r for r in responses if r["status"] != "SUCCESS"]
    if failed:
        raise SystemExit(f"{len(failed)} spool tasks failed, e.g. {failed[0]}")
    starts = [datetime.fromisoformat(r["timings"]["started_at"]) for r in responses]
    ends = [datetime.fromisoformat(r["timings"]["finished_at"]) for r in responses]
    return len(ids) / (max(ends) - min(starts)).total_seconds()


def timed_ms(command):
    start = time.perf_counter()
    subprocess.run(command, check=True)
    return (time.perf_counter() - start) * 1000


def free_port():
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def http_ok(url):
    import urllib.request

    try:
        with urllib.request.urlopen(url, timeout=1) as response:
            return response.status == 200
    except OSError:
        return False


def wait_until(condition, what, timeout=120):
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise SystemExit(f"timed out waiting until {what}")
        time.sleep(0.05)


def stop(process):
    process.send_signal(signal.SIGTERM)
    process.wait(timeout=60)


def machine_description():
    cpu = next((line.split(":", 1)[1].strip() for line in Path("/proc/cpuinfo").read_text().splitlines()
                if line.startswith("model name")), platform.processor())
    swift = subprocess.run(["swift", "--version"], capture_output=True, text=True).stdout.splitlines()[0]
    return {"machine": f"{os.cpu_count()} cores, {cpu}, Linux {platform.release()}",
            "swift": swift, "python": f"{platform.python_version()} (Debian's, embedded and for the baselines)",
            "wrk": subprocess.run(["wrk", "-v"], capture_output=True, text=True).stdout.splitlines()[0]}


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("worker")
    parser.add_argument("fixtures", type=Path)
    parser.add_argument("samples", type=Path)
    parser.add_argument("--out", required=True)
    parser.add_argument("--seconds", type=float, default=4)
    parser.add_argument("--batch-inputs", type=int, default=100_000,
                        help="inputs of the batch row (its memory row runs a tenth and ten times as many)")
    parser.add_argument("--only-batch", action="store_true", help="run only the batch rows")
    options = parser.parse_args()
    suite = Suite(options.worker, options.fixtures, options.samples, options.seconds, options.batch_inputs)
    print(f"{'case':58} {'ours':>10} {'baseline':>10} {'ratio':>7}  target", flush=True)
    try:
        if not options.only_batch:
            suite.run()
        suite.run_batch()
    finally:
        for child in suite.children:
            if child.poll() is None:
                child.kill()
    suite.write(options.out)
    print(f"wrote {options.out}")


if __name__ == "__main__":
    main()
