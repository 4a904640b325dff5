"""load_model_fn and load_predict_fn of the zip fixtures (called with config, even None)."""


def load_model(config):
    """Return the fixture model: three weights."""
    return {"weights": [1, 2, 3]}


def load_predict(config, model):
    """Return predict(values): the weighted sum times config's scale (1 without config)."""
    scale = 1 if config is None else config["scale"]

    def predict(values):
        """Score the values against the model's weights."""
        score = sum(w * v for w, v in zip(model["weights"], values)) * scale
        return {"score": score, "config": config}

    return predict
