"""The record types of the fake's request schemas (`_schemas.SCHEMAS`): as much of JSON Schema
as Postmark enforces on a request body.
"""

from __future__ import annotations

from dataclasses import dataclass


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
