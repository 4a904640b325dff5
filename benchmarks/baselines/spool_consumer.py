"""The async baseline: a Python consumer of the same spool protocol, one process, one task at a
time, as a Python worker would be written: claim by rename, run, write the response durably
(unless --no-fsync), drop the claim. Exits when incoming/ is empty.

Usage: spool_consumer.py BUNDLE_DIR SPOOL_DIR [--no-fsync]
"""

import json
import os
import sys
import tempfile
import traceback
from datetime import datetime, timezone
from pathlib import Path

from bundle_loading import load


def now() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="milliseconds")


def main() -> None:
    predict_fn = load(sys.argv[1])
    spool = Path(sys.argv[2])
    sync = "--no-fsync" not in sys.argv
    incoming, responses = spool / "incoming", spool / "responses"
    claimed = spool / "claimed" / f"python-{os.getpid()}"
    claimed.mkdir(parents=True, exist_ok=True)
    responses.mkdir(exist_ok=True)
    while True:
        names = sorted(
            (entry for entry in os.scandir(incoming) if entry.name.endswith(".json")),
            key=lambda entry: entry.stat().st_mtime,
        )
        if not names:
            return
        for entry in names:
            claim = claimed / entry.name
            try:
                os.rename(entry.path, claim)
            except FileNotFoundError:
                continue
            task_id = entry.name.removesuffix(".json")
            started = now()
            try:
                request = json.loads(claim.read_bytes())
                output = predict_fn(**request["args"])
                response = {"task_id": task_id, "status": "SUCCESS", "result": json.dumps(output)}
            except Exception:
                response = {"task_id": task_id, "status": "FAILURE", "traceback": traceback.format_exc()}
            response["timings"] = {"started_at": started, "finished_at": now()}
            descriptor, temporary = tempfile.mkstemp(dir=spool / "tmp")
            with os.fdopen(descriptor, "w") as file:
                json.dump(response, file)
                if sync:
                    file.flush()
                    os.fsync(file.fileno())
            os.rename(temporary, responses / entry.name)
            if sync:
                folder = os.open(responses, os.O_RDONLY)
                os.fsync(folder)
                os.close(folder)
            os.unlink(claim)


if __name__ == "__main__":
    main()
