"""The greeter sample: a callable class whose instance is configured by ``init(config)``."""


class Greeter:
    """Greets people with the greeting and punctuation from the bundle's app_config."""

    def __init__(self) -> None:
        """Start with plain defaults; ``init`` replaces them with the app_config's."""
        self.greeting = "Hello"
        self.punctuation = "."

    def init(self, config: dict | None) -> None:
        """Take ``greeting`` and ``punctuation`` from the app_config (called once at load)."""
        config = config or {}
        self.greeting = config.get("greeting", self.greeting)
        self.punctuation = config.get("punctuation", self.punctuation)

    def __call__(self, name: str) -> dict[str, str]:
        """Greet ``name``."""
        return {"message": f"{self.greeting}, {name}{self.punctuation}"}
