"""Build the fixture bundles that the Swift end-to-end tests run.

Usage: python Tests/Fixtures/build_test_bundles.py OUT_DIR --cloudpickle2 DIR

DIR holds cloudpickle 2.x alone (for the ``function-cloudpickle2`` fixture). Every
bundle's code lives in this script, which runs as ``__main__``, so cloudpickle pickles it
by value and the artifacts need nothing from this folder. Rebuilding over an existing
OUT_DIR replaces the bundles. Bundle names and behaviours are what the Swift tests expect;
every predict returns JSON values.
"""

import argparse
import hashlib
import inspect
import json
import os
import subprocess
import sys
import time
from pathlib import Path

import cloudpickle

from launch_worker import BundleBuilder
from launch_worker.bundle_dir import METADATA_FILE, write_bundle_dir, write_file_atomically

FIXTURES = Path(__file__).resolve().parent
ENV_PARAMS = {"framework_type": "pytorch"}
MINOR = f"{sys.version_info.major}.{sys.version_info.minor}"
# `other-python` and `zip-other-python` claim a Python minor version this one is not.
OTHER_PYTHON = "3.13.1" if MINOR == "3.12" else "3.12.1"
# `unmet-requirements`: a distribution that does not exist, a numpy version none has, and
# numpy under another spelling of its name (met).
UNMET_REQUIREMENTS = ["launch-worker-no-such-dist==1.0", "numpy>=999", "NumPy"]


def add(x, y):
    """`function`: the sum of two numbers."""
    return {"sum": x + y}


class Greeter:
    """`instance-init`: an instance whose init(config) is called once at load."""

    def __init__(self):
        """Start unconfigured."""
        self.config = None
        self.init_calls = 0

    def init(self, config):
        """Keep the app_config and count the calls."""
        self.config = config
        self.init_calls += 1

    def __call__(self, name):
        """Greet name with config's greeting ("Hi" without config)."""
        greeting = "Hi" if self.config is None else self.config["greeting"]
        return {
            "greeting": f"{greeting}, {name}",
            "config": self.config,
            "init_calls": self.init_calls,
        }


class CountedGreeter:
    """`class-object`: a class the loader must instantiate exactly once."""

    instances = 0

    def __init__(self):
        """Count the instances made in this process."""
        type(self).instances += 1
        self.config = None
        self.init_calls = 0

    def init(self, config):
        """Keep the app_config and count the calls."""
        self.config = config
        self.init_calls += 1

    def __call__(self, name):
        """Report how the class was loaded."""
        return {
            "instances": type(self).instances,
            "init_calls": self.init_calls,
            "config": self.config,
        }


def load_model():
    """`load-model-fn-noconfig`: the model, loaded without config."""
    return {"weights": [1, 2, 3]}


def load_model_with_config(config):
    """`load-model-fn`: the model, loaded with config."""
    return load_model()


def load_predict(model):
    """`model-dict-noconfig`, `load-model-fn-noconfig`: predict with scale 1."""
    return _scorer(model, None, 1)


def load_predict_with_config(config, model):
    """`model-dict`, `load-model-fn`: predict with config's scale."""
    return _scorer(model, config, config["scale"])


def _scorer(model, config, scale):
    """predict(values): the weighted sum of values times scale."""

    def predict(values):
        """Score values against the model's weights."""
        score = sum(w * v for w, v in zip(model["weights"], values)) * scale
        return {"score": score, "config": config}

    return predict


def bytes_echo(data):
    """`bytes-echo`: describe the bytes read from a request's url."""
    return {"length": len(data), "sha256": hashlib.sha256(data).hexdigest()}


def launch_shaped(x, y, scale=1):
    """`launch-shaped`: predict as Launch users write it: named arguments in, a small dict out."""
    return {"sum": (x + y) * scale, "product": x * y * scale}


def trivial(x):
    """`trivial`: return the input."""
    return x


def raises(x):
    """`raises`: fail on every input."""
    raise ValueError(f"bad input: {x}")


def load_model_that_fails():
    """`load-raises`: fail while loading."""
    raise RuntimeError("cannot load weights")


def unreachable_load_predict(model):
    """`load-raises`: never reached, because load_model_fn fails first."""
    raise AssertionError("load_predict_fn must not be reached")


def as_set(x):
    """`not-json-serializable`: return a set, which JSON cannot encode."""
    return {x}


def sleepy(seconds):
    """`sleepy`: sleep (releasing the GIL), then say how long."""
    time.sleep(seconds)
    return {"slept": seconds}


def spin(seconds, looping=None):
    """`spin`: busy-loop in Python for seconds (an async exception interrupts it).

    looping (a list, from the Python tests) has its first item set to True from inside the
    loop, so a test raises into the loop knowing it runs; a list, not a lock-taking Event,
    because an exception raised into the thread while it held a lock would leave it held.
    """
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        if looping is not None:
            looping[0] = True
    return {"spun": seconds}


def swallow(seconds, looping=None, swallowed=None):
    """`swallow`: busy-loop like spin, swallowing every Exception raised into the loop.

    As in spin, looping[0] is set to True from inside the loop; each swallowed exception is
    appended to the list swallowed, when given.
    """
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        try:
            while time.monotonic() < end:
                if looping is not None:
                    looping[0] = True
        except Exception as error:  # What bundle code may do; TaskTimedOut must get through.
            if swallowed is not None:
                swallowed.append(error)
    return {"spun": seconds}


def crash_on(x):
    """`crash-on`: end the whole process with status 17 when x is "crash"."""
    if x == "crash":
        os._exit(17)
    return {"x": x}


def crash_in_c(x):
    """`segfault`: read address 0 through ctypes, so the process dies of SIGSEGV in C code."""
    import ctypes

    ctypes.string_at(0)
    return {"x": x}


def crash_in_c_on(x):
    """`segfault-on`: die of SIGSEGV in C code when x is "crash"; answer the others."""
    if x == "crash":
        import ctypes

        ctypes.string_at(0)
    return {"x": x}


def whoami(x):
    """`whoami`: the process that ran the task and the GPUs it may use."""
    return {
        "x": x,
        "pid": os.getpid(),
        "cuda_visible_devices": os.environ.get("CUDA_VISIBLE_DEVICES"),
    }


_LEAKED = []


def leaky(x):
    """`leaky`: keep 20 MiB more (written, so resident) on every call; say which process."""
    _LEAKED.append(b"x" * (20 << 20))
    return {"x": x, "pid": os.getpid(), "kept_mib": 20 * len(_LEAKED)}


def load_model_that_exits():
    """`load-exits`: end the whole process with status 5 while the bundle loads."""
    os._exit(5)


def chatty(x):
    """`prints`: write to stdout from Python (print) and below it (fd 1), then answer."""
    print(f"print from predict: {x}")
    os.write(1, b"fd 1 write from predict\n")
    return {"x": x}


class CrashBeside:
    """`crash-beside`: the task whose x is "crash" ends the process with status 17; the others
    answer, unless they run beside it: then they wait for the process to end, in flight.

    Tasks are named after their x. Whether one runs beside another is read from the spool's
    claim folders (``spool``, the spool's path), which hold a task's claim before its predict
    starts; the crash waits until a task claimed beside it is waiting, so that task is surely in
    flight when the process dies. Nothing is timed.
    """

    def init(self, config):
        """Make the events the tasks of one process meet at."""
        import threading

        self.crash_started = threading.Event()
        self.innocent_waiting = threading.Event()

    def __call__(self, x, spool):
        """Crash, wait for the crash, or answer."""
        import glob

        claims = glob.glob(os.path.join(spool, "claimed", "*", "*.json"))
        beside = [claim for claim in claims if os.path.basename(claim) != f"{x}.json"]
        if x == "crash":
            self.crash_started.set()
            if beside:
                self.innocent_waiting.wait(timeout=60)
            os._exit(17)
        if any(os.path.basename(claim) == "crash.json" for claim in beside):
            self.crash_started.wait(timeout=60)
            self.innocent_waiting.set()
            time.sleep(120)  # the crash ends the process long before
        return {"x": x}


def record(x, log):
    """`record`: append x to the file log (one line per run), so a task run twice shows."""
    with open(log, "a", encoding="utf-8") as file:
        file.write(f"{x}\n")
        file.flush()
    return {"x": x}


def cpu(n):
    """`cpu`: hold the GIL for a pure-Python loop of n steps."""
    return {"sum": sum(i * i for i in range(n))}


class Rendezvous:
    """`barrier`: every call waits until `parties` calls are running at once.

    With per_worker at least `parties`, all of them pass; with fewer slots the barrier breaks
    after its timeout and the calls fail: a test of real overlap that measures no time.
    """

    def init(self, config):
        """Make the barrier for the number of parties in the app_config."""
        import threading

        self.barrier = threading.Barrier(config["parties"], timeout=60)

    def __call__(self, index):
        """Wait for the other parties, then answer."""
        self.barrier.wait()
        return {"index": index, "passed": True}


def load_model_after_gate():
    """`gated-load`: wait until the file named by $LAUNCH_WORKER_TEST_GATE exists, then load.

    Lets a test look at a worker while its bundle is still loading, without timing anything.
    """
    import os
    import time

    gate = os.environ["LAUNCH_WORKER_TEST_GATE"]
    deadline = time.monotonic() + 120
    while not os.path.exists(gate) and time.monotonic() < deadline:
        time.sleep(0.01)
    return {"weights": [1]}


def gated(gate=None, x=None):
    """`gated`: with gate, first wait until that file exists (a test makes it; up to 120 s),
    making the file `<gate>.waiting` when it is not there yet; answer x when given, else whether
    the gate opened.

    Holds a slot busy, or one input of a batch in flight, for exactly as long as a test wants,
    without timing anything; `<gate>.waiting` tells the test that predict is waiting.
    """
    if gate and not os.path.exists(gate):
        with open(gate + ".waiting", "w", encoding="utf-8"):
            pass
    if gate:
        deadline = time.monotonic() + 120
        while not os.path.exists(gate) and time.monotonic() < deadline:
            time.sleep(0.01)
    if x is not None:
        return {"x": x}
    return {"gate": gate is not None and os.path.exists(gate)}


def main():
    """Build every fixture bundle into OUT_DIR and print how many."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("out_dir", type=Path, help="where to build the bundles")
    parser.add_argument("--cloudpickle2", required=True, help="a folder holding cloudpickle 2.x")
    options = parser.parse_args()
    fixtures = _Fixtures(options.out_dir)
    scale = {"scale": 10}
    weights = {"weights": [1, 2, 3]}

    fixtures.plain("function", add)
    version, artifact = _pickle_with_cloudpickle2(add, options.cloudpickle2)
    fixtures.written("function-cloudpickle2", artifact, {"cloudpickle_version": version})
    fixtures.plain("instance-init", Greeter(), {"greeting": "Hello"})
    fixtures.plain("instance-init-noconfig", Greeter())
    fixtures.plain("class-object", CountedGreeter, {"greeting": "Hey"})
    fixtures.loaded("model-dict", scale, model=weights, load_predict_fn=load_predict_with_config)
    fixtures.loaded("model-dict-noconfig", model=weights, load_predict_fn=load_predict)
    fixtures.loaded(
        "load-model-fn",
        scale,
        load_model_fn=load_model_with_config,
        load_predict_fn=load_predict_with_config,
    )
    fixtures.loaded(
        "load-model-fn-noconfig", load_model_fn=load_model, load_predict_fn=load_predict
    )
    fixtures.zipped("zip", scale)
    fixtures.zipped("zip-noconfig")
    fixtures.plain("bytes-echo", bytes_echo)
    fixtures.plain("trivial", trivial)
    fixtures.plain("launch-shaped", launch_shaped)
    fixtures.plain("raises", raises)
    fixtures.loaded(
        "load-raises", load_model_fn=load_model_that_fails, load_predict_fn=unreachable_load_predict
    )
    fixtures.written("dict-neither", cloudpickle.dumps({"load_predict_fn": load_predict}), {})
    fixtures.written("unpicklable", b"this is not a pickle", {})
    fixtures.plain("not-json-serializable", as_set)
    fixtures.plain("missing-field", add)
    _drop_field(options.out_dir / "missing-field", "packaging_type")
    fixtures.plain("sleepy", sleepy)
    fixtures.plain("spin", spin)
    fixtures.plain("swallow", swallow)
    fixtures.plain("crash-on", crash_on)
    fixtures.plain("segfault", crash_in_c)
    fixtures.plain("segfault-on", crash_in_c_on)
    fixtures.plain("whoami", whoami)
    fixtures.plain("leaky", leaky)
    fixtures.loaded(
        "load-exits", load_model_fn=load_model_that_exits, load_predict_fn=unreachable_load_predict
    )
    fixtures.plain("prints", chatty)
    fixtures.plain("crash-beside", CrashBeside())
    fixtures.plain("record", record)
    fixtures.plain("cpu", cpu)
    fixtures.plain("barrier", Rendezvous(), {"parties": 4})
    fixtures.plain("barrier-2", Rendezvous(), {"parties": 2})
    fixtures.loaded("gated-load", load_model_fn=load_model_after_gate, load_predict_fn=load_predict)
    fixtures.plain("gated", gated)
    # bundle.json claims another Python: the artifact is this Python's, so an allowed load runs.
    fixtures.plain("other-python", add)
    _set_field(options.out_dir / "other-python", "python_version", OTHER_PYTHON)
    fixtures.zipped("zip-other-python", scale)
    _set_field(options.out_dir / "zip-other-python", "python_version", OTHER_PYTHON)
    fixtures.plain("other-patch-python", add)
    _set_field(options.out_dir / "other-patch-python", "python_version", f"{MINOR}.999")
    fixtures.plain("unmet-requirements", add, requirements=UNMET_REQUIREMENTS)
    print(f"built {len(fixtures.built)} bundles in {options.out_dir}")


class _Fixtures:
    """Writes fixture bundles into one folder and remembers their names."""

    def __init__(self, out_dir):
        """Build into out_dir."""
        self.out_dir = out_dir
        self.builder = BundleBuilder(out_dir)
        self.built = []

    def plain(self, name, predict_fn_or_cls, app_config=None, requirements=()):
        """A predict_fn_or_cls bundle."""
        self.built.append(name)
        self.builder.create_model_bundle(
            name,
            ENV_PARAMS,
            predict_fn_or_cls=predict_fn_or_cls,
            requirements=list(requirements),
            app_config=app_config,
        )

    def loaded(self, name, app_config=None, **functions):
        """A {model | load_model_fn, load_predict_fn} bundle."""
        self.built.append(name)
        self.builder.create_model_bundle(
            name, ENV_PARAMS, requirements=[], app_config=app_config, **functions
        )

    def zipped(self, name, app_config=None):
        """A zip bundle of the fixture_model package."""
        self.built.append(name)
        self.builder.create_model_bundle_from_dir(
            name,
            FIXTURES / "zip-bundle" / "fixture_model",
            FIXTURES / "zip-bundle" / "requirements.txt",
            ENV_PARAMS,
            "fixture_model.service.load_predict",
            "fixture_model.service.load_model",
            app_config,
        )

    def written(self, name, artifact, bundle_metadata):
        """A cloudpickle bundle with an artifact made elsewhere (one the builder refuses)."""
        self.built.append(name)
        write_bundle_dir(
            self.out_dir / name,
            artifact,
            packaging_type="cloudpickle",
            bundle_name=name,
            bundle_metadata=bundle_metadata,
            requirements=[],
            env_params=ENV_PARAMS,
            app_config=None,
        )


def _pickle_with_cloudpickle2(function, cloudpickle2_dir):
    """Pickle a function's source, run as ``__main__``, with the cloudpickle 2 in a folder.

    Returns the cloudpickle version that made the pickle, and the pickle's bytes.
    """
    script = (
        "import sys, cloudpickle\n"
        "if not cloudpickle.__version__.startswith('2.'):\n"
        "    sys.exit(f'expected cloudpickle 2.x, found {cloudpickle.__version__} "
        "at {cloudpickle.__file__}')\n"
        f"{inspect.getsource(function)}\n"
        "sys.stdout.buffer.write(cloudpickle.__version__.encode() + b'\\n' + "
        f"cloudpickle.dumps({function.__name__}))\n"
    )
    child = subprocess.run(
        [sys.executable, "-c", script],
        env={**os.environ, "PYTHONPATH": str(Path(cloudpickle2_dir).resolve())},
        capture_output=True,
        check=False,
    )
    if child.returncode != 0:
        sys.exit(f"cannot pickle with cloudpickle from {cloudpickle2_dir}: {child.stderr.decode()}")
    version, _, artifact = child.stdout.partition(b"\n")
    return version.decode(), artifact


def _set_field(bundle, field, value):
    """Set a field of a bundle's bundle.json (for fixtures that claim what they are not)."""
    path = bundle / METADATA_FILE
    metadata = json.loads(path.read_text())
    metadata[field] = value
    write_file_atomically(path, (json.dumps(metadata, indent=2) + "\n").encode())


def _drop_field(bundle, field):
    """Remove a field from a bundle's bundle.json (for the malformed-metadata fixture)."""
    path = bundle / METADATA_FILE
    metadata = json.loads(path.read_text())
    del metadata[field]
    write_file_atomically(path, (json.dumps(metadata, indent=2) + "\n").encode())


if __name__ == "__main__":
    main()
