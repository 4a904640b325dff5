"""The arithmetic sample: a plain predict function (predict_fn_or_cls)."""


def predict(x: float, y: float) -> dict[str, float]:
    """Return the sum and the product of two numbers."""
    return {"sum": x + y, "product": x * y}
