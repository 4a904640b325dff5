"""Running one request against a loaded predict callable (bundle contract, sections 3-4)."""

import json
import threading
import traceback
from collections.abc import Callable
from json import encoder as _json_encoder
from typing import Any

import cloudpickle

# What `json.loads` and `json.dumps` run for one value, taken once (see _decode_args and
# _json_text): the two functions rebuild their decoder's and encoder's plumbing on every call,
# which for a small request cost more than the predict.
_scan_json = json.JSONDecoder().scan_once
_encode_json_str = _json_encoder.encode_basestring_ascii
_per_thread = threading.local()


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
        args = _decode_args(args_json)
        if not isinstance(args, dict):
            raise TypeError(
                f"the request's args is a JSON {type(args).__name__}; it must be an object "
                "whose keys are the names of predict's parameters"
            )
        output = predict(**args)
    if return_pickled:
        return cloudpickle.dumps(output)
    try:
        markers, encode = _per_thread.json_encoder
    except AttributeError:
        markers = {}
        encode = _make_json_encoder(markers)
        _per_thread.json_encoder = (markers, encode)
    return _json_text(output, markers, encode)


def run_args_chunk(predict: Callable[..., Any], args_texts: list[str]) -> tuple[list[str], list[int]]:
    """Call ``predict(**args)`` for each JSON object in ``args_texts`` and serialise each output
    as ``json.dumps`` does: what ``run_request(predict, text, None, None, False)`` gives for each,
    in one call for many inputs (``launch-worker batch``), so that the worker takes the GIL once
    per chunk rather than once per input.

    Each text must be a valid JSON object (the worker checked it), decoded and encoded as
    ``run_request`` does, so the results are the same text.

    Returns the results in order, and the positions whose result is a failure: there the text is
    the formatted traceback (as the worker formats any exception a predict raises, and
    ``ResultNotJSONSerializable`` for an output JSON cannot encode).
    """
    results: list[str] = []
    failed: list[int] = []
    # This call's own encoder, and _json_text's work written out: no lookup or call more for
    # each of a chunk's inputs than the encoding needs.
    markers: dict[int, Any] = {}
    encode = _make_json_encoder(markers)
    for position, text in enumerate(args_texts):
        try:
            output = predict(**_scan_json(text, 0)[0])
            try:
                if isinstance(output, str):
                    results.append(_encode_json_str(output))
                else:
                    results.append("".join(encode(output, 0)))
            except (TypeError, ValueError) as err:
                markers.clear()  # an encoding that failed half way leaves its containers there
                raise _not_serializable(output, err) from None
        except BaseException as err:  # noqa: BLE001 - each input's failure is its own answer
            results.append("".join(traceback.format_exception(err)))
            failed.append(position)
    return results, failed


def _decode_args(text: str) -> Any:
    """``json.loads(text)``: by the scanner it ends in when ``text`` is one JSON value and
    nothing else (as the worker passes it), else by ``json.loads`` itself, errors included."""
    try:
        value, end = _scan_json(text, 0)
    except (StopIteration, ValueError):
        end = -1
    return value if end == len(text) else json.loads(text)


def _json_text(output: Any, markers: dict[int, Any], encode: Callable[[Any, int], Any]) -> str:
    """``json.dumps(output)``, by ``encode``, the C encoder ``json.dumps`` builds for each call
    (``_make_json_encoder``), kept by its caller: ``run_request`` keeps one per thread, as its
    record of the containers being encoded (``markers``, which finds cycles) must not be shared
    by two threads, whose encodings can interleave when one calls back into Python.

    Raises:
        ResultNotJSONSerializable: JSON cannot encode ``output``.
    """
    try:
        if isinstance(output, str):
            return _encode_json_str(output)
        return "".join(encode(output, 0))
    except (TypeError, ValueError) as err:
        markers.clear()  # an encoding that failed half way leaves its containers there
        raise _not_serializable(output, err) from None


def _not_serializable(output: Any, err: Exception) -> ResultNotJSONSerializable:
    """The error for an ``output`` that JSON cannot encode, saying what to ask for instead."""
    return ResultNotJSONSerializable(
        f"the output of predict (type {type(output).__name__}) cannot be encoded as "
        f"JSON: {err}; ask for a pickled result instead (return_pickled / --return-pickled)"
    )


def _make_json_encoder(markers: dict[int, Any]) -> Callable[[Any, int], Any]:
    """The C encoder that ``json.dumps(output)`` (every option at its default) builds and calls."""
    default = json.JSONEncoder()
    return _json_encoder.c_make_encoder(
        markers,
        default.default,
        _encode_json_str,
        default.indent,
        default.key_separator,
        default.item_separator,
        default.sort_keys,
        default.skipkeys,
        default.allow_nan,
    )


def _call_with_pickled_inputs(predict: Callable[..., Any], call_pickle: bytes) -> Any:
    """Unpickle ``{"args": [...], "kwargs": {...}}`` and call predict with it."""
    inputs = cloudpickle.loads(call_pickle)
    if not isinstance(inputs, dict) or not {"args", "kwargs"} <= inputs.keys():
        raise ValueError(
            "the request's cloudpickle input must unpickle to a dict with the keys 'args' "
            f"and 'kwargs' (it unpickled to a {type(inputs).__name__})"
        )
    return predict(*inputs["args"], **inputs["kwargs"])
