"""The Python side of launch-worker.

The Swift worker calls :func:`launch_worker.loader.load_bundle` once to get a bundle's
predict callable, then :func:`launch_worker.invoke.run_request` for every request.
:class:`BundleBuilder` writes bundle directories the way the Launch client makes bundles.
:func:`pack_bundle` and :func:`unpack_bundle` write and read ``.bundle`` files.
:class:`SpoolClient` queues tasks for ``launch-worker serve --queue spool:DIR`` and reads
their responses.

The names below are imported on first use: the worker imports only the loader and the
invoker, and the builder's imports (PyYAML, importlib.metadata) would add tens of
milliseconds to every worker's cold start.
"""

import importlib

__version__ = "0.1.0"

_EXPORTS = {
    "ArtifactUnpicklingError": "launch_worker.loader",
    "BundleBuilder": "launch_worker.builder",
    "BundleFileError": "launch_worker.bundle_file",
    "ResultNotJSONSerializable": "launch_worker.invoke",
    "SpoolClient": "launch_worker.spool",
    "TaskTimedOut": "launch_worker.invoke",
    "pack_bundle": "launch_worker.bundle_file",
    "unpack_bundle": "launch_worker.bundle_file",
}

__all__ = sorted(_EXPORTS)


def __getattr__(name):
    """Import an exported name's module the first time the name is used."""
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'launch_worker' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value
