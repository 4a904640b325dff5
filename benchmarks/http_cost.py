"""CPU time and context switches per request of `serve --listen`, per_worker 1 against 8.

Usage: .venv/bin/python benchmarks/http_cost.py WORKER FIXTURES [serve arguments...]
(FIXTURES: the folder Tests/Fixtures/build_test_bundles.py makes). Three alternating rounds of
`wrk -c8` for 3 s each against the trivial bundle; prints the medians. Per-request CPU and
context switches change far less with the machine's load than requests/s do, which makes them
the figures to compare builds by on a shared machine (benchmarks/NOTES.md).
"""
import glob
import json
import os
import statistics
import sys
from pathlib import Path

from measure import kill_running, wrk
from suite import Suite

def counters(pid):
    """The process's CPU seconds and its threads' context switches so far."""
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    cpu = (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    cs = 0
    for status in glob.glob(f"/proc/{pid}/task/*/status"):
        try:
            for line in open(status):
                if "ctxt_switches" in line:
                    cs += int(line.split()[1])
        except FileNotFoundError:
            pass
    return cpu, cs

worker, fixtures, extra = sys.argv[1], Path(sys.argv[2]), sys.argv[3:]
s = Suite(worker, fixtures, fixtures, 3, 3, 0)
body = json.dumps({"args": {"x": 1}})
try:
    servers = {pw: s.serve_http(str(fixtures / "trivial"), pw, extra) for pw in (1, 8)}
    rows = {pw: [] for pw in servers}
    for _ in range(3):
        for pw, (process, url) in servers.items():
            c0, s0 = counters(process.pid)
            r = wrk(url, body, 8, 3)
            c1, s1 = counters(process.pid)
            n = r["rps"] * 3
            rows[pw].append((r["rps"], (c1 - c0) / n * 1e6, (s1 - s0) / n))
    for pw, rs in rows.items():
        print(f"per_worker {pw}: rps {statistics.median(x[0] for x in rs):8.0f}  cpu/req {statistics.median(x[1] for x in rs):6.1f} us  cs/req {statistics.median(x[2] for x in rs):5.2f}", f"load {os.getloadavg()[0]:.2f}")
finally:
    kill_running(s.children)
