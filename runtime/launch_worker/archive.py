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


#: The variable that sets how much a zip artifact may unpack to (the worker sets it from
#: ``--max-unpacked-size``).
MAX_UNPACKED_SIZE_VARIABLE = "LAUNCH_WORKER_MAX_UNPACKED_SIZE"
#: The default limit: 32 GiB.
DEFAULT_MAX_UNPACKED_SIZE = 32 << 30


def extract_zip(artifact_path: str, target_dir: str, max_unpacked_size: int | None = None) -> None:
    """Unpack a zip bundle's artifact into ``target_dir``, refusing unsafe entries.

    Every entry is checked before anything is written: absolute names (also Windows drive
    names), names with a ``..`` component, links, device files, FIFOs and sockets, a name
    that appears twice (also spelt differently, as ``a//b`` and ``./a/b``), and a total
    unpacked size over ``max_unpacked_size`` (default: ``$LAUNCH_WORKER_MAX_UNPACKED_SIZE``,
    else 32 GiB) raise :class:`UnsafeArchiveEntryError` naming the entry. zipfile never
    inflates an entry past the size its header declares, so checking the declared sizes
    bounds what is written.
    """
    limit = _max_unpacked_size() if max_unpacked_size is None else max_unpacked_size
    try:
        archive = zipfile.ZipFile(artifact_path)
    except zipfile.BadZipFile as err:
        raise ValueError(
            f"the artifact of this zip bundle ({artifact_path}) is not a zip file ({err}); "
            "rebuild it with create_model_bundle_from_dir"
        ) from err
    with archive:
        seen: set[str] = set()
        total = 0
        for info in archive.infolist():
            _check_entry(info)
            normalized = "/".join(
                part for part in info.filename.replace("\\", "/").split("/") if part not in ("", ".")
            )
            if normalized in seen:
                _refuse(info.filename, "a name that appears twice in the zip")
            seen.add(normalized)
            total += info.file_size
            if total > limit:
                raise UnsafeArchiveEntryError(
                    f"the artifact of this zip bundle holds the entry {info.filename!r}, which takes "
                    f"its unpacked size to {total} bytes, over the limit of {limit} bytes "
                    f"(--max-unpacked-size, ${MAX_UNPACKED_SIZE_VARIABLE}): is it a zip bomb?"
                )
        archive.extractall(target_dir)


def _max_unpacked_size() -> int:
    """The limit from ``$LAUNCH_WORKER_MAX_UNPACKED_SIZE``, else the default."""
    value = os.environ.get(MAX_UNPACKED_SIZE_VARIABLE, "")
    return int(value) if value.isdigit() else DEFAULT_MAX_UNPACKED_SIZE


_SPECIAL_TYPES = (
    (stat.S_ISLNK, "a symbolic link"),
    (stat.S_ISCHR, "a device file"),
    (stat.S_ISBLK, "a device file"),
    (stat.S_ISFIFO, "a FIFO"),
    (stat.S_ISSOCK, "a socket"),
)


def _check_entry(info: zipfile.ZipInfo) -> None:
    """Raise UnsafeArchiveEntryError if the entry could write outside the target folder."""
    name = info.filename
    parts = name.replace("\\", "/").split("/")
    mode = info.external_attr >> 16
    if name.startswith(("/", "\\")) or (len(name) > 1 and name[1] == ":"):
        _refuse(name, "an absolute name")
    if ".." in parts:
        _refuse(name, "a '..' component")
    if "\0" in name:
        _refuse(name, "a NUL byte in its name")
    for check, kind in _SPECIAL_TYPES:
        if check(mode):
            _refuse(name, kind)


def _refuse(name: str, reason: str) -> None:
    raise UnsafeArchiveEntryError(
        f"the artifact of this zip bundle holds the entry {name!r}, which has {reason}; "
        "a zip bundle may hold only plain files and folders under relative names: "
        "rebuild it with create_model_bundle_from_dir"
    )
