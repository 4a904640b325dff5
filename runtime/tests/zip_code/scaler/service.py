"""load_model_fn and load_predict_fn of the zip bundles in the tests."""

CALLS = []


def load_model(config):
    """Return weights, scaled by config's factor when there is a config."""
    CALLS.append(("load_model", config))
    factor = 1 if config is None else config["factor"]
    return {"weights": [w * factor for w in (1, 2, 3)]}


def load_predict(config, model):
    """Return predict(values), the weighted sum of values."""
    CALLS.append(("load_predict", config))

    def predict(values):
        """Score values against the weights."""
        return {"score": sum(w * v for w, v in zip(model["weights"], values)), "config": config}

    return predict
