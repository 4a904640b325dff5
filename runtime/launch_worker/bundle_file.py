"""``.bundle`` files: a bundle folder as one zstd-compressed tar stream.

The stream holds three plain files, in this order: ``SHA256SUMS`` (the SHA-256 of the two
others, in ``sha256sum``'s format, sorted by name), ``bundle.json`` and ``artifact``. It is
the format ``launch-worker pack`` writes and every ``launch-worker`` command reads, so bundle
builders need no Swift. Both directions stream: memory stays flat whatever the artifact's
size. ``tar --zstd -xf NAME.bundle && sha256sum -c SHA256SUMS`` unpacks and checks one by hand.
"""

import hashlib
import os
import tarfile
import tempfile
from pathlib import Path
from typing import BinaryIO

import zstandard

from launch_worker.bundle_dir import ARTIFACT_FILE, METADATA_FILE

CHECKSUMS_FILE = "SHA256SUMS"
PAYLOAD = (METADATA_FILE, ARTIFACT_FILE)
_CHUNK = 1 << 20


class BundleFileError(ValueError):
    """A ``.bundle`` file that cannot be unpacked safely; the message names the entry."""


def pack_bundle(bundle_dir: str | os.PathLike, out_path: str | os.PathLike, level: int = 3) -> Path:
    """Pack the bundle folder ``bundle_dir`` into the ``.bundle`` file ``out_path``.

    The artifact is read twice, a chunk at a time: once for ``SHA256SUMS`` (which comes
    first, so a reader knows the bundle's cache key before the artifact), once to write it,
    hashed again so that a file changing meanwhile raises instead of packing wrong bytes.
    The file is written to a temporary name and renamed into place once durable.

    Returns:
        the path of the ``.bundle`` file.
    """
    folder = Path(bundle_dir)
    out = Path(out_path)
    digests = {name: _sha256(folder / name) for name in PAYLOAD}
    sums = checksums_text({name: digest for name, (digest, _) in digests.items()}).encode()
    descriptor, temporary = tempfile.mkstemp(dir=out.parent, prefix=f".{out.name}.")
    try:
        with os.fdopen(descriptor, "wb") as raw:
            compressor = zstandard.ZstdCompressor(level=level, write_checksum=True)
            with compressor.stream_writer(raw, closefd=False) as stream:
                with tarfile.open(fileobj=stream, mode="w|", format=tarfile.PAX_FORMAT) as tar:
                    tar.addfile(_info(CHECKSUMS_FILE, len(sums)), _BytesReader(sums))
                    for name in PAYLOAD:
                        digest, size = digests[name]
                        with open(folder / name, "rb") as source:
                            reader = _HashingReader(source)
                            tar.addfile(_info(name, size), reader)
                        if reader.hexdigest() != digest:
                            raise BundleFileError(f"{folder}: {name} changed while it was being packed")
            raw.flush()
            os.fsync(raw.fileno())
        os.chmod(temporary, 0o644)
        os.replace(temporary, out)
    except BaseException:
        os.unlink(temporary)
        raise
    return out


def unpack_bundle(
    bundle_file: str | os.PathLike, target_dir: str | os.PathLike, max_unpacked_size: int = 32 << 30
) -> dict[str, str]:
    """Unpack a ``.bundle`` file into the existing empty folder ``target_dir``.

    Each entry is checked before it is written: only ``SHA256SUMS`` (first), ``bundle.json``
    and ``artifact``, plain files, once each, within ``max_unpacked_size`` in all; each is
    hashed as it streams and must match ``SHA256SUMS``.

    Returns:
        the checksums, by entry name.

    Raises:
        BundleFileError: naming the file and the entry at fault.
    """
    path = Path(bundle_file)
    target = Path(target_dir)
    with open(path, "rb") as raw:
        decompressor = zstandard.ZstdDecompressor()
        with decompressor.stream_reader(raw) as stream:
            try:
                return _unpack_stream(path, stream, target, max_unpacked_size)
            except (tarfile.TarError, zstandard.ZstdError, EOFError) as err:
                raise BundleFileError(f"bundle {path}: is damaged or truncated ({err})") from err


def checksums_text(digests: dict[str, str]) -> str:
    """``SHA256SUMS`` in its canonical form: ``<hex>  <name>`` lines sorted by name."""
    return "".join(f"{digests[name]}  {name}\n" for name in sorted(digests))


def _unpack_stream(path: Path, stream: BinaryIO, target: Path, limit: int) -> dict[str, str]:
    def refuse(entry: str, reason: str) -> BundleFileError:
        return BundleFileError(f"bundle {path}: entry {entry!r} {reason}")

    expected: dict[str, str] | None = None
    seen: set[str] = set()
    total = 0
    with tarfile.open(fileobj=stream, mode="r|") as tar:
        for member in tar:
            if not member.isfile():
                raise refuse(member.name, "is refused: a bundle holds only plain files")
            if member.name in seen:
                raise refuse(member.name, "appears twice")
            seen.add(member.name)
            total += member.size
            if total > limit:
                raise refuse(member.name, f"would make the unpacked bundle over {limit} bytes")
            if expected is None:
                if member.name != CHECKSUMS_FILE or member.size > 65536:
                    raise refuse(member.name, "comes first, where a .bundle has SHA256SUMS")
                expected = _parse_checksums(tar.extractfile(member).read().decode(), refuse)
                continue
            if member.name not in PAYLOAD:
                raise refuse(member.name, "is not part of a .bundle")
            digest = hashlib.sha256()
            source = tar.extractfile(member)
            with open(target / member.name, "xb") as out:
                while chunk := source.read(_CHUNK):
                    digest.update(chunk)
                    out.write(chunk)
            if digest.hexdigest() != expected[member.name]:
                raise refuse(member.name, f"has SHA-256 {digest.hexdigest()}, not {expected[member.name]}")
    if expected is None or seen != {CHECKSUMS_FILE, *PAYLOAD}:
        raise BundleFileError(f"bundle {path}: is incomplete (it holds {sorted(seen)})")
    (target / CHECKSUMS_FILE).write_text(checksums_text(expected))
    return expected


def _parse_checksums(text: str, refuse) -> dict[str, str]:
    digests = {}
    for line in text.splitlines():
        digest, _, name = line.partition("  ")
        if len(digest) != 64 or not name:
            raise refuse(CHECKSUMS_FILE, f"has a bad line: {line[:100]!r}")
        digests[name] = digest.lower()
    if set(digests) != set(PAYLOAD):
        raise refuse(CHECKSUMS_FILE, f"lists {sorted(digests)}; expected {sorted(PAYLOAD)}")
    return digests


def _info(name: str, size: int) -> tarfile.TarInfo:
    """A deterministic header: mode 644, owner 0, time 0."""
    info = tarfile.TarInfo(name)
    info.size = size
    info.mode = 0o644
    info.mtime = 0
    return info


def _sha256(path: Path) -> tuple[str, int]:
    digest = hashlib.sha256()
    size = 0
    with open(path, "rb") as file:
        while chunk := file.read(_CHUNK):
            digest.update(chunk)
            size += len(chunk)
    return digest.hexdigest(), size


class _HashingReader:
    """A file wrapper that hashes what is read through it."""

    def __init__(self, file: BinaryIO):
        self._file = file
        self._digest = hashlib.sha256()

    def read(self, size: int = -1) -> bytes:
        chunk = self._file.read(size)
        self._digest.update(chunk)
        return chunk

    def hexdigest(self) -> str:
        return self._digest.hexdigest()


class _BytesReader:
    """Bytes as a readable file, for tarfile.addfile."""

    def __init__(self, data: bytes):
        self._data = memoryview(data)

    def read(self, size: int = -1) -> bytes:
        size = len(self._data) if size < 0 else size
        chunk, self._data = self._data[:size], self._data[size:]
        return bytes(chunk)
