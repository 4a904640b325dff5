"""Loading a bundle's predict callable, once per worker (bundle contract, section 2)."""

import importlib
import inspect
import json
import os
import sys
from collections.abc import Callable
from typing import Any

import cloudpickle

_BUNDLE_FORMS = (
    "a cloudpickle bundle must hold predict_fn_or_cls, "
    "{'model': ..., 'load_predict_fn': ...} or {'load_model_fn': ..., 'load_predict_fn': ...}"
)


class ArtifactUnpicklingError(Exception):
    """The artifact of a cloudpickle bundle cannot be unpickled by this worker."""


def load_bundle(
    packaging_type: str,
    artifact_path: str,
    app_config_json: str | None,
    load_predict_fn_module_path: str | None,
    load_model_fn_module_path: str | None,
    code_dir: str | None,
) -> Callable[..., Any]:
    """Load a bundle and return its predict callable.

    Args:
        packaging_type: ``"cloudpickle"`` or ``"zip"``, from the bundle's metadata.
        artifact_path: the file holding the bundle's artifact.
        app_config_json: the bundle's ``app_config`` as JSON, or None when it has none.
        load_predict_fn_module_path: for ``zip`` bundles, the dotted path of
            ``load_predict_fn``; ignored for ``cloudpickle``.
        load_model_fn_module_path: for ``zip`` bundles, the dotted path of
            ``load_model_fn``; ignored for ``cloudpickle``.
        code_dir: for ``zip`` bundles, an existing empty folder to unpack the code into;
            it is put first on ``sys.path``. Ignored for ``cloudpickle``.

    Raises:
        ArtifactUnpicklingError: a cloudpickle artifact cannot be unpickled.
        UnsafeArchiveEntryError: a zip artifact holds an unsafe entry.
        ValueError, TypeError, ImportError: the bundle is malformed; the message says how.
        Any exception raised by the bundle's own load functions, unchanged.
    """
    config = None if app_config_json is None else json.loads(app_config_json)
    if packaging_type == "cloudpickle":
        return _load_cloudpickle(artifact_path, config)
    if packaging_type == "zip":
        return _load_zip(
            artifact_path, config, load_predict_fn_module_path, load_model_fn_module_path, code_dir
        )
    raise ValueError(
        f"unknown packaging_type {packaging_type!r}: a bundle's packaging_type must be "
        "'cloudpickle' or 'zip'"
    )


def _load_cloudpickle(artifact_path: str, config: Any) -> Callable[..., Any]:
    """Unpickle a cloudpickle artifact and turn what it holds into predict."""
    with open(artifact_path, "rb") as artifact:
        payload = artifact.read()
    try:
        bundle = cloudpickle.loads(payload)
    except Exception as err:
        raise ArtifactUnpicklingError(_unpickling_message(err)) from err
    if isinstance(bundle, dict):
        return _predict_from_dict(bundle, config)
    return _predict_from_callable(bundle, config)


def _unpickling_message(err: Exception) -> str:
    """Say why an artifact did not unpickle and what would fix it."""
    if isinstance(err, ImportError):
        fix = (
            f"it needs the module {err.name!r}: install the bundle's requirements in the "
            "worker's Python environment"
        )
    else:
        fix = (
            "it must be made by cloudpickle on Python "
            f"{sys.version_info.major}.{sys.version_info.minor}"
        )
    return (
        "the artifact of this cloudpickle bundle cannot be unpickled "
        f"({type(err).__name__}: {err}); {fix}"
    )


def _predict_from_dict(bundle: dict, config: Any) -> Callable[..., Any]:
    """Build predict from ``{model | load_model_fn, load_predict_fn}``."""
    if "model" not in bundle and "load_model_fn" not in bundle:
        raise ValueError(
            "Need to specify either 'model' or 'load_model_fn' "
            f"(the bundle dict has keys {sorted(map(str, bundle))}); {_BUNDLE_FORMS}"
        )
    if "load_predict_fn" not in bundle:
        raise ValueError(
            f"the bundle dict has no 'load_predict_fn' (it has keys {sorted(map(str, bundle))}); "
            f"{_BUNDLE_FORMS}"
        )
    if "model" in bundle:
        model = bundle["model"]
    elif config is None:
        model = bundle["load_model_fn"]()
    else:
        model = bundle["load_model_fn"](config)
    if config is None:
        return bundle["load_predict_fn"](model)
    return bundle["load_predict_fn"](config, model)


def _predict_from_callable(bundle: Any, config: Any) -> Callable[..., Any]:
    """Use a function, instance or class as predict; instantiate a class, call ``init``."""
    if inspect.isclass(bundle):
        predict = bundle()
        if not callable(predict):
            raise TypeError(
                f"the bundle's class {bundle.__qualname__} makes instances that are not "
                "callable: give it a __call__ method"
            )
    elif callable(bundle):
        predict = bundle
    else:
        raise TypeError(
            f"the artifact of this cloudpickle bundle holds a {type(bundle).__qualname__}, "
            f"which is neither callable nor a dict; {_BUNDLE_FORMS}"
        )
    if hasattr(predict, "init"):
        predict.init(config)
    return predict


def _load_zip(
    artifact_path: str,
    config: Any,
    load_predict_fn_module_path: str | None,
    load_model_fn_module_path: str | None,
    code_dir: str | None,
) -> Callable[..., Any]:
    """Unpack a zip bundle's code, import its load functions and build predict."""
    for field, value in (
        ("load_predict_fn_module_path", load_predict_fn_module_path),
        ("load_model_fn_module_path", load_model_fn_module_path),
        ("code_dir", code_dir),
    ):
        if value is None:
            raise ValueError(f"a zip bundle needs {field}, and none was given")
    # Imported here: zipfile and its compressors would slow every cloudpickle worker's start.
    from launch_worker.archive import extract_zip

    extract_zip(artifact_path, code_dir)
    if code_dir not in sys.path:
        sys.path.insert(0, code_dir)
    load_model_fn = _import_function(
        load_model_fn_module_path, "load_model_fn_module_path", code_dir
    )
    load_predict_fn = _import_function(
        load_predict_fn_module_path, "load_predict_fn_module_path", code_dir
    )
    model = load_model_fn(config)
    return load_predict_fn(config, model)


def _import_function(path: str, field: str, code_dir: str) -> Callable[..., Any]:
    """Import the function at a dotted ``package.module.function`` path."""
    module_name, _, function_name = path.rpartition(".")
    if not module_name or not function_name:
        raise ValueError(
            f"{field} {path!r} is not a dotted path to a function: "
            "write it like 'package.module.function'"
        )
    try:
        module = importlib.import_module(module_name)
    except ModuleNotFoundError as err:
        if err.name is None or not (module_name + ".").startswith(err.name + "."):
            raise  # The module exists but one of its own imports is missing.
        folders = sorted(entry for entry in os.listdir(code_dir) if not entry.startswith("."))
        raise ImportError(
            f"{field} {path!r} names the module {module_name!r}, which is not in the bundle's "
            f"code (its top-level folders: {', '.join(folders) or 'none'}); the path must "
            "start with the name of one of the zipped folders"
        ) from err
    try:
        function = getattr(module, function_name)
    except AttributeError:
        raise ImportError(
            f"{field} {path!r}: the module {module_name!r} has no {function_name!r}; "
            "check the function's name"
        ) from None
    if not callable(function):
        raise TypeError(f"{field} {path!r} names a {type(function).__qualname__}, not a function")
    return function
