"""The real scale-launch 0.3.3 client against a real ``launch-worker gateway``: bundles both
ways, sync and async endpoints with their workers, update_if_exists, creation logs, two API
keys, a failed environment and a restart with tasks queued.

The client pins cloudpickle 2.x, so it runs in a venv of its own (``.venv/launch-client``,
made once by Debian's Python, the one the worker embeds), driving the scenarios of
gateway_client.py. Without the executable or PyPI the tests skip, except under ``CI=true``,
where they fail.
"""

import base64
import json
import os
import signal
import sqlite3
import subprocess
import sys
import time
import urllib.error
import urllib.request
import uuid
from pathlib import Path

import pytest

from conftest import REPO, TESTS, require_or_skip
from test_spool_serve import EXECUTABLE, pytestmark  # noqa: F401

CLIENT_VENV = REPO / ".venv" / "launch-client"
CLIENT_PYTHON = CLIENT_VENV / "bin" / "python"
CLIENT_VERSION = "scale-launch==0.3.3"
SCENARIOS = TESTS / "gateway_client.py"


@pytest.fixture(scope="session")
def client_python():
    """The Python of a venv holding scale-launch 0.3.3, made once and kept."""
    stamp = CLIENT_VENV / ".installed"
    if not (stamp.exists() and stamp.read_text() == CLIENT_VERSION):
        made = subprocess.run(["/usr/bin/python3", "-m", "venv", "--clear", CLIENT_VENV], capture_output=True)
        installed = made.returncode == 0 and subprocess.run(
            [CLIENT_PYTHON, "-m", "pip", "install", "--quiet", "--disable-pip-version-check", CLIENT_VERSION],
            capture_output=True,
            timeout=600,
        ).returncode == 0
        require_or_skip(installed, f"{CLIENT_VERSION} could not be installed into {CLIENT_VENV} (is PyPI reachable?)")
        stamp.write_text(CLIENT_VERSION)
    return CLIENT_PYTHON


class Gateway:
    """A ``launch-worker gateway`` on a free loopback port with its state under ``root``."""

    def __init__(self, root, *options, path=None):
        self.root = root
        self.path = path
        self.options = [str(option) for option in options]
        self.state = root / "state"
        self.uploads = root / "uploads"
        self.uploads.mkdir(exist_ok=True)
        self.ready = root / "gateway.ready"
        self.log = root / "gateway.log"
        self.process = None
        self.url = None

    def start(self):
        """Starts it and waits until it listens."""
        environment = dict(
            os.environ,
            LAUNCH_WORKER_CACHE_DIR=str(self.root / "cache"),
            UV_NO_INDEX="1",
            PIP_NO_INDEX="1",
        )
        if self.path:
            environment["PATH"] = f"{self.path}:{environment['PATH']}"
        with open(self.log, "ab") as log:
            self.process = subprocess.Popen(
                [EXECUTABLE, "gateway", "--listen", "127.0.0.1:0", "--state-dir", self.state,
                 "--ready-file", self.ready, "--scale-down-after", "1", *self.options],
                stderr=log,
                env=environment,
            )
        deadline = time.monotonic() + 120
        while not self.ready.exists():
            assert self.process.poll() is None, self.log.read_text()
            assert time.monotonic() < deadline, "the gateway never listened"
            time.sleep(0.02)
        self.url = "http://" + self.ready.read_text().split()[1]

    def stop(self, sig=signal.SIGTERM):
        """Stops it (draining its workers on SIGTERM); returns its exit status."""
        self.process.send_signal(sig)
        status = self.process.wait(timeout=120)
        self.ready.unlink(missing_ok=True)
        return status

    def run(self, client_python, scenario, **extra):
        """Runs a scenario of gateway_client.py with the real client; returns its JSON."""
        child = subprocess.run(
            [client_python, SCENARIOS, scenario, self.url, self.uploads] + ([json.dumps(extra)] if extra else []),
            capture_output=True,
            text=True,
            timeout=900,
        )
        assert child.returncode == 0, f"{child.stderr}\n--- gateway log ---\n{self.log.read_text()}"
        return json.loads(child.stdout.splitlines()[-1])

    def worker_pids(self):
        """The gateway's living child processes (its workers)."""
        # Children are listed under the thread that started them.
        threads = Path(f"/proc/{self.process.pid}/task").glob("*/children")
        return sorted(int(pid) for thread in threads for pid in thread.read_text().split())


@pytest.fixture
def gateway(tmp_path):
    """A started gateway, stopped (and checked to stop cleanly) at the end."""
    running = Gateway(tmp_path)
    running.start()
    yield running
    if running.process.poll() is None:
        assert running.stop() == 0, running.log.read_text()


def test_bundles_both_ways_per_api_key(gateway, client_python):
    outcome = gateway.run(client_python, "bundles")
    assert outcome["listed"] == ["adder", "scaler"]
    assert outcome["scaler"]["packaging_type"] == "zip"
    assert outcome["scaler"]["metadata"] == {
        "load_predict_fn_module_path": "scaler.service.load_predict",
        "load_model_fn_module_path": "scaler.service.load_model",
    }
    assert outcome["duplicate"] == 409
    status, body = outcome["s3"]
    assert status == 400 and "s3" in body["detail"] and "file://" in body["detail"]
    # Another key sees nothing of the first key's, and cannot delete it.
    assert outcome["other_view"] == [[], 404]
    assert outcome["other_delete"] == 404
    assert outcome["no_key"] == 401
    assert outcome["clone"] == ["scaler-x100", "zip", True, True]
    assert outcome["deleted"] is True
    assert outcome["after_delete"] == ["adder"]
    assert outcome["get_deleted"] == 404


def test_sync_and_async_endpoints(gateway, client_python):
    outcome = gateway.run(client_python, "endpoints")
    assert outcome["created_status"] in ("UPDATE_PENDING", "UPDATE_IN_PROGRESS", "READY")
    assert outcome["ready"] == "READY"
    assert outcome["as_json"] == ["SUCCESS", json.dumps({"sum": 3})]
    assert outcome["unpickled"] == {"sum": 7}
    assert outcome["failed"][0] == "FAILURE" and "boom was asked for" in outcome["failed"][1]
    assert outcome["async_json"] == ["SUCCESS", json.dumps({"sum": 11})]
    assert outcome["async_value"] == {"sum": 15}
    assert outcome["by_task"] == "SUCCESS"
    assert outcome["failed_future"][0] == "FAILURE" and "boom was asked for" in outcome["failed_future"][1]
    assert outcome["edited"] is None  # update_if_exists edits, and the client returns None
    assert outcome["worker_settings"]["per_worker"] == 3
    assert outcome["worker_settings"]["available_workers"] == 1
    assert outcome["after_edit"] == json.dumps({"sum": 11})
    assert outcome["listed"] == [["async-adder", "async"], ["sync-adder", "sync"]]
    assert "no requirements" in outcome["logs"] and "READY" in outcome["logs"]
    assert outcome["invalid"] == {
        "min_over_max": 400, "sync_from_zero": 400, "per_worker_zero": 400, "unknown_bundle": 400,
    }
    assert outcome["deleted"] is True
    assert outcome["after_delete"] is None
    assert outcome["other_key_sees"] is None


def test_failed_environment_is_update_failed_with_its_log(gateway, client_python):
    outcome = gateway.run(client_python, "failed_environment")
    assert outcome["status"] == "UPDATE_FAILED"
    assert "launch-worker-no-such-package" in outcome["logs"]
    assert "UPDATE_FAILED" in outcome["logs"]
    assert outcome["predict"] == 500


def test_a_worker_that_cannot_load_is_update_failed_with_its_last_lines(gateway, client_python):
    # The worker's output reaches its log through the gateway's relay: the lines it wrote as it
    # ended are in the log before the creation log quotes it.
    outcome = gateway.run(client_python, "failing_load")
    assert outcome["status"] == "UPDATE_FAILED"
    assert "before it was ready; its log ends with" in outcome["logs"]
    assert "launch-worker-test: this model cannot load" in outcome["logs"]


def test_async_tasks_queued_before_a_restart_are_answered_after_it(gateway, client_python):
    queued = gateway.run(client_python, "queue_async")["task_ids"]
    assert gateway.stop() == 0
    gateway.start()
    outcome = gateway.run(client_python, "collect_async", task_ids=queued)
    assert {task["state"] for task in outcome["answers"].values()} == {"SUCCESS"}
    assert sorted(json.loads(task["result"])["sum"] for task in outcome["answers"].values()) == [0, 2, 4, 6, 8, 10]
    assert outcome["status"] == "READY"


def test_async_endpoint_scales_up_under_load_and_back_to_zero(gateway, client_python):
    outcome = gateway.run(client_python, "autoscale")
    assert outcome["idle"]["available_workers"] + outcome["idle"]["unavailable_workers"] == 0
    assert outcome["most"] >= 2
    assert outcome["answers"] == ["SUCCESS"] * 6
    assert outcome["after"]["available_workers"] == 0


def test_edit_under_load_refuses_no_request(gateway, client_python):
    outcome = gateway.run(client_python, "edit_under_load")
    assert outcome["failures"] == []
    assert set(outcome["kinds"]) == {json.dumps({"sum": 3}), json.dumps({"sum": 103})}
    assert outcome["settings"]["per_worker"] == 3
    assert outcome["settings"]["available_workers"] == 1
    assert outcome["bundle"] == "adder-100"


def test_gateway_killed_with_tasks_in_flight_answers_each_once_after_restart(gateway, client_python, tmp_path):
    mark = tmp_path / "runs.txt"
    queued = gateway.run(client_python, "queue_async", sleep=0.5, mark=str(mark), min_workers=1)["task_ids"]
    workers = gateway.worker_pids()
    assert workers
    assert gateway.stop(signal.SIGKILL) == -signal.SIGKILL
    # Its workers notice, drain what they run and stop, giving the rest back to the spool.
    deadline = time.monotonic() + 120
    while any(Path(f"/proc/{pid}").exists() and "zombie" not in _state(pid) for pid in workers):
        assert time.monotonic() < deadline, "the workers outlived their gateway"
        time.sleep(0.05)
    gateway.start()
    outcome = gateway.run(client_python, "collect_async", task_ids=queued)
    assert {task["state"] for task in outcome["answers"].values()} == {"SUCCESS"}
    assert sorted(mark.read_text().split()) == [str(n) for n in range(6)]


def test_a_killed_worker_is_replaced_and_its_tasks_answered(gateway, client_python):
    queued = gateway.run(client_python, "queue_async", sleep=0.5, min_workers=1)["task_ids"]
    (worker,) = gateway.worker_pids()
    os.kill(worker, signal.SIGKILL)
    outcome = gateway.run(client_python, "collect_async", task_ids=queued)
    assert {task["state"] for task in outcome["answers"].values()} == {"SUCCESS"}
    assert outcome["status"] == "READY"
    assert gateway.worker_pids() and worker not in gateway.worker_pids()


def test_sync_workers_run_an_event_loop_per_core(gateway, client_python):
    """The gateway gives its workers NIO's default of a loop per core (serve alone runs half as
    many): the gateway's own loops relay every sync predict on the same cores."""
    assert gateway.run(client_python, "sync_pair")["status"] == "READY"
    workers = gateway.worker_pids()
    assert len(workers) == 2
    for worker in workers:
        environment = dict(
            item.split("=", 1) for item in Path(f"/proc/{worker}/environ").read_text().split("\0") if "=" in item
        )
        loops = int(environment["NIO_SINGLETON_GROUP_LOOP_COUNT"])
        assert loops == len(os.sched_getaffinity(worker))

        def loop_threads():
            names = (path.read_text() for path in Path(f"/proc/{worker}/task").glob("*/comm"))
            return sum(name.startswith("NIO-SGLTN-") for name in names)

        deadline = time.monotonic() + 60
        while loop_threads() != loops:  # a worker still loading has not started its loops
            assert time.monotonic() < deadline, f"{loop_threads()} event loops, not {loops}"
            time.sleep(0.05)


def test_a_killed_sync_worker_costs_no_request(gateway, client_python):
    assert gateway.run(client_python, "sync_pair")["status"] == "READY"
    (endpoint,) = json.loads(_get(gateway.url + "/status")[1])["endpoints"]
    worker = endpoint["workers"][0]
    socket_path = gateway.state / "sockets" / f"{endpoint['id']}-{worker['number']}.sock"
    outcome = gateway.run(client_python, "sync_predicts", count=20, kill=worker["pid"], socket_path=str(socket_path))
    assert outcome["answers"] == [json.dumps({"sum": n + 1}) for n in range(20)]
    # At the gateway's default log level, workers log every task (every 10 ms or so, not
    # before they answer), each once.
    logs = gateway.state / "logs" / endpoint["id"]
    deadline = time.monotonic() + 60
    while (finished := sum(log.read_text().count("task finished") for log in logs.glob("worker-*.log"))) < 20:
        assert time.monotonic() < deadline, f"{finished} of 20 tasks logged"
        time.sleep(0.05)
    assert finished == 20


def test_a_workers_log_is_cut_at_worker_log_size(tmp_path, client_python):
    running = Gateway(tmp_path, "--worker-log-size", "1K")
    running.start()
    try:
        assert running.run(client_python, "sync_pair")["status"] == "READY"
        outcome = running.run(client_python, "sync_predicts", count=40)
        assert outcome["answers"] == [json.dumps({"sum": n + 1}) for n in range(40)]
        (endpoint,) = json.loads(_get(running.url + "/status")[1])["endpoints"]
        logs = running.state / "logs" / endpoint["id"]

        def cut():
            current = list(logs.glob("worker-*.log"))
            earlier = [log.read_text() for log in logs.glob("worker-*.log.1")]
            return (len(current) == 2 and all(log.stat().st_size <= 1024 for log in current)
                    and any("task finished" in text for text in earlier))

        # 40 lines of about 150 bytes: a log that passed 1 KiB was cut, and both are under it.
        deadline = time.monotonic() + 60
        while not cut():
            assert time.monotonic() < deadline, sorted(log.name for log in logs.iterdir())
            time.sleep(0.05)
    finally:
        assert running.stop() == 0, running.log.read_text()


def _state(pid):
    """The process's state line from /proc (empty once it is gone)."""
    try:
        return next(line for line in Path(f"/proc/{pid}/status").read_text().splitlines() if line.startswith("State"))
    except (FileNotFoundError, StopIteration):
        return ""


def _get(url, key="key-one"):
    """GET with the API key as Basic user name; returns (status, body text)."""
    token = base64.b64encode(f"{key}:".encode()).decode()
    request = urllib.request.Request(url, headers={"Authorization": f"Basic {token}"})
    try:
        with urllib.request.urlopen(request, timeout=60) as response:
            return response.status, response.read().decode()
    except urllib.error.HTTPError as error:
        return error.code, error.read().decode()


def test_metrics_and_status(gateway, client_python):
    queued = gateway.run(client_python, "queue_async", min_workers=1)["task_ids"]
    gateway.run(client_python, "collect_async", task_ids=queued)
    status, text = _get(gateway.url + "/status")
    assert status == 200
    (endpoint,) = json.loads(text)["endpoints"]
    assert endpoint["name"] == "async-adder" and endpoint["status"] == "READY"
    assert [worker["pid"] for worker in endpoint["workers"]] == gateway.worker_pids()
    status, metrics = _get(gateway.url + "/metrics")
    assert status == 200
    identity = f'endpoint_id="{endpoint["id"]}"'
    assert f'launch_gateway_tasks_total{{{identity},state="QUEUED"}} 6' in metrics
    assert f'launch_gateway_workers{{{identity},state="ready"}} 1' in metrics
    assert 'launch_gateway_requests_total{route="POST /task_async/:endpoint",code="200"} 6' in metrics
    assert _get(gateway.url + "/status", key="key-two") == (200, '{"endpoints":[]}')
    assert _get(gateway.url + "/metrics", key="")[0] == 401


REDIS_URL = os.environ.get("LAUNCH_WORKER_TEST_REDIS")


@pytest.fixture
def broker_gateway(tmp_path):
    """A gateway whose async endpoints queue on Redis (``--broker``)."""
    require_or_skip(REDIS_URL, "set LAUNCH_WORKER_TEST_REDIS to a redis:// URL (scripts/test does)")
    running = Gateway(tmp_path, "--broker", REDIS_URL)
    running.start()
    yield running
    if running.process.poll() is None:
        assert running.stop() == 0, running.log.read_text()


def test_broker_async_endpoint_scales_and_answers(broker_gateway, client_python):
    outcome = broker_gateway.run(client_python, "autoscale")
    assert outcome["most"] >= 2
    assert outcome["answers"] == ["SUCCESS"] * 6
    assert outcome["after"]["available_workers"] == 0


def test_broker_queue_is_llm_engines_so_a_python_celery_worker_serves_it(broker_gateway, client_python, tmp_path):
    queued = broker_gateway.run(client_python, "queue_async", min_workers=0, max_workers=0)
    assert queued["destination"].startswith("launch-endpoint-id-")
    (bundle,) = (broker_gateway.state / "bundles").iterdir()
    celery_log = tmp_path / "celery.log"
    python_worker = subprocess.Popen(
        [sys.executable, "-m", "celery", "-A", "celery_bundle_worker", "worker", "-Q", queued["destination"],
         "-P", "solo", "--without-gossip", "--without-mingle", "--without-heartbeat"],
        cwd=TESTS,
        env={**os.environ, "CELERY_BROKER": REDIS_URL, "CELERY_BUNDLE": str(bundle), "PYTHONPATH": str(TESTS)},
        stdout=celery_log.open("wb"),
        stderr=subprocess.STDOUT,
    )
    try:
        outcome = broker_gateway.run(client_python, "collect_async", task_ids=queued["task_ids"])
    finally:
        python_worker.send_signal(signal.SIGTERM)
        python_worker.wait(timeout=60)
    assert {task["state"] for task in outcome["answers"].values()} == {"SUCCESS"}
    assert sorted(json.loads(task["result"])["sum"] for task in outcome["answers"].values()) == [0, 2, 4, 6, 8, 10]
    assert broker_gateway.worker_pids() == []


def test_http_bundle_location_and_a_predict_before_ready(gateway, client_python):
    outcome = gateway.run(client_python, "http_bundle_and_early_predict")
    assert outcome["location"].startswith("http://127.0.0.1:")
    status, detail = outcome["missing"]
    assert status == 400 and "no-such-file" in detail and "404" in detail
    assert outcome["early"] == ["SUCCESS", json.dumps({"sum": 42})]
    assert outcome["status"] == "READY"


def test_api_keys_file_lets_only_its_keys_in_and_no_key_is_logged(tmp_path):
    keys = tmp_path / "keys"
    keys.write_text("# the team's key\nkey-one\n")
    # At debug, where every line the gateway and its libraries write is kept.
    running = Gateway(tmp_path, "--api-keys-file", keys, "--log-level", "debug")
    running.start()
    try:
        assert _get(running.url + "/model_bundle")[0] == 200
        status, body = _get(running.url + "/model_bundle", key="key-two")
        assert status == 401 and "--api-keys-file" in body
    finally:
        assert running.stop() == 0
    log = running.log.read_text()
    assert "ServiceLifecycle" in log  # the library lines that once spelled out the configuration
    for key in ("key-one", "key-two"):
        assert key not in log and base64.b64encode(f"{key}:".encode()).decode() not in log


def test_a_reachable_address_needs_allow_remote_and_keys():
    child = subprocess.run([EXECUTABLE, "gateway", "--listen", "0.0.0.0:0"], capture_output=True, text=True, timeout=60)
    assert child.returncode == 2
    assert "--allow-remote and --api-keys-file" in child.stderr


def test_a_broker_that_cannot_be_used_is_a_usage_error_with_its_password_hidden(tmp_path):
    child = subprocess.run(
        [EXECUTABLE, "gateway", "--state-dir", tmp_path / "state", "--broker", "redis://:broker-secret@127.0.0.1/x"],
        capture_output=True, text=True, timeout=60,
    )
    assert child.returncode == 2
    assert "--broker redis://:***@127.0.0.1/x: the path must be a database number" in child.stderr
    assert "secret" not in child.stderr


def test_an_unreadable_record_stops_the_start_naming_its_row_and_is_left_as_it_is(tmp_path):
    first = Gateway(tmp_path)
    first.start()
    assert first.stop() == 0
    database = first.state / "gateway.sqlite"
    with sqlite3.connect(database) as connection:
        connection.execute("INSERT INTO endpoints (owner, name, record) VALUES ('o', 'e', '{\"name\": \"e\"}')")
    child = subprocess.run(
        [EXECUTABLE, "gateway", "--listen", "127.0.0.1:0", "--state-dir", first.state],
        capture_output=True, text=True, timeout=120,
    )
    assert child.returncode == 1, child.stderr  # not a signal: the database was closed on the way out
    assert f"{database}: row 1 of endpoints cannot be read (its record has no id)" in child.stderr
    removal = f"sqlite3 {database} 'DELETE FROM endpoints WHERE rowid = 1'"
    assert removal in child.stderr
    with sqlite3.connect(database) as connection:
        assert connection.execute("SELECT name FROM endpoints").fetchall() == [("e",)]
        connection.execute("DELETE FROM endpoints WHERE rowid = 1")
    again = Gateway(tmp_path)
    again.start()
    assert _get(again.url + "/endpoints")[0] == 200
    assert again.stop() == 0


def test_a_task_that_ends_its_worker_each_time_fails_and_the_endpoint_serves_on(gateway, client_python):
    outcome = gateway.run(client_python, "crashing_task")
    status, traceback = outcome["dead"]
    assert status == "FAILURE" and "attempt" in traceback
    assert outcome["fine"] == ["SUCCESS", json.dumps({"sum": 3})]
    assert outcome["status"] == "READY"
    assert outcome["settings"]["available_workers"] + outcome["settings"]["unavailable_workers"] == 1
    assert "worker ended; replacing it" in gateway.log.read_text()


def test_batch_job_runs_to_success_with_its_results(gateway, client_python):
    outcome = gateway.run(client_python, "batch_job")
    answer = outcome["answer"]
    assert answer["status"] == "SUCCESS"
    assert (answer["num_tasks_completed"], answer["num_tasks_pending"]) == (7, 0)
    assert answer["duration"].startswith("0:00:")
    results = {row[0]: row[1:] for row in outcome["results"]}
    assert results["0"] == ["SUCCESS", json.dumps({"sum": 1})]
    assert results["4"] == ["SUCCESS", json.dumps({"sum": 5})]
    assert results["5"][0] == "FAILURE"
    assert results["6"] == ["SUCCESS", json.dumps({"sum": "it's!"})]
    assert outcome["other_key"] == 404
    assert outcome["unknown_bundle"] == 404


def test_a_batch_job_stopped_by_a_gateway_restart_resumes_to_one_result_per_input(gateway, client_python):
    job = gateway.run(client_python, "batch_start", count=12, sleep=0.3)["job_id"]
    deadline = time.monotonic() + 120
    while json.loads(_get(f"{gateway.url}/batch_job/{job}")[1])["num_tasks_completed"] < 1:
        assert time.monotonic() < deadline, "the batch job never finished an input"
        time.sleep(0.05)
    assert gateway.stop() == 0
    gateway.start()
    outcome = gateway.run(client_python, "batch_wait", job_id=job)
    assert outcome["answer"]["status"] == "SUCCESS"
    assert outcome["answer"]["num_tasks_completed"] == 12
    assert sorted(outcome["ids"], key=int) == [str(n) for n in range(12)]


def test_a_zip_bundle_cloned_with_another_app_config_is_served_with_it(gateway, client_python):
    outcome = gateway.run(client_python, "zip_bundle_clone_served")
    assert outcome["status"] == "SUCCESS", outcome["traceback"]
    assert json.loads(outcome["result"]) == {"score": 600, "config": {"factor": 100}}


def test_a_pickled_batch_jobs_results_are_served_by_the_gateway_to_its_key(gateway, client_python):
    outcome = gateway.run(client_python, "batch_pickled")
    assert outcome["status"] == "SUCCESS"
    assert all(url.startswith(gateway.url + "/batch_results/") for url in outcome["urls"]), outcome["urls"]
    assert outcome["values"] == {str(n): {"sum": n + 10} for n in range(3)}
    assert outcome["without_key"] == 401
    assert outcome["other_key"] == 404


def test_a_batch_job_stops_when_its_gateway_is_killed_and_resumes_after_a_restart(gateway, client_python):
    job = gateway.run(client_python, "batch_start", count=40, sleep=0.3)["job_id"]
    deadline = time.monotonic() + 120
    while json.loads(_get(f"{gateway.url}/batch_job/{job}")[1])["num_tasks_completed"] < 1:
        assert time.monotonic() < deadline, "the batch job never finished an input"
        time.sleep(0.05)
    (batch,) = gateway.worker_pids()
    assert gateway.stop(signal.SIGKILL) == -signal.SIGKILL
    while Path(f"/proc/{batch}").exists() and "zombie" not in _state(batch):
        assert time.monotonic() < deadline, "the batch job outlived its gateway"
        time.sleep(0.05)
    # It stopped, rather than running to its end (40 inputs of 0.3 s, one at a time).
    results = gateway.state / "batch" / job / "output" / "results.jsonl"
    assert len(results.read_text().splitlines()) < 40
    gateway.start()
    outcome = gateway.run(client_python, "batch_wait", job_id=job)
    assert outcome["answer"]["status"] == "SUCCESS"
    assert sorted(outcome["ids"], key=int) == [str(n) for n in range(40)]


def test_a_cancelled_batch_job_stops_keeps_its_results_and_stays_cancelled(gateway, client_python):
    outcome = gateway.run(client_python, "batch_cancel")
    assert outcome["cancelled"] == {"success": True}
    assert outcome["again"] == {"success": False}
    answer = outcome["answer"]
    assert answer["status"] == "CANCELLED"
    assert 1 <= answer["num_tasks_completed"] < 40
    assert 1 <= len(outcome["ids"]) < 40
    deadline = time.monotonic() + 120
    while gateway.worker_pids():
        assert time.monotonic() < deadline, "the cancelled batch never stopped"
        time.sleep(0.05)
    # A restarted gateway does not resume it.
    assert gateway.stop() == 0
    gateway.start()
    status, text = _get(f"{gateway.url}/batch_job/{outcome['job_id']}")
    assert (status, json.loads(text)["status"]) == (200, "CANCELLED")
    assert gateway.worker_pids() == []


def test_a_batch_job_past_its_timeout_is_stopped_as_timeout(gateway, client_python):
    outcome = gateway.run(client_python, "batch_timeout")
    assert outcome["answer"]["status"] == "TIMEOUT"
    assert outcome["answer"]["num_tasks_completed"] < 40


@pytest.mark.parametrize("given", ["in the URL", "in a file"])
def test_the_brokers_password_is_not_in_a_workers_command_line(tmp_path, client_python, given):
    require_or_skip(REDIS_URL, "set LAUNCH_WORKER_TEST_REDIS to a redis:// URL (scripts/test does)")
    import redis  # the worker's venv has it (the Celery tests use it)

    user, password = f"lw-{uuid.uuid4().hex[:8]}", uuid.uuid4().hex
    admin = redis.Redis.from_url(REDIS_URL)
    admin.acl_setuser(user, enabled=True, passwords=[f"+{password}"], keys=["*"], channels=["*"], commands=["+@all"])
    if given == "in the URL":
        options = ["--broker", REDIS_URL.replace("redis://", f"redis://{user}:{password}@")]
    else:
        (tmp_path / "password").write_text(password + "\n")
        options = ["--broker", REDIS_URL.replace("redis://", f"redis://{user}@"),
                   "--redis-password-file", tmp_path / "password"]
    running = Gateway(tmp_path, *options)
    running.start()
    try:
        queued = running.run(client_python, "queue_async", min_workers=1)
        (worker,) = running.worker_pids()
        command_line = Path(f"/proc/{worker}/cmdline").read_bytes().decode()
        assert user in command_line and password not in command_line
        # In the URL, the gateway's own --broker holds it, as the user gave it; from a file, no command line does.
        shown = subprocess.run(["ps", "-eww", "-o", "args"], capture_output=True, text=True).stdout
        assert password not in shown.replace(running.options[1], "")
        assert (password in shown) == (given == "in the URL")
        outcome = running.run(client_python, "collect_async", task_ids=queued["task_ids"])
        assert {task["state"] for task in outcome["answers"].values()} == {"SUCCESS"}
        assert (running.state / "broker-password").stat().st_mode & 0o777 == 0o600
    finally:
        assert running.stop() == 0, running.log.read_text()
        admin.acl_deluser(user)


def test_the_brokers_password_files_need_a_broker_and_a_readable_file(tmp_path):
    def gateway(*options):
        return subprocess.run([EXECUTABLE, "gateway", "--state-dir", tmp_path / "state", *options],
                              capture_output=True, text=True, timeout=60)

    alone = gateway("--redis-password-file", tmp_path / "password")
    assert alone.returncode == 2 and "are for --broker" in alone.stderr
    missing = gateway("--broker", "redis://127.0.0.1/0", "--redis-password-file", tmp_path / "no-such-file")
    assert missing.returncode == 2 and f"cannot read --redis-password-file {tmp_path / 'no-such-file'}" in missing.stderr
    plain = gateway("--broker", "redis://127.0.0.1/0", "--redis-ssl-password-file", tmp_path / "password")
    assert plain.returncode == 2 and "--broker is redis://" in plain.stderr


def _delete(url, key="key-one"):
    """DELETE with the API key as Basic user name; returns the status."""
    token = base64.b64encode(f"{key}:".encode()).decode()
    request = urllib.request.Request(url, method="DELETE", headers={"Authorization": f"Basic {token}"})
    with urllib.request.urlopen(request, timeout=120) as response:
        return response.status


def test_answers_pickles_and_stopped_workers_logs_expire_after_keep_results(tmp_path, client_python):
    running = Gateway(tmp_path, "--keep-results", "3", "--log-level", "warning")
    running.start()
    try:
        outcome = running.run(client_python, "results_to_expire")
        assert outcome["result"] == json.dumps({"sum": 3}) and outcome["value"] == {"sum": 7}
        (endpoint,) = json.loads(_get(running.url + "/status")[1])["endpoints"]
        logs = running.state / "logs" / endpoint["id"]
        # Workers log at the gateway's --log-level: no line for each task at warning.
        assert "task finished" not in (logs / "worker-1.log").read_text()
        (worker,) = running.worker_pids()
        os.kill(worker, signal.SIGKILL)

        def replacement_log():
            workers = json.loads(_get(running.url + "/status")[1])["endpoints"][0]["workers"]
            return logs / f"worker-{workers[0]['number']}.log" if workers else None

        def expired():
            log = replacement_log()
            return (all(_get(f"{running.url}/task/result/{task}")[0] == 404 for task in outcome["task_ids"])
                    and not _reachable(outcome["url"]) and not (logs / "worker-1.log").exists()
                    and log is not None and time.time() - log.stat().st_mtime > 4)

        deadline = time.monotonic() + 120
        while not expired():
            assert time.monotonic() < deadline, "the old answers and the dead worker's log were never removed"
            time.sleep(0.1)
        # Once a later pass removed an old file, the running worker's log, as old, is still there.
        canary = logs / "worker-999.log"
        canary.write_text("")
        os.utime(canary, (time.time() - 60, time.time() - 60))
        while canary.exists():
            assert time.monotonic() < deadline, "no later expiry"
            time.sleep(0.1)
        assert replacement_log().exists()
    finally:
        assert running.stop() == 0, running.log.read_text()


def _reachable(url):
    """Whether ``url`` answers 200 (False for 404)."""
    try:
        with urllib.request.urlopen(url, timeout=60):
            return True
    except urllib.error.HTTPError as error:
        assert error.code == 404
        return False


def test_a_deleted_endpoint_takes_its_tasks_and_files_with_it(gateway, client_python):
    queued = gateway.run(client_python, "queue_async", min_workers=1)["task_ids"]
    gateway.run(client_python, "collect_async", task_ids=queued)
    (endpoint,) = json.loads(_get(gateway.url + "/status")[1])["endpoints"]
    assert _delete(gateway.url + "/endpoints/async-adder") == 200
    with sqlite3.connect(gateway.state / "gateway.sqlite") as database:
        (rows,) = database.execute("SELECT count(*) FROM tasks WHERE endpoint_id = ?", (endpoint["id"],)).fetchone()
    assert rows == 0
    assert not (gateway.state / "logs" / endpoint["id"]).exists()
    assert not (gateway.state / "spools" / endpoint["id"]).exists()
    assert not list((gateway.state / "sockets").glob(endpoint["id"] + "-*"))


def test_gpu_endpoints_get_devices_of_their_own_and_fail_clearly_when_too_few_are_free(tmp_path, client_python):
    tools = tmp_path / "bin"
    tools.mkdir()
    fake = tools / "nvidia-smi"
    fake.write_text("#!/bin/sh\n" + "".join(f"echo 'GPU {n}: NVIDIA Fake 80GB (UUID: GPU-{n}000)'\n" for n in range(3)))
    fake.chmod(0o755)
    running = Gateway(tmp_path, path=tools)
    running.start()
    try:
        outcome = running.run(client_python, "gpu_endpoints")
        assert outcome["status"] == "READY"
        assert outcome["devices"] == ["0", "1"]
        assert outcome["failed"] == "UPDATE_FAILED"
        assert "needs 2 GPUs, but 1 of this host's 3 are free" in outcome["logs"]
        assert outcome["after"] == "READY"
        assert outcome["after_devices"] in ("0,1", "0,2", "1,2")
    finally:
        assert running.stop() == 0, running.log.read_text()
