"""launch_worker.requirements.unmet_requirements: a bundle's requirements against this venv."""

import builtins
import importlib.metadata
import sys

import pytest

from launch_worker.requirements import unmet_requirements, unmet_requirements_warning

NUMPY = importlib.metadata.version("numpy")


def test_installed_distributions_are_met_whatever_the_spelling_of_their_name():
    assert unmet_requirements(["numpy", "NumPy", "PyYAML", "pyyaml", "py_yaml", "Cloudpickle"]) == [
        "py_yaml (not installed)"
    ]


def test_missing_distributions_are_named():
    assert unmet_requirements(["launch-worker-no-such-dist==1.0", "numpy"]) == [
        "launch-worker-no-such-dist==1.0 (not installed)"
    ]


def test_a_version_the_installed_one_does_not_meet_is_named_with_the_installed_version():
    assert unmet_requirements([f"numpy=={NUMPY}", "numpy>=999", f"numpy<={NUMPY}"]) == [
        f"numpy>=999 ({NUMPY} installed)"
    ]


def test_lines_that_name_no_distribution_or_do_not_apply_here_are_skipped():
    lines = [
        "-r other.txt",
        "--index-url https://example.com/simple",
        "git+https://example.com/repo.git",
        "./local/package",
        "# a comment",
        "",
        "launch-worker-no-such-dist; python_version < '3'",
        "numpy  # pinned elsewhere",
    ]
    assert unmet_requirements(lines) == []


def test_without_packaging_names_are_still_checked(monkeypatch):
    real_import = builtins.__import__

    def no_packaging(name, *args, **kwargs):
        if name == "packaging" or name.startswith("packaging."):
            raise ImportError(f"No module named {name!r}")
        return real_import(name, *args, **kwargs)

    monkeypatch.setattr(builtins, "__import__", no_packaging)
    assert unmet_requirements(["numpy>=999", "launch_worker.No-Such[extra]>=1", "-r x"]) == [
        "launch_worker.No-Such[extra]>=1 (not installed)"
    ]


def test_the_warning_names_what_is_missing_and_where():
    warning = unmet_requirements_warning("numpy", "launch-worker-no-such-dist")
    assert "launch-worker-no-such-dist (not installed)" in warning
    assert sys.prefix in warning
    assert "numpy" not in warning
    assert unmet_requirements_warning("numpy") is None


@pytest.mark.parametrize("line", ["numpy", "numpy>=1", "numpy [extra]", "numpy @ https://x/y.whl"])
def test_installed_names_followed_by_extras_versions_or_urls_are_met(line):
    assert unmet_requirements([line]) == []
