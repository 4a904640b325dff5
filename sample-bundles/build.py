"""Build the sample bundles into bundle folders (default: sample-bundles/dist).

Usage: python sample-bundles/build.py [--out DIR]

Each sample's code lives, readable, in ``sample-bundles/<name>/``, next to an
``example-request.json``. The cloudpickle samples' modules are registered with
``cloudpickle.register_pickle_by_value``, so their artifacts carry the code itself, as a
notebook user's functions would be, and load without this folder.
"""

import argparse
import importlib.util
import sys
from pathlib import Path
from types import ModuleType

import cloudpickle

from launch_worker import BundleBuilder

SAMPLES = Path(__file__).resolve().parent
ENV_PARAMS = {"framework_type": "pytorch"}  # Launch requires one; the samples use neither.


def main() -> None:
    """Build every sample and print one line per bundle."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=SAMPLES / "dist", help="where to build")
    builder = BundleBuilder(parser.parse_args().out)

    arithmetic = _import_by_value("arithmetic", "predict")
    _report(
        "arithmetic",
        builder.create_model_bundle(
            "arithmetic", ENV_PARAMS, predict_fn_or_cls=arithmetic.predict, requirements=[]
        ),
    )

    greeter = _import_by_value("greeter", "greeter")
    _report(
        "greeter",
        builder.create_model_bundle(
            "greeter",
            ENV_PARAMS,
            predict_fn_or_cls=greeter.Greeter(),
            requirements=[],
            app_config=str(SAMPLES / "greeter" / "app_config.yaml"),
        ),
    )

    linear = _import_by_value("linear-model", "model")
    _report(
        "linear-model",
        builder.create_model_bundle(
            "linear-model",
            ENV_PARAMS,
            load_model_fn=linear.load_model,
            load_predict_fn=linear.load_predict,
            globals_copy=vars(linear),  # Infers the numpy requirement.
        ),
    )

    text_stats = SAMPLES / "text-stats"
    _report(
        "text-stats",
        builder.create_model_bundle_from_dir(
            "text-stats",
            base_path=text_stats / "text_stats",
            requirements_path=text_stats / "requirements.txt",
            env_params=ENV_PARAMS,
            load_predict_fn_module_path="text_stats.service.load_predict",
            load_model_fn_module_path="text_stats.service.load_model",
            app_config=str(text_stats / "app_config.yaml"),
        ),
    )


def _import_by_value(sample: str, module: str) -> ModuleType:
    """Import ``<sample>/<module>.py`` and have cloudpickle pickle its code by value."""
    name = f"sample_{sample.replace('-', '_')}_{module}"
    spec = importlib.util.spec_from_file_location(name, SAMPLES / sample / f"{module}.py")
    loaded = importlib.util.module_from_spec(spec)
    sys.modules[name] = loaded  # register_pickle_by_value wants an imported module.
    spec.loader.exec_module(loaded)
    cloudpickle.register_pickle_by_value(loaded)
    return loaded


def _report(sample: str, bundle: Path) -> None:
    """Print where a sample was built and which request to send it."""
    print(f"{sample}: {bundle} (example request: {SAMPLES / sample / 'example-request.json'})")


if __name__ == "__main__":
    main()
