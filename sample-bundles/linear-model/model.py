"""The linear-model sample: load_model_fn trains a model, load_predict_fn serves it.

Training happens at load time, in the worker, on synthetic data drawn with a fixed seed,
so every worker ends up with the same weights and the bundle stays a few kilobytes.
"""

import numpy as np

SEED = 7
TRUE_WEIGHTS = [2.0, -1.0, 0.5]
TRUE_BIAS = 3.0


def load_model() -> dict[str, list[float] | float]:
    """Fit a linear regression by least squares to noisy samples of a known line."""
    rng = np.random.default_rng(SEED)
    features = rng.normal(size=(200, len(TRUE_WEIGHTS)))
    targets = features @ np.array(TRUE_WEIGHTS) + TRUE_BIAS + rng.normal(scale=0.1, size=200)
    design = np.hstack([features, np.ones((len(features), 1))])
    solution, *_ = np.linalg.lstsq(design, targets, rcond=None)
    return {"weights": solution[:-1].tolist(), "bias": float(solution[-1])}


def load_predict(model: dict[str, list[float] | float]):
    """Return predict(features) for a model made by ``load_model``."""
    weights = np.array(model["weights"])
    bias = model["bias"]

    def predict(features: list[list[float]]) -> dict[str, list[float]]:
        """Predict one value per row of ``features`` (each row has one value per weight)."""
        rows = np.asarray(features, dtype=float)
        if rows.ndim != 2 or rows.shape[1] != len(weights):
            raise ValueError(
                f"features must be a list of rows of {len(weights)} numbers, "
                f"got an array of shape {rows.shape}"
            )
        return {"predictions": (rows @ weights + bias).tolist()}

    return predict
