"""The Python side of launch-worker.

The Swift worker calls :func:`launch_worker.loader.load_bundle` once to get a bundle's
predict callable, then :func:`launch_worker.invoke.run_request` for every request.
:class:`BundleBuilder` writes bundle directories the way the Launch client makes bundles.
:func:`pack_bundle` and :func:`unpack_bundle` write and read ``.bundle`` files.
:class:`SpoolClient` queues tasks for ``launch-worker serve --queue spool:DIR`` and reads
their responses.
"""

from launch_worker.builder import BundleBuilder
from launch_worker.bundle_file import BundleFileError, pack_bundle, unpack_bundle
from launch_worker.invoke import ResultNotJSONSerializable, TaskTimedOut
from launch_worker.loader import ArtifactUnpicklingError
from launch_worker.spool import SpoolClient

__version__ = "0.1.0"

__all__ = [
    "ArtifactUnpicklingError",
    "BundleBuilder",
    "BundleFileError",
    "ResultNotJSONSerializable",
    "SpoolClient",
    "TaskTimedOut",
    "pack_bundle",
    "unpack_bundle",
]
