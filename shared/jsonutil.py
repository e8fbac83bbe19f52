"""One JSON codec (orjson) for every message on the wire."""

from typing import Any

import orjson
from pydantic import BaseModel


def dumps(value: Any) -> bytes:
    """Serialise plain data or a pydantic model to JSON bytes."""
    if isinstance(value, BaseModel):
        return value.model_dump_json().encode()
    return orjson.dumps(value, option=orjson.OPT_NON_STR_KEYS)


def loads(data: bytes | str) -> Any:
    """Parse JSON bytes."""
    return orjson.loads(data)
