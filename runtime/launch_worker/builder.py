"""BundleBuilder: writes bundle folders the way ``LaunchClient`` makes bundles."""

import contextlib
import inspect
import json
import os
import urllib.parse
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import cloudpickle
import yaml

from launch_worker.archive import zip_folders
from launch_worker.bundle_dir import write_bundle_dir
from launch_worker.requirements import infer_requirements, read_requirements_file

_BUNDLE_FORMS = (
    "A model bundle consists of exactly {predict_fn_or_cls}, {load_predict_fn + model}, "
    "or {load_predict_fn + load_model_fn}."
)
_FRAMEWORK_TYPES = ("pytorch", "tensorflow")


class BundleBuilder:
    """Makes Launch model bundles as local bundle folders (see ``bundle_dir``).

    The methods take the parameters of the same ``LaunchClient`` methods and check them
    the same way; instead of uploading, each writes a folder holding ``artifact`` and
    ``bundle.json`` and returns its path.
    """

    def __init__(self, output_dir: str | os.PathLike = ".") -> None:
        """Make bundles under ``output_dir/<model_bundle_name>`` unless given a bundle_url."""
        self.output_dir = Path(output_dir)

    def create_model_bundle(
        self,
        model_bundle_name: str,
        env_params: dict[str, str],
        *,
        load_predict_fn: Callable | None = None,
        predict_fn_or_cls: Callable | None = None,
        requirements: list[str] | None = None,
        model: Any = None,
        load_model_fn: Callable | None = None,
        bundle_url: str | None = None,
        app_config: dict[str, Any] | str | None = None,
        globals_copy: dict[str, Any] | None = None,
    ) -> Path:
        """Write a ``cloudpickle`` bundle and return its folder.

        Give exactly one of ``predict_fn_or_cls``, ``load_predict_fn`` + ``model``, or
        ``load_predict_fn`` + ``load_model_fn``. ``requirements`` defaults to the
        distributions providing the modules imported in ``globals_copy`` (``[]`` without
        it). ``app_config`` is a dict or the path of a YAML file holding one.
        ``bundle_url`` is a path or ``file://`` URL for the folder.
        """
        given = {
            name
            for name, value in (
                ("predict_fn_or_cls", predict_fn_or_cls),
                ("load_predict_fn", load_predict_fn),
                ("model", model),
                ("load_model_fn", load_model_fn),
            )
            if value is not None
        }
        if given == {"predict_fn_or_cls"}:
            bundle = predict_fn_or_cls
        elif given == {"load_predict_fn", "model"}:
            bundle = {"model": model, "load_predict_fn": load_predict_fn}
        elif given == {"load_predict_fn", "load_model_fn"}:
            bundle = {"load_model_fn": load_model_fn, "load_predict_fn": load_predict_fn}
        else:
            raise ValueError(_BUNDLE_FORMS)
        path = self._bundle_path(model_bundle_name, bundle_url)
        env_params = _checked_env_params(env_params)
        app_config = _read_app_config(app_config)
        requirements = _checked_requirements(
            infer_requirements(globals_copy) if requirements is None else requirements
        )
        return write_bundle_dir(
            path,
            cloudpickle.dumps(bundle),
            packaging_type="cloudpickle",
            bundle_name=model_bundle_name,
            bundle_metadata=_source_texts(
                predict_fn_or_cls=predict_fn_or_cls,
                load_predict_fn=load_predict_fn,
                load_model_fn=load_model_fn,
            ),
            requirements=requirements,
            env_params=env_params,
            app_config=app_config,
        )

    def create_model_bundle_from_dir(
        self,
        model_bundle_name: str,
        base_path: str | os.PathLike,
        requirements_path: str | os.PathLike,
        env_params: dict[str, str],
        load_predict_fn_module_path: str,
        load_model_fn_module_path: str,
        app_config: dict[str, Any] | str | None = None,
    ) -> Path:
        """Write a ``zip`` bundle of one code folder and return its bundle folder.

        The module paths are dotted paths to functions inside the folder, starting with
        the folder's name, e.g. ``my_model.service.load_model`` for ``.../my_model``.
        """
        return self.create_model_bundle_from_dirs(
            model_bundle_name,
            [base_path],
            requirements_path,
            env_params,
            load_predict_fn_module_path,
            load_model_fn_module_path,
            app_config,
        )

    def create_model_bundle_from_dirs(
        self,
        model_bundle_name: str,
        base_paths: Sequence[str | os.PathLike],
        requirements_path: str | os.PathLike,
        env_params: dict[str, str],
        load_predict_fn_module_path: str,
        load_model_fn_module_path: str,
        app_config: dict[str, Any] | str | None = None,
    ) -> Path:
        """Write a ``zip`` bundle of several code folders and return its bundle folder.

        Each folder is stored under its own name, so the folders' names must differ, and
        each module path must start with one of them.
        """
        path = self._bundle_path(model_bundle_name, None)
        folders = _checked_folders(base_paths)
        for field, module_path in (
            ("load_predict_fn_module_path", load_predict_fn_module_path),
            ("load_model_fn_module_path", load_model_fn_module_path),
        ):
            _check_module_path(field, module_path, folders)
        env_params = _checked_env_params(env_params)
        app_config = _read_app_config(app_config)
        requirements = read_requirements_file(requirements_path)
        return write_bundle_dir(
            path,
            zip_folders(folders),
            packaging_type="zip",
            bundle_name=model_bundle_name,
            bundle_metadata={
                "load_predict_fn_module_path": load_predict_fn_module_path,
                "load_model_fn_module_path": load_model_fn_module_path,
            },
            requirements=requirements,
            env_params=env_params,
            app_config=app_config,
        )

    def _bundle_path(self, model_bundle_name: str, bundle_url: str | None) -> Path:
        """The folder for a bundle: ``bundle_url`` if given, else under output_dir."""
        if not isinstance(model_bundle_name, str) or not model_bundle_name.strip():
            raise ValueError("model_bundle_name must be a non-empty string")
        if bundle_url is not None:
            return _local_path(bundle_url)
        if Path(model_bundle_name).name != model_bundle_name or model_bundle_name == "..":
            raise ValueError(
                f"model_bundle_name {model_bundle_name!r} is not usable as a folder name; "
                "leave out path separators, or give bundle_url"
            )
        return self.output_dir / model_bundle_name


def _local_path(bundle_url: str) -> Path:
    """Turn a bundle_url (a local path or a ``file://`` URL) into a path."""
    if "://" not in bundle_url:
        return Path(bundle_url)
    url = urllib.parse.urlparse(bundle_url)
    if url.scheme != "file" or url.netloc not in ("", "localhost"):
        raise ValueError(
            f"bundle_url {bundle_url!r} is not local: give a path or a file:// URL "
            "(a bundle folder is written on this machine)"
        )
    return Path(urllib.parse.unquote(url.path))


def _source_texts(**functions: Any) -> dict[str, str]:
    """The source text of each given function or class, where Python can find it."""
    texts = {}
    for name, function in functions.items():
        if function is None:
            continue
        if not (inspect.isroutine(function) or inspect.isclass(function)):
            function = type(function)  # An instance: show its class.
        with contextlib.suppress(OSError, TypeError):  # No source file (a REPL): skip it.
            texts[name] = inspect.getsource(function)
    return texts


def _checked_env_params(env_params: Any) -> dict[str, Any]:
    """Check env_params as the Launch client does and return it."""
    if not isinstance(env_params, dict):
        raise TypeError(
            f"env_params must be a dict like {{'framework_type': 'pytorch'}}, "
            f"not a {type(env_params).__name__}"
        )
    framework = env_params.get("framework_type")
    if framework not in _FRAMEWORK_TYPES:
        raise ValueError(
            f"env_params['framework_type'] is {framework!r}; it must be 'pytorch' or 'tensorflow'"
        )
    return _json_ready("env_params", env_params)


def _read_app_config(app_config: Any) -> dict[str, Any] | None:
    """Return app_config as a dict (reading it from a YAML file if given a path), or None."""
    if app_config is None:
        return None
    if isinstance(app_config, (str, os.PathLike)):
        with open(app_config, encoding="utf-8") as file:
            loaded = yaml.safe_load(file)
        if not isinstance(loaded, dict):
            raise ValueError(
                f"the app_config file {os.fspath(app_config)!r} holds a "
                f"{type(loaded).__name__}; it must hold a YAML mapping (key: value lines)"
            )
        app_config = loaded
    elif not isinstance(app_config, dict):
        raise TypeError(
            f"app_config must be a dict or the path of a YAML file, "
            f"not a {type(app_config).__name__}"
        )
    return _json_ready("app_config", app_config)


def _json_ready(field: str, value: dict[str, Any]) -> dict[str, Any]:
    """Return value if JSON can encode it (it goes into bundle.json), else say which field fails."""
    try:
        json.dumps(value)
    except (TypeError, ValueError) as err:
        raise ValueError(
            f"{field} must hold only JSON values (strings, numbers, booleans, null, lists, "
            f"dicts): {err}"
        ) from None
    return value


def _checked_requirements(requirements: Any) -> list[str]:
    """Check that requirements is a list of requirement strings and return it."""
    if not isinstance(requirements, (list, tuple)) or not all(
        isinstance(line, str) for line in requirements
    ):
        raise TypeError(
            "requirements must be a list of pip requirement strings, "
            "e.g. ['numpy==2.1.0', 'scikit-learn']"
        )
    return list(requirements)


def _checked_folders(base_paths: Any) -> list[Path]:
    """Resolve the code folders and check that each exists and their names differ."""
    if isinstance(base_paths, (str, os.PathLike)) or not base_paths:
        raise TypeError("base_paths must be a non-empty list of folder paths")
    folders = [Path(path).resolve() for path in base_paths]
    for given, folder in zip(base_paths, folders):
        if not folder.is_dir():
            raise ValueError(
                f"the code folder {os.fspath(given)!r} does not exist or is not a folder"
            )
    names = [folder.name for folder in folders]
    duplicates = sorted({name for name in names if names.count(name) > 1})
    if duplicates:
        raise ValueError(
            f"base_paths holds several folders named {', '.join(duplicates)}; each folder is "
            "stored under its own name, so the names must differ"
        )
    return folders


def _check_module_path(field: str, module_path: Any, folders: list[Path]) -> None:
    """Check that a module path is ``folder.module.function`` for one of the folders."""
    names = [folder.name for folder in folders]
    if not isinstance(module_path, str) or module_path.count(".") < 1:
        raise ValueError(
            f"{field} {module_path!r} is not a dotted path to a function: write it like "
            f"'{names[0]}.module.function'"
        )
    if module_path.partition(".")[0] not in names:
        raise ValueError(
            f"{field} {module_path!r} must start with the name of a bundled folder "
            f"({', '.join(names)}): the folders are unpacked under their own names"
        )
