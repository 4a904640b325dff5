"""Write a tiny pure-Python wheel, so tests install packages from a local folder, offline.

Usage: make_wheel.py OUT_DIR NAME VERSION [EXTRA_SOURCE]

The wheel holds one module, NAME (with dashes made underscores), whose ``__version__`` is the
version, whose ``greet(who)`` returns ``"NAME VERSION greets WHO"``, and which ends with
EXTRA_SOURCE (a stand-in for torch gives itself a ``cuda`` there, say).
"""

import base64
import hashlib
import sys
import zipfile
from pathlib import Path


def record_line(path: str, data: bytes) -> str:
    """The RECORD line of one file: its path, sha256 in urlsafe base64, and size."""
    digest = base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode()
    return f"{path},sha256={digest},{len(data)}"


def make_wheel(out_dir: Path, name: str, version: str, extra_source: str = "") -> Path:
    """Write ``NAME-VERSION-py3-none-any.whl`` into ``out_dir`` and return its path."""
    module = name.replace("-", "_")
    info = f"{module}-{version}.dist-info"
    metadata = ["Metadata-Version: 2.1", f"Name: {name}", f"Version: {version}"]
    files = {
        f"{module}/__init__.py": (
            f"__version__ = {version!r}\n\n\n"
            f"def greet(who):\n    return f'{name} {version} greets {{who}}'\n\n\n{extra_source}\n"
        ).encode(),
        f"{info}/METADATA": ("\n".join(metadata) + "\n").encode(),
        f"{info}/WHEEL": b"Wheel-Version: 1.0\nGenerator: make_wheel\nRoot-Is-Purelib: true\nTag: py3-none-any\n",
    }
    record = [record_line(path, data) for path, data in files.items()] + [f"{info}/RECORD,,"]
    files[f"{info}/RECORD"] = ("\n".join(record) + "\n").encode()
    out_dir.mkdir(parents=True, exist_ok=True)
    wheel = out_dir / f"{module}-{version}-py3-none-any.whl"
    with zipfile.ZipFile(wheel, "w") as archive:
        for path, data in files.items():
            archive.writestr(path, data)
    return wheel


if __name__ == "__main__":
    print(make_wheel(Path(sys.argv[1]), *sys.argv[2:5]))
