"""The floor a user would write by hand for a batch: read the CSV, call predict in a loop,
write one JSON line per row, as `launch-worker batch` does (without resuming or progress).

Prints items/s of the loop (the bundle's loading not counted, as `batch`'s summary does not
count it).

Usage: batch_loop.py BUNDLE_DIR INPUT_CSV OUTPUT_JSONL
"""

import csv
import json
import sys
import time
import traceback

from bundle_loading import load


def main() -> None:
    predict_fn = load(sys.argv[1])
    count = 0
    start = time.perf_counter()
    with open(sys.argv[2], newline="", encoding="utf-8") as rows, open(sys.argv[3], "w", encoding="utf-8") as out:
        for number, row in enumerate(csv.DictReader(rows), start=1):
            line = {"id": row.get("id") or str(number)}
            try:
                line["status"] = "SUCCESS"
                line["result"] = json.dumps(predict_fn(**json.loads(row["args"])))
            except Exception:  # noqa: BLE001 - a row's failure is its line, as in batch
                line["status"] = "FAILURE"
                line["traceback"] = traceback.format_exc()
            out.write(json.dumps(line) + "\n")
            count += 1
    print(count / (time.perf_counter() - start))


if __name__ == "__main__":
    main()
