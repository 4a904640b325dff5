"""Scenarios run by the real scale-launch 0.3.3 client against ``launch-worker gateway``.

test_gateway.py runs this file with the Python of a venv that holds the client (and its
cloudpickle 2.x): ``python gateway_client.py SCENARIO GATEWAY_URL UPLOAD_DIR [API_KEY]``. Each
scenario prints one JSON object on its last line of stdout, which the test reads.
"""

import functools
import http.server
import json
import os
import pickle
import signal
import socket
import sys
import threading
import time
import uuid

import requests
from launch import EndpointRequest, LaunchClient
from launch.errors import APIError

ENV_PARAMS = {"framework_type": "pytorch", "pytorch_image_tag": "1.10.0-cuda11.3-cudnn8-runtime"}
DEADLINE_S = 300
HERE = os.path.dirname(os.path.abspath(__file__))


def predict(x, y, sleep=0, mark=None):
    """The cloudpickle bundle's predict; ``sleep`` makes it slow, ``mark`` names a file it adds
    ``x`` to, one line per run (to count runs)."""
    if y == "boom":
        raise ValueError("boom was asked for")
    if y == "die":
        os._exit(3)  # pylint: disable=protected-access
    time.sleep(sleep)
    if mark:
        with open(mark, "a", encoding="utf-8") as file:
            file.write(f"{x}\n")
    return {"sum": x + y}


def cuda_devices(x):
    """The GPU bundle's predict: which devices its worker was given, and which worker it is."""
    return {"devices": os.environ.get("CUDA_VISIBLE_DEVICES"), "pid": os.getpid()}


def predict_plus_100(x, y):
    """The second bundle of the edit under load: another answer for the same input."""
    return {"sum": x + y + 100}


def make_client(url, uploads, api_key="key-one"):
    """A self-hosted client whose bundles are uploaded as files under ``uploads``."""
    client = LaunchClient(api_key=api_key, endpoint=url, self_hosted=True)
    client.register_bundle_location_fn(lambda: os.path.join(uploads, str(uuid.uuid4())))

    def upload(data, location):
        with open(location, "wb") as file:
            file.write(data)

    client.register_upload_bundle_fn(upload)
    return client


def wait_for_status(endpoint, wanted):
    """Polls the endpoint until its status is one of ``wanted``; returns it."""
    deadline = time.monotonic() + DEADLINE_S
    while True:
        status = endpoint.status()
        if status in wanted:
            return status
        assert time.monotonic() < deadline, f"status stayed {status}, not {wanted}"
        time.sleep(0.2)


def api_error(call):
    """The status code of the APIError that ``call`` raises (None when it raises none)."""
    try:
        call()
    except APIError as error:
        return error.status_code
    return None


def bundles(client, uploads):
    """Bundles both ways, listing, duplicates, s3://, another key, delete."""
    client.create_model_bundle("adder", ENV_PARAMS, predict_fn_or_cls=predict, requirements=[])
    requirements = os.path.join(uploads, "requirements.txt")
    with open(requirements, "w", encoding="utf-8") as file:
        file.write("")
    client.create_model_bundle_from_dirs(
        "scaler",
        [os.path.join(HERE, "zip_code", "scaler")],
        requirements,
        ENV_PARAMS,
        "scaler.service.load_predict",
        "scaler.service.load_model",
        app_config={"factor": 10},
    )
    duplicate = api_error(
        lambda: client.create_model_bundle("adder", ENV_PARAMS, predict_fn_or_cls=predict, requirements=[])
    )
    s3 = requests.post(
        client.connection.endpoint + "/model_bundle",
        json={"packaging_type": "cloudpickle", "bundle_name": "s3", "location": "s3://bucket/key",
              "bundle_metadata": {}, "requirements": [], "env_params": ENV_PARAMS},
        auth=(client.connection.api_key, ""),
        timeout=60,
    )
    other = make_client(client.connection.endpoint, uploads, api_key="key-two")
    listed = [bundle.name for bundle in client.list_model_bundles()]
    got = client.get_model_bundle("scaler")
    other_view = ([b.name for b in other.list_model_bundles()], api_error(lambda: other.get_model_bundle("adder")))
    other_delete = api_error(lambda: other.delete_model_bundle("adder"))
    no_key = requests.get(client.connection.endpoint + "/model_bundle", timeout=60).status_code
    clone = client.clone_model_bundle_with_changes("scaler", "scaler-x100", app_config={"factor": 100})
    cloned = client.get_model_bundle("scaler-x100")
    client.delete_model_bundle("scaler-x100")
    deleted = client.delete_model_bundle("scaler")
    return {
        "listed": listed,
        "scaler": {"packaging_type": got.packaging_type, "metadata": got.metadata, "location": got.location},
        "duplicate": duplicate,
        "s3": [s3.status_code, s3.json()],
        "other_view": other_view,
        "other_delete": other_delete,
        "no_key": no_key,
        "clone": [clone.name, cloned.packaging_type, cloned.metadata == got.metadata, clone.bundle_id != got.bundle_id],
        "deleted": deleted,
        "after_delete": [bundle.name for bundle in client.list_model_bundles()],
        "get_deleted": api_error(lambda: client.get_model_bundle("scaler")),
    }


def endpoints(client, uploads):
    """A sync and an async endpoint: predict, errors, update_if_exists, logs, delete."""
    bundle = client.create_model_bundle("adder", ENV_PARAMS, predict_fn_or_cls=predict, requirements=[])
    sync = client.create_model_endpoint("sync-adder", bundle, min_workers=1, max_workers=1, per_worker=2)
    created_status = sync.status()
    ready = wait_for_status(sync, {"READY", "UPDATE_FAILED"})
    as_json = sync.predict(EndpointRequest(args={"x": 1, "y": 2}, return_pickled=False))
    pickled = sync.predict(EndpointRequest(args={"x": 3, "y": 4}))
    unpickled = pickle.loads(requests.get(pickled.result_url, timeout=60).content)
    failed = sync.predict(EndpointRequest(args={"x": 1, "y": "boom"}, return_pickled=False))

    asynchronous = client.create_model_endpoint(
        "async-adder", bundle, min_workers=0, max_workers=2, per_worker=1, endpoint_type="async"
    )
    future = asynchronous.predict(EndpointRequest(args={"x": 5, "y": 6}, return_pickled=False))
    async_json = future.get()
    pickled_future = asynchronous.predict(EndpointRequest(args={"x": 7, "y": 8}))
    async_pickled = pickled_future.get()
    async_value = pickle.loads(requests.get(async_pickled.result_url, timeout=60).content)
    by_task = client.get_async_response(pickled_future.async_task_id)
    failed_future = asynchronous.predict(EndpointRequest(args={"x": 1, "y": "boom"}, return_pickled=False)).get()

    edited = client.create_model_endpoint(
        "sync-adder", bundle, min_workers=1, max_workers=1, per_worker=3, update_if_exists=True
    )
    edited_endpoint = client.get_model_endpoint("sync-adder")
    wait_for_status(edited_endpoint, {"READY"})
    after_edit = edited_endpoint.predict(EndpointRequest(args={"x": 10, "y": 1}, return_pickled=False))
    worker_settings = edited_endpoint.worker_settings()
    listed = sorted((e.model_endpoint.name, e.model_endpoint.endpoint_type) for e in client.list_model_endpoints())
    logs = client.read_endpoint_creation_logs("sync-adder")
    invalid = {
        "min_over_max": api_error(lambda: client.create_model_endpoint("bad", bundle, min_workers=3, max_workers=1)),
        "sync_from_zero": api_error(lambda: client.create_model_endpoint("bad", bundle, min_workers=0)),
        "per_worker_zero": api_error(lambda: client.create_model_endpoint("bad", bundle, per_worker=0)),
        "unknown_bundle": api_error(lambda: client.create_model_endpoint("bad", "no-such-bundle")),
    }
    deleted = client.delete_model_endpoint("sync-adder")
    return {
        "created_status": created_status,
        "ready": ready,
        "as_json": [as_json.status, as_json.result],
        "unpickled": unpickled,
        "failed": [failed.status, failed.traceback],
        "async_json": [async_json.status, async_json.result],
        "async_value": async_value,
        "by_task": by_task["state"],
        "failed_future": [failed_future.status, failed_future.traceback],
        "edited": edited,
        "worker_settings": worker_settings,
        "after_edit": after_edit.result,
        "listed": listed,
        "logs": logs,
        "invalid": invalid,
        "deleted": deleted,
        "after_delete": client.get_model_endpoint("sync-adder"),
        "other_key_sees": make_client(client.connection.endpoint, uploads, "key-two").get_model_endpoint("async-adder"),
    }


def zip_bundle_clone_served(client, uploads):
    """A bundle from code folders, cloned with another app_config, served by a sync endpoint."""
    requirements = os.path.join(uploads, "requirements.txt")
    with open(requirements, "w", encoding="utf-8") as file:
        file.write("")
    client.create_model_bundle_from_dirs(
        "scaler", [os.path.join(HERE, "zip_code", "scaler")], requirements, ENV_PARAMS,
        "scaler.service.load_predict", "scaler.service.load_model", app_config={"factor": 10},
    )
    clone = client.clone_model_bundle_with_changes("scaler", "scaler-x100", app_config={"factor": 100})
    endpoint = client.create_model_endpoint("scaler", clone, min_workers=1, per_worker=1)
    answer = endpoint.predict(EndpointRequest(args={"values": [1, 1, 1]}, return_pickled=False))
    return {"status": answer.status, "result": answer.result, "traceback": answer.traceback}


def failed_environment(client, uploads):
    """A bundle whose requirements cannot be installed: UPDATE_FAILED, with the creation log."""
    bundle = client.create_model_bundle(
        "broken",
        {"framework_type": "custom_base_image"},
        predict_fn_or_cls=predict,
        requirements=["launch-worker-no-such-package==1.0"],
    )
    endpoint = client.create_model_endpoint("broken", bundle)
    status = wait_for_status(endpoint, {"READY", "UPDATE_FAILED"})
    sync_answer = api_error(lambda: endpoint.predict(EndpointRequest(args={"x": 1, "y": 2})))
    return {"status": status, "logs": client.read_endpoint_creation_logs("broken"), "predict": sync_answer}


def load_that_fails(model):
    """A load_predict_fn that cannot load its model."""
    raise RuntimeError("launch-worker-test: this model cannot load")


def failing_load(client, uploads):
    """A bundle that fails as it loads: its worker ends before it is ready, and the endpoint is
    UPDATE_FAILED with the worker's last lines (the error) in the creation log."""
    bundle = client.create_model_bundle(
        "fails-to-load", ENV_PARAMS, load_predict_fn=load_that_fails, model={"w": 1}, requirements=[]
    )
    endpoint = client.create_model_endpoint("fails-to-load", bundle)
    status = wait_for_status(endpoint, {"READY", "UPDATE_FAILED"})
    return {"status": status, "logs": client.read_endpoint_creation_logs("fails-to-load")}


def http_bundle_and_early_predict(client, uploads):
    """A bundle uploaded to an http:// location the gateway downloads; a sync predict sent at
    once, before the endpoint is ready, waits for it."""
    handler = functools.partial(http.server.SimpleHTTPRequestHandler, directory=uploads)
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    base = f"http://127.0.0.1:{server.server_address[1]}"
    client.register_bundle_location_fn(lambda: f"{base}/{uuid.uuid4()}")
    client.register_upload_bundle_fn(lambda data, url: open(os.path.join(uploads, url.rsplit("/", 1)[1]), "wb").write(data))
    bundle = client.create_model_bundle("downloaded", ENV_PARAMS, predict_fn_or_cls=predict, requirements=[])
    missing = requests.post(
        client.connection.endpoint + "/model_bundle",
        json={"packaging_type": "cloudpickle", "bundle_name": "missing", "location": f"{base}/no-such-file",
              "bundle_metadata": {}, "requirements": [], "env_params": ENV_PARAMS},
        auth=(client.connection.api_key, ""),
        timeout=60,
    )
    endpoint = client.create_model_endpoint("early", bundle, min_workers=1, per_worker=1)
    early = endpoint.predict(EndpointRequest(args={"x": 20, "y": 22}, return_pickled=False))
    server.shutdown()
    return {"location": client.get_model_bundle("downloaded").location, "missing": [missing.status_code, missing.json()["detail"]],
            "early": [early.status, early.result], "status": endpoint.status()}


def queue_async(client, uploads, sleep=0, mark=None, min_workers=0, max_workers=1):
    """Creates an async endpoint and queues tasks; prints their ids and the endpoint's queue
    (for the restart and broker tests)."""
    bundle = client.create_model_bundle("adder", ENV_PARAMS, predict_fn_or_cls=predict, requirements=[])
    endpoint = client.create_model_endpoint(
        "async-adder", bundle, min_workers=min_workers, max_workers=max_workers, per_worker=2, endpoint_type="async"
    )
    wait_for_status(endpoint, {"READY"})
    args = [{"x": n, "y": n, "sleep": sleep, "mark": mark} for n in range(6)]
    futures = [endpoint.predict(EndpointRequest(args=arg, return_pickled=False)) for arg in args]
    destination = client.get_model_endpoint("async-adder").model_endpoint.destination
    return {"task_ids": [future.async_task_id for future in futures], "destination": destination}


def autoscale(client, uploads):
    """An async endpoint from 0 workers: up under a queue of slow tasks, back to 0 after."""
    bundle = client.create_model_bundle("adder", ENV_PARAMS, predict_fn_or_cls=predict, requirements=[])
    endpoint = client.create_model_endpoint(
        "scaling", bundle, min_workers=0, max_workers=3, per_worker=1, endpoint_type="async"
    )
    wait_for_status(endpoint, {"READY"})
    idle = endpoint.worker_settings()
    futures = [endpoint.predict(EndpointRequest(args={"x": n, "y": 1, "sleep": 1.5})) for n in range(6)]
    most = 0
    deadline = time.monotonic() + DEADLINE_S
    while most < 2:
        settings = endpoint.worker_settings()
        most = max(most, settings["available_workers"] + settings["unavailable_workers"])
        assert time.monotonic() < deadline, f"never more than {most} worker(s)"
        time.sleep(0.1)
    answers = [future.get().status for future in futures]
    while True:
        settings = endpoint.worker_settings()
        assert min(settings["available_workers"], settings["unavailable_workers"]) >= 0, settings
        if settings["available_workers"] + settings["unavailable_workers"] == 0:
            break
        assert time.monotonic() < deadline, f"still {settings} after the load"
        time.sleep(0.2)
    return {"idle": idle, "most": most, "answers": answers, "after": settings}


def edit_under_load(client, uploads):
    """Requests keep coming while the endpoint is edited to another bundle: none fails."""
    first = client.create_model_bundle("adder", ENV_PARAMS, predict_fn_or_cls=predict, requirements=[])
    second = client.create_model_bundle("adder-100", ENV_PARAMS, predict_fn_or_cls=predict_plus_100, requirements=[])
    endpoint = client.create_model_endpoint("edited", first, min_workers=1, max_workers=1, per_worker=2)
    wait_for_status(endpoint, {"READY"})
    answers, failures, stop = [], [], threading.Event()

    def load():
        while not stop.is_set():
            try:
                response = endpoint.predict(EndpointRequest(args={"x": 1, "y": 2}, return_pickled=False))
                answers.append(response.result if response.status == "SUCCESS" else response.traceback)
            except Exception as error:  # pylint: disable=broad-except
                failures.append(repr(error))

    threads = [threading.Thread(target=load) for _ in range(3)]
    for thread in threads:
        thread.start()
    deadline = time.monotonic() + DEADLINE_S
    while len(answers) < 20 and time.monotonic() < deadline:
        time.sleep(0.05)
    client.edit_model_endpoint("edited", model_bundle=second, per_worker=3)
    # Until the new bundle has answered many times in a row (the old worker is gone).
    while answers[-30:] != [json.dumps({"sum": 103})] * 30 and not failures:
        assert time.monotonic() < deadline, f"the edit never took over: {answers[-5:]}"
        time.sleep(0.05)
    stop.set()
    for thread in threads:
        thread.join()
    return {
        "failures": failures,
        "kinds": sorted(set(answers)),
        "count": len(answers),
        "settings": endpoint.worker_settings(),
        "bundle": client.get_model_endpoint("edited").model_endpoint.bundle_name,
    }


def crashing_task(client, uploads):
    """A task that ends its worker's process each time: the worker is replaced (with pauses),
    the task ends as a FAILURE, and the tasks beside it are answered."""
    bundle = client.create_model_bundle("adder", ENV_PARAMS, predict_fn_or_cls=predict, requirements=[])
    endpoint = client.create_model_endpoint(
        "crashing", bundle, min_workers=1, max_workers=1, per_worker=1, endpoint_type="async"
    )
    wait_for_status(endpoint, {"READY"})
    dying = endpoint.predict(EndpointRequest(args={"x": 1, "y": "die"}, return_pickled=False))
    fine = endpoint.predict(EndpointRequest(args={"x": 1, "y": 2}, return_pickled=False))
    dead, answered = dying.get(), fine.get()
    return {"dead": [dead.status, dead.traceback], "fine": [answered.status, answered.result],
            "status": endpoint.status(), "settings": endpoint.worker_settings()}


def upload_csv(text, location):
    """The client's batch CSV upload: a local file."""
    with open(location, "w", encoding="utf-8") as file:
        file.write(text)


def batch_start(client, uploads, count, sleep):
    """Starts a batch job of ``count`` slow inputs; returns its id."""
    client.register_upload_batch_csv_fn(upload_csv)
    bundle = client.create_model_bundle("adder", ENV_PARAMS, predict_fn_or_cls=predict, requirements=[])
    inputs = [{"x": n, "y": 1, "sleep": sleep} for n in range(count)]
    return {"job_id": client.batch_async_request(bundle, inputs=inputs)}


def batch_wait(client, uploads, job_id):
    """Waits for a batch job to end; returns its answer and its results' ids."""
    deadline = time.monotonic() + DEADLINE_S
    while (answer := client.get_batch_async_response(job_id))["status"] in ("PENDING", "RUNNING"):
        assert time.monotonic() < deadline, f"the batch job stayed {answer}"
        time.sleep(0.2)
    results = [json.loads(line) for line in requests.get(answer["result"], timeout=60).text.splitlines()]
    return {"answer": answer, "ids": [result["id"] for result in results]}


def batch_job(client, uploads):
    """A batch job over inputs (args, one of them failing) and one over urls: to SUCCESS, its
    results read back."""

    client.register_upload_batch_csv_fn(upload_csv)
    bundle = client.create_model_bundle("adder", ENV_PARAMS, predict_fn_or_cls=predict, requirements=[])
    inputs = [{"x": n, "y": 1} for n in range(5)] + [{"x": 1, "y": "boom"}, {"x": "it's", "y": "!"}]
    job = client.batch_async_request(bundle, inputs=inputs, serialization_format="JSON", labels=None)
    deadline = time.monotonic() + DEADLINE_S
    seen = set()
    while True:
        answer = client.get_batch_async_response(job)
        seen.add(answer["status"])
        if answer["status"] not in ("PENDING", "RUNNING"):
            break
        assert time.monotonic() < deadline, f"the batch job stayed {answer}"
        time.sleep(0.2)
    results = [json.loads(line) for line in requests.get(answer["result"], timeout=60).text.splitlines()]
    other = make_client(client.connection.endpoint, uploads, "key-two")
    return {
        "answer": answer,
        "seen": sorted(seen),
        "results": sorted(([r["id"], r["status"], r.get("result")] for r in results), key=str),
        "other_key": api_error(lambda: other.get_batch_async_response(job)),
        "unknown_bundle": api_error(lambda: client.batch_async_request("no-such-bundle", inputs=inputs)),
    }


def batch_pickled(client, uploads):
    """A batch job with serialization_format PICKLE: its result_urls are the gateway's, opened
    with the key."""
    client.register_upload_batch_csv_fn(upload_csv)
    bundle = client.create_model_bundle("adder", ENV_PARAMS, predict_fn_or_cls=predict, requirements=[])
    job = client.batch_async_request(bundle, inputs=[{"x": n, "y": 10} for n in range(3)], serialization_format="PICKLE")
    answer = batch_wait(client, uploads, job)["answer"]
    results = [json.loads(line) for line in requests.get(answer["result"], timeout=60).text.splitlines()]
    key = (client.connection.api_key, "")
    values = {r["id"]: pickle.loads(requests.get(r["result_url"], auth=key, timeout=60).content) for r in results}
    url = results[0]["result_url"]
    return {
        "status": answer["status"],
        "urls": [r["result_url"] for r in results],
        "values": values,
        "without_key": requests.get(url, timeout=60).status_code,
        "other_key": requests.get(url, auth=("key-two", ""), timeout=60).status_code,
    }


def batch_cancel(client, uploads):
    """A batch job cancelled through the client's connection (llm-engine's cancel on this API's
    path) once it finished an input: CANCELLED, its results kept."""
    job = batch_start(client, uploads, count=40, sleep=0.3)["job_id"]
    deadline = time.monotonic() + DEADLINE_S
    while client.get_batch_async_response(job)["num_tasks_completed"] < 1:
        assert time.monotonic() < deadline, "the batch job never finished an input"
        time.sleep(0.1)
    cancelled = client.connection.put({"cancel": True}, f"batch_job/{job}")
    answer = batch_wait(client, uploads, job)
    again = client.connection.put({"cancel": True}, f"batch_job/{job}")
    return {"job_id": job, "cancelled": cancelled, "again": again, **answer}


def batch_timeout(client, uploads):
    """A batch job given timeout_seconds (by an auth decorator: the 0.3.3 client has no option
    for it) that runs longer: TIMEOUT."""
    client.register_endpoint_auth_decorator(lambda payload: {**payload, "timeout_seconds": 2})
    job = batch_start(client, uploads, count=40, sleep=0.3)["job_id"]
    return {"job_id": job, **batch_wait(client, uploads, job)}


def results_to_expire(client, uploads):
    """An async endpoint's answers, one pickled: their task ids and the pickle's URL."""
    bundle = client.create_model_bundle("adder", ENV_PARAMS, predict_fn_or_cls=predict, requirements=[])
    endpoint = client.create_model_endpoint(
        "async-adder", bundle, min_workers=1, max_workers=1, per_worker=1, endpoint_type="async"
    )
    wait_for_status(endpoint, {"READY"})
    as_json = endpoint.predict(EndpointRequest(args={"x": 1, "y": 2}, return_pickled=False))
    pickled = endpoint.predict(EndpointRequest(args={"x": 3, "y": 4}))
    url = pickled.get().result_url
    return {"task_ids": [as_json.async_task_id, pickled.async_task_id], "result": as_json.get().result,
            "url": url, "value": pickle.loads(requests.get(url, timeout=60).content)}


def gpu_endpoints(client, uploads):
    """On a host with 3 GPUs: 2 workers of gpus=1 get one each; an endpoint then asking for 2
    fails, saying why; once the first is deleted, an edit of the second gets its 2."""
    bundle = client.create_model_bundle("whoami", ENV_PARAMS, predict_fn_or_cls=cuda_devices, requirements=[])
    endpoint = client.create_model_endpoint(
        "on-gpus", bundle, gpus=1, gpu_type="nvidia-ampere-a10", min_workers=2, max_workers=2, per_worker=1
    )
    status = wait_for_status(endpoint, {"READY", "UPDATE_FAILED"})
    seen = {}
    deadline = time.monotonic() + DEADLINE_S
    while status == "READY" and len(seen) < 2:
        answer = json.loads(endpoint.predict(EndpointRequest(args={"x": 1}, return_pickled=False)).result)
        seen[answer["pid"]] = answer["devices"]
        assert time.monotonic() < deadline, f"only {seen} answered"
    too_many = client.create_model_endpoint("too-many", bundle, gpus=2, gpu_type="nvidia-ampere-a10", min_workers=1)
    failed = wait_for_status(too_many, {"READY", "UPDATE_FAILED"})
    logs = client.read_endpoint_creation_logs("too-many")
    client.delete_model_endpoint("on-gpus")
    client.edit_model_endpoint("too-many", per_worker=2)
    wait_for_status(too_many, {"UPDATE_PENDING", "UPDATE_IN_PROGRESS", "READY"})
    after = wait_for_status(too_many, {"READY", "UPDATE_FAILED"})
    answer = json.loads(too_many.predict(EndpointRequest(args={"x": 1}, return_pickled=False)).result)
    return {"status": status, "devices": sorted(seen.values()), "failed": failed, "logs": logs, "after": after,
            "after_devices": answer["devices"]}


def sync_pair(client, uploads):
    """A sync endpoint with two workers, READY."""
    bundle = client.create_model_bundle("adder", ENV_PARAMS, predict_fn_or_cls=predict, requirements=[])
    endpoint = client.create_model_endpoint("pair", bundle, min_workers=2, max_workers=2, per_worker=1)
    return {"status": wait_for_status(endpoint, {"READY", "UPDATE_FAILED"})}


def sync_predicts(client, uploads, count, kill=None, socket_path=None):
    """``count`` sync predicts one after the other, right after killing the process ``kill``
    (a worker) and seeing its socket at ``socket_path`` refuse connections, before the
    gateway's next look at its workers: their answers, or the errors raised."""
    endpoint = client.get_model_endpoint("pair")
    if kill:
        os.kill(kill, signal.SIGKILL)
        while True:
            with socket.socket(socket.AF_UNIX) as probe:
                try:
                    probe.connect(socket_path)
                except ConnectionRefusedError:
                    break
    answers = []
    for n in range(count):
        try:
            answers.append(endpoint.predict(EndpointRequest(args={"x": n, "y": 1}, return_pickled=False)).result)
        except APIError as error:
            answers.append(f"APIError {error.status_code}: {error}")
    return {"answers": answers}


def collect_async(client, uploads, task_ids):
    """Waits for the tasks queued before a restart; returns their answers."""
    answers = {}
    deadline = time.monotonic() + DEADLINE_S
    for task_id in task_ids:
        while True:
            answer = client.get_async_response(task_id)
            if answer["state"] != "PENDING":
                answers[task_id] = answer
                break
            assert time.monotonic() < deadline, f"task {task_id} stayed PENDING"
            time.sleep(0.2)
    return {"answers": answers, "status": client.get_model_endpoint("async-adder").status()}


if __name__ == "__main__":
    scenario, gateway, upload_dir = sys.argv[1:4]
    extra = json.loads(sys.argv[4]) if len(sys.argv) > 4 else {}
    outcome = globals()[scenario](make_client(gateway, upload_dir), upload_dir, **extra)
    print(json.dumps(outcome, default=str))
