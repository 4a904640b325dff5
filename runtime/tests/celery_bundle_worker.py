"""A Python Celery worker for a bundle folder, shaped like llm-engine's async worker.

Run as ``celery -A celery_bundle_worker worker -Q QUEUE`` with ``CELERY_BUNDLE`` (a bundle
folder) and ``CELERY_BROKER`` (a ``redis://`` URL) set, from ``runtime/tests``. Like
llm-engine's worker it acks late, prefetches one task, accepts JSON only, does not track
STARTED (llm-engine's Celery app leaves ``task_track_started`` off), answers
``hosted_model_inference.inference.async_inference.tasks.predict`` with
``{"result": json.dumps(output)}`` (or a pickled result's ``result_url``), and lets predict's
exceptions fail the task. Used by the mixed-worker test and by ``benchmarks/redis_celery.py``.
"""

import json
import os
import tempfile
from pathlib import Path

from celery import Celery

from launch_worker.invoke import run_request
from launch_worker.loader import load_bundle

TASK_NAME = "hosted_model_inference.inference.async_inference.tasks.predict"

app = Celery("celery_bundle_worker", broker=os.environ["CELERY_BROKER"], backend=os.environ["CELERY_BROKER"])
app.conf.update(
    task_acks_late=True,
    worker_prefetch_multiplier=1,
    task_serializer="json",
    result_serializer="json",
    accept_content=["json"],
    broker_transport_options={"visibility_timeout": float(os.environ.get("CELERY_VISIBILITY_TIMEOUT", "3600"))},
)

_predict = None


def _bundle_predict():
    """Load the bundle once per worker process, as llm-engine's InferenceTask does."""
    global _predict
    if _predict is None:
        folder = Path(os.environ["CELERY_BUNDLE"])
        metadata = json.loads((folder / "bundle.json").read_text())
        paths = metadata.get("bundle_metadata") or {}
        config = metadata.get("app_config")
        _predict = load_bundle(
            packaging_type=metadata["packaging_type"],
            artifact_path=str(folder / "artifact"),
            app_config_json=None if config is None else json.dumps(config),
            load_predict_fn_module_path=paths.get("load_predict_fn_module_path"),
            load_model_fn_module_path=paths.get("load_model_fn_module_path"),
            code_dir=tempfile.mkdtemp(prefix="celery-bundle-"),
        )
    return _predict


@app.task(name=TASK_NAME)
def predict(request_params, *rest, **_ignored):
    """llm-engine's task: ``[request, return_pickled]`` or ``[request, arrival_timestamp, return_pickled]``."""
    return_pickled = rest[-1] if rest else request_params.get("return_pickled", False)
    args = request_params.get("args")
    data = Path(request_params["url"].removeprefix("file://")).read_bytes() if "url" in request_params else None
    output = run_request(_bundle_predict(), None if args is None else json.dumps(args), data, None, return_pickled)
    if isinstance(output, bytes):
        path = Path(tempfile.gettempdir()) / f"celery-result-{predict.request.id}.pkl"
        path.write_bytes(output)
        return {"result_url": path.as_uri()}
    return {"result": output}
