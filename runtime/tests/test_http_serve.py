"""Python's urllib against a real ``launch-worker serve --listen``; skipped without a built
executable (``swift build``), except under ``CI=true``, where that fails."""

import json
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from concurrent.futures import FIRST_COMPLETED, ThreadPoolExecutor, wait

import pytest

from test_spool_serve import (  # noqa: F401 (executable: a fixture)
    CLOUDPICKLE2,
    FIXTURE_SCRIPT,
    executable,
)


def _until(condition, what):
    """Poll condition until it holds, failing after a generous deadline (a loaded machine)."""
    deadline = time.monotonic() + 60
    while not condition():
        assert time.monotonic() < deadline, f"never: {what}"
        time.sleep(0.02)


@pytest.fixture
def serve(tmp_path, executable):
    """Starts workers serving a fixture bundle on a loopback port (serve(bundle, *options)
    returns the base URL), and stops each with SIGTERM at the end, expecting exit 0."""
    bundles = tmp_path / "bundles"
    subprocess.run(
        [sys.executable, FIXTURE_SCRIPT, bundles, "--cloudpickle2", CLOUDPICKLE2],
        capture_output=True,
        check=True,
    )
    processes = []

    def start(bundle, *options):
        ready = tmp_path / f"ready-{len(processes)}"
        process = subprocess.Popen(
            [executable, "serve", bundles / bundle, "--listen", "127.0.0.1:0"]
            + ["--ready-file", ready, *options],
            stderr=subprocess.PIPE,
            text=True,
        )
        processes.append(process)

        def is_ready():
            assert process.poll() is None, process.stderr.read()
            return ready.exists()

        _until(is_ready, "the worker is ready")
        address = next(line for line in ready.read_text().splitlines() if line.startswith("listen "))
        return "http://" + address.removeprefix("listen ")

    yield start
    for process in processes:
        process.send_signal(signal.SIGTERM)
        assert process.wait(timeout=60) == 0


@pytest.fixture
def worker(serve):
    """A worker serving the `function` fixture; its base URL."""
    return serve("function")


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


def test_requests_beyond_max_queued_get_429_at_once(serve, tmp_path):
    gate = tmp_path / "gate"
    url = serve("gated", "--per-worker", "1", "--max-queued", "1")
    body = json.dumps({"args": {"gate": str(gate)}}).encode()

    def in_flight():
        with urllib.request.urlopen(url + "/metrics", timeout=60) as response:
            return "launch_worker_tasks_in_flight 1.0" in response.read().decode()

    with ThreadPoolExecutor(3) as pool:
        try:
            running = pool.submit(post, url + "/predict", body)
            _until(in_flight, "the first request holds the one slot")
            # One of these two waits for the slot, the other is one too many: which is which
            # depends on which arrives first.
            later = [pool.submit(post, url + "/predict", body) for _ in range(2)]
            done, _ = wait(later, timeout=60, return_when=FIRST_COMPLETED)
            assert len(done) == 1, "neither request was refused"
            refused = done.pop()
            assert refused.result() == (
                429,
                {"detail": "1 requests are already waiting (--max-queued)"},
            )
            assert not running.done()
        finally:
            gate.touch()  # releases the slot, whatever happened
        answer = (200, {"status": "SUCCESS", "result": json.dumps({"gate": True})})
        assert running.result() == answer
        assert next(future for future in later if future is not refused).result() == answer


def test_max_queued_0_serves_on_a_free_slot(serve):
    url = serve("function", "--max-queued", "0")
    body = json.dumps({"args": {"x": 2, "y": 3}}).encode()
    assert post(url + "/predict", body) == (200, {"status": "SUCCESS", "result": json.dumps({"sum": 5})})
