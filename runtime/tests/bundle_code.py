"""Bundle code for the tests, pickled by value (conftest registers this module).

Like a Launch user's notebook functions, these end up inside the artifacts, so the
artifacts load where this module cannot be imported.
"""

import time


def add(x, y):
    """predict_fn_or_cls: the sum of two numbers."""
    return {"sum": x + y}


def describe_bytes(data):
    """predict_fn_or_cls for url inputs: the type and length of what it was given."""
    return {"type": type(data).__name__, "length": len(data)}


def echo_call(*args, **kwargs):
    """predict_fn_or_cls for cloudpickle inputs: what it was called with."""
    return {"args": args, "kwargs": kwargs}


def as_set(x):
    """predict_fn_or_cls whose output JSON cannot encode."""
    return {x}


def fail(x):
    """predict_fn_or_cls that always raises."""
    raise ValueError(f"bad input: {x}")


def sleep_for(seconds):
    """predict_fn_or_cls that sleeps."""
    time.sleep(seconds)
    return {"slept": seconds}


class Greeter:
    """A callable class whose instances are configured by init(config)."""

    def __init__(self):
        """Start unconfigured."""
        self.config = "never initialised"
        self.init_calls = 0

    def init(self, config):
        """Keep the config and count the calls."""
        self.config = config
        self.init_calls += 1

    def __call__(self, name):
        """Greet name with the config's greeting ("Hi" without config)."""
        greeting = "Hi" if self.config is None else self.config["greeting"]
        return {
            "greeting": f"{greeting}, {name}",
            "config": self.config,
            "init_calls": self.init_calls,
        }


class CountedGreeter(Greeter):
    """A class the loader must instantiate itself, exactly once."""

    instances = 0

    def __init__(self):
        """Count the instances."""
        super().__init__()
        type(self).instances += 1

    def __call__(self, name):
        """Report how the class was loaded."""
        return {**super().__call__(name), "instances": type(self).instances}


class NotCallable:
    """A class whose instances cannot serve as predict."""


def load_model():
    """load_model_fn without config."""
    return {"weights": [1, 2, 3]}


def load_model_with_config(config):
    """load_model_fn with config: the weights, scaled by config's factor."""
    return {"weights": [w * config["factor"] for w in (1, 2, 3)]}


def load_predict(model):
    """load_predict_fn without config."""
    return _scorer(model, None)


def load_predict_with_config(config, model):
    """load_predict_fn with config."""
    return _scorer(model, config)


def _scorer(model, config):
    """predict(values): the weighted sum of values, and the config seen at load."""

    def predict(values):
        """Score values against the model's weights."""
        return {"score": sum(w * v for w, v in zip(model["weights"], values)), "config": config}

    return predict


def load_model_that_fails(*config):
    """load_model_fn that raises, with or without config."""
    raise RuntimeError("cannot load weights")
