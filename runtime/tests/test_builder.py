"""BundleBuilder: the client's checks, the bundle folder and what bundle.json says."""

import hashlib
import json
import os
import platform
import zipfile
from importlib.metadata import version

import cloudpickle
import numpy
import pytest
import yaml

import bundle_code
from conftest import ENV_PARAMS, ZIP_CODE
from launch_worker import BundleBuilder

FORMS_MESSAGE = (
    "A model bundle consists of exactly {predict_fn_or_cls}, {load_predict_fn + model}, "
    "or {load_predict_fn + load_model_fn}."
)
MODEL = {"weights": [1, 2, 3]}


def read_bundle(path):
    """The files of a bundle folder: (bundle.json as a dict, artifact bytes)."""
    return json.loads((path / "bundle.json").read_text()), (path / "artifact").read_bytes()


@pytest.mark.parametrize(
    "parts",
    [
        {},
        {"predict_fn_or_cls": bundle_code.add, "model": MODEL},
        {"predict_fn_or_cls": bundle_code.add, "load_predict_fn": bundle_code.load_predict},
        {"load_predict_fn": bundle_code.load_predict},
        {"model": MODEL},
        {"load_model_fn": bundle_code.load_model},
        {"model": MODEL, "load_model_fn": bundle_code.load_model},
        {
            "load_predict_fn": bundle_code.load_predict,
            "model": MODEL,
            "load_model_fn": bundle_code.load_model,
        },
    ],
    ids=lambda parts: "+".join(parts) or "nothing",
)
def test_bundle_must_be_exactly_one_form(builder, tmp_path, parts):
    with pytest.raises(ValueError) as caught:
        builder.create_model_bundle("bad", ENV_PARAMS, **parts)
    assert str(caught.value) == FORMS_MESSAGE
    assert not (tmp_path / "bundles").exists()


@pytest.mark.parametrize(
    ("env_params", "error", "message"),
    [
        (None, TypeError, "env_params must be a dict"),
        ({}, ValueError, r"env_params\['framework_type'\] is None; it must be 'pytorch' or"),
        ({"framework_type": "jax"}, ValueError, "is 'jax'; it must be 'pytorch' or 'tensorflow'"),
        ({"framework_type": "pytorch", "v": {1}}, ValueError, "env_params must hold only JSON"),
    ],
)
def test_env_params_are_checked(builder, env_params, error, message):
    with pytest.raises(error, match=message):
        builder.create_model_bundle("f", env_params, predict_fn_or_cls=bundle_code.add)


def test_tensorflow_is_a_framework_type(builder):
    env_params = {"framework_type": "tensorflow", "tensorflow_version": "2.3.0"}
    bundle = builder.create_model_bundle("f", env_params, predict_fn_or_cls=bundle_code.add)
    assert read_bundle(bundle)[0]["env_params"] == env_params


def test_app_config_from_a_yaml_file(builder, tmp_path):
    config_file = tmp_path / "config.yaml"
    config_file.write_text("greeting: Hello\nsizes: [1, 2]\n")
    bundle = builder.create_model_bundle(
        "g", ENV_PARAMS, predict_fn_or_cls=bundle_code.Greeter(), app_config=str(config_file)
    )
    assert read_bundle(bundle)[0]["app_config"] == {"greeting": "Hello", "sizes": [1, 2]}


@pytest.mark.parametrize(
    ("content", "error", "message"),
    [
        ("- a\n- b\n", ValueError, "holds a list; it must hold a YAML mapping"),
        ("", ValueError, "holds a NoneType; it must hold a YAML mapping"),
        ("day: 2024-01-01\n", ValueError, "app_config must hold only JSON values"),
    ],
)
def test_bad_yaml_app_config(builder, tmp_path, content, error, message):
    config_file = tmp_path / "config.yaml"
    config_file.write_text(content)
    with pytest.raises(error, match=message):
        builder.create_model_bundle(
            "f", ENV_PARAMS, predict_fn_or_cls=bundle_code.add, app_config=config_file
        )


def test_app_config_of_another_type(builder):
    with pytest.raises(TypeError, match="app_config must be a dict or the path of a YAML file"):
        builder.create_model_bundle(
            "f", ENV_PARAMS, predict_fn_or_cls=bundle_code.add, app_config=3
        )


def test_bundle_json_of_a_cloudpickle_bundle(builder, tmp_path):
    bundle = builder.create_model_bundle(
        "scorer",
        ENV_PARAMS,
        load_model_fn=bundle_code.load_model,
        load_predict_fn=bundle_code.load_predict,
        requirements=["numpy==2.0"],
        app_config={"factor": 2},
    )
    assert bundle == tmp_path / "bundles" / "scorer"
    assert sorted(os.listdir(bundle)) == ["artifact", "bundle.json"]
    metadata, artifact = read_bundle(bundle)
    assert metadata == {
        "format_version": 1,
        "packaging_type": "cloudpickle",
        "bundle_name": "scorer",
        "bundle_metadata": {
            "load_predict_fn": "def load_predict(model):\n"
            '    """load_predict_fn without config."""\n'
            "    return _scorer(model, None)\n",
            "load_model_fn": "def load_model():\n"
            '    """load_model_fn without config."""\n'
            '    return {"weights": [1, 2, 3]}\n',
        },
        "requirements": ["numpy==2.0"],
        "env_params": ENV_PARAMS,
        "app_config": {"factor": 2},
        "python_version": platform.python_version(),
        "artifact_sha256": hashlib.sha256(artifact).hexdigest(),
    }
    unpickled = cloudpickle.loads(artifact)
    assert sorted(unpickled) == ["load_model_fn", "load_predict_fn"]
    assert unpickled["load_predict_fn"](unpickled["load_model_fn"]())([1, 1, 1])["score"] == 6


def test_artifact_is_the_pickled_bundle(builder):
    metadata, artifact = read_bundle(
        builder.create_model_bundle(
            "m", ENV_PARAMS, model=MODEL, load_predict_fn=bundle_code.load_predict
        )
    )
    unpickled = cloudpickle.loads(artifact)
    assert unpickled["model"] == MODEL
    assert unpickled["load_predict_fn"].__name__ == "load_predict"
    assert metadata["artifact_sha256"] == hashlib.sha256(artifact).hexdigest()
    assert list(metadata["bundle_metadata"]) == ["load_predict_fn"]


def test_source_of_an_instance_is_its_class(builder):
    metadata, _ = read_bundle(
        builder.create_model_bundle("g", ENV_PARAMS, predict_fn_or_cls=bundle_code.Greeter())
    )
    assert metadata["bundle_metadata"]["predict_fn_or_cls"].startswith("class Greeter:")


def test_requirements_inferred_from_globals(builder):
    globals_copy = {"np": numpy, "yaml": yaml, "os": os, "dumps": cloudpickle.dumps, "n": 3}
    metadata, _ = read_bundle(
        builder.create_model_bundle(
            "f", ENV_PARAMS, predict_fn_or_cls=bundle_code.add, globals_copy=globals_copy
        )
    )
    assert metadata["requirements"] == [
        f"cloudpickle=={version('cloudpickle')}",
        f"numpy=={version('numpy')}",
        f"PyYAML=={version('PyYAML')}",
    ]


def test_requirements_default_to_none(builder):
    metadata, _ = read_bundle(
        builder.create_model_bundle("f", ENV_PARAMS, predict_fn_or_cls=bundle_code.add)
    )
    assert metadata["requirements"] == []


def test_requirements_must_be_strings(builder):
    with pytest.raises(TypeError, match="requirements must be a list of pip requirement strings"):
        builder.create_model_bundle(
            "f", ENV_PARAMS, predict_fn_or_cls=bundle_code.add, requirements="numpy"
        )


@pytest.mark.parametrize("as_url", [False, True], ids=["path", "file-url"])
def test_bundle_url(builder, tmp_path, as_url):
    target = tmp_path / "elsewhere" / "my bundle"
    url = target.as_uri() if as_url else str(target)
    bundle = builder.create_model_bundle(
        "f", ENV_PARAMS, predict_fn_or_cls=bundle_code.add, bundle_url=url
    )
    assert bundle == target
    assert read_bundle(target)[0]["bundle_name"] == "f"


def test_bundle_url_must_be_local(builder):
    with pytest.raises(ValueError, match="bundle_url 's3://b/k' is not local"):
        builder.create_model_bundle(
            "f", ENV_PARAMS, predict_fn_or_cls=bundle_code.add, bundle_url="s3://b/k"
        )


@pytest.mark.parametrize("name", ["", "a/b", "..", "."])
def test_bundle_name_must_be_a_folder_name(builder, name):
    with pytest.raises(ValueError, match="model_bundle_name"):
        builder.create_model_bundle(name, ENV_PARAMS, predict_fn_or_cls=bundle_code.add)


def test_rebuilding_replaces_the_files(tmp_path):
    builder = BundleBuilder(tmp_path)
    builder.create_model_bundle("f", ENV_PARAMS, predict_fn_or_cls=bundle_code.add)
    bundle = builder.create_model_bundle("f", ENV_PARAMS, predict_fn_or_cls=bundle_code.as_set)
    assert sorted(os.listdir(bundle)) == ["artifact", "bundle.json"]
    metadata, artifact = read_bundle(bundle)
    assert cloudpickle.loads(artifact)(1) == {1}
    assert metadata["artifact_sha256"] == hashlib.sha256(artifact).hexdigest()


def test_from_dir(builder):
    bundle = builder.create_model_bundle_from_dir(
        "zip",
        base_path=str(ZIP_CODE / "scaler") + "/",
        requirements_path=ZIP_CODE / "requirements.txt",
        env_params=ENV_PARAMS,
        load_predict_fn_module_path="scaler.service.load_predict",
        load_model_fn_module_path="scaler.service.load_model",
        app_config={"factor": 2},
    )
    metadata, artifact = read_bundle(bundle)
    assert metadata["packaging_type"] == "zip"
    assert metadata["bundle_metadata"] == {
        "load_predict_fn_module_path": "scaler.service.load_predict",
        "load_model_fn_module_path": "scaler.service.load_model",
    }
    assert metadata["requirements"] == ["numpy>=1.20", "PyYAML"]
    assert metadata["app_config"] == {"factor": 2}
    assert metadata["artifact_sha256"] == hashlib.sha256(artifact).hexdigest()
    with zipfile.ZipFile(bundle / "artifact") as archive:
        assert archive.namelist() == [
            "scaler/__init__.py",
            "scaler/broken.py",
            "scaler/service.py",
        ]
        assert (
            archive.read("scaler/service.py") == (ZIP_CODE / "scaler" / "service.py").read_bytes()
        )


def test_from_dirs_stores_each_folder_under_its_name(builder, tmp_path):
    helpers = tmp_path / "helpers"
    helpers.mkdir()
    (helpers / "util.py").write_text("ONE = 1\n")
    bundle = builder.create_model_bundle_from_dirs(
        "zip",
        [ZIP_CODE / "scaler", helpers],
        ZIP_CODE / "requirements.txt",
        ENV_PARAMS,
        "scaler.service.load_predict",
        "helpers.util.load_model",
    )
    with zipfile.ZipFile(bundle / "artifact") as archive:
        assert "helpers/util.py" in archive.namelist()
        assert "scaler/service.py" in archive.namelist()


@pytest.mark.parametrize(
    ("base_paths", "predict_path", "message"),
    [
        (
            [ZIP_CODE / "scaler", ZIP_CODE / "scaler"],
            "scaler.service.f",
            "several folders named scaler",
        ),
        ([ZIP_CODE / "missing"], "missing.service.f", "is not a folder"),
        (
            [ZIP_CODE / "scaler"],
            "service.load_predict",
            "must start with the name of a bundled folder",
        ),
        ([ZIP_CODE / "scaler"], "load_predict", "is not a dotted path to a function"),
    ],
)
def test_from_dirs_checks(builder, base_paths, predict_path, message):
    with pytest.raises(ValueError, match=message):
        builder.create_model_bundle_from_dirs(
            "zip",
            base_paths,
            ZIP_CODE / "requirements.txt",
            ENV_PARAMS,
            predict_path,
            "scaler.service.load_model",
        )


def test_from_dir_checks_env_params(builder):
    with pytest.raises(ValueError, match="framework_type"):
        builder.create_model_bundle_from_dir(
            "zip",
            ZIP_CODE / "scaler",
            ZIP_CODE / "requirements.txt",
            {"framework_type": "sklearn"},
            "scaler.service.load_predict",
            "scaler.service.load_model",
        )
