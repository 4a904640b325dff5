"""llm-engine's request body (EndpointPredictV1Request), as its sync server and gateway parse
it: the baselines that stand for them share it."""

from typing import Any, Optional

from pydantic import BaseModel


class EndpointPredictV1Request(BaseModel):
    """llm-engine's request body."""

    url: Optional[str] = None
    args: Optional[Any] = None
    cloudpickle: Optional[str] = None
    callback_url: Optional[str] = None
    return_pickled: bool = False
