"""SpoolClient: queuing tasks, looking them up, waiting for them and reading results.

A worker is simulated by hand: renaming task files into ``claimed/w1/`` and writing
``responses/``, as docs/spool-protocol.md says a worker does.
"""

import json
import os
import threading
import time

import cloudpickle
import pytest

import launch_worker
from launch_worker.spool import SpoolClient, TaskFailed, UnknownTaskError


@pytest.fixture
def spool(tmp_path):
    """The folder of a fresh spool."""
    return tmp_path / "spool"


@pytest.fixture
def client(spool):
    """A client of the fresh spool."""
    return SpoolClient(spool)


def names(folder):
    """The sorted names in a folder."""
    return sorted(os.listdir(folder))


def claim(spool, task_id, worker="w1"):
    """Do what a worker does when it claims a task."""
    (spool / "claimed" / worker).mkdir(parents=True, exist_ok=True)
    name = f"{task_id}.json"
    os.rename(spool / "incoming" / name, spool / "claimed" / worker / name)


def answer(spool, task_id, worker="w1", **fields):
    """Do what a worker does when it answers a claimed task."""
    response = {"task_id": task_id, "attempt": 1, **fields}
    (spool / "responses" / f"{task_id}.json").write_text(json.dumps(response))
    (spool / "claimed" / worker / f"{task_id}.json").unlink()
    return response


def success(spool, task_id, output):
    """Answer a claimed task with a JSON result."""
    return answer(spool, task_id, status="SUCCESS", result=json.dumps(output))


def test_client_makes_the_fixed_folders(spool):
    SpoolClient(spool)
    assert names(spool) == ["dead", "incoming", "responses", "tmp"]
    SpoolClient(str(spool))  # Again, on existing folders.


def test_exported_from_the_package():
    assert launch_worker.SpoolClient is SpoolClient


def test_submit_writes_the_request_into_incoming(client, spool):
    task_id = client.submit({"x": 1, "y": 2.0}, task_id="t1")
    assert task_id == "t1"
    assert names(spool / "incoming") == ["t1.json"]
    assert names(spool / "tmp") == []
    body = (spool / "incoming" / "t1.json").read_text()
    assert json.loads(body) == {"args": {"x": 1, "y": 2.0}, "return_pickled": False}
    assert '"y": 2.0' in body  # A float stays a float.


def test_submit_every_field(client, spool):
    client.submit(
        url="file:///data/in.bin", return_pickled=True, callback_url="http://cb", task_id="a"
    )
    client.submit(cloudpickle=spool / "call.pkl", task_id="b")
    assert json.loads((spool / "incoming" / "a.json").read_text()) == {
        "url": "file:///data/in.bin",
        "return_pickled": True,
        "callback_url": "http://cb",
    }
    assert json.loads((spool / "incoming" / "b.json").read_text()) == {
        "cloudpickle": str(spool / "call.pkl"),
        "return_pickled": False,
    }
    assert names(spool / "tmp") == []


def test_submit_makes_a_random_id(client, spool):
    first, second = client.submit({}), client.submit({})
    assert first != second
    assert len(first) == 32 and int(first, 16) >= 0
    assert names(spool / "incoming") == sorted([f"{first}.json", f"{second}.json"])


def test_submit_request_writes_the_body_as_given(client, spool):
    request = {"args": {"text": "é"}, "callback_url": None, "extra": [1]}
    client.submit_request(request, "r1")
    assert json.loads((spool / "incoming" / "r1.json").read_text()) == request


def test_submit_request_makes_a_random_id(client, spool):
    task_id = client.submit_request({"url": "/in"})
    assert names(spool / "incoming") == [f"{task_id}.json"]


def test_a_failed_write_leaves_nothing_behind(client, spool, monkeypatch):
    def failing_link(source, destination):
        raise OSError("disk on fire")

    monkeypatch.setattr(os, "link", failing_link)
    with pytest.raises(OSError, match="disk on fire"):
        client.submit({"x": 1}, task_id="t1")
    assert names(spool / "tmp") == []
    assert names(spool / "incoming") == []


def test_a_racing_producer_with_the_same_id_is_refused_not_overwritten(client, spool, monkeypatch):
    # The id check passes for both producers; the link then refuses the second file.
    monkeypatch.setattr(client, "get", lambda task_id: {"task_id": task_id, "status": "UNDEFINED"})
    client.submit({"x": 1}, task_id="t1")
    with pytest.raises(FileExistsError):
        client.submit({"x": 2}, task_id="t1")
    assert json.loads((spool / "incoming" / "t1.json").read_text())["args"] == {"x": 1}
    assert names(spool / "tmp") == []


def test_the_request_is_durable_before_it_is_queued(client, spool, monkeypatch):
    events = []
    fsync, link = os.fsync, os.link

    def recording_fsync(descriptor):
        events.append(("fsync", os.path.realpath(f"/proc/self/fd/{descriptor}")))
        fsync(descriptor)

    def recording_link(source, destination):
        events.append(("link", os.path.dirname(source), str(destination)))
        link(source, destination)

    monkeypatch.setattr(os, "fsync", recording_fsync)
    monkeypatch.setattr(os, "link", recording_link)
    client.submit({"x": 1}, task_id="t1")
    temporary = events[0][1]
    assert os.path.dirname(temporary) == str(spool / "tmp")
    assert events == [
        ("fsync", temporary),
        ("link", str(spool / "tmp"), str(spool / "incoming" / "t1.json")),
        ("fsync", str(spool / "incoming")),
    ]


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        ({}, "exactly one of 'args', 'url' and 'cloudpickle' \\(the request has none of them\\)"),
        ({"args": {}, "url": "/x"}, "the request has 'args' and 'url'"),
        ({"url": "/x", "cloudpickle": "/y"}, "the request has 'url' and 'cloudpickle'"),
        ({"args": [1, 2]}, "args must be a dict .* not a list"),
        ({"args": {1: 2}}, "only string keys"),
        ({"args": {"x": {1, 2}}}, "only JSON values .*set"),
        ({"args": {"x": float("nan")}}, "only JSON values"),
        ({"url": ""}, "url must be a non-empty string"),
        ({"cloudpickle": 3}, "cloudpickle must be a non-empty string"),
        ({"args": {}, "return_pickled": "yes"}, "return_pickled must be True or False"),
        ({"args": {}, "callback_url": 5}, "callback_url must be a string, not a int"),
    ],
)
def test_submit_refuses_bad_requests(client, spool, arguments, message):
    args = arguments.pop("args", None)
    with pytest.raises(ValueError, match=message):
        client.submit(args, **arguments)
    assert names(spool / "incoming") == []
    assert names(spool / "tmp") == []


@pytest.mark.parametrize(
    ("request_body", "message"),
    [
        ([{"args": {}}], "the request must be a dict .* not a list"),
        ({"args": None, "url": None}, "has none of them"),
        ({"args": "x=1"}, "args must be a dict"),
        ({"url": "/x", "return_pickled": 1}, "return_pickled must be True or False"),
    ],
)
def test_submit_request_refuses_bad_requests(client, spool, request_body, message):
    with pytest.raises(ValueError, match=message):
        client.submit_request(request_body, "t1")
    assert names(spool / "incoming") == []


@pytest.mark.parametrize(
    "task_id", ["", ".hidden", "a/b", "../escape", "a b", "é", "x" * 201, "t.json\n", 7]
)
def test_invalid_task_ids_are_refused(client, spool, task_id):
    with pytest.raises(ValueError, match="invalid task id"):
        client.submit({}, task_id=task_id)
    with pytest.raises(ValueError, match="invalid task id"):
        client.get(task_id)
    assert names(spool / "incoming") == []


@pytest.mark.parametrize("task_id", ["a", "A.b_c-9", "x" * 200, "trailing."])
def test_valid_task_ids(client, task_id):
    assert client.submit({}, task_id=task_id) == task_id
    assert client.get(task_id)["status"] == "PENDING"


def test_duplicate_task_ids_are_refused_in_every_state(client, spool):
    client.submit({}, task_id="queued")
    client.submit({}, task_id="running")
    claim(spool, "running")
    client.submit({}, task_id="done")
    claim(spool, "done")
    success(spool, "done", 1)
    client.submit({}, task_id="dead")
    claim(spool, "dead")
    os.rename(spool / "claimed" / "w1" / "dead.json", spool / "dead" / "dead.json")
    for task_id, state in [
        ("queued", "PENDING"),
        ("running", "STARTED"),
        ("done", "SUCCESS"),
        ("dead", "dead"),
    ]:
        with pytest.raises(ValueError, match=f"task id '{task_id}' is already in use .*{state}"):
            client.submit({}, task_id=task_id)
    assert names(spool / "incoming") == ["queued.json"]
    assert names(spool / "tmp") == []


def test_get_follows_a_task_through_its_states(client, spool):
    assert client.get("t1") == {"task_id": "t1", "status": "UNDEFINED"}
    client.submit({"x": 1}, task_id="t1")
    assert client.get("t1") == {"task_id": "t1", "status": "PENDING"}
    claim(spool, "t1")
    assert client.get("t1") == {"task_id": "t1", "status": "STARTED"}
    response = success(spool, "t1", {"y": 2})
    assert client.get("t1") == response
    assert client.get("t1")["status"] == "SUCCESS"


def test_get_while_claims_of_several_workers_exist(client, spool):
    (spool / "claimed" / "w0").mkdir(parents=True)
    client.submit({}, task_id="t1")
    claim(spool, "t1", worker="w2")
    assert client.get("t1")["status"] == "STARTED"


def test_a_response_wins_over_a_claim_not_yet_removed(client, spool):
    client.submit({}, task_id="t1")
    claim(spool, "t1")
    (spool / "responses" / "t1.json").write_text('{"task_id": "t1", "status": "FAILURE"}')
    assert client.get("t1")["status"] == "FAILURE"


def test_a_task_whose_answer_is_staged_is_started_until_committed(client, spool):
    # With fsync on, a worker stages the answer next to the claim, then commits it in a group:
    # renames it into responses/ and only then drops the claim.
    client.submit({}, task_id="t1")
    claim(spool, "t1")
    staged = spool / "claimed" / "w1" / "t1.answer"
    staged.write_text('{"task_id": "t1", "status": "SUCCESS", "result": "1"}')
    assert client.get("t1") == {"task_id": "t1", "status": "STARTED"}
    os.rename(staged, spool / "responses" / "t1.json")
    assert client.get("t1")["result"] == "1"
    (spool / "claimed" / "w1" / "t1.json").unlink()
    assert client.get("t1")["status"] == "SUCCESS"


def test_a_released_task_is_pending_again(client, spool):
    client.submit({}, task_id="t1")
    claim(spool, "t1")
    os.rename(spool / "claimed" / "w1" / "t1.json", spool / "incoming" / "t1.json")
    assert client.get("t1")["status"] == "PENDING"


def test_get_refuses_a_response_that_is_not_json(client, spool):
    (spool / "responses" / "t1.json").write_text("{half")
    with pytest.raises(ValueError, match="responses/t1.json is not valid JSON"):
        client.get("t1")


def test_wait_returns_the_response_once_answered(client, spool):
    client.submit({"x": 1}, task_id="t1")

    def worker():
        time.sleep(0.05)
        claim(spool, "t1")
        time.sleep(0.05)
        success(spool, "t1", {"x": 1})

    thread = threading.Thread(target=worker)
    thread.start()
    response = client.wait("t1", timeout=10)
    thread.join()
    assert response["status"] == "SUCCESS"
    assert client.result(response) == {"x": 1}


def test_wait_returns_a_failure(client, spool):
    client.submit({}, task_id="t1")
    claim(spool, "t1")
    answer(spool, "t1", status="FAILURE", traceback="Traceback ...\nValueError: no")
    assert client.wait("t1", timeout=0)["status"] == "FAILURE"


class VirtualClock:
    """Stands in for the ``time`` module of ``launch_worker.spool``: ``sleep`` only moves
    ``monotonic`` on, and is recorded, so a test reads how the client waited, not a watch."""

    def __init__(self):
        """Start at 0 with no sleeps."""
        self.now = 0.0
        self.sleeps = []

    def monotonic(self):
        """The virtual time."""
        return self.now

    def sleep(self, seconds):
        """Move the virtual time on by ``seconds``."""
        self.sleeps.append(seconds)
        self.now += seconds


@pytest.fixture
def clock(monkeypatch):
    """A virtual clock in place of the client's ``time``."""
    virtual = VirtualClock()
    monkeypatch.setattr(launch_worker.spool, "time", virtual)
    return virtual


@pytest.mark.parametrize(("started", "status"), [(False, "PENDING"), (True, "STARTED")])
def test_wait_times_out_naming_the_task_and_its_status(client, spool, clock, started, status):
    client.submit({}, task_id="slow")
    if started:
        claim(spool, "slow")
    with pytest.raises(TimeoutError, match=f"task 'slow' .* within 0.2 s .*last status: {status}"):
        client.wait("slow", timeout=0.2, poll_interval=0.02)
    # It polled every 0.02 s until the timeout, and gave up then, not before or long after.
    assert clock.now == pytest.approx(0.2)
    assert len(clock.sleeps) >= 10
    assert all(0 < pause <= 0.02 for pause in clock.sleeps)


def test_wait_for_an_unknown_task_looks_again_then_fails(client, clock, monkeypatch):
    looks = []
    get = SpoolClient.get

    def counted_get(self, task_id):
        looks.append(clock.now)
        return get(self, task_id)

    monkeypatch.setattr(SpoolClient, "get", counted_get)
    with pytest.raises(UnknownTaskError, match="task 'nope' is unknown") as caught:
        client.wait("nope", timeout=10)
    # One look, the 0.1 s grace, a second look, then the error.
    assert looks == [0.0, pytest.approx(0.1)]
    assert clock.sleeps == [pytest.approx(0.1)]
    assert isinstance(caught.value, KeyError)
    assert str(caught.value).startswith("task 'nope' is unknown")


def test_wait_gives_a_task_in_flight_a_second_look(client, spool, monkeypatch):
    # The task is nowhere at the first look (a rename in flight), then found.
    looks = []
    get = SpoolClient.get

    def get_after_a_move(self, task_id):
        looks.append(task_id)
        if len(looks) == 1:
            return {"task_id": task_id, "status": "UNDEFINED"}
        return get(self, task_id)

    client.submit({}, task_id="t1")
    claim(spool, "t1")
    success_response = answer(spool, "t1", status="SUCCESS", result="null")
    monkeypatch.setattr(SpoolClient, "get", get_after_a_move)
    assert client.wait("t1", timeout=10) == success_response
    assert len(looks) == 2


def test_result_of_a_json_response(client):
    response = {"task_id": "t", "status": "SUCCESS", "result": '{"sum": 3.0, "xs": [1]}'}
    assert client.result(response) == {"sum": 3.0, "xs": [1]}
    assert SpoolClient.result({"status": "SUCCESS", "result": "null"}) is None


def test_result_of_a_pickled_response(client, tmp_path):
    path = tmp_path / "results dir" / "t.pkl"
    path.parent.mkdir()
    path.write_bytes(cloudpickle.dumps({1, 2, b"x"}))
    response = {"task_id": "t", "status": "SUCCESS", "result_url": path.as_uri()}
    assert "%20" in response["result_url"]
    assert client.result(response) == {1, 2, b"x"}


def test_result_of_a_failure_carries_the_traceback(client):
    traceback = 'Traceback (most recent call last):\n  File "x.py"\nValueError: bad input: 7'
    response = {"task_id": "t1", "status": "FAILURE", "traceback": traceback}
    with pytest.raises(TaskFailed, match="task 't1' failed:\nTraceback") as caught:
        client.result(response)
    assert caught.value.traceback == traceback
    assert caught.value.task_id == "t1"
    assert str(caught.value).endswith("ValueError: bad input: 7")


@pytest.mark.parametrize(
    ("response", "message"),
    [
        ({"task_id": "t", "status": "PENDING"}, "no result yet \\(its status is PENDING\\)"),
        ({"task_id": "t", "status": "SUCCESS"}, "neither 'result' nor 'result_url'"),
        (
            {"task_id": "t", "status": "SUCCESS", "result_url": "s3://bucket/t.pkl"},
            "not a file:// URL on this machine",
        ),
        (
            {"task_id": "t", "status": "SUCCESS", "result_url": "file://otherhost/t.pkl"},
            "not a file:// URL on this machine",
        ),
    ],
)
def test_result_refuses_what_holds_no_result(client, response, message):
    with pytest.raises(ValueError, match=message):
        client.result(response)


def test_result_of_a_missing_pickle(client, tmp_path):
    response = {"status": "SUCCESS", "result_url": (tmp_path / "gone.pkl").as_uri()}
    with pytest.raises(FileNotFoundError):
        client.result(response)
