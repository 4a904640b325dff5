"""launch-worker's at-least-once delivery on Redis: restores after a worker dies, a broker
restart, claims whose replies were lost, redelivered tasks that already succeeded, and live
workers' tasks that must never be restored.

Needs what test_redis_celery.py needs (its fixtures are shared). Every wait polls with a
generous deadline; nothing sleeps for timing.
"""

import json
import os
import re
import signal
import socket
import subprocess
import threading
import uuid
from urllib.parse import urlsplit

import redis

# bundles, queue and workers are test_redis_celery.py's fixtures, shared.
from test_redis_celery import (
    REDIS_URL,
    TASK,
    Worker,
    _body,
    _envelope,
    _free_port,
    _status,
    bundles,
    celery_app,
    eventually,
    queue,
    workers,
)


def test_kill_9_mid_task_redelivers_and_loses_nothing(tmp_path, bundles, queue, workers):
    app = celery_app(REDIS_URL)
    short = ["--visibility-timeout", "1", "--per-worker", "3", "--track-started"]
    first = Worker(tmp_path, bundles / "sleepy", REDIS_URL, queue, *short)
    workers.append(first)
    results = [app.send_task(TASK, args=[{"args": {"seconds": 0.5}}, False], queue=queue) for _ in range(12)]
    eventually(lambda: sum(result.state == "STARTED" for result in results) >= 2, what="tasks to start")
    first.process.kill()
    first.process.wait()
    workers.append(Worker(tmp_path, bundles / "sleepy", REDIS_URL, queue, *short))
    answers = [result.get(timeout=120) for result in results]
    assert len(answers) == 12 and all("result" in answer for answer in answers)
    assert "restoring a task past its visibility timeout" in workers[1].output()
    client = redis.Redis.from_url(REDIS_URL)
    assert client.llen(queue) == 0


def test_a_broker_restart_mid_run_loses_nothing(tmp_path, bundles, queue, workers):
    port = _free_port()
    data = tmp_path / "redis"
    data.mkdir()
    broker = f"redis://127.0.0.1:{port}/0"

    def start_redis():
        server = subprocess.Popen(
            ["redis-server", "--port", str(port), "--bind", "127.0.0.1", "--dir", data, "--save", "",
             "--appendonly", "yes", "--appendfsync", "always"],
            stdout=(tmp_path / "redis.log").open("ab"), stderr=subprocess.STDOUT,
        )
        eventually(lambda: _pings(broker), what="redis-server to answer")
        return server

    server = start_redis()
    try:
        workers.append(Worker(tmp_path, bundles / "sleepy", broker, queue, "--per-worker", "2"))
        app = celery_app(broker)
        ids = [app.send_task(TASK, args=[{"args": {"seconds": 0.05}}, False], queue=queue).id for _ in range(40)]
        client = redis.Redis.from_url(broker)
        eventually(lambda: len(_finished(client, ids)) >= 5, what="a few results before the restart")
        finished_before_restart = _finished(client, ids)
        server.send_signal(signal.SIGTERM)
        server.wait(timeout=60)
        assert len(_finished(redis.Redis.from_url(broker), ids)) == 0, "the broker is down"
        server = start_redis()
        client = redis.Redis.from_url(broker)
        eventually(lambda: len(_finished(client, ids)) == 40, timeout=120, what="every result after the restart")
        assert {_status(client, task_id) for task_id in ids} == {"SUCCESS"}
        # The batch was not done when the broker stopped: the rest was answered after it came back.
        assert len(finished_before_restart) < 40
        assert workers[0].process.poll() is None
        assert workers[0].stop() == 0
    finally:
        server.kill()
        server.wait()


def _pings(url):
    try:
        return redis.Redis.from_url(url).ping()
    except redis.exceptions.ConnectionError:
        return False


def _finished(client, ids):
    try:
        return [task_id for task_id in ids if _status(client, task_id) == "SUCCESS"]
    except redis.exceptions.ConnectionError:
        return []


class ReplyDropper:
    """A TCP proxy to redis-server that forwards everything both ways, except the first reply
    holding ``marker``: it closes that connection instead, so the server has run the command and
    the client never hears back (a connection lost at the worst moment)."""

    def __init__(self, upstream, marker):
        self.upstream = upstream
        self.marker = marker
        self.dropped = False
        self.lock = threading.Lock()
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.port = self.listener.getsockname()[1]
        threading.Thread(target=self._accept, daemon=True).start()

    def close(self):
        self.listener.close()

    def _accept(self):
        while True:
            try:
                client, _ = self.listener.accept()
            except OSError:
                return
            server = socket.create_connection(self.upstream)
            threading.Thread(target=self._pipe, args=(client, server, False), daemon=True).start()
            threading.Thread(target=self._pipe, args=(server, client, True), daemon=True).start()

    def _drops(self, data):
        with self.lock:
            if self.dropped or self.marker not in data:
                return False
            self.dropped = True
            return True

    def _pipe(self, source, destination, replies):
        tail = b""
        try:
            while chunk := source.recv(65536):
                if replies and self._drops(tail + chunk):
                    break
                tail = chunk[-len(self.marker):]
                destination.sendall(chunk)
        except OSError:
            pass
        for end in (source, destination):
            try:
                end.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass


def test_a_claim_whose_reply_is_lost_goes_back_to_the_queue_at_once(tmp_path, bundles, queue, workers):
    task_id = str(uuid.uuid4())
    tag = f"tag-{task_id}"
    # The consume script's reply names the delivery tag as an element of its own; no other
    # reply before it holds these bytes.
    marker = f"\r\n${len(tag)}\r\n{tag}\r\n".encode()
    upstream = urlsplit(REDIS_URL)
    proxy = ReplyDropper((upstream.hostname, upstream.port), marker)
    try:
        broker = f"redis://127.0.0.1:{proxy.port}{upstream.path}"
        # Without the reconciliation, the lost claim would wait in `unacked` for this hour.
        worker = Worker(tmp_path, bundles / "record", broker, queue, "--visibility-timeout", "3600")
        workers.append(worker)
        log = tmp_path / "runs.log"
        client = redis.Redis.from_url(REDIS_URL)
        client.lpush(queue, _envelope(task_id, queue, _body({"args": {"x": "once", "log": str(log)}}), tag=tag))
        eventually(lambda: _status(client, task_id) == "SUCCESS", what="the task whose claim's reply was lost")
        assert proxy.dropped
        assert log.read_text().split() == ["once"]
        assert "restored a task this worker claimed but does not run" in worker.output()
        assert not client.hexists("unacked", tag)
        assert worker.stop() == 0
    finally:
        proxy.close()


def test_a_redelivered_task_that_already_succeeded_is_acked_without_running_and_its_success_kept(
        tmp_path, bundles, queue, workers):
    client = redis.Redis.from_url(REDIS_URL)
    log = tmp_path / "runs.log"
    task_id = str(uuid.uuid4())
    success = json.dumps({
        "status": "SUCCESS", "result": {"result": '{"x": "first run"}'}, "traceback": None, "children": [],
        "date_done": "2024-01-01T00:00:00+00:00", "task_id": task_id,
    })
    client.set(f"celery-task-meta-{task_id}", success)
    # A restore's copy of the task (its first run stored the SUCCESS but could not ack) ...
    redelivered_tag = f"redelivered-{task_id}"
    client.lpush(queue, _envelope(task_id, queue, _body({"args": {"x": "again", "log": str(log)}}),
                                  tag=redelivered_tag, redelivered=True))
    # ... and a plain duplicate that runs and fails (record needs a log): its FAILURE must not
    # replace the SUCCESS.
    duplicate_tag = f"duplicate-{task_id}"
    client.lpush(queue, _envelope(task_id, queue, _body({"args": {"x": "duplicate"}}), tag=duplicate_tag))
    after = celery_app(REDIS_URL).send_task(TASK, args=[{"args": {"x": "after", "log": str(log)}}, False], queue=queue)
    worker = Worker(tmp_path, bundles / "record", REDIS_URL, queue, "--per-worker", "1")
    workers.append(worker)

    assert after.get(timeout=60) == {"result": json.dumps({"x": "after"})}
    eventually(lambda: not client.hexists("unacked", duplicate_tag), what="the duplicate to be answered")
    assert log.read_text().split() == ["after"], "the redelivered task did not run again"
    assert "a redelivered task already has a SUCCESS" in worker.output()
    assert client.get(f"celery-task-meta-{task_id}").decode() == success, "the SUCCESS is never overwritten"
    assert not client.hexists("unacked", redelivered_tag)
    assert client.llen(queue) == 0
    assert worker.stop() == 0


def test_a_live_workers_long_task_is_never_restored_by_another_workers_sweep(tmp_path, bundles, queue, workers):
    # A 2 s visibility timeout: worker B sweeps every second while A's task runs for eight.
    short = ["--visibility-timeout", "2", "--track-started"]
    app = celery_app(REDIS_URL)
    first = Worker(tmp_path, bundles / "sleepy", REDIS_URL, queue, *short)
    workers.append(first)
    result = app.send_task(TASK, args=[{"args": {"seconds": 8}}, False], queue=queue)
    eventually(lambda: result.state == "STARTED", what="the long task to start on worker A")
    second = Worker(tmp_path, bundles / "sleepy", REDIS_URL, queue, *short)
    workers.append(second)

    assert result.get(timeout=120) == {"result": json.dumps({"slept": 8})}
    # Its routine log lines are written every 10 ms or so, not before it answers.
    eventually(lambda: first.output().count("task finished") == 1, what="worker A to log the task")
    assert second.stop() == 0
    assert "restoring a task past its visibility timeout" not in second.output()
    assert "task finished" not in second.output(), "worker B never ran A's task"
    assert redis.Redis.from_url(REDIS_URL).llen(queue) == 0
    assert first.stop() == 0


def test_a_pool_restores_the_tasks_of_a_killed_worker_process_at_once(tmp_path, bundles, queue, workers):
    app = celery_app(REDIS_URL)
    # The default visibility timeout (1 h): only the supervisor's restore brings the tasks back.
    pool = Worker(tmp_path, bundles / "sleepy", REDIS_URL, queue, "--processes", "2", "--per-worker", "2",
                  "--track-started")
    workers.append(pool)
    results = [app.send_task(TASK, args=[{"args": {"seconds": 2}}, False], queue=queue) for _ in range(12)]
    eventually(lambda: sum(result.state == "STARTED" for result in results) >= 4, what="every slot to be busy")
    started = re.findall(r"pid=(\d+) process=0 \[LaunchWorkerCLI\] started worker process", pool.output())
    os.kill(int(started[0]), signal.SIGKILL)
    answers = [result.get(timeout=120) for result in results]
    assert len(answers) == 12 and all("result" in answer for answer in answers)
    output = pool.output()
    assert "worker process died (signal 9, SIGKILL)" in output
    assert "restored a task of a worker process that died" in output
    assert "restoring a task past its visibility timeout" not in output
    assert len(re.findall(r"process=0 \[LaunchWorkerCLI\] started worker process", output)) == 2
    assert redis.Redis.from_url(REDIS_URL).llen(queue) == 0
    assert pool.stop() == 0
