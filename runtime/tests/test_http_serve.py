"""Python's urllib against a real ``launch-worker serve --listen``; skipped without a built
executable (``swift build``)."""

import json
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request

import pytest

from conftest import REPO
from test_spool_serve import CLOUDPICKLE2, EXECUTABLE, FIXTURE_SCRIPT, pytestmark  # noqa: F401


@pytest.fixture
def worker(tmp_path):
    """A worker serving the `function` fixture on a loopback port; yields its base URL."""
    bundles = tmp_path / "bundles"
    subprocess.run(
        [sys.executable, FIXTURE_SCRIPT, bundles, "--cloudpickle2", CLOUDPICKLE2],
        capture_output=True,
        check=True,
    )
    ready = tmp_path / "ready"
    process = subprocess.Popen(
        [EXECUTABLE, "serve", bundles / "function", "--listen", "127.0.0.1:0", "--ready-file", ready],
        stderr=subprocess.PIPE,
        text=True,
    )
    deadline = time.monotonic() + 60
    while not ready.exists():
        assert process.poll() is None, process.stderr.read()
        assert time.monotonic() < deadline, "the worker never became ready"
        time.sleep(0.02)
    address = next(line for line in ready.read_text().splitlines() if line.startswith("listen "))
    yield "http://" + address.removeprefix("listen ")
    process.send_signal(signal.SIGTERM)
    assert process.wait(timeout=60) == 0


def post(url, body):
    """POST `body` (bytes) as JSON; returns (status, parsed JSON body)."""
    request = urllib.request.Request(
        url, data=body, headers={"Content-Type": "application/json"}, method="POST"
    )
    try:
        with urllib.request.urlopen(request, timeout=60) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read())


def test_predict_success_error_and_bad_request(worker):
    status, body = post(worker + "/predict", json.dumps({"args": {"x": 2, "y": 3}}).encode())
    assert (status, body) == (200, {"status": "SUCCESS", "result": json.dumps({"sum": 5})})

    status, body = post(worker + "/predict", json.dumps({"args": {"x": 2, "y": "a"}}).encode())
    assert status == 500
    assert "TypeError" in body["detail"]["traceback"]

    status, body = post(worker + "/predict", b"{not json")
    assert status == 400
    assert "not valid JSON" in body["detail"]


def test_health_and_readiness(worker):
    for path in ("/healthz", "/healthcheck", "/readyz"):
        with urllib.request.urlopen(worker + path, timeout=60) as response:
            assert response.status == 200
