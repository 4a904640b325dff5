"""The sync baseline: a FastAPI + uvicorn server with llm-engine's sync inference server shape,
on uvloop and httptools as llm-engine's requirements install them.

`POST /predict` takes llm-engine's EndpointPredictV1Request (a pydantic model), runs
`run_predict` semantics (args → predict(**args), url → predict(bytes), JSON or pickled
result), limits concurrency to per_worker with a semaphore (answering 429 over it when asked),
and answers 500 with the traceback on a predict error, as llm-engine does.

Usage: fastapi_server.py BUNDLE_DIR PORT [PER_WORKER]
"""

import json
import sys
import threading
import traceback
import uuid
from pathlib import Path

import cloudpickle
import uvicorn
from fastapi import FastAPI, HTTPException

from bundle_loading import load
from llm_engine_request import EndpointPredictV1Request


def main() -> None:
    bundle, port = sys.argv[1], int(sys.argv[2])
    per_worker = int(sys.argv[3]) if len(sys.argv) > 3 else 1
    predict_fn = load(bundle)
    limiter = threading.BoundedSemaphore(per_worker)
    results = Path("/tmp/launch-worker-fastapi-results")
    results.mkdir(exist_ok=True)
    app = FastAPI()

    def run_predict(request: EndpointPredictV1Request) -> dict:
        if request.url is not None:
            with open(request.url.removeprefix("file://"), "rb") as file:
                output = predict_fn(file.read())
        elif request.args is not None:
            output = predict_fn(**request.args)
        else:
            raise ValueError("One of url, args, or cloudpickle must be set")
        if request.return_pickled:
            path = results / f"{uuid.uuid4().hex}.pkl"
            path.write_bytes(cloudpickle.dumps(output))
            return {"result_url": f"file://{path}"}
        return {"result": json.dumps(output)}

    @app.get("/healthz")
    @app.get("/readyz")
    def healthz():
        return "OK"

    @app.post("/predict")
    def predict(request: EndpointPredictV1Request):
        with limiter:
            try:
                return run_predict(request)
            except Exception:
                raise HTTPException(status_code=500, detail={"traceback": traceback.format_exc()})

    # llm-engine's model-engine/requirements.txt pins uvloop and httptools, which uvicorn then uses.
    uvicorn.run(app, host="127.0.0.1", port=port, loop="uvloop", http="httptools", log_level="warning",
                access_log=False)


if __name__ == "__main__":
    main()
