"""Write a cloudpickle bundle with requirements and env_params, for the environment tests.

Usage: build_env_bundle.py FOLDER MODULE ENV_PARAMS_JSON [REQUIREMENT ...]

Its predict(who) imports MODULE (a wheel of Tests/Fixtures/make_wheel.py) and returns
``{"greeting": MODULE.greet(who), "cloudpickle": <the cloudpickle version it runs with>}``.
The bundle is written as is, without the builder's checks, so env_params may be anything.
"""

import json
import sys

import cloudpickle

from launch_worker.bundle_dir import write_bundle_dir


def make_predict(module):
    """A predict that imports ``module`` when called, so loading needs only the runtime."""

    def predict(who):
        import importlib

        import cloudpickle

        greeting = importlib.import_module(module).greet(who)
        return {"greeting": greeting, "cloudpickle": cloudpickle.__version__}

    return predict


if __name__ == "__main__":
    folder, module, env_params, *requirements = sys.argv[1:]
    write_bundle_dir(
        folder,
        cloudpickle.dumps(make_predict(module)),
        packaging_type="cloudpickle",
        bundle_name=module + "-greeter",
        bundle_metadata={},
        requirements=requirements,
        env_params=json.loads(env_params),
        app_config=None,
    )
