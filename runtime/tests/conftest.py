"""Shared fixtures: a bundle builder, a loader that reads bundle folders, clean imports."""

import itertools
import json
import os
import sys
from pathlib import Path

import cloudpickle
import pytest

import bundle_code
from launch_worker import BundleBuilder
from launch_worker.bundle_dir import ARTIFACT_FILE, METADATA_FILE
from launch_worker.loader import load_bundle

cloudpickle.register_pickle_by_value(bundle_code)

ENV_PARAMS = {"framework_type": "pytorch"}
TESTS = Path(__file__).resolve().parent
REPO = TESTS.parents[1]
ZIP_CODE = TESTS / "zip_code"
PYTHON_MINOR = f"{sys.version_info.major}.{sys.version_info.minor}"


def require_or_skip(available, reason):
    """Skip the calling test when a prerequisite (``reason`` names it) is missing; under CI
    (``CI=true``) fail instead, so that a test never passes in CI by not running."""
    if available:
        return
    if os.environ.get("CI") == "true":
        pytest.fail(f"a prerequisite is missing, and CI=true forbids skipping: {reason}", pytrace=False)
    pytest.skip(reason)


@pytest.fixture
def builder(tmp_path):
    """A BundleBuilder writing under tmp_path/bundles."""
    return BundleBuilder(tmp_path / "bundles")


@pytest.fixture
def load(tmp_path):
    """Load a bundle folder the way the Swift worker does, and return predict."""
    counter = itertools.count()

    def load_folder(bundle, **overrides):
        metadata = json.loads((Path(bundle) / METADATA_FILE).read_text())
        paths = metadata["bundle_metadata"]
        code_dir = tmp_path / f"code-{next(counter)}"
        code_dir.mkdir()
        arguments = {
            "packaging_type": metadata["packaging_type"],
            "artifact_path": str(Path(bundle) / ARTIFACT_FILE),
            "app_config_json": (
                None if metadata["app_config"] is None else json.dumps(metadata["app_config"])
            ),
            "load_predict_fn_module_path": paths.get("load_predict_fn_module_path"),
            "load_model_fn_module_path": paths.get("load_model_fn_module_path"),
            "code_dir": str(code_dir),
        }
        return load_bundle(**{**arguments, **overrides})

    return load_folder


@pytest.fixture(autouse=True)
def restore_imports(tmp_path):
    """Undo what loading zip bundles does to sys.path and sys.modules."""
    path = list(sys.path)
    yield
    sys.path[:] = path
    for name, module in list(sys.modules.items()):
        if str(getattr(module, "__file__", None) or "").startswith(str(tmp_path)):
            del sys.modules[name]


def require(condition, reason):
    """Skips the calling test module when a prerequisite is missing, except under CI=true (as CI
    runs), where a missing prerequisite fails instead of passing as a skip."""
    if condition:
        return
    if os.environ.get("CI") == "true":
        pytest.fail(f"{reason} (CI=true: a missing prerequisite fails rather than skips)", pytrace=False)
    pytest.skip(reason, allow_module_level=True)
