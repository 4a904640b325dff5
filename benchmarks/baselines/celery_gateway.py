"""The async baseline's front: a FastAPI + uvicorn server in the shape of llm-engine's gateway
for async tasks, on uvloop and httptools.

`POST /task_async/{endpoint}` takes llm-engine's request body (a pydantic model) and queues it
with Celery's `send_task` on the endpoint's queue (`launch-endpoint-id-{endpoint}`), with
llm-engine's task name and arguments `[request, arrival_timestamp, return_pickled]`, answering
`{"task_id"}`; `GET /task/result/{id}` reads the task's `AsyncResult` and answers `state`
(PENDING, SUCCESS or FAILURE) with `result` or `traceback`. runtime/tests/celery_bundle_worker.py
serves the queue, as llm-engine's Celery worker would.

Usage: celery_gateway.py BROKER PORT
"""

import datetime
import sys

import uvicorn
from celery import Celery
from celery.result import AsyncResult
from fastapi import FastAPI

from llm_engine_request import EndpointPredictV1Request

TASK = "hosted_model_inference.inference.async_inference.tasks.predict"


def main() -> None:
    broker, port = sys.argv[1], int(sys.argv[2])
    celery = Celery("celery-gateway", broker=broker, backend=broker)
    celery.conf.update(task_serializer="json", result_serializer="json", accept_content=["json"])
    app = FastAPI()

    @app.post("/task_async/{endpoint}")
    def create_task(endpoint: str, request: EndpointPredictV1Request) -> dict:
        arrival = datetime.datetime.now(datetime.timezone.utc)
        task = celery.send_task(TASK, args=[request.model_dump(exclude_none=True), arrival, request.return_pickled],
                                queue=f"launch-endpoint-id-{endpoint}")
        return {"task_id": task.id}

    @app.get("/task/result/{task_id}")
    def task_result(task_id: str) -> dict:
        result = AsyncResult(task_id, app=celery)
        state = result.state
        if state == "SUCCESS":
            return {"task_id": task_id, "state": "SUCCESS", **result.result}
        if state == "FAILURE":
            return {"task_id": task_id, "state": "FAILURE", "traceback": result.traceback}
        return {"task_id": task_id, "state": "PENDING"}

    uvicorn.run(app, host="127.0.0.1", port=port, log_level="warning", loop="uvloop", http="httptools")


if __name__ == "__main__":
    main()
