"""The best Python sync server we know for a fast predict: FastAPI with an `async def` route on
uvicorn with uvloop and httptools, 2 worker processes (one per core of the bench machine).

Where fastapi_server.py is llm-engine's shape (a sync route run in a thread pool, a semaphore,
pydantic request model), this is what a Python user tuning for throughput would write: predict
is called on the event loop itself, with no thread hop, and the kernel spreads connections
over the processes. Same answers as the other baseline: `{"result": json.dumps(output)}`, 500
with the traceback on an error.

Usage: fastapi_best.py BUNDLE_DIR PORT [PROCESSES]
"""

import json
import os
import sys
import traceback

import uvicorn
from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse

from bundle_loading import load

app = FastAPI()
# Each worker process imports this module by name and loads the bundle once (main() sets the
# variable before uvicorn starts them).
predict_fn = load(os.environ["BENCH_BUNDLE"]) if "BENCH_BUNDLE" in os.environ else None


@app.get("/healthz")
async def healthz():
    return "OK"


@app.post("/predict")
async def predict(request: Request):
    body = json.loads(await request.body())
    try:
        output = predict_fn(**body["args"])
    except Exception:
        return JSONResponse({"detail": {"traceback": traceback.format_exc()}}, status_code=500)
    return {"result": json.dumps(output)}


def main() -> None:
    bundle, port = sys.argv[1], int(sys.argv[2])
    processes = int(sys.argv[3]) if len(sys.argv) > 3 else 2
    os.environ["BENCH_BUNDLE"] = bundle
    uvicorn.run(
        "fastapi_best:app", host="127.0.0.1", port=port, workers=processes, loop="uvloop", http="httptools",
        log_level="warning", access_log=False)


if __name__ == "__main__":
    main()
