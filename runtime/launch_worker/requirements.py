"""A bundle's pip requirements: read from a requirements file, inferred from imports, or
checked against the running environment."""

import importlib.metadata
import os
import re
import sys
from collections.abc import Iterable, Mapping
from typing import Any

# A PEP 508 name at the start of a line, then what may follow a name: extras, a version,
# markers, a URL (``name @ url``), or nothing. Anything else (``-r file``, ``git+https://``,
# ``./path``) names no distribution this check can look up.
_NAME = re.compile(r"\s*([A-Za-z0-9](?:[A-Za-z0-9._-]*[A-Za-z0-9])?)\s*(?=$|[\[(;@<>=!~\s])")


def infer_requirements(globals_copy: Mapping[str, Any] | None) -> list[str]:
    """Pin the installed distributions that provide what a notebook has imported.

    Modules in ``globals_copy`` count by their top-level package, and so do functions
    and classes imported with ``from package import name``. Each distribution that
    provides one of those packages gives a ``name==version`` line; the standard library
    and modules of no installed distribution give none. ``None`` gives ``[]``.
    """
    if globals_copy is None:
        return []
    import inspect  # here, not at the top: workers import this module to check requirements

    packages = set()
    for value in globals_copy.values():
        if inspect.ismodule(value):
            module = value.__name__
        elif inspect.isclass(value) or inspect.isroutine(value):
            module = getattr(value, "__module__", None)
        else:
            continue
        if isinstance(module, str):
            packages.add(module.partition(".")[0])
    providers = importlib.metadata.packages_distributions()
    distributions = {dist for package in packages for dist in providers.get(package, ())}
    return sorted(
        (f"{dist}=={importlib.metadata.version(dist)}" for dist in distributions), key=str.lower
    )


def read_requirements_file(path: str | os.PathLike) -> list[str]:
    """Read the requirement lines of a requirements.txt, without blank lines and comments."""
    with open(path, encoding="utf-8") as requirements:
        lines = (line.strip() for line in requirements)
        return [line for line in lines if line and not line.startswith("#")]


def unmet_requirements(requirements: Iterable[str]) -> list[str]:
    """Describe each requirement line the running environment does not meet.

    A distribution counts as installed when ``importlib.metadata`` finds it by name, which it
    compares as PEP 503 normalises names (``Foo_Bar`` is ``foo-bar``). Where ``packaging`` is
    importable, a version specifier is checked too, and a requirement whose environment
    marker does not hold here is skipped. Lines that name no distribution (pip options,
    URLs, paths) are skipped. Each unmet line gives ``"LINE (not installed)"`` or
    ``"LINE (VERSION installed)"``.
    """
    unmet = []
    for line in requirements:
        parsed = _parsed(line)
        if parsed is None:
            continue
        name, specifier = parsed
        try:
            version = importlib.metadata.version(name)
        except importlib.metadata.PackageNotFoundError:
            unmet.append(f"{line.strip()} (not installed)")
            continue
        if specifier is not None and not _satisfies(specifier, version):
            unmet.append(f"{line.strip()} ({version} installed)")
    return unmet


def unmet_requirements_warning(*requirements: str) -> str | None:
    """The warning the worker logs at load when its environment lacks some of a bundle's
    requirements, naming them; None when every one is met."""
    unmet = unmet_requirements(requirements)
    if not unmet:
        return None
    return (
        f"the bundle's requirements are not all installed in {sys.prefix}: {', '.join(unmet)}; "
        "its predict may fail with ModuleNotFoundError: install them there, or name an "
        "environment that has them with --python-env"
    )


def _parsed(line: str) -> tuple[str, Any] | None:
    """The name and version specifier (None without ``packaging``, or when there is none) of
    a requirement line that applies here; None for a line to skip."""
    try:
        from packaging.requirements import InvalidRequirement, Requirement
    except ImportError:
        match = _NAME.match(_without_comment(line))
        return None if match is None else (match.group(1), None)
    try:
        requirement = Requirement(_without_comment(line))
    except InvalidRequirement:
        return None
    if requirement.marker is not None and not requirement.marker.evaluate():
        return None
    return requirement.name, (requirement.specifier or None)


def _without_comment(line: str) -> str:
    """A requirement line without its comment (``#`` at the start or after a space, as pip reads it)."""
    return re.sub(r"(^|\s)#.*", "", line).strip()


def _satisfies(specifier: Any, version: str) -> bool:
    """Whether ``version`` meets ``specifier``; a version ``packaging`` cannot read counts as met."""
    from packaging.version import InvalidVersion, Version

    try:
        return specifier.contains(Version(version), prereleases=True)
    except InvalidVersion:
        return True
