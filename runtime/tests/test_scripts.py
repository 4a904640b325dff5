"""The build scripts: sample-bundles/build.py and the Swift tests' fixture builder."""

import ctypes
import hashlib
import json
import signal
import subprocess
import sys
import threading
import time

import cloudpickle
import pytest

from conftest import REPO
from launch_worker import ArtifactUnpicklingError, ResultNotJSONSerializable, TaskTimedOut
from launch_worker.invoke import run_request

SAMPLES = REPO / "sample-bundles"
FIXTURE_SCRIPT = REPO / "Tests" / "Fixtures" / "build_test_bundles.py"
CLOUDPICKLE2 = REPO / ".venv" / "cloudpickle2"


def run_script(*arguments):
    """Run a Python script with this interpreter and return its stdout."""
    child = subprocess.run(
        [sys.executable, *map(str, arguments)], capture_output=True, text=True, check=True
    )
    return child.stdout


@pytest.fixture(scope="module")
def samples(tmp_path_factory):
    """The sample bundles, built into a temporary folder."""
    out = tmp_path_factory.mktemp("samples")
    lines = run_script(SAMPLES / "build.py", "--out", out).splitlines()
    assert [line.split(":")[0] for line in lines] == [
        "arithmetic",
        "greeter",
        "linear-model",
        "text-stats",
    ]
    return out


@pytest.mark.parametrize(
    ("sample", "expected"),
    [
        ("arithmetic", {"sum": 7, "product": 12}),
        ("greeter", {"message": "Hello, Ada!"}),
        (
            "text-stats",
            {
                "words": 10,
                "characters": 41,
                "lines": 2,
                "top_words": [["the", 3], ["mat", 2], ["cat", 1]],
            },
        ),
    ],
)
def test_sample_answers_its_example_request(samples, load, sample, expected):
    request = (SAMPLES / sample / "example-request.json").read_text()
    args = json.dumps(json.loads(request)["args"])
    assert json.loads(run_request(load(samples / sample), args, None, None, False)) == expected


def test_linear_model_sample_learns_the_line(samples, load):
    request = json.loads((SAMPLES / "linear-model" / "example-request.json").read_text())
    predictions = load(samples / "linear-model")(**request["args"])["predictions"]
    # y = 2*x0 - 1*x1 + 0.5*x2 + 3, learnt from noisy samples.
    assert predictions == pytest.approx([2.0 - 2.0 + 1.5 + 3.0, 3.0], abs=0.05)
    metadata = json.loads((samples / "linear-model" / "bundle.json").read_text())
    assert [line.split("==")[0] for line in metadata["requirements"]] == ["numpy"]


@pytest.fixture(scope="module")
def fixtures(tmp_path_factory):
    """The Swift tests' fixture bundles, built twice into the same folder (idempotence)."""
    out = tmp_path_factory.mktemp("fixtures")
    for _ in range(2):
        output = run_script(FIXTURE_SCRIPT, out, "--cloudpickle2", CLOUDPICKLE2)
        built = sum(1 for bundle in out.iterdir() if (bundle / "bundle.json").is_file())
        assert output == f"built {built} bundles in {out}\n"
    return out


VALUES = {"values": [1, 2, 3]}
SCALED = {"score": 140, "config": {"scale": 10}}
UNSCALED = {"score": 14, "config": None}
FIXTURE_ANSWERS = {
    "function": ({"x": 1, "y": 2}, {"sum": 3}),
    "function-cloudpickle2": ({"x": 1, "y": 2.5}, {"sum": 3.5}),
    "instance-init": (
        {"name": "Ada"},
        {"greeting": "Hello, Ada", "config": {"greeting": "Hello"}, "init_calls": 1},
    ),
    "instance-init-noconfig": (
        {"name": "Ada"},
        {"greeting": "Hi, Ada", "config": None, "init_calls": 1},
    ),
    "class-object": (
        {"name": "Ada"},
        {"instances": 1, "init_calls": 1, "config": {"greeting": "Hey"}},
    ),
    "model-dict": (VALUES, SCALED),
    "model-dict-noconfig": (VALUES, UNSCALED),
    "load-model-fn": (VALUES, SCALED),
    "load-model-fn-noconfig": (VALUES, UNSCALED),
    "zip": (VALUES, SCALED),
    "zip-noconfig": (VALUES, UNSCALED),
    "trivial": ({"x": [1, "a", None]}, [1, "a", None]),
    "sleepy": ({"seconds": 0.01}, {"slept": 0.01}),
    "spin": ({"seconds": 0.01}, {"spun": 0.01}),
    "swallow": ({"seconds": 0.01}, {"spun": 0.01}),
    "crash-on": ({"x": "fine"}, {"x": "fine"}),
    "crash-beside": ({"x": "alone", "spool": "/nonexistent"}, {"x": "alone"}),
    "cpu": ({"n": 10}, {"sum": 285}),
    "prints": ({"x": 1}, {"x": 1}),
    "gated": ({"gate": "/"}, {"gate": True}),
    "other-python": ({"x": 1, "y": 2}, {"sum": 3}),
    "unmet-requirements": ({"x": 1, "y": 2}, {"sum": 3}),
}


@pytest.mark.parametrize("name", FIXTURE_ANSWERS)
def test_fixture_answers(fixtures, load, name):
    args, expected = FIXTURE_ANSWERS[name]
    result = run_request(load(fixtures / name), json.dumps(args), None, None, False)
    assert json.loads(result) == expected


def test_fixture_cloudpickle2_says_so(fixtures):
    metadata = json.loads((fixtures / "function-cloudpickle2" / "bundle.json").read_text())
    assert metadata["bundle_metadata"] == {"cloudpickle_version": "2.2.1"}


def test_fixture_bytes_echo(fixtures, load):
    data = bytes(range(256))
    result = json.loads(run_request(load(fixtures / "bytes-echo"), None, data, None, False))
    assert result == {"length": 256, "sha256": hashlib.sha256(data).hexdigest()}


def test_fixture_raises(fixtures, load):
    with pytest.raises(ValueError, match="bad input: 7"):
        run_request(load(fixtures / "raises"), '{"x": 7}', None, None, False)


def test_fixture_not_json_serializable(fixtures, load):
    predict = load(fixtures / "not-json-serializable")
    with pytest.raises(ResultNotJSONSerializable):
        run_request(predict, '{"x": 1}', None, None, False)
    assert cloudpickle.loads(run_request(predict, '{"x": 1}', None, None, True)) == {1}


@pytest.mark.parametrize(
    ("name", "error", "message"),
    [
        ("load-raises", RuntimeError, "cannot load weights"),
        ("dict-neither", ValueError, "Need to specify either 'model' or 'load_model_fn'"),
        ("unpicklable", ArtifactUnpicklingError, "cannot be unpickled"),
    ],
)
def test_fixture_fails_to_load(fixtures, load, name, error, message):
    with pytest.raises(error, match=message):
        load(fixtures / name)


def test_fixture_missing_field_lacks_only_packaging_type(fixtures):
    missing = json.loads((fixtures / "missing-field" / "bundle.json").read_text())
    function = json.loads((fixtures / "function" / "bundle.json").read_text())
    assert "packaging_type" not in missing
    assert missing["bundle_name"] == "missing-field"
    del function["packaging_type"], function["bundle_name"], function["artifact_sha256"]
    del missing["bundle_name"], missing["artifact_sha256"]
    assert missing == function


def test_fixture_record_appends_one_line_per_run(fixtures, load, tmp_path):
    predict = load(fixtures / "record")
    log = tmp_path / "runs.log"
    for x in ("a", 7):
        args = json.dumps({"x": x, "log": str(log)})
        assert json.loads(run_request(predict, args, None, None, False)) == {"x": x}
    assert log.read_text() == "a\n7\n"


def test_fixture_crash_on_ends_the_process_with_17(fixtures):
    script = (
        "import sys, cloudpickle\n"
        "predict = cloudpickle.loads(open(sys.argv[1], 'rb').read())\n"
        "print(predict('ok'), flush=True)\n"
        "predict('crash')\n"
        "print('still alive')\n"
    )
    child = subprocess.run(
        [sys.executable, "-c", script, str(fixtures / "crash-on" / "artifact")],
        capture_output=True,
        text=True,
        check=False,
    )
    assert child.returncode == 17, child.stderr
    assert child.stdout == "{'x': 'ok'}\n"


def test_fixture_prints_to_stdout_from_python_and_fd_1(fixtures, load, capfd):
    run_request(load(fixtures / "prints"), '{"x": 3}', None, None, False)
    assert capfd.readouterr().out == "print from predict: 3\nfd 1 write from predict\n"


@pytest.mark.parametrize(
    ("name", "status"), [("segfault", -signal.SIGSEGV), ("load-exits", 5)]
)
def test_fixture_ends_the_process(fixtures, name, status):
    """`segfault` dies of SIGSEGV in predict, `load-exits` exits 5 while loading."""
    script = (
        "import sys, json\n"
        "from launch_worker.loader import load_bundle\n"
        "from launch_worker.invoke import run_request\n"
        "predict = load_bundle('cloudpickle', sys.argv[1] + '/artifact', None, None, None, None)\n"
        "run_request(predict, json.dumps({'x': 1}), None, None, False)\n"
        "print('still alive')\n"
    )
    child = subprocess.run(
        [sys.executable, "-c", script, str(fixtures / name)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert child.returncode == status, child.stderr
    assert child.stdout == ""


class _Running:
    """A predict running on its own thread, which tests raise exceptions into."""

    def __init__(self, predict, **args):
        """Start predict(**args) on a daemon thread."""
        self.outcome = None
        self.started = threading.Event()
        self.thread = threading.Thread(target=self._run, args=(predict, args), daemon=True)
        self.thread.start()
        assert self.started.wait(10)

    def _run(self, predict, args):
        """Call predict, keeping what it returned or raised."""
        self.started.set()
        try:
            self.outcome = predict(**args)
        except BaseException as err:  # The exception raised into the thread is the outcome.
            self.outcome = err

    def raise_in(self, exception_type):
        """Raise exception_type in the thread, as the Swift worker does on a timeout."""
        done = ctypes.pythonapi.PyThreadState_SetAsyncExc(
            ctypes.c_ulong(self.thread.ident), ctypes.py_object(exception_type)
        )
        assert done == 1


def _until(condition, what):
    """Poll condition until it holds, failing after a generous deadline (a loaded machine)."""
    deadline = time.monotonic() + 60
    while not condition():
        assert time.monotonic() < deadline, f"never: {what}"
        time.sleep(0.001)


@pytest.mark.parametrize("name", ["spin", "swallow"])
def test_fixture_busy_loops_stop_on_task_timed_out(fixtures, load, name):
    looping = [False]
    running = _Running(load(fixtures / name), seconds=120, looping=looping)
    _until(lambda: looping[0], "the loop runs")
    running.raise_in(TaskTimedOut)
    running.thread.join(60)
    assert not running.thread.is_alive()
    assert isinstance(running.outcome, TaskTimedOut)


def test_fixture_swallow_keeps_looping_after_an_exception(fixtures, load):
    looping, swallowed = [False], []
    running = _Running(load(fixtures / "swallow"), seconds=120, looping=looping, swallowed=swallowed)
    _until(lambda: looping[0], "the loop runs")
    running.raise_in(RuntimeError)
    _until(lambda: swallowed, "the loop swallowed the RuntimeError")
    assert isinstance(swallowed[0], RuntimeError)
    looping[0] = False
    _until(lambda: looping[0], "the loop goes on after swallowing")
    assert running.thread.is_alive()
    running.raise_in(TaskTimedOut)
    running.thread.join(60)
    assert isinstance(running.outcome, TaskTimedOut)


def test_fixture_spin_stops_on_an_exception(fixtures, load):
    looping = [False]
    running = _Running(load(fixtures / "spin"), seconds=120, looping=looping)
    _until(lambda: looping[0], "the loop runs")
    running.raise_in(RuntimeError)
    running.thread.join(60)
    assert isinstance(running.outcome, RuntimeError)
