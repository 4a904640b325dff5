"""CPU time per sync predict of `launch-worker gateway` and of the worker behind it.

Usage: .venv/bin/python benchmarks/gateway_cost.py WORKER[,WORKER...] FIXTURES [--rounds N]
(FIXTURES: the folder Tests/Fixtures/build_test_bundles.py makes). Each round starts a gateway
with one sync endpoint of the trivial bundle (per_worker 8), warms it up, drives
`POST /task_sync` with `wrk -c8` for 8 s and prints requests/s and the CPU microseconds per
request of the gateway process and of its worker. With several builds, the rounds alternate
between them and the order swaps every round: on these machines the second of two runs in a
fixed order is the faster. CPU per request moves far less with the machine's load than
requests/s do (benchmarks/NOTES.md).
"""

import argparse
import os
import subprocess
import tempfile
from pathlib import Path

from gateway_rows import AUTHORIZATION, BODY, create_endpoint, start_gateway
from measure import stop, wrk


def cpu_seconds(pid):
    """The process's user and system CPU seconds so far."""
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def drive(url, seconds):
    """wrk -c8 POSTing the trivial task to the gateway (every answer must be a success); returns
    requests/s."""
    return wrk(url, BODY, 8, seconds, path="/task_sync/bench", authorization=AUTHORIZATION)["rps"]


def measure(worker, fixtures, seconds=8):
    """One round: (requests/s, gateway µs/request, worker µs/request)."""
    children = []
    with tempfile.TemporaryDirectory(prefix="launch-worker-gateway-cost-") as scratch:
        try:
            gateway, url = start_gateway(worker, Path(scratch), children)
            create_endpoint(url, fixtures / "trivial")
            (endpoint_worker,) = subprocess.run(["pgrep", "-P", str(gateway.pid)], capture_output=True, text=True,
                                                check=True).stdout.split()
            drive(url, 2)
            before = cpu_seconds(gateway.pid), cpu_seconds(endpoint_worker)
            rps = drive(url, seconds)
            after = cpu_seconds(gateway.pid), cpu_seconds(endpoint_worker)
            return rps, *((end - start) / (rps * seconds) * 1e6 for start, end in zip(before, after))
        finally:
            # Stopped before its state folder goes (the gateway drains its worker as it stops).
            for child in children:
                if child.poll() is None:
                    stop(child)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("workers", help="one launch-worker executable, or several separated by commas")
    parser.add_argument("fixtures", type=Path)
    parser.add_argument("--rounds", type=int, default=3)
    options = parser.parse_args()
    workers = options.workers.split(",")
    for round_number in range(options.rounds):
        for worker in workers if round_number % 2 == 0 else workers[::-1]:
            rps, gateway, endpoint_worker = measure(worker, options.fixtures)
            print(f"{worker}: {rps:8.0f} req/s  gateway {gateway:5.1f} us/request  worker {endpoint_worker:5.1f} "
                  f"us/request  load {os.getloadavg()[0]:.2f}", flush=True)


if __name__ == "__main__":
    main()
