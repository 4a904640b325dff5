"""The bundle-environment rows of the benchmark suite: a cold `launch-worker prepare` with uv
against a plain `python -m venv` + `pip install` of the same requirements from the same local
wheelhouse (no index), and a warm `prepare` (the environment found in the cache).

Run alone, it prints just these rows (a smoke run; BENCHMARKS.md is left alone):
    .venv/bin/python benchmarks/environments.py WORKER
"""

import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

from measure import loadavg

REPO = Path(__file__).resolve().parent.parent
FIXTURES = REPO / "Tests" / "Fixtures"
PYTHON = sys.executable
# A handful of small requirements: tiny wheels made now, so no registry is reached.
PACKAGES = [f"benchpkg{index}" for index in range(1, 6)]
# What prepare adds for the runtime; the plain baseline installs the same.
RUNTIME_NEEDS = ["cloudpickle>=2.2", "PyYAML>=6"]


def environment_rows(suite):
    """Measures and adds the rows to `suite` (a `suite.Suite`)."""
    scratch = suite.scratch / "environments"
    wheels = scratch / "wheels"
    for name in PACKAGES:
        subprocess.run([PYTHON, FIXTURES / "make_wheel.py", wheels, name, "1.0"], check=True, capture_output=True)
    bundle = scratch / "bundle"
    subprocess.run([PYTHON, FIXTURES / "build_env_bundle.py", bundle, PACKAGES[0],
                    '{"framework_type": "custom_base_image"}', *PACKAGES], check=True)
    links = f"{wheels} {REPO / '.venv' / 'wheelhouse'}"

    def variables(run):
        """Only the local wheelhouses, no index, and a fresh uv cache for each cold run."""
        clean = {key: value for key, value in os.environ.items() if not key.startswith(("PIP_", "UV_"))}
        return {**clean, "PIP_CONFIG_FILE": os.devnull, "PIP_NO_INDEX": "1", "PIP_FIND_LINKS": links,
                "PIP_DISABLE_PIP_VERSION_CHECK": "1", "UV_CACHE_DIR": str(scratch / f"uv-cache-{run}")}

    def prepare(run):
        return timed_ms([suite.worker, "prepare", bundle, "--cache-dir", scratch / f"cache-{run}",
                         "--installer", "uv", "--log-level", "error"], variables(run))

    requirements = scratch / "requirements.txt"
    requirements.write_text("\n".join(PACKAGES + RUNTIME_NEEDS) + "\n")

    def plain(run):
        venv = scratch / f"venv-{run}"
        return (timed_ms(["/usr/bin/python3", "-m", "venv", venv], variables(run))
                + timed_ms([venv / "bin" / "pip", "install", "--quiet", "-r", requirements], variables(run)))

    since = loadavg()
    cold = statistics.median(prepare(f"cold-{run}") for run in range(3))
    baseline = statistics.median(plain(run) for run in range(3))
    suite.row(f"cold prepare, {len(PACKAGES)} small requirements from a local wheelhouse (uv): ms vs "
              "python -m venv + pip install (lower is better)", cold, baseline, "ms", "<= 0.2", lambda r: r <= 0.2,
              "PIP_NO_INDEX=1 PIP_FIND_LINKS=... launch-worker prepare B --installer uv (fresh cache and uv cache), "
              "median of 3, vs /usr/bin/python3 -m venv D && D/bin/pip install -r the same requirements", since)
    since = loadavg()
    warm = statistics.median(prepare("cold-0") for _ in range(5))
    suite.row("warm prepare (the environment found): ms vs the 50 ms goal", warm, 50.0, "ms", "< 1",
              lambda r: r < 1, "launch-worker prepare B a second time (the whole process), median of 5", since)


def timed_ms(command, environment):
    start = time.perf_counter()
    subprocess.run(command, env=environment, check=True, stdout=subprocess.DEVNULL)
    return (time.perf_counter() - start) * 1000


if __name__ == "__main__":
    from suite import Suite

    environment_rows(Suite(sys.argv[1], None, None, seconds=1, rounds=1))
