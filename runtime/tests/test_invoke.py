"""run_request: the three input kinds, pickled and JSON results, and their errors."""

import inspect
import json
import threading

import cloudpickle
import pytest

import bundle_code
import launch_worker
from launch_worker import ResultNotJSONSerializable, TaskTimedOut
from launch_worker.invoke import run_args_chunk, run_request


def test_args_call_predict_with_keywords():
    result = run_request(bundle_code.add, '{"x": 2, "y": 3}', None, None, False)
    assert isinstance(result, str)
    assert json.loads(result) == {"sum": 5}


def test_args_with_a_pickled_result():
    result = run_request(bundle_code.add, '{"x": 2, "y": 3}', None, None, True)
    assert isinstance(result, bytes)
    assert cloudpickle.loads(result) == {"sum": 5}


def test_data_is_the_single_positional_argument():
    result = run_request(bundle_code.describe_bytes, None, b"\x00\xffabc", None, False)
    assert json.loads(result) == {"type": "bytes", "length": 5}


@pytest.mark.parametrize("return_pickled", [False, True])
def test_cloudpickle_input_always_gives_a_pickled_result(return_pickled):
    call = cloudpickle.dumps({"args": [1, {2, 3}], "kwargs": {"k": b"v"}})
    result = run_request(bundle_code.echo_call, None, None, call, return_pickled)
    assert cloudpickle.loads(result) == {"args": (1, {2, 3}), "kwargs": {"k": b"v"}}


def test_output_json_cannot_encode():
    with pytest.raises(ResultNotJSONSerializable) as caught:
        run_request(bundle_code.as_set, '{"x": 1}', None, None, False)
    error = caught.value
    assert isinstance(error, TypeError)
    assert str(error).startswith("the output of predict (type set) cannot be encoded as JSON: ")
    assert "ask for a pickled result instead (return_pickled / --return-pickled)" in str(error)
    assert error.__suppress_context__ and error.__cause__ is None


def test_output_json_cannot_encode_is_fine_pickled():
    result = run_request(bundle_code.as_set, '{"x": 1}', None, None, True)
    assert cloudpickle.loads(result) == {1}


@pytest.mark.parametrize(
    ("args_json", "data", "call_pickle"),
    [(None, None, None), ('{"x": 1}', b"data", None), ('{"x": 1}', None, b"pickle")],
)
def test_exactly_one_input(args_json, data, call_pickle):
    with pytest.raises(ValueError, match="exactly one of args_json, data and call_pickle"):
        run_request(bundle_code.add, args_json, data, call_pickle, False)


def test_args_must_be_a_json_object():
    with pytest.raises(TypeError, match="args is a JSON list; it must be an object"):
        run_request(bundle_code.add, "[1, 2]", None, None, False)


def test_cloudpickle_input_must_hold_args_and_kwargs():
    with pytest.raises(ValueError, match="keys 'args' and 'kwargs' \\(it unpickled to a dict\\)"):
        run_request(bundle_code.add, None, None, cloudpickle.dumps({"args": [1, 2]}), False)


def test_predict_errors_reach_the_caller():
    with pytest.raises(ValueError, match="bad input: 7"):
        run_request(bundle_code.fail, '{"x": 7}', None, None, False)


def test_run_request_signature_is_the_swift_interface():
    assert list(inspect.signature(run_request).parameters) == [
        "predict",
        "args_json",
        "data",
        "call_pickle",
        "return_pickled",
    ]


def test_task_timed_out_gets_past_except_exception():
    # The Swift worker looks it up as launch_worker.invoke.TaskTimedOut.
    assert launch_worker.invoke.TaskTimedOut is TaskTimedOut
    assert issubclass(TaskTimedOut, BaseException)
    assert not issubclass(TaskTimedOut, Exception)

    def predict():
        try:
            raise TaskTimedOut("timed out after 1 s")
        except Exception:
            return {"swallowed": True}

    with pytest.raises(TaskTimedOut, match="timed out after 1 s"):
        run_request(predict, "{}", None, None, False)


_OUTPUTS = [1, "h\u00e9llo\u2028\"x", 1.5, 1e16, float("nan"), float("-inf"), None, True, [1, {"a": [2.5, None]}],
            {"b": 1, 2: 3, None: 4, 1.5: 5, True: 6}, (1, 2), 10**30, "", {"\U0001f600": "\U0001f600"}]


def _output_number(i):
    return _OUTPUTS[i]


def test_results_are_what_json_dumps_gives_one_by_one_and_in_chunks():
    texts = [json.dumps({"i": i}) for i in range(len(_OUTPUTS))]
    results, failed = run_args_chunk(_output_number, texts)
    assert failed == []
    assert results == [json.dumps(output) for output in _OUTPUTS]
    assert [run_request(_output_number, text, None, None, False) for text in texts] == results


def test_args_text_is_read_as_json_loads_reads_it():
    assert run_request(bundle_code.add, ' \n{"x": 2, "y": 3}\t', None, None, False) == '{"sum": 5}'
    with pytest.raises(json.JSONDecodeError, match="Extra data"):
        run_request(bundle_code.add, '{"x": 2, "y": 3} {}', None, None, False)
    with pytest.raises(json.JSONDecodeError, match="Expecting value"):
        run_request(bundle_code.add, '{"x": ', None, None, False)
    with pytest.raises(json.JSONDecodeError, match="Expecting value"):
        run_request(bundle_code.add, "", None, None, False)


def test_an_encoding_that_failed_half_way_leaves_the_next_whole():
    circular = []
    circular.append(circular)
    shared = [1]
    with pytest.raises(ResultNotJSONSerializable, match="Circular reference detected"):
        run_request(lambda: [shared, circular], "{}", None, None, False)
    assert run_request(lambda: [shared, shared], "{}", None, None, False) == "[[1], [1]]"


def test_threads_encoding_the_same_object_at_once_do_not_see_a_cycle():
    # Thread a is inside the encoding of `shared` (a dict subclass's items() is called back)
    # while thread b encodes `shared` whole: with one record of the containers being encoded
    # for both, b would find `shared` in it and call that a circular reference.
    a_inside, b_done = threading.Event(), threading.Event()
    a_thread = []

    class Slow(dict):
        def items(self):
            if threading.current_thread() in a_thread:
                a_inside.set()
                assert b_done.wait(60), "thread b did not finish"
            return super().items()

    shared = [Slow(k=1)]
    answers = {}

    def run(name):
        answers[name] = run_request(lambda: shared, "{}", None, None, False)

    a = threading.Thread(target=run, args=("a",))
    a_thread.append(a)
    a.start()
    assert a_inside.wait(60), "thread a did not start encoding"
    run("b")
    b_done.set()
    a.join(60)
    assert answers == {"a": '[{"k": 1}]', "b": '[{"k": 1}]'}


def test_run_args_chunk_answers_each_failure_with_its_traceback_and_goes_on():
    circular = []
    circular.append(circular)

    def predict(x):
        if x == 3:
            return 1 // 0
        return [{1}, circular, x, None, x][x]

    results, failed = run_args_chunk(predict, [json.dumps({"x": x}) for x in range(5)] + ['{"y": 1}'])
    assert failed == [0, 1, 3, 5]
    assert "ResultNotJSONSerializable: the output of predict (type set)" in results[0]
    assert "Circular reference detected" in results[1]
    assert results[2] == "2"
    assert results[3].startswith("Traceback (most recent call last):")
    assert results[3].rstrip().endswith("ZeroDivisionError: integer division or modulo by zero")
    assert results[4] == "4"
    assert "TypeError" in results[5] and "'y'" in results[5]
