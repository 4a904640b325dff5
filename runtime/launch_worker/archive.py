"""Zip artifacts of ``zip`` bundles: packing code folders and unpacking them safely."""

import io
import os
import stat
import zipfile
from collections.abc import Iterable
from pathlib import Path

# A fixed timestamp makes the same folders give the same artifact bytes (and sha256).
_ZIP_EPOCH = (1980, 1, 1, 0, 0, 0)


class UnsafeArchiveEntryError(ValueError):
    """A zip bundle's artifact holds an entry that would land outside its code folder."""


def zip_folders(folders: Iterable[Path]) -> bytes:
    """Zip code folders the way the Launch client does, and return the zip's bytes.

    Each file is stored under ``<folder name>/<path inside the folder>`` (its name
    relative to the folder's parent), so after unpacking, the folders' names are the
    top-level packages. ``__pycache__`` folders are left out; files are added in sorted
    order with a fixed timestamp, so equal folders give equal bytes.
    """
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for folder in folders:
            for root, dirs, files in os.walk(folder):
                dirs[:] = sorted(d for d in dirs if d != "__pycache__")
                for name in sorted(files):
                    path = Path(root, name)
                    arcname = path.relative_to(folder.parent).as_posix()
                    info = zipfile.ZipInfo.from_file(path, arcname, strict_timestamps=False)
                    info.date_time = _ZIP_EPOCH
                    info.compress_type = zipfile.ZIP_DEFLATED
                    archive.writestr(info, path.read_bytes())
    return buffer.getvalue()


def extract_zip(artifact_path: str, target_dir: str) -> None:
    """Unpack a zip bundle's artifact into ``target_dir``, refusing unsafe entries.

    Every entry is checked before anything is written: absolute names, names with a
    ``..`` component and symbolic links raise :class:`UnsafeArchiveEntryError`.
    """
    try:
        archive = zipfile.ZipFile(artifact_path)
    except zipfile.BadZipFile as err:
        raise ValueError(
            f"the artifact of this zip bundle ({artifact_path}) is not a zip file ({err}); "
            "rebuild it with create_model_bundle_from_dir"
        ) from err
    with archive:
        for info in archive.infolist():
            _check_entry(info)
        archive.extractall(target_dir)


def _check_entry(info: zipfile.ZipInfo) -> None:
    """Raise UnsafeArchiveEntryError if the entry could write outside the target folder."""
    name = info.filename
    parts = name.replace("\\", "/").split("/")
    if name.startswith(("/", "\\")):
        reason = "an absolute name"
    elif ".." in parts:
        reason = "a '..' component"
    elif stat.S_ISLNK(info.external_attr >> 16):
        reason = "a symbolic link"
    else:
        return
    raise UnsafeArchiveEntryError(
        f"the artifact of this zip bundle holds the entry {name!r}, which has {reason}; "
        "a zip bundle may hold only plain files and folders under relative names: "
        "rebuild it with create_model_bundle_from_dir"
    )
