"""The embedding limit: the Python work alone, in one process with no worker around it.

A tight loop that decodes the request's JSON, calls predict (reading the url's bytes, or
pickling the output to a durable file, as the request asks) and encodes the result: the
ceiling for any worker that runs this bundle. Prints requests/s.

Usage: embedding_limit.py BUNDLE_DIR REQUEST_JSON SECONDS
"""

import json
import os
import sys
import time
from pathlib import Path

import cloudpickle

from bundle_loading import load


def main() -> None:
    predict_fn = load(sys.argv[1])
    body = sys.argv[2]
    seconds = float(sys.argv[3])
    results = Path("/tmp/launch-worker-limit-results")
    results.mkdir(exist_ok=True)
    count = 0
    end = time.perf_counter() + seconds
    start = time.perf_counter()
    while time.perf_counter() < end:
        request = json.loads(body)
        if "url" in request:
            with open(request["url"].removeprefix("file://"), "rb") as file:
                output = predict_fn(file.read())
        else:
            output = predict_fn(**request["args"])
        if request.get("return_pickled"):
            path = results / f"{count}.pkl"
            with open(path, "wb") as file:
                file.write(cloudpickle.dumps(output))
                file.flush()
                os.fsync(file.fileno())
            json.dumps({"result_url": f"file://{path}"})
        else:
            json.dumps({"result": json.dumps(output)})
        count += 1
    print(count / (time.perf_counter() - start))


if __name__ == "__main__":
    main()
