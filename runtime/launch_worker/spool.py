"""SpoolClient: the producer side of a spool queue (see docs/spool-protocol.md).

A producer queues a task by writing its request to ``tmp/``, making it durable and renaming
it to ``incoming/<task_id>.json``; a ``launch-worker serve --queue spool:DIR`` worker
answers it in ``responses/<task_id>.json``. The client only reads the workers' folders.
"""

import json
import os
import re
import tempfile
import time
import urllib.parse
import uuid
from pathlib import Path
from typing import Any

import cloudpickle

INCOMING = "incoming"
RESPONSES = "responses"
DEAD = "dead"
TMP = "tmp"
CLAIMED = "claimed"

PENDING = "PENDING"
STARTED = "STARTED"
SUCCESS = "SUCCESS"
FAILURE = "FAILURE"
UNDEFINED = "UNDEFINED"
FINISHED = (SUCCESS, FAILURE)

_TASK_ID = re.compile(r"[A-Za-z0-9._-]{1,200}")
_INPUTS = ("args", "url", "cloudpickle")
# How long wait() gives a task it cannot find before calling it unknown: a worker's rename
# (a release, a recovery) may be in flight while the task is looked up.
_UNDEFINED_GRACE = 0.1


class UnknownTaskError(KeyError):
    """A task id that the spool does not know: never queued, or its files were removed.

    A ``KeyError``, so ``except KeyError`` catches it; its message reads as plain text.
    """

    def __str__(self) -> str:
        """The message, without the quotes that ``KeyError`` adds."""
        return str(self.args[0]) if self.args else ""


class TaskFailed(RuntimeError):
    """A task's response is ``FAILURE``; ``traceback`` holds the worker's traceback text."""

    def __init__(self, task_id: str, traceback: str) -> None:
        """Make the error for task ``task_id`` with the response's ``traceback``."""
        super().__init__(f"task {task_id!r} failed:\n{traceback}")
        self.task_id = task_id
        self.traceback = traceback


class SpoolClient:
    """Queues tasks in a spool folder and reads their state and responses.

    Any number of clients and workers may share a spool: every step is a rename inside
    the spool, so a file is always whole. The client writes files only in ``tmp/`` and
    ``incoming/``.
    """

    def __init__(self, spool_dir: str | os.PathLike) -> None:
        """Use the spool at ``spool_dir``, making its fixed folders if they are missing."""
        self.root = Path(spool_dir)
        for name in (INCOMING, RESPONSES, DEAD, TMP):
            (self.root / name).mkdir(parents=True, exist_ok=True)

    def submit(
        self,
        args: dict[str, Any] | None = None,
        *,
        url: str | os.PathLike | None = None,
        cloudpickle: str | os.PathLike | None = None,
        return_pickled: bool = False,
        callback_url: str | None = None,
        task_id: str | None = None,
    ) -> str:
        """Queue one task and return its id.

        Give exactly one input: ``args`` (predict's keyword arguments), ``url`` (a local
        path or ``file://`` URL whose bytes predict gets) or ``cloudpickle`` (a path or
        ``file://`` URL of a cloudpickled ``{"args": [...], "kwargs": {...}}``). The
        worker reads that file, so give an absolute path: a relative one is taken from
        the worker's current folder.
        ``task_id`` defaults to a random hex id.

        Raises:
            ValueError: the request or the task id is invalid, or the id is already in
                use (answered, queued or running).
            OSError: the request cannot be written.
        """
        request: dict[str, Any] = {}
        for name, value in (("args", args), ("url", url), ("cloudpickle", cloudpickle)):
            if value is not None:
                request[name] = os.fspath(value) if isinstance(value, os.PathLike) else value
        request["return_pickled"] = return_pickled
        if callback_url is not None:
            request["callback_url"] = callback_url
        return self.submit_request(request, task_id)

    def submit_request(self, request: dict[str, Any], task_id: str | None = None) -> str:
        """Queue a whole request body (as in the bundle contract) and return the task id.

        The body is checked as :meth:`submit` checks its parameters; members other than
        ``args``, ``url``, ``cloudpickle``, ``return_pickled`` and ``callback_url`` are
        passed on, and the worker ignores them.

        Raises:
            ValueError: the request or the task id is invalid, or the id is already in use.
            OSError: the request cannot be written.
        """
        body = _encoded_request(request)
        task_id = uuid.uuid4().hex if task_id is None else task_id
        _check_task_id(task_id)
        if (self.root / DEAD / f"{task_id}.json").exists():
            state = "dead"
        else:
            state = self.get(task_id)["status"]
        if state != UNDEFINED:
            raise ValueError(
                f"task id {task_id!r} is already in use in {self.root} (it is {state}); "
                "give another task_id, or leave it out for a random one"
            )
        self._queue(task_id, body)
        return task_id

    def get(self, task_id: str) -> dict[str, Any]:
        """The task's response, or ``{"task_id": ..., "status": ...}`` while it has none.

        The response (``status`` ``SUCCESS`` or ``FAILURE``) is ``responses/<id>.json``
        as the worker wrote it. Without one, the status is ``STARTED`` (a worker claimed
        it), ``PENDING`` (queued) or ``UNDEFINED`` (unknown to this spool).

        Raises:
            ValueError: ``task_id`` is not a valid task id, or its response is not JSON.
        """
        _check_task_id(task_id)
        response = self._response(task_id)
        if response is not None:
            return response
        if self._claimed(task_id):
            status = STARTED
        elif (self.root / INCOMING / f"{task_id}.json").exists():
            status = PENDING
        elif self._claimed(task_id):
            # Claimed while we looked at incoming/: looking again makes a task that only
            # moves forward (queued, claimed, answered) always found.
            status = STARTED
        else:
            # It may have been answered while we looked.
            return self._response(task_id) or {"task_id": task_id, "status": UNDEFINED}
        return {"task_id": task_id, "status": status}

    def wait(
        self, task_id: str, timeout: float | None = None, poll_interval: float = 0.01
    ) -> dict[str, Any]:
        """Poll :meth:`get` until the task is answered and return its response.

        Args:
            task_id: the task to wait for.
            timeout: the most seconds to wait; None waits as long as it takes.
            poll_interval: seconds between looks.

        Raises:
            TimeoutError: the task was not answered within ``timeout``; the message names
                the task and its last status.
            UnknownTaskError: (a ``KeyError``) the task is ``UNDEFINED``, and still is when
                looked up once more 0.1 s later (a worker's rename may have been in
                flight); that one look may run past ``timeout``.
            ValueError: ``task_id`` is not a valid task id.
        """
        deadline = None if timeout is None else time.monotonic() + timeout
        unknown = False
        while True:
            response = self.get(task_id)
            status = response["status"]
            if status in FINISHED:
                return response
            if status == UNDEFINED:
                if unknown:
                    raise UnknownTaskError(
                        f"task {task_id!r} is unknown to the spool {self.root}: it is not "
                        "queued, running or answered (never submitted, or its files were "
                        "removed)"
                    )
                unknown = True
                time.sleep(_UNDEFINED_GRACE)
                continue
            unknown = False
            pause = poll_interval
            if deadline is not None:
                left = deadline - time.monotonic()
                if left <= 0:
                    raise TimeoutError(
                        f"task {task_id!r} was not answered within {timeout} s "
                        f"(its last status: {status})"
                    )
                pause = min(pause, left)
            time.sleep(pause)

    @staticmethod
    def result(response: dict[str, Any]) -> Any:
        """The output of predict held by a ``SUCCESS`` response.

        A JSON result is decoded; a pickled one is loaded with cloudpickle from the file
        its ``result_url`` names.

        Raises:
            TaskFailed: the response is ``FAILURE``; the error carries its traceback.
            ValueError: the response is not answered yet, holds no result, or its
                ``result_url`` is not a local ``file://`` URL.
            OSError: the pickled result's file cannot be read.
        """
        status = response.get("status")
        task_id = response.get("task_id")
        if status == FAILURE:
            raise TaskFailed(task_id, response.get("traceback") or "(no traceback)")
        if status != SUCCESS:
            raise ValueError(
                f"task {task_id!r} has no result yet (its status is {status}); "
                "wait for it with SpoolClient.wait"
            )
        if "result" in response:
            return json.loads(response["result"])
        if "result_url" in response:
            with open(_local_path(response["result_url"]), "rb") as file:
                return cloudpickle.load(file)
        raise ValueError(
            f"the SUCCESS response of task {task_id!r} has neither 'result' nor 'result_url'"
        )

    def _queue(self, task_id: str, body: bytes) -> None:
        """Write the body durably to ``tmp/`` and link it to ``incoming/<task_id>.json``.

        ``link`` (unlike ``rename``) refuses to replace a file, so two producers racing on one
        task id cannot silently overwrite each other: the second gets ``FileExistsError``.
        """
        incoming = self.root / INCOMING
        descriptor, temporary = tempfile.mkstemp(
            dir=self.root / TMP, prefix=f"{task_id}.", suffix=".json"
        )
        try:
            with os.fdopen(descriptor, "wb") as file:
                file.write(body)
                file.flush()
                os.fsync(file.fileno())
            os.chmod(temporary, 0o644)
            os.link(temporary, incoming / f"{task_id}.json")
        finally:
            os.unlink(temporary)
        _fsync_folder(incoming)

    def _response(self, task_id: str) -> dict[str, Any] | None:
        """The parsed ``responses/<task_id>.json``, or None when there is none."""
        path = self.root / RESPONSES / f"{task_id}.json"
        try:
            text = path.read_bytes()
        except FileNotFoundError:
            return None
        try:
            return json.loads(text)
        except ValueError as err:
            raise ValueError(f"the response {path} is not valid JSON ({err})") from None

    def _claimed(self, task_id: str) -> bool:
        """Whether any worker holds ``claimed/<worker_id>/<task_id>.json``."""
        try:
            owners = os.listdir(self.root / CLAIMED)
        except FileNotFoundError:
            return False
        name = f"{task_id}.json"
        return any((self.root / CLAIMED / owner / name).exists() for owner in owners)


def _check_task_id(task_id: Any) -> None:
    """Raise ValueError unless task_id is 1-200 of ``A-Za-z0-9._-``, not starting with ``.``."""
    if (
        not isinstance(task_id, str)
        or not _TASK_ID.fullmatch(task_id)
        or task_id.startswith(".")
    ):
        raise ValueError(
            f"invalid task id {task_id!r}: use 1 to 200 characters of A-Z a-z 0-9 . _ -, "
            "not starting with '.'"
        )


def _encoded_request(request: Any) -> bytes:
    """Check a request body as the worker will, and return it as JSON bytes."""
    if not isinstance(request, dict):
        raise ValueError(
            f"the request must be a dict with one of 'args', 'url' or 'cloudpickle', "
            f"not a {type(request).__name__}"
        )
    inputs = [name for name in _INPUTS if request.get(name) is not None]
    if len(inputs) != 1:
        given = " and ".join(repr(name) for name in inputs) or "none of them"
        raise ValueError(
            f"give exactly one of 'args', 'url' and 'cloudpickle' (the request has {given})"
        )
    name = inputs[0]
    value = request[name]
    if name == "args":
        if not isinstance(value, dict):
            raise ValueError(
                "args must be a dict whose keys are the names of predict's parameters, "
                f"not a {type(value).__name__}"
            )
        if not all(isinstance(key, str) for key in value):
            raise ValueError("args must have only string keys: the names of predict's parameters")
    elif not isinstance(value, str) or not value:
        raise ValueError(f"{name} must be a non-empty string: a local path or a file:// URL")
    if request.get("return_pickled") is not None and not isinstance(
        request["return_pickled"], bool
    ):
        raise ValueError(
            f"return_pickled must be True or False, not {request['return_pickled']!r}"
        )
    if request.get("callback_url") is not None and not isinstance(request["callback_url"], str):
        raise ValueError(
            f"callback_url must be a string, not a {type(request['callback_url']).__name__}"
        )
    try:
        return json.dumps(request, allow_nan=False).encode()
    except (TypeError, ValueError) as err:
        raise ValueError(
            f"the request must hold only JSON values (strings, finite numbers, booleans, "
            f"None, lists, dicts with string keys): {err}"
        ) from None


def _local_path(result_url: str) -> str:
    """The path of a ``file://`` URL on this machine."""
    url = urllib.parse.urlparse(result_url)
    if url.scheme != "file" or url.netloc not in ("", "localhost"):
        raise ValueError(
            f"result_url {result_url!r} is not a file:// URL on this machine; "
            "read the result where the worker wrote it"
        )
    return urllib.parse.unquote(url.path)


def _fsync_folder(folder: Path) -> None:
    """Make a folder's entries (a rename into it) durable."""
    descriptor = os.open(folder, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(descriptor)
    finally:
        os.close(descriptor)
