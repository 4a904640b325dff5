"""launch-worker on a Celery queue in Redis, driven by the real ``celery`` package.

Needs a redis-server (``LAUNCH_WORKER_TEST_REDIS``, which scripts/test sets) and a built
executable (``LAUNCH_WORKER_EXECUTABLE``, default ``.build/debug/launch-worker``); skipped
without either, except under ``CI=true``, where a missing one fails. Every wait polls with a
generous deadline; nothing sleeps for timing. Restores and recovery are in
test_redis_recovery.py.
"""

import base64
import datetime
import json
import os
import signal
import socket
import subprocess
import sys
import time
import uuid
from pathlib import Path

import pytest
import redis
from celery import Celery
from celery.exceptions import NotRegistered, TaskRevokedError

from conftest import REPO, TESTS, require

REDIS_URL = os.environ.get("LAUNCH_WORKER_TEST_REDIS")
EXECUTABLE = Path(os.environ.get("LAUNCH_WORKER_EXECUTABLE", REPO / ".build" / "debug" / "launch-worker"))
FIXTURE_SCRIPT = REPO / "Tests" / "Fixtures" / "build_test_bundles.py"
CLOUDPICKLE2 = REPO / ".venv" / "cloudpickle2"
TASK = "hosted_model_inference.inference.async_inference.tasks.predict"
RUNNABLE_IMAGE_TASK = "ml_serve.celery_service.exec_func"


def _serves_redis():
    if not EXECUTABLE.is_file():
        return False
    child = subprocess.run([EXECUTABLE, "serve", "--help"], capture_output=True, text=True, check=False)
    return child.returncode == 0 and "redis://" in child.stdout


require(REDIS_URL, "set LAUNCH_WORKER_TEST_REDIS to a redis:// URL (scripts/test does)")
require(
    _serves_redis(),
    f"no {EXECUTABLE} whose `serve --help` names redis:// queues: run swift build, or set LAUNCH_WORKER_EXECUTABLE",
)


def eventually(predicate, timeout=60, what="the condition"):
    """Polls ``predicate`` until it returns something truthy, failing after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.02)
    raise AssertionError(f"timed out after {timeout} s waiting for {what}")


@pytest.fixture(scope="module")
def bundles(tmp_path_factory):
    out = tmp_path_factory.mktemp("bundles")
    subprocess.run([sys.executable, FIXTURE_SCRIPT, out, "--cloudpickle2", CLOUDPICKLE2], capture_output=True, check=True)
    return out


@pytest.fixture
def queue():
    return f"launch-test-{uuid.uuid4().hex[:12]}"


def celery_app(broker):
    app = Celery("test-producer", broker=broker, backend=broker)
    app.conf.update(task_serializer="json", result_serializer="json", accept_content=["json"])
    return app


class Worker:
    """A ``launch-worker serve`` process on a Redis queue."""

    def __init__(self, tmp_path, bundle, broker, queue, *extra):
        self.name = f"worker-{uuid.uuid4().hex[:6]}"
        self.ready = tmp_path / f"{self.name}.ready"
        self.log = tmp_path / f"{self.name}.log"
        url = f"{broker}&queue={queue}" if "?" in broker else f"{broker}?queue={queue}"
        self.process = subprocess.Popen(
            [EXECUTABLE, "serve", bundle, "--queue", url, "--ready-file", self.ready, *extra],
            stdout=self.log.open("wb"),
            stderr=subprocess.STDOUT,
        )
        eventually(lambda: self.ready.exists() or self.process.poll() is not None, what=f"{self.name} to be ready")
        assert self.process.poll() is None, self.output()

    def output(self):
        return self.log.read_text(errors="replace")

    def stop(self):
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            self.process.wait(timeout=60)
        return self.process.returncode


@pytest.fixture
def workers():
    started = []
    yield started
    for worker in started:
        if worker.process.poll() is None:
            worker.process.kill()
            worker.process.wait()


def test_send_task_results_from_both_argument_shapes(tmp_path, bundles, queue, workers):
    workers.append(Worker(tmp_path, bundles / "function", REDIS_URL, queue, "--per-worker", "2"))
    app = celery_app(REDIS_URL)
    now = datetime.datetime.now(datetime.timezone.utc)
    two = app.send_task(TASK, args=[{"args": {"x": 1, "y": 2.5}}, False], queue=queue)
    three = app.send_task(TASK, args=[{"args": {"x": 3, "y": 4}}, now, False], kwargs={"ignored": 1}, queue=queue)
    runnable = app.send_task(RUNNABLE_IMAGE_TASK, args=[{"args": {"x": 1, "y": 1}}, now, False], queue=queue, expires=600)
    pickled = app.send_task(TASK, args=[{"args": {"x": 2, "y": 2}}, now, True], queue=queue)
    assert two.get(timeout=60) == {"result": '{"sum": 3.5}'}
    assert three.get(timeout=60) == {"result": '{"sum": 7}'}
    assert runnable.get(timeout=60) == {"result": '{"sum": 2}'}
    result_url = pickled.get(timeout=60)["result_url"]
    assert result_url.startswith("file://")
    import cloudpickle

    assert cloudpickle.loads(Path(result_url.removeprefix("file://")).read_bytes()) == {"sum": 4}
    assert two.state == "SUCCESS" and two.date_done is not None
    assert workers[0].stop() == 0


def test_a_raising_predict_fails_with_its_traceback(tmp_path, bundles, queue, workers):
    workers.append(Worker(tmp_path, bundles / "raises", REDIS_URL, queue))
    result = celery_app(REDIS_URL).send_task(TASK, args=[{"args": {"x": 1}}, False], queue=queue)
    with pytest.raises(Exception) as raised:
        result.get(timeout=60)
    assert result.state == "FAILURE"
    assert "Traceback (most recent call last)" in result.traceback
    assert str(raised.value) in result.traceback


def test_an_expired_task_is_revoked_not_run(tmp_path, bundles, queue, workers):
    log = tmp_path / "runs.log"
    app = celery_app(REDIS_URL)
    expired = app.send_task(TASK, args=[{"args": {"x": "late", "log": str(log)}}, False], queue=queue, expires=-1)
    workers.append(Worker(tmp_path, bundles / "record", REDIS_URL, queue))
    with pytest.raises(TaskRevokedError):
        expired.get(timeout=60)
    assert expired.state == "REVOKED"
    live = app.send_task(TASK, args=[{"args": {"x": "on-time", "log": str(log)}}, False], queue=queue, expires=600)
    live.get(timeout=60)
    assert log.read_text().split() == ["on-time"]


def _envelope(task_id, queue, body, task=TASK, tag=None, redelivered=False):
    """A message as kombu writes it; ``redelivered`` marks it as a restore does."""
    headers = {"lang": "py", "task": task, "id": task_id, "root_id": task_id, "retries": 0}
    delivery_info = {"exchange": "", "routing_key": queue}
    if redelivered:
        headers["redelivered"] = True
        delivery_info["redelivered"] = True
    return json.dumps(
        {
            "body": body,
            "content-encoding": "utf-8",
            "content-type": "application/json",
            "headers": headers,
            "properties": {
                "correlation_id": task_id,
                "delivery_mode": 2,
                "delivery_info": delivery_info,
                "priority": 0,
                "body_encoding": "base64",
                "delivery_tag": tag or str(uuid.uuid4()),
            },
        }
    )


def _body(request, return_pickled=False):
    """A message body: base64 of Celery's ``[args, kwargs, embed]`` for ``[request, return_pickled]``."""
    return base64.b64encode(json.dumps([[request, return_pickled], {}, {}]).encode()).decode()


def test_malformed_messages_fail_naming_the_problem_and_the_worker_goes_on(tmp_path, bundles, queue, workers):
    client = redis.Redis.from_url(REDIS_URL)
    bad_json = base64.b64encode(b"[[{, false], {}, {}]").decode()
    bad_base64 = "%%% not base64 %%%"
    ids = {"bad-json": str(uuid.uuid4()), "bad-base64": str(uuid.uuid4())}
    client.lpush(queue, _envelope(ids["bad-json"], queue, bad_json))
    client.lpush(queue, _envelope(ids["bad-base64"], queue, bad_base64))
    client.lpush(queue, "this is not a kombu envelope")
    app = celery_app(REDIS_URL)
    unknown = app.send_task("tasks.not_ours", args=[1], queue=queue)
    workers.append(Worker(tmp_path, bundles / "function", REDIS_URL, queue))
    good = app.send_task(TASK, args=[{"args": {"x": 1, "y": 1}}, False], queue=queue)
    assert good.get(timeout=60) == {"result": '{"sum": 2}'}

    messages = {}
    for name, task_id in ids.items():
        result = app.AsyncResult(task_id)
        eventually(lambda: result.state == "FAILURE", what=f"the {name} task's FAILURE")
        messages[name] = result.traceback
    assert "the body is not valid JSON" in messages["bad-json"]
    assert "the body is not valid base64" in messages["bad-base64"]
    with pytest.raises(NotRegistered, match="tasks.not_ours"):
        unknown.get(timeout=60)
    assert workers[0].process.poll() is None
    assert "dropped a message that names no task" in workers[0].output()
    assert client.llen(queue) == 0
    assert workers[0].stop() == 0


def test_python_celery_and_launch_worker_share_a_queue(tmp_path, bundles, queue, workers):
    log = tmp_path / "runs.log"
    env = {
        **os.environ,
        "CELERY_BROKER": REDIS_URL,
        "CELERY_BUNDLE": str(bundles / "record"),
        "PYTHONPATH": str(TESTS),
    }
    celery_log = tmp_path / "celery.log"
    python_worker = subprocess.Popen(
        [sys.executable, "-m", "celery", "-A", "celery_bundle_worker", "worker", "-Q", queue, "-P", "solo",
         "--without-gossip", "--without-mingle", "--without-heartbeat", "-l", "INFO"],
        cwd=TESTS, env=env, stdout=celery_log.open("wb"), stderr=subprocess.STDOUT,
    )
    try:
        workers.append(Worker(tmp_path, bundles / "record", REDIS_URL, queue, "--per-worker", "2"))
        eventually(lambda: " ready." in celery_log.read_text(errors="replace"), what="the Python worker to be ready")
        app = celery_app(REDIS_URL)
        results = [
            app.send_task(TASK, args=[{"args": {"x": f"t{index}", "log": str(log)}}, False], queue=queue)
            for index in range(200)
        ]
        answers = [result.get(timeout=120)["result"] for result in results]
        assert answers == [json.dumps({"x": f"t{index}"}) for index in range(200)]
        runs = log.read_text().split()
        assert sorted(runs) == sorted(f"t{index}" for index in range(200)), "every task ran exactly once"
        # A worker writes its routine log lines every 10 ms or so, not before it answers.
        eventually(lambda: workers[0].output().count("task finished") > 0, what="launch-worker to log a task")
        assert workers[0].output().count("task finished") < 200, "both workers answered some"
    finally:
        python_worker.send_signal(signal.SIGTERM)
        python_worker.wait(timeout=60)
    assert workers[0].stop() == 0
    client = redis.Redis.from_url(REDIS_URL)
    assert client.llen(queue) == 0


def test_results_expire_after_result_expires_and_never_with_0(tmp_path, bundles, queue, workers):
    app = celery_app(REDIS_URL)
    client = redis.Redis.from_url(REDIS_URL)
    for expires in ("120", "0"):
        worker = Worker(tmp_path, bundles / "function", REDIS_URL, queue, "--result-expires", expires)
        workers.append(worker)
        task_id = app.send_task(TASK, args=[{"args": {"x": 1, "y": 1}}, False], queue=queue).id
        eventually(lambda: _status(client, task_id) == "SUCCESS", what=f"the result with --result-expires {expires}")
        ttl = client.ttl(f"celery-task-meta-{task_id}")
        if expires == "0":
            assert ttl == -1, "--result-expires 0 keeps results forever"
        else:
            assert 0 < ttl <= 120, f"the result lives --result-expires {expires} s, not {ttl} s"
        assert worker.stop() == 0


def _status(client, task_id):
    stored = client.get(f"celery-task-meta-{task_id}")
    return json.loads(stored)["status"] if stored else None


def _free_port():
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]
