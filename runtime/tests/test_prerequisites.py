"""conftest.require_or_skip: a missing prerequisite skips a test, except under CI=true."""

import pytest

from conftest import require_or_skip


def test_a_missing_prerequisite_skips(monkeypatch):
    monkeypatch.delenv("CI", raising=False)
    with pytest.raises(pytest.skip.Exception, match="no executable"):
        require_or_skip(False, "no executable")


def test_a_missing_prerequisite_fails_under_ci(monkeypatch):
    monkeypatch.setenv("CI", "true")
    with pytest.raises(pytest.fail.Exception, match="CI=true forbids skipping: no executable"):
        require_or_skip(False, "no executable")


def test_a_present_prerequisite_runs(monkeypatch):
    monkeypatch.setenv("CI", "true")
    require_or_skip(True, "present")
