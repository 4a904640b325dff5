"""A module whose own import fails: its import error must reach the user unchanged."""

import launch_worker_test_module_that_is_not_installed  # noqa: F401


def load_model(config):
    """Never reached."""
