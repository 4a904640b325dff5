"""How the benchmarks measure: wrk against a server, a spool's throughput up to durability,
the machine (what it is, its load, a core kept busy), and the small process helpers the suite
shares."""

import os
import platform
import re
import signal
import socket
import subprocess
import sys
import time
from contextlib import contextmanager
from pathlib import Path

HERE = Path(__file__).resolve().parent


def wrk(url, body, connections, seconds, expect_errors=False, path="/predict", authorization=None):
    """Requests/s, latency percentiles (ms) and failed requests (answers that are not 2xx, and
    socket errors) from wrk with the POST script to `path`, with the `authorization` header if
    given; every answer must be a success unless `expect_errors`."""
    extra = {"BENCH_PATH": path, **({"BENCH_AUTH": authorization} if authorization else {})}
    output = subprocess.run(
        ["wrk", f"-t{min(2, connections)}", f"-c{connections}", f"-d{max(1, round(seconds))}s", "--latency", "-s",
         HERE / "wrk_post.lua", url],
        env={**os.environ, "BENCH_BODY": body, **extra}, capture_output=True, text=True, check=True).stdout
    non_2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", output)
    if non_2xx and not expect_errors:
        raise SystemExit(f"wrk saw {non_2xx.group(1)} failed responses from {url}:\n{output}")
    socket_errors = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", output)
    failed = int(non_2xx.group(1)) if non_2xx else 0
    failed += sum(int(count) for count in socket_errors.groups()) if socket_errors else 0

    def percentile(label):
        match = re.search(rf"^\s+{label}%\s+([\d.]+)(us|ms|s)\s*$", output, re.MULTILINE)
        value, unit = float(match.group(1)), match.group(2)
        return value / 1000 if unit == "us" else value * 1000 if unit == "s" else value

    return {"rps": float(re.search(r"Requests/sec:\s+([\d.]+)", output).group(1)),
            "p50": percentile("50"), "p99": percentile("99"), "failed": failed}


def spool_throughput(folder, client, ids):
    """Tasks/s from the first task's start to the moment the last answer was published durably.

    Both workers write an answer, make it durable, then rename it into `responses/` (ours in
    groups after one `syncfs`, the Python consumer one by one after its fsync), and a rename
    sets the file's ctime: the window ends at durability for both."""
    from datetime import datetime

    responses = [client.get(task_id) for task_id in ids]
    failed = [r for r in responses if r["status"] != "SUCCESS"]
    if failed:
        raise SystemExit(f"{len(failed)} spool tasks failed, e.g. {failed[0]}")
    start = min(datetime.fromisoformat(r["timings"]["started_at"]).timestamp() for r in responses)
    published = max(os.stat(Path(folder) / "responses" / f"{task_id}.json").st_ctime_ns for task_id in ids) / 1e9
    return len(ids) / (published - start)


def loadavg():
    """The machine's 1-minute load average, as /proc/loadavg says."""
    return float(Path("/proc/loadavg").read_text().split()[0])


@contextmanager
def busy_core():
    """Keeps one core busy with a spinning process while the block runs (a shared node)."""
    spinner = subprocess.Popen([sys.executable, "-c", "while True: pass"])
    try:
        yield
    finally:
        spinner.kill()
        spinner.wait()


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


def kill_running(children):
    """Stops the processes of `children` still running: what a benchmark started, as it ends.
    SIGTERM first, so that one with processes of its own (uvicorn's workers, a pool's) stops
    them rather than leaving them running; SIGKILL for any still there 10 s later."""
    running = [child for child in children if child.poll() is None]
    for child in running:
        child.terminate()
    for child in running:
        try:
            child.wait(timeout=10)
        except subprocess.TimeoutExpired:
            child.kill()
            child.wait()


def machine_description():
    cpu = next((line.split(":", 1)[1].strip() for line in Path("/proc/cpuinfo").read_text().splitlines()
                if line.startswith("model name")), platform.processor())
    swift = subprocess.run(["swift", "--version"], capture_output=True, text=True).stdout.splitlines()[0]
    return {"machine": f"{os.cpu_count()} cores, {cpu}, Linux {platform.release()}",
            "swift": swift, "python": f"{platform.python_version()} (Debian's, embedded and for the baselines)",
            "wrk": subprocess.run(["wrk", "-v"], capture_output=True, text=True).stdout.splitlines()[0]}
