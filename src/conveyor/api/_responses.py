"""The JSON response class of the API: orjson, with non-finite floats as strings."""

from __future__ import annotations

from typing import Any

from starlette.responses import Response

from conveyor.backend.http import json_dumps

__all__ = ["OrjsonResponse"]


class OrjsonResponse(Response):
    """``application/json`` rendered by orjson; NaN / ±inf become 'NaN' / '±Infinity'."""

    media_type = "application/json"

    def render(self, content: Any) -> bytes:
        return json_dumps(content)
