"""The batch rows of the benchmark suite: `launch-worker batch` over a CSV of trivial inputs
against the Python loop a user would write by hand (benchmarks/baselines/batch_loop.py), and
batch's peak memory as the input grows a hundredfold.

Run alone, it prints just these rows (BENCHMARKS.md is left alone):
    .venv/bin/python benchmarks/batch_rows.py WORKER FIXTURES_DIR [INPUTS]
"""

import json
import statistics
import subprocess
import sys
import time
from pathlib import Path

from measure import loadavg

BASELINES = Path(__file__).resolve().parent / "baselines"
PYTHON = sys.executable


def batch_rows(suite, inputs):
    """Measures and adds the rows to `suite` (a `suite.Suite`), with `inputs` rows of input:
    `--processes 1` and `--processes 2` against the Python loop, the median of `suite.rounds`
    rounds taken in turn, so that a busy moment hits all three alike."""
    trivial = str(suite.fixtures / "trivial")
    since = loadavg()
    runs = {1: [], 2: [], "python": []}
    for _ in range(suite.rounds):
        for processes in (1, 2):
            runs[processes].append(batch_ours(suite, trivial, inputs, processes)["run"]["items_per_second"])
        runs["python"].append(batch_python(suite, trivial, inputs))
    base = statistics.median(runs["python"])
    # Issue 18's target is `batch` as a user runs it; a second process is there for predicts that
    # use a core each, and with a trivial one it shares this machine's two cores with the reader.
    for processes in (1, 2):
        suite.row(f"batch of {inputs:,} trivial CSV rows, --processes {processes}: items/s vs a Python loop",
                  statistics.median(runs[processes]), base, "items/s", ">= 3" if processes == 1 else "(info)",
                  (lambda r: r >= 3) if processes == 1 else None,
                  f"launch-worker batch trivial --input rows.csv --output DIR --processes {processes} ({inputs:,} "
                  f"rows, summary.json's items_per_second) vs benchmarks/baselines/batch_loop.py, median of "
                  f"{suite.rounds} alternating rounds", since)
    since = loadavg()
    small = batch_ours(suite, trivial, inputs // 10)["peak_rss_bytes"] / (1 << 20)
    large = batch_ours(suite, trivial, inputs * 10)["peak_rss_bytes"] / (1 << 20)
    suite.row(f"batch peak RSS: {inputs * 10:,} vs {inputs // 10:,} inputs (MiB, lower is better)", large, small,
              "MiB", "< 1.2", lambda r: r < 1.2, "launch-worker batch trivial, summary.json's peak_rss_bytes", since)


def batch_ours(suite, bundle, rows, processes=1):
    """`launch-worker batch --processes P` over a CSV of `rows` trivial inputs: its summary.json."""
    output = suite.scratch / f"batch-{time.monotonic_ns()}"
    subprocess.run([suite.worker, "batch", bundle, "--input", batch_csv(suite, rows), "--output", output,
                    "--processes", str(processes), "--log-level", "error"], check=True, stderr=subprocess.DEVNULL)
    return json.loads((output / "summary.json").read_text())


def batch_python(suite, bundle, rows):
    """Items/s of the hand-written Python loop over the same CSV."""
    out = subprocess.run([PYTHON, BASELINES / "batch_loop.py", bundle, batch_csv(suite, rows),
                          suite.scratch / f"python-batch-{rows}.jsonl"],
                         cwd=BASELINES, capture_output=True, text=True, check=True).stdout
    return float(out.strip())


def batch_csv(suite, rows):
    """A CSV of `rows` trivial inputs (`id,args`), made once per size."""
    path = suite.scratch / f"batch-{rows}.csv"
    if not path.exists():
        with open(path, "w", encoding="utf-8") as file:
            file.write("id,args\n")
            file.writelines(f'{row},"{{""x"": {row}}}"\n' for row in range(rows))
    return path


if __name__ == "__main__":
    from suite import Suite

    batch_rows(Suite(sys.argv[1], Path(sys.argv[2]), None, seconds=1, rounds=3),
               int(sys.argv[3]) if len(sys.argv) > 3 else 100_000)
