"""``.bundle`` files written and read by Python: the format, streaming, and refusals."""

import hashlib
import io
import subprocess
import tarfile

import pytest
import zstandard

from launch_worker import BundleFileError, pack_bundle, unpack_bundle
from launch_worker.bundle_dir import write_bundle_dir


@pytest.fixture
def bundle_dir(tmp_path):
    return write_bundle_dir(
        tmp_path / "adder",
        b"artifact bytes",
        packaging_type="cloudpickle",
        bundle_name="adder",
        bundle_metadata={},
        requirements=[],
        env_params={"framework_type": "pytorch"},
        app_config=None,
    )


def members(path):
    with open(path, "rb") as raw, zstandard.ZstdDecompressor().stream_reader(raw) as stream:
        with tarfile.open(fileobj=stream, mode="r|") as tar:
            return [(m.name, m.size, m.type, m.mode, m.mtime) for m in tar]


def test_pack_writes_sums_first_then_metadata_and_artifact(bundle_dir, tmp_path):
    out = pack_bundle(bundle_dir, tmp_path / "adder.bundle")
    names = [(name, kind, mode, mtime) for name, _, kind, mode, mtime in members(out)]
    assert names == [
        ("SHA256SUMS", tarfile.REGTYPE, 0o644, 0),
        ("bundle.json", tarfile.REGTYPE, 0o644, 0),
        ("artifact", tarfile.REGTYPE, 0o644, 0),
    ]


def test_round_trip_and_sha256sum_format(bundle_dir, tmp_path):
    out = pack_bundle(bundle_dir, tmp_path / "adder.bundle")
    target = tmp_path / "unpacked"
    target.mkdir()
    digests = unpack_bundle(out, target)
    assert (target / "artifact").read_bytes() == b"artifact bytes"
    assert digests["artifact"] == hashlib.sha256(b"artifact bytes").hexdigest()
    check = subprocess.run(["sha256sum", "-c", "SHA256SUMS"], cwd=target, capture_output=True, text=True)
    assert check.returncode == 0, check.stdout + check.stderr


def test_packing_is_deterministic(bundle_dir, tmp_path):
    first = pack_bundle(bundle_dir, tmp_path / "a.bundle").read_bytes()
    second = pack_bundle(bundle_dir, tmp_path / "b.bundle").read_bytes()
    assert first == second


def write_hostile(path, entries):
    """A .bundle of (TarInfo, bytes) entries, exactly as given."""
    with open(path, "wb") as raw:
        with zstandard.ZstdCompressor().stream_writer(raw, closefd=False) as stream:
            with tarfile.open(fileobj=stream, mode="w|", format=tarfile.PAX_FORMAT) as tar:
                for info, data in entries:
                    info.size = len(data)
                    tar.addfile(info, io.BytesIO(data))
    return path


def sums(artifact=b"a", metadata=b"{}"):
    text = (
        f"{hashlib.sha256(artifact).hexdigest()}  artifact\n"
        f"{hashlib.sha256(metadata).hexdigest()}  bundle.json\n"
    )
    return (tarfile.TarInfo("SHA256SUMS"), text.encode())


def link(name, target, kind):
    info = tarfile.TarInfo(name)
    info.type = kind
    info.linkname = target
    return (info, b"")


@pytest.mark.parametrize(
    ("entry", "message"),
    [
        (link("artifact", "/etc/passwd", tarfile.SYMTYPE), "only plain files"),
        (link("artifact", "bundle.json", tarfile.LNKTYPE), "only plain files"),
        ((tarfile.TarInfo("../artifact"), b"a"), "is not part of a .bundle"),
        ((tarfile.TarInfo("bundle.json"), b"{}"), "appears twice"),
        ((tarfile.TarInfo("artifact"), b"b"), "has SHA-256"),
    ],
)
def test_hostile_entries_are_refused(tmp_path, entry, message):
    bundle = write_hostile(
        tmp_path / "hostile.bundle", [sums(), (tarfile.TarInfo("bundle.json"), b"{}"), entry]
    )
    target = tmp_path / "out"
    target.mkdir()
    with pytest.raises(BundleFileError, match=message):
        unpack_bundle(bundle, target)
    assert not (tmp_path / "artifact").exists()


def test_size_limit(bundle_dir, tmp_path):
    out = pack_bundle(bundle_dir, tmp_path / "adder.bundle")
    target = tmp_path / "out"
    target.mkdir()
    with pytest.raises(BundleFileError, match="over 100 bytes"):
        unpack_bundle(out, target, max_unpacked_size=100)


def test_truncated(bundle_dir, tmp_path):
    data = pack_bundle(bundle_dir, tmp_path / "adder.bundle").read_bytes()
    cut = tmp_path / "cut.bundle"
    cut.write_bytes(data[: len(data) // 2])
    target = tmp_path / "out"
    target.mkdir()
    with pytest.raises(BundleFileError):
        unpack_bundle(cut, target)
