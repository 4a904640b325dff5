"""SpoolClient against a real ``launch-worker serve``; skipped without a built executable,
except under ``CI=true``, where that fails."""

import functools
import os
import subprocess
import sys

import pytest

from conftest import REPO, require_or_skip
from launch_worker import SpoolClient

EXECUTABLE = REPO / ".build" / "debug" / "launch-worker"
FIXTURE_SCRIPT = REPO / "Tests" / "Fixtures" / "build_test_bundles.py"
CLOUDPICKLE2 = REPO / ".venv" / "cloudpickle2"


@functools.cache
def _serve_is_available():
    """Whether the built executable exists and has the ``serve`` command."""
    if not EXECUTABLE.is_file():
        return False
    try:
        child = subprocess.run(
            [EXECUTABLE, "serve", "--help"], capture_output=True, timeout=60, check=False
        )
    except (OSError, subprocess.TimeoutExpired):
        return False
    return child.returncode == 0


# Skips the module without the executable, except under CI=true (where the tests then fail);
# test_http_serve.py shares it.
pytestmark = pytest.mark.skipif(
    os.environ.get("CI") != "true" and not _serve_is_available(),
    reason=f"no {EXECUTABLE} with a serve command (swift build)",
)


@pytest.fixture(scope="module")
def executable():
    """The built executable: a missing one skips, or under CI=true fails naming what to do."""
    require_or_skip(_serve_is_available(), f"no {EXECUTABLE} with a serve command (swift build)")
    return EXECUTABLE


def test_serve_answers_every_submitted_task(tmp_path, executable):
    bundles = tmp_path / "bundles"
    subprocess.run(
        [sys.executable, FIXTURE_SCRIPT, bundles, "--cloudpickle2", CLOUDPICKLE2],
        capture_output=True,
        check=True,
    )
    client = SpoolClient(tmp_path / "spool")
    ids = [client.submit({"x": index, "y": 0.5}, task_id=f"t{index}") for index in range(4)]
    ids.append(client.submit({"x": 1, "y": 2}, return_pickled=True))
    assert all(client.get(task_id)["status"] == "PENDING" for task_id in ids)

    worker = subprocess.run(
        [
            executable,
            "serve",
            bundles / "function",
            "--queue",
            f"spool:{tmp_path / 'spool'}",
            "--exit-when-empty",
        ],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert worker.returncode == 0, worker.stderr

    responses = [client.wait(task_id, timeout=0) for task_id in ids]
    assert [response["status"] for response in responses] == ["SUCCESS"] * 5
    assert [response["task_id"] for response in responses] == ids
    assert [client.result(response) for response in responses] == [
        {"sum": 0.5},
        {"sum": 1.5},
        {"sum": 2.5},
        {"sum": 3.5},
        {"sum": 3},
    ]
    assert "result_url" in responses[4]
    assert sorted((tmp_path / "spool" / "incoming").iterdir()) == []
