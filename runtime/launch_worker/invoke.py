"""Running one request against a loaded predict callable (bundle contract, sections 3-4)."""

import json
from collections.abc import Callable
from typing import Any

import cloudpickle


class ResultNotJSONSerializable(TypeError):
    """The output of predict cannot be encoded as JSON, and a JSON result was asked for."""


class TaskTimedOut(BaseException):
    """Raised inside a predict that ran past the worker's ``--task-timeout``.

    The Swift worker raises it in the request's thread with ``PyThreadState_SetAsyncExc``,
    so it arrives at the next bytecode the predict runs (a long C call is not interrupted).
    It is a ``BaseException``, not an ``Exception``, so that ``except Exception`` in bundle
    code does not swallow it.
    """


def run_request(
    predict: Callable[..., Any],
    args_json: str | None,
    data: bytes | None,
    call_pickle: bytes | None,
    return_pickled: bool,
) -> str | bytes:
    """Call predict for one request and serialise its output.

    Exactly one of the inputs is given:

    - ``args_json``: a JSON object of keyword arguments: ``predict(**args)``;
    - ``data``: the bytes read from the request's ``url``: ``predict(data)``;
    - ``call_pickle``: a cloudpickled ``{"args": [...], "kwargs": {...}}``:
      ``predict(*args, **kwargs)``; its result is always pickled.

    Returns ``cloudpickle.dumps(output)`` (bytes) when the result is pickled, else
    ``json.dumps(output)`` (str).

    Raises:
        ValueError: not exactly one input was given, or ``call_pickle`` holds no
            ``{"args", "kwargs"}`` dict.
        TypeError: ``args_json`` is not a JSON object.
        ResultNotJSONSerializable: a JSON result was asked for and JSON cannot encode it.
        Any exception raised by predict, unchanged.
    """
    if (args_json is not None) + (data is not None) + (call_pickle is not None) != 1:
        raise ValueError("run_request needs exactly one of args_json, data and call_pickle")
    if call_pickle is not None:
        return cloudpickle.dumps(_call_with_pickled_inputs(predict, call_pickle))
    if data is not None:
        output = predict(data)
    else:
        args = json.loads(args_json)
        if not isinstance(args, dict):
            raise TypeError(
                f"the request's args is a JSON {type(args).__name__}; it must be an object "
                "whose keys are the names of predict's parameters"
            )
        output = predict(**args)
    if return_pickled:
        return cloudpickle.dumps(output)
    try:
        return json.dumps(output)
    except (TypeError, ValueError) as err:
        raise ResultNotJSONSerializable(
            f"the output of predict (type {type(output).__name__}) cannot be encoded as "
            f"JSON: {err}; ask for a pickled result instead (return_pickled / --return-pickled)"
        ) from None


def _call_with_pickled_inputs(predict: Callable[..., Any], call_pickle: bytes) -> Any:
    """Unpickle ``{"args": [...], "kwargs": {...}}`` and call predict with it."""
    inputs = cloudpickle.loads(call_pickle)
    if not isinstance(inputs, dict) or not {"args", "kwargs"} <= inputs.keys():
        raise ValueError(
            "the request's cloudpickle input must unpickle to a dict with the keys 'args' "
            f"and 'kwargs' (it unpickled to a {type(inputs).__name__})"
        )
    return predict(*inputs["args"], **inputs["kwargs"])
