"""Zip artifacts: the layout of packed folders, and unsafe entries refused on unpacking."""

import stat
import zipfile

import pytest

from launch_worker.archive import UnsafeArchiveEntryError, extract_zip, zip_folders


def make_zip(path, entries):
    """Write a zip of (ZipInfo or name, content) entries."""
    with zipfile.ZipFile(path, "w") as archive:
        for entry, content in entries:
            archive.writestr(entry, content)
    return path


def symlink_entry(name):
    """A zip entry marked as a symbolic link."""
    info = zipfile.ZipInfo(name)
    info.external_attr = (stat.S_IFLNK | 0o777) << 16
    return info


@pytest.mark.parametrize(
    ("entry", "reason"),
    [
        ("/etc/evil.py", "an absolute name"),
        ("../evil.py", "a '..' component"),
        ("pkg/../../evil.py", "a '..' component"),
        ("pkg\\..\\..\\evil.py", "a '..' component"),
        (symlink_entry("pkg/link"), "a symbolic link"),
    ],
)
def test_unsafe_entries_are_refused_before_anything_is_written(tmp_path, entry, reason):
    artifact = make_zip(tmp_path / "artifact", [("pkg/ok.py", "x = 1"), (entry, "/etc/passwd")])
    target = tmp_path / "code"
    target.mkdir()
    name = entry.filename if isinstance(entry, zipfile.ZipInfo) else entry
    with pytest.raises(UnsafeArchiveEntryError) as caught:
        extract_zip(str(artifact), str(target))
    assert f"holds the entry {name!r}, which has {reason}" in str(caught.value)
    assert list(target.iterdir()) == []
    assert not (tmp_path / "evil.py").exists()


def test_safe_zip_is_unpacked(tmp_path):
    artifact = make_zip(tmp_path / "artifact", [("pkg/__init__.py", ""), ("pkg/m.py", "x = 1")])
    extract_zip(str(artifact), str(tmp_path))
    assert (tmp_path / "pkg" / "m.py").read_text() == "x = 1"


def test_not_a_zip(tmp_path):
    artifact = tmp_path / "artifact"
    artifact.write_bytes(b"plain text")
    with pytest.raises(ValueError, match="is not a zip file"):
        extract_zip(str(artifact), str(tmp_path))


def test_zip_folders_stores_files_under_the_folder_name(tmp_path):
    folder = tmp_path / "pkg"
    (folder / "sub" / "__pycache__").mkdir(parents=True)
    (folder / "__init__.py").write_text("")
    (folder / "sub" / "m.py").write_text("x = 1")
    (folder / "sub" / "__pycache__" / "m.cpython-311.pyc").write_bytes(b"\0")
    other = tmp_path / "elsewhere" / "other"
    other.mkdir(parents=True)
    (other / "data.txt").write_text("data")
    artifact = tmp_path / "artifact.zip"
    artifact.write_bytes(zip_folders([folder, other]))
    with zipfile.ZipFile(artifact) as archive:
        assert archive.namelist() == ["pkg/__init__.py", "pkg/sub/m.py", "other/data.txt"]
        assert archive.read("pkg/sub/m.py") == b"x = 1"


def test_zip_folders_is_reproducible(tmp_path):
    folder = tmp_path / "pkg"
    folder.mkdir()
    (folder / "m.py").write_text("x = 1")
    first = zip_folders([folder])
    (folder / "m.py").touch()
    assert zip_folders([folder]) == first


def special_entry(name, kind):
    """A zip entry whose mode says it is a device, FIFO or socket."""
    info = zipfile.ZipInfo(name)
    info.external_attr = (kind | 0o644) << 16
    return info


@pytest.mark.parametrize(
    ("entries", "name", "reason"),
    [
        ([("pkg/a.py", "1"), ("pkg/a.py", "2")], "pkg/a.py", "a name that appears twice"),
        ([("pkg/a.py", "1"), ("pkg//./a.py", "2")], "pkg//./a.py", "a name that appears twice"),
        ([(special_entry("pkg/dev", stat.S_IFCHR), "")], "pkg/dev", "a device file"),
        ([(special_entry("pkg/fifo", stat.S_IFIFO), "")], "pkg/fifo", "a FIFO"),
        ([("C:/evil.py", "")], "C:/evil.py", "an absolute name"),
    ],
)
def test_more_unsafe_entries(tmp_path, entries, name, reason):
    with pytest.warns(UserWarning) if name == "pkg/a.py" else _no_warning():
        artifact = make_zip(tmp_path / "artifact", entries)
    target = tmp_path / "code"
    target.mkdir()
    with pytest.raises(UnsafeArchiveEntryError) as caught:
        extract_zip(str(artifact), str(target))
    assert f"holds the entry {name!r}, which has {reason}" in str(caught.value)
    assert list(target.iterdir()) == []


def _no_warning():
    import contextlib

    return contextlib.nullcontext()


def test_unpacked_size_limit(tmp_path, monkeypatch):
    artifact = make_zip(tmp_path / "artifact", [("pkg/zeros.bin", b"\0" * 5000)])
    target = tmp_path / "code"
    target.mkdir()
    monkeypatch.setenv("LAUNCH_WORKER_MAX_UNPACKED_SIZE", "4096")
    with pytest.raises(UnsafeArchiveEntryError, match="'pkg/zeros.bin'.*over the limit of 4096 bytes"):
        extract_zip(str(artifact), str(target))
    assert list(target.iterdir()) == []
    extract_zip(str(artifact), str(target), max_unpacked_size=5000)
    assert (target / "pkg" / "zeros.bin").stat().st_size == 5000
