"""A bundle's pip requirements: read from a requirements file, or inferred from imports."""

import importlib.metadata
import inspect
import os
from collections.abc import Mapping
from typing import Any


def infer_requirements(globals_copy: Mapping[str, Any] | None) -> list[str]:
    """Pin the installed distributions that provide what a notebook has imported.

    Modules in ``globals_copy`` count by their top-level package, and so do functions
    and classes imported with ``from package import name``. Each distribution that
    provides one of those packages gives a ``name==version`` line; the standard library
    and modules of no installed distribution give none. ``None`` gives ``[]``.
    """
    if globals_copy is None:
        return []
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
