"""Bundles pickled by cloudpickle 2.x, as the Launch client makes them, load under 3.x."""

import pickle
import subprocess
import sys
import textwrap

import cloudpickle
import pytest

from conftest import ENV_PARAMS, REPO
from launch_worker.bundle_dir import write_bundle_dir
from launch_worker.invoke import run_request

CLOUDPICKLE2 = REPO / ".venv" / "cloudpickle2"

# Run as __main__ in the child, so cloudpickle 2 pickles the code by value.
BUNDLE_SOURCE = """
class Scaler:
    def init(self, config):
        self.factor = config["factor"]

    def __call__(self, values):
        return {"scaled": [v * self.factor for v in values]}

def load_model(config):
    return {"offset": config["offset"]}

def load_predict(config, model):
    return lambda x: {"shifted": x + model["offset"]}

bundles = {
    "instance": Scaler(),
    "load-model-fn": {"load_model_fn": load_model, "load_predict_fn": load_predict},
}
"""


@pytest.fixture(scope="module")
def cloudpickle2_artifacts():
    """The bundles of BUNDLE_SOURCE, each pickled by cloudpickle 2.x in a child process."""
    if not (CLOUDPICKLE2 / "cloudpickle").is_dir():
        pytest.skip(f"cloudpickle 2 is not installed in {CLOUDPICKLE2}")
    script = BUNDLE_SOURCE + textwrap.dedent(
        """
        import pickle, sys, cloudpickle
        artifacts = {name: cloudpickle.dumps(bundle) for name, bundle in bundles.items()}
        sys.stdout.buffer.write(pickle.dumps((cloudpickle.__version__, artifacts)))
        """
    )
    child = subprocess.run(
        [sys.executable, "-c", script],
        env={"PYTHONPATH": str(CLOUDPICKLE2)},
        capture_output=True,
        check=True,
    )
    version, artifacts = pickle.loads(child.stdout)
    assert version.startswith("2.")
    return artifacts


def test_running_cloudpickle_is_3():
    assert cloudpickle.__version__.startswith("3.")


def test_cloudpickle2_instance_with_init(cloudpickle2_artifacts, tmp_path, load):
    bundle = write_bundle_dir(
        tmp_path / "instance",
        cloudpickle2_artifacts["instance"],
        packaging_type="cloudpickle",
        bundle_name="instance",
        bundle_metadata={},
        requirements=[],
        env_params=ENV_PARAMS,
        app_config={"factor": 3},
    )
    predict = load(bundle)
    assert run_request(predict, '{"values": [1, 2]}', None, None, False) == '{"scaled": [3, 6]}'


def test_cloudpickle2_load_model_fn_dict(cloudpickle2_artifacts, tmp_path, load):
    bundle = write_bundle_dir(
        tmp_path / "dict",
        cloudpickle2_artifacts["load-model-fn"],
        packaging_type="cloudpickle",
        bundle_name="dict",
        bundle_metadata={},
        requirements=[],
        env_params=ENV_PARAMS,
        app_config={"offset": 10},
    )
    predict = load(bundle)
    assert cloudpickle.loads(run_request(predict, '{"x": 5}', None, None, True)) == {"shifted": 15}
