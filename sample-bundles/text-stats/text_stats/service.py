"""Entry points of the text-stats bundle, named by its module paths.

``text_stats.service.load_model`` and ``text_stats.service.load_predict`` are called as
``load_model(config)`` and ``load_predict(config, model)``, config being the app_config
(or None).
"""

import re
from collections import Counter
from collections.abc import Callable

_WORD = re.compile(r"[\w']+")


def load_model(config: dict | None) -> dict:
    """Return the counting settings: ``top_n`` most common words, ``lowercase`` or not."""
    config = config or {}
    return {"top_n": int(config.get("top_n", 3)), "lowercase": bool(config.get("lowercase", True))}


def load_predict(config: dict | None, model: dict) -> Callable[[str], dict]:
    """Return predict(text), which counts the text's words and characters."""

    def predict(text: str) -> dict:
        """Count the words, characters and lines of ``text``, and its most common words."""
        words = _WORD.findall(text.lower() if model["lowercase"] else text)
        return {
            "words": len(words),
            "characters": len(text),
            "lines": len(text.splitlines()),
            "top_words": [[word, n] for word, n in Counter(words).most_common(model["top_n"])],
        }

    return predict
