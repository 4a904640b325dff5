"""load_bundle: every kind of bundle, the config rules, and the load errors."""

import inspect
import json
import subprocess
import sys
import textwrap

import cloudpickle
import pytest

import bundle_code
from conftest import ENV_PARAMS, PYTHON_MINOR, ZIP_CODE
from launch_worker import ArtifactUnpicklingError
from launch_worker.bundle_dir import write_bundle_dir
from launch_worker.loader import load_bundle

CONFIGS = [pytest.param(None, id="no-config"), pytest.param({"greeting": "Hello"}, id="config")]
FACTOR = {"factor": 10}


def raw_bundle(tmp_path, artifact, app_config=None):
    """A cloudpickle bundle folder holding any artifact bytes (the builder checks its input)."""
    return write_bundle_dir(
        tmp_path / "raw",
        artifact,
        packaging_type="cloudpickle",
        bundle_name="raw",
        bundle_metadata={},
        requirements=[],
        env_params=ENV_PARAMS,
        app_config=app_config,
    )


@pytest.mark.parametrize("config", CONFIGS)
def test_function_is_predict(builder, load, config):
    predict = load(
        builder.create_model_bundle(
            "f", ENV_PARAMS, predict_fn_or_cls=bundle_code.add, app_config=config
        )
    )
    assert predict(x=2, y=3) == {"sum": 5}


@pytest.mark.parametrize("config", CONFIGS)
def test_instance_with_init_gets_config_once(builder, load, config):
    bundle = builder.create_model_bundle(
        "greeter", ENV_PARAMS, predict_fn_or_cls=bundle_code.Greeter(), app_config=config
    )
    predict = load(bundle)
    greeting = "Hi" if config is None else "Hello"
    expected = {"greeting": f"{greeting}, Ada", "config": config, "init_calls": 1}
    assert predict("Ada") == expected
    assert predict(name="Ada") == expected


@pytest.mark.parametrize("config", CONFIGS)
def test_class_object_is_instantiated_once(builder, load, config, monkeypatch):
    # In the process that pickled it, cloudpickle hands back the original class: start at 0.
    monkeypatch.setattr(bundle_code.CountedGreeter, "instances", 0)
    bundle = builder.create_model_bundle(
        "counted", ENV_PARAMS, predict_fn_or_cls=bundle_code.CountedGreeter, app_config=config
    )
    predict = load(bundle)
    result = predict("Ada")
    assert (result["instances"], result["init_calls"], result["config"]) == (1, 1, config)
    assert predict("Bo")["instances"] == 1


@pytest.mark.parametrize("config", [None, FACTOR], ids=["no-config", "config"])
def test_model_dict(builder, load, config):
    load_predict = (
        bundle_code.load_predict if config is None else bundle_code.load_predict_with_config
    )
    bundle = builder.create_model_bundle(
        "model-dict",
        ENV_PARAMS,
        model={"weights": [1, 2, 3]},
        load_predict_fn=load_predict,
        app_config=config,
    )
    assert load(bundle)(values=[1, 1, 1]) == {"score": 6, "config": config}


@pytest.mark.parametrize(
    ("config", "load_model_fn", "load_predict_fn", "score"),
    [
        pytest.param(None, bundle_code.load_model, bundle_code.load_predict, 6, id="no-config"),
        pytest.param(
            FACTOR,
            bundle_code.load_model_with_config,
            bundle_code.load_predict_with_config,
            60,
            id="config",
        ),
    ],
)
def test_load_model_fn_dict(builder, load, config, load_model_fn, load_predict_fn, score):
    bundle = builder.create_model_bundle(
        "load-model-fn",
        ENV_PARAMS,
        load_model_fn=load_model_fn,
        load_predict_fn=load_predict_fn,
        app_config=config,
    )
    assert load(bundle)(values=[1, 1, 1]) == {"score": score, "config": config}


def test_dict_with_neither_model_nor_load_model_fn(tmp_path, load):
    bundle = raw_bundle(tmp_path, cloudpickle.dumps({"load_predict_fn": bundle_code.load_predict}))
    with pytest.raises(ValueError, match="Need to specify either 'model' or 'load_model_fn'"):
        load(bundle)


def test_dict_without_load_predict_fn(tmp_path, load):
    bundle = raw_bundle(tmp_path, cloudpickle.dumps({"model": {"weights": [1]}}))
    with pytest.raises(ValueError, match="no 'load_predict_fn'"):
        load(bundle)


def test_exception_in_load_model_fn_reaches_the_caller(builder, load):
    bundle = builder.create_model_bundle(
        "load-raises",
        ENV_PARAMS,
        load_model_fn=bundle_code.load_model_that_fails,
        load_predict_fn=bundle_code.load_predict,
    )
    with pytest.raises(RuntimeError, match="cannot load weights"):
        load(bundle)


def test_neither_callable_nor_dict(tmp_path, load):
    with pytest.raises(TypeError, match="holds a int, which is neither callable nor a dict"):
        load(raw_bundle(tmp_path, cloudpickle.dumps(42)))


def test_class_whose_instances_are_not_callable(tmp_path, load):
    with pytest.raises(TypeError, match="NotCallable makes instances that are not callable"):
        load(raw_bundle(tmp_path, cloudpickle.dumps(bundle_code.NotCallable)))


def test_artifact_that_is_not_a_pickle(tmp_path, load):
    with pytest.raises(ArtifactUnpicklingError) as caught:
        load(raw_bundle(tmp_path, b"this is not a pickle"))
    message = str(caught.value)
    assert "the artifact of this cloudpickle bundle cannot be unpickled" in message
    assert f"it must be made by cloudpickle on Python {PYTHON_MINOR}" in message
    assert caught.value.__cause__ is not None


def test_artifact_needing_a_missing_module(tmp_path, load, monkeypatch):
    module_dir = tmp_path / "gone"
    module_dir.mkdir()
    (module_dir / "vanishing_module.py").write_text("def predict(x):\n    return x\n")
    monkeypatch.syspath_prepend(str(module_dir))
    import vanishing_module

    artifact = cloudpickle.dumps(vanishing_module.predict)  # By reference: names the module.
    monkeypatch.delitem(sys.modules, "vanishing_module")
    monkeypatch.setattr(sys, "path", [p for p in sys.path if p != str(module_dir)])
    with pytest.raises(ArtifactUnpicklingError, match="needs the module 'vanishing_module'"):
        load(raw_bundle(tmp_path, artifact))


def test_unknown_packaging_type(builder, load):
    bundle = builder.create_model_bundle("f", ENV_PARAMS, predict_fn_or_cls=bundle_code.add)
    with pytest.raises(ValueError, match="unknown packaging_type 'tarball'"):
        load(bundle, packaging_type="tarball")


def zip_bundle(builder, app_config=None):
    """A zip bundle of tests/zip_code/scaler."""
    return builder.create_model_bundle_from_dir(
        "zip",
        ZIP_CODE / "scaler",
        ZIP_CODE / "requirements.txt",
        ENV_PARAMS,
        "scaler.service.load_predict",
        "scaler.service.load_model",
        app_config,
    )


@pytest.mark.parametrize(
    ("config", "score"), [(None, 6), (FACTOR, 60)], ids=["no-config", "config"]
)
def test_zip_bundle_passes_config_even_when_none(builder, load, config, score):
    predict = load(zip_bundle(builder, config))
    assert predict(values=[1, 1, 1]) == {"score": score, "config": config}
    assert sys.modules["scaler.service"].CALLS == [("load_model", config), ("load_predict", config)]


def test_zip_bundle_imports_from_code_dir(builder, load, tmp_path):
    load(zip_bundle(builder))
    assert sys.modules["scaler.service"].__file__.startswith(str(tmp_path / "code-0"))
    assert sys.path[0] == str(tmp_path / "code-0")


@pytest.mark.parametrize(
    ("module_path", "error", "message"),
    [
        ("load_model", ValueError, "is not a dotted path to a function"),
        ("nowhere.service.load_model", ImportError, "top-level folders: scaler"),
        ("scaler.absent.load_model", ImportError, "names the module 'scaler.absent'"),
        ("scaler.service.no_such_function", ImportError, "has no 'no_such_function'"),
        ("scaler.service.CALLS", TypeError, "names a list, not a function"),
    ],
)
def test_bad_module_path(builder, load, module_path, error, message):
    with pytest.raises(error, match=f"load_model_fn_module_path '{module_path}'.*{message}"):
        load(zip_bundle(builder), load_model_fn_module_path=module_path)


def test_missing_import_inside_bundle_code_is_not_blamed_on_the_path(builder, load):
    with pytest.raises(ModuleNotFoundError) as caught:
        load(zip_bundle(builder), load_model_fn_module_path="scaler.broken.load_model")
    assert caught.value.name == "launch_worker_test_module_that_is_not_installed"


def test_zip_bundle_without_module_path(builder, load):
    with pytest.raises(ValueError, match="a zip bundle needs load_predict_fn_module_path"):
        load(zip_bundle(builder), load_predict_fn_module_path=None)


def test_artifact_is_self_contained(builder, tmp_path):
    """The artifact loads in a fresh interpreter that cannot import bundle_code."""
    bundle = builder.create_model_bundle(
        "greeter",
        ENV_PARAMS,
        predict_fn_or_cls=bundle_code.Greeter(),
        app_config={"greeting": "Yo"},
    )
    script = textwrap.dedent(
        f"""
        import importlib.util
        from launch_worker.loader import load_bundle
        from launch_worker.invoke import run_request
        assert importlib.util.find_spec("bundle_code") is None
        predict = load_bundle("cloudpickle", {str(bundle / "artifact")!r},
                              {json.dumps({"greeting": "Yo"})!r}, None, None, None)
        print(run_request(predict, '{{"name": "Ada"}}', None, None, False))
        """
    )
    child = subprocess.run(
        [sys.executable, "-I", "-c", script],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        check=True,
    )
    assert json.loads(child.stdout) == {
        "greeting": "Yo, Ada",
        "config": {"greeting": "Yo"},
        "init_calls": 1,
    }


def test_load_bundle_signature_is_the_swift_interface():
    assert list(inspect.signature(load_bundle).parameters) == [
        "packaging_type",
        "artifact_path",
        "app_config_json",
        "load_predict_fn_module_path",
        "load_model_fn_module_path",
        "code_dir",
    ]
