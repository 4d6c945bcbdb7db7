# Copied by postmark-codegen from templates/static/postmark_client/testing/_schema_types.py;
# edit it there and regenerate, not here.
"""The record types of the fake's request schemas (`_schemas.SCHEMAS`): as much of JSON Schema
as Postmark enforces on a request body, read from the package's one encoding of every schema
(`postmark_client._schemas`).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True, slots=True)
class V:
    """The JSON schema of a value, as much of it as Postmark enforces."""

    type: str | None
    model: str | None = None
    items: V | None = None
    values: V | None = None
    enum: tuple[str, ...] | None = None
    types: tuple[str, ...] | None = None
    format: str | None = None
    nullable: bool = False
    max_length: int | None = None
    min_length: int | None = None
    pattern: str | None = None
    max_items: int | None = None
    min_items: int | None = None
    minimum: float | None = None
    maximum: float | None = None


@dataclass(frozen=True, slots=True)
class ObjectSchema:
    fields: dict[str, V]
    required: tuple[str, ...] = ()
    any_of: tuple[tuple[str, ...], ...] = ()
    closed: bool = False


# JSON Schema keyword -> the V field it fills, for a field's own constraints.
_CONSTRAINTS = (
    ("maxLength", "max_length"),
    ("minLength", "min_length"),
    ("pattern", "pattern"),
    ("maxItems", "max_items"),
    ("minItems", "min_items"),
    ("minimum", "minimum"),
    ("maximum", "maximum"),
)
_REF_PREFIX = "#/$defs/"


def value_of(schema: Mapping[str, Any], is_field: bool = False) -> V:
    """The V of a JSON Schema from `postmark_client._schemas`; a field's also carries its
    constraints and whether it may be null (an array's items and a map's values do not)."""
    own: dict[str, Any] = {}
    if is_field:
        own = {name: schema[key] for key, name in _CONSTRAINTS if key in schema}
        own["nullable"] = schema.get("nullable", False)
    ref = schema.get("$ref")
    if ref is not None:
        return V("object", model=ref.removeprefix(_REF_PREFIX), **own)
    if "anyOf" in schema:
        return V(None, types=tuple(member["type"] for member in schema["anyOf"]), **own)
    kind = schema.get("type")
    if "enum" in schema:
        own["enum"] = tuple(schema["enum"])
    if "format" in schema:
        own["format"] = schema["format"]
    if "items" in schema:
        own["items"] = value_of(schema["items"])
    if isinstance(schema.get("additionalProperties"), Mapping):
        own["values"] = value_of(schema["additionalProperties"])
    return V(kind, **own)


def object_schema(schema: Mapping[str, Any]) -> ObjectSchema:
    """The ObjectSchema of a model's JSON Schema from `postmark_client._schemas`."""
    return ObjectSchema(
        fields={name: value_of(field, True) for name, field in schema["properties"].items()},
        required=tuple(schema.get("required", ())),
        any_of=tuple(tuple(group["required"]) for group in schema.get("anyOf", ())),
        closed=schema.get("additionalProperties") is False,
    )
