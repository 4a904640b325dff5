"""The gateway's cost on a sync predict: `POST /task_sync/{endpoint}` through `launch-worker
gateway` (the endpoint's one worker behind it on a Unix socket) against `POST /predict` straight
to a worker of the same bundle and settings, with one connection (latency: the p50 the gateway
adds, target <= 0.1 ms) and with 8 (throughput, target >= 0.5x). A part of suite.py's run, and
runnable alone:

    benchmarks/gateway_rows.py WORKER FIXTURES_DIR [--seconds S] [--rounds N]
"""

import argparse
import base64
import json
import statistics
import subprocess
import tempfile
from datetime import datetime, timezone
import urllib.request
from pathlib import Path

from measure import kill_running, loadavg, stop, wait_until, wrk

BODY = json.dumps({"args": {"x": 1}, "return_pickled": False})
PER_WORKER = 8
AUTHORIZATION = "Basic " + base64.b64encode(b"bench-key:").decode()


def gateway_rows(suite):
    """Adds the gateway's rows to `suite` (a suite.Suite)."""
    results, since = measure(suite.worker, suite.fixtures, suite.scratch, suite.seconds, suite.rounds,
                             suite.children)
    for row in rows(results, suite.seconds, suite.rounds):
        suite.row(*row, since)


def rows(results, seconds, rounds):
    """The rows' fields (name, ours, baseline, unit, target, met, reproduce) from `measure`'s
    results: the p50 through the gateway against direct with one connection (target: at most
    100 us more), and the req/s with 8 connections (target: at least half)."""
    line = (f"wrk -c1 and -c8 -d{seconds:g}s, median of {rounds} alternating rounds: POST /task_sync through "
            f"`launch-worker gateway` (1 worker, per_worker {PER_WORKER}) vs `serve trivial --listen --per-worker "
            f"{PER_WORKER}`: benchmarks/gateway_rows.py")
    gateway, direct = results["gateway-1"]["p50"] * 1000, results["direct-1"]["p50"] * 1000
    added = gateway - direct
    return [
        (f"sync predict through the gateway, 1 connection: p50 vs the worker directly (us, lower is better; "
         f"{added:.0f} us added)", gateway, direct, "us", "<= 100 us added", lambda _: added <= 100, line),
        ("sync predict through the gateway, 8 connections: req/s vs the worker directly",
         results["gateway-8"]["rps"], results["direct-8"]["rps"], "req/s", ">= 0.5", lambda ratio: ratio >= 0.5,
         line),
    ]


def write_rows(path, table_rows, since, marker="sync predict through the gateway"):
    """Puts `table_rows` into the table of BENCHMARKS.md at `path` in suite.py's format,
    replacing earlier rows whose line holds `marker` (a run of this file or another gateway
    file alone; scripts/bench writes the whole file). A row whose `met` is None is "(info)"."""
    load = f"{since:.2f} → {loadavg():.2f}"
    when = datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    lines = [line for line in Path(path).read_text().splitlines() if marker not in line]
    new = []
    for name, ours, baseline, unit, target, met, reproduce in table_rows:
        ratio = ours / baseline
        verdict = "-" if met is None else "yes" if met(ratio) else "**no**"
        new.append(f"| {name} | {ours:.1f} {unit} | {baseline:.1f} {unit} | {ratio:.2f} | {target} | {verdict} | "
                   f"{load} | {reproduce} (measured alone, {when}) |")
    end = next(index for index, line in enumerate(lines) if line.startswith("| case | ours |"))
    while lines[end + 1].startswith("|"):
        end += 1
    Path(path).write_text("\n".join(lines[:end + 1] + new + lines[end + 1:]) + "\n")


def measure(worker, fixtures, scratch, seconds, rounds, children):
    """The median of `rounds` alternating wrk runs against the gateway and the worker directly;
    returns them by name (`gateway-1`, `direct-1`, `gateway-8`, `direct-8`) and the load average
    when they began."""
    trivial = fixtures / "trivial"
    gateway, gateway_url = start_gateway(worker, scratch, children)
    create_endpoint(gateway_url, trivial)
    direct = subprocess.Popen(
        [worker, "serve", trivial, "--listen", "127.0.0.1:0", "--per-worker", str(PER_WORKER),
         "--ready-file", scratch / "direct.ready", "--log-level", "error"], stdout=subprocess.DEVNULL)
    children.append(direct)
    wait_until(lambda: (scratch / "direct.ready").exists(), "the direct worker is ready")
    listen = next(line for line in (scratch / "direct.ready").read_text().splitlines() if line.startswith("listen "))
    direct_url = "http://" + listen.removeprefix("listen ")
    since = loadavg()
    runs = {name: [] for name in ("gateway-1", "direct-1", "gateway-8", "direct-8")}
    for _ in range(rounds):
        for connections in (1, 8):
            runs[f"gateway-{connections}"].append(wrk(gateway_url, BODY, connections, seconds,
                                                      path="/task_sync/bench", authorization=AUTHORIZATION))
            runs[f"direct-{connections}"].append(wrk(direct_url, BODY, connections, seconds))
    stop(direct)
    stop(gateway)
    return {name: {key: statistics.median(run[key] for run in results) for key in ("rps", "p50", "p99")}
            for name, results in runs.items()}, since


def start_gateway(worker, scratch, children, *options):
    """Starts `launch-worker gateway` on a free port with `options` (its state and ready file in
    the folder `scratch`); returns it and its URL."""
    scratch.mkdir(parents=True, exist_ok=True)
    ready = scratch / "gateway.ready"
    gateway = subprocess.Popen(
        [worker, "gateway", "--listen", "127.0.0.1:0", "--state-dir", scratch / "gateway", "--ready-file", ready,
         "--log-level", "error", *options])
    children.append(gateway)
    wait_until(ready.exists, "the gateway listens")
    return gateway, "http://" + ready.read_text().split()[1]


def create_endpoint(url, bundle, name="bench", kind="sync", per_worker=PER_WORKER):
    """Records the bundle folder's bundle and an endpoint `name` of one worker of it; waits
    until READY."""
    body = json.loads((bundle / "bundle.json").read_text())
    fields = ("packaging_type", "bundle_name", "bundle_metadata", "requirements", "env_params", "app_config")
    call(url, "POST", "model_bundle", {**{key: body[key] for key in fields}, "location": str(bundle / "artifact")})
    call(url, "POST", "endpoints", {"endpoint_name": name, "bundle_name": body["bundle_name"], "min_workers": 1,
                                    "max_workers": 1, "per_worker": per_worker, "endpoint_type": kind})
    wait_until(lambda: call(url, "GET", f"endpoints/{name}")["status"] == "READY", "the endpoint is READY")


def call(url, method, route, body=None):
    """A JSON call to the gateway with the bench key; returns the answer's JSON."""
    request = urllib.request.Request(f"{url}/{route}", method=method, data=json.dumps(body or {}).encode(),
                                     headers={"Authorization": AUTHORIZATION, "Content-Type": "application/json"})
    with urllib.request.urlopen(request, timeout=60) as response:
        return json.loads(response.read())


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("worker")
    parser.add_argument("fixtures", type=Path)
    parser.add_argument("--seconds", type=float, default=4)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--markdown", type=Path, help="put the rows into this BENCHMARKS.md's table")
    options = parser.parse_args()
    children = []
    try:
        with tempfile.TemporaryDirectory(prefix="launch-worker-gateway-bench-") as scratch:
            results, since = measure(options.worker, options.fixtures, Path(scratch), options.seconds, options.rounds,
                                     children)
    finally:
        kill_running(children)
    print(f"load {since:.2f} -> {loadavg():.2f}")
    for name, result in results.items():
        print(f"{name:10} {result['rps']:10.1f} req/s  p50 {result['p50'] * 1000:7.0f} us  "
              f"p99 {result['p99'] * 1000:7.0f} us")
    added = (results["gateway-1"]["p50"] - results["direct-1"]["p50"]) * 1000
    ratio = results["gateway-8"]["rps"] / results["direct-8"]["rps"]
    print(f"p50 added {added:.0f} us (goal <= 100); req/s {ratio:.2f}x direct (goal >= 0.5)")
    if options.markdown:
        write_rows(options.markdown, rows(results, options.seconds, options.rounds), since)


if __name__ == "__main__":
    main()
