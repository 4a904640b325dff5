"""The on-disk form of a bundle: a folder holding ``artifact`` and ``bundle.json``.

``artifact`` holds exactly the bytes the Launch client uploads. ``bundle.json`` holds the
metadata the client sends beside them (``packaging_type``, ``bundle_name``,
``bundle_metadata``, ``requirements``, ``env_params``, ``app_config``) plus
``format_version``, ``python_version`` (the Python that made the bundle) and
``artifact_sha256``.
"""

import hashlib
import json
import os
import platform
import tempfile
from pathlib import Path
from typing import Any

FORMAT_VERSION = 1
ARTIFACT_FILE = "artifact"
METADATA_FILE = "bundle.json"


def write_bundle_dir(
    directory: str | os.PathLike,
    artifact: bytes,
    *,
    packaging_type: str,
    bundle_name: str,
    bundle_metadata: dict[str, Any],
    requirements: list[str],
    env_params: dict[str, Any],
    app_config: dict[str, Any] | None,
) -> Path:
    """Write a bundle folder, creating it if needed, and return its path.

    Each file is written to a temporary name and renamed into place, so a reader sees
    either the old file or the new one. The artifact goes first: a ``bundle.json`` on
    disk never names an artifact that is not there yet.
    """
    metadata = {
        "format_version": FORMAT_VERSION,
        "packaging_type": packaging_type,
        "bundle_name": bundle_name,
        "bundle_metadata": bundle_metadata,
        "requirements": requirements,
        "env_params": env_params,
        "app_config": app_config,
        "python_version": platform.python_version(),
        "artifact_sha256": hashlib.sha256(artifact).hexdigest(),
    }
    path = Path(directory)
    path.mkdir(parents=True, exist_ok=True)
    write_file_atomically(path / ARTIFACT_FILE, artifact)
    write_file_atomically(path / METADATA_FILE, (json.dumps(metadata, indent=2) + "\n").encode())
    return path


def write_file_atomically(path: Path, content: bytes) -> None:
    """Replace ``path`` with ``content`` in one rename, after making the bytes durable."""
    descriptor, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
    try:
        with os.fdopen(descriptor, "wb") as file:
            file.write(content)
            file.flush()
            os.fsync(file.fileno())
        os.chmod(temporary, 0o644)
        os.replace(temporary, path)
    except BaseException:
        os.unlink(temporary)
        raise
