# Copied by postmark-codegen from templates/static/postmark_client/testing/_schemas.py;
# edit it there and regenerate, not here.
"""The tables the fake Postmark reads requests with, from the package's JSON Schemas
(`postmark_client._schemas`): the request schemas (`SCHEMAS`), every schema's field names
(`MODEL_KEYS`: the list views answer some records' fields only) and the values of every enum.
`_wire.py` holds the logic that reads them.
"""

from __future__ import annotations

from typing import Final

from .._schemas import ENUMS
from .._schemas import SCHEMAS as _JSON_SCHEMAS
from ._schema_types import ObjectSchema, object_schema

__all__ = ["ENUMS", "MODEL_KEYS", "SCHEMAS"]

MODEL_KEYS: Final[dict[str, tuple[str, ...]]] = {
    name: tuple(schema["properties"]) for name, schema in _JSON_SCHEMAS.items()
}
"""The wire names of every schema's fields, in spec order."""

SCHEMAS: Final[dict[str, ObjectSchema]] = {
    name: object_schema(schema) for name, schema in _JSON_SCHEMAS.items()
}
"""Every object schema: the request schemas (what a request body may hold; `closed` ones refuse
unknown fields in the spec) and the response schemas the fake shapes its answers with."""
