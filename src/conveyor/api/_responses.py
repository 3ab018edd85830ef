"""The JSON response class of the API: orjson, with non-finite floats as strings."""

from __future__ import annotations

from typing import Any

import orjson
from starlette.responses import JSONResponse

from conveyor.client.wire import json_dumps

__all__ = ["EncodedJsonResponse", "OrjsonResponse"]


class OrjsonResponse(JSONResponse):
    """``application/json`` rendered by orjson; NaN / ±inf become 'NaN' / '±Infinity'."""

    media_type = "application/json"

    def render(self, content: Any) -> bytes:
        return json_dumps(content)


class EncodedJsonResponse(OrjsonResponse):
    """``application/json`` for content that is JSON-safe already: built by entity
    ``to_dict()`` methods that encode non-finite floats themselves (``Run``,
    ``MetricPoint``). Skips the non-finite walk, which dominates large search answers."""

    media_type = "application/json"

    def render(self, content: Any) -> bytes:
        return orjson.dumps(content)
