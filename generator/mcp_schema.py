"""The MCP tools' input schemas, from the model: JSON Schema with snake_case names.

Used by `templates/mcp_tools.py.jinja` (through the `mcp_input_schema` and `mcp_wire_names`
filters): one schema per operation (path and query parameters, then the body's fields; a batch's
messages as `messages`), and, per request model, the snake_case -> wire name of each field and
the model a nested value converts through. Only data from the spec; nothing is decided here that
the model has not already settled.
"""

from __future__ import annotations

from typing import Any

from generator.model import Api, Field, Model, Operation, Parameter, TypeRef

_MAX_DEPTH = 4


IDEMPOTENCY_ARGUMENT = "idempotency_key"
"""The argument of a send tool that makes a repeated call return the first result."""


def arg_name(python: str) -> str:
    """The tool argument for a Python name: `from_` -> `from` (no keyword clash in JSON)."""
    return python.rstrip("_") or python


class _Source:
    """Enum values and nested model schemas for `TypeRef.json_schema`, `depth` models deep."""

    def __init__(self, api: Api, depth: int) -> None:
        self.api = api
        self.depth = depth

    def enum_values(self, name: str) -> list[str]:
        return next((e.values for e in self.api.enums if e.name == name), [])

    def model_schema(self, name: str) -> dict[str, Any]:
        model = next((m for m in self.api.models if m.name == name), None)
        if model is None or self.depth >= _MAX_DEPTH:
            return {"type": "object"}
        return _model_schema(self.api, model, self.depth + 1)


def _type_schema(api: Api, ref: TypeRef, depth: int) -> dict[str, Any]:
    return ref.json_schema(_Source(api, depth))


def _field_schema(api: Api, item: Field, depth: int) -> dict[str, Any]:
    schema = _type_schema(api, item.type, depth)
    if item.description:
        schema["description"] = item.description
    for key, value in (
        ("maxLength", item.max_length),
        ("minLength", item.min_length),
        ("maxItems", item.max_items),
        ("minItems", item.min_items),
        ("minimum", item.minimum),
        ("maximum", item.maximum),
        ("pattern", item.pattern),
    ):
        if value is not None:
            schema[key] = value
    if item.example is not None and isinstance(item.example, (str, int, float, bool)):
        schema["examples"] = [item.example]
    return schema


def _model_schema(api: Api, model: Model, depth: int) -> dict[str, Any]:
    properties = {arg_name(f.name): _field_schema(api, f, depth) for f in model.fields}
    schema: dict[str, Any] = {"type": "object", "properties": properties}
    required = [arg_name(f.name) for f in model.fields if f.required]
    if required:
        schema["required"] = required
    if model.description:
        schema["description"] = model.description.strip()
    return schema


def _param_schema(param: Parameter) -> dict[str, Any]:
    schema: dict[str, Any] = {"type": param.json_type}
    if param.enum is not None:
        schema["enum"] = list(param.enum)
    for key, value in (
        ("minimum", param.minimum),
        ("maximum", param.maximum),
        ("format", param.format),
        ("pattern", param.pattern),
        ("default", param.default),
    ):
        if value is not None:
            schema[key] = value
    if param.prefix is not None:  # `metadata_<key>=<value>`: names to strings
        schema["additionalProperties"] = {"type": "string"}
    if param.description:
        schema["description"] = param.description
    if param.example is not None and isinstance(param.example, (str, int, float, bool)):
        schema["examples"] = [param.example]
    return schema


def input_schema(op: Operation, api: Api) -> dict[str, Any]:
    """The JSON Schema of one tool's arguments."""
    properties: dict[str, Any] = {}
    required: list[str] = []
    for param in op.parameters:
        name = arg_name(param.name)
        properties[name] = _param_schema(param)
        if param.required and param.default is None:
            required.append(name)
    body = op.body
    if body is not None and body.model is not None:
        inner = _model_schema(api, body.model, 1)
        for name, field_schema in inner["properties"].items():
            if name in properties:
                raise ValueError(f"{op.id}: argument {name!r} is both a parameter and a field")
            properties[name] = field_schema
        required.extend(inner.get("required", []))
    elif body is not None and body.item_model is not None:
        properties["messages"] = {
            "type": "array",
            "items": _model_schema(api, body.item_model, 1),
            "description": "The messages, each as for a single send.",
        }
        required.append("messages")
    if op.idempotency_metadata is not None:
        properties[IDEMPOTENCY_ARGUMENT] = {
            "type": "string",
            "minLength": 1,
            "maxLength": 64,
            "description": (
                "Your key for this send: calling again with the same key returns the first "
                "result instead of sending again. Sent in Metadata (idempotency_key)."
            ),
        }
    schema: dict[str, Any] = {"type": "object", "properties": properties}
    if required:
        schema["required"] = required
    schema["additionalProperties"] = False
    return schema


def wire_names(api: Api) -> dict[str, dict[str, tuple[str, str | None]]]:
    """Per request model: argument name -> (wire name, the model a nested value is, or None)."""
    result: dict[str, dict[str, tuple[str, str | None]]] = {}
    for model in api.models:
        if not model.is_request:
            continue
        fields: dict[str, tuple[str, str | None]] = {}
        for item in model.fields:
            nested = item.type.model_names
            fields[arg_name(item.name)] = (item.wire, nested[0] if nested else None)
        result[model.name] = fields
    return result


def body_model(op: Operation) -> str | None:
    """The request model a tool's body arguments convert into (a batch: one message's)."""
    if op.body is None:
        return None
    if op.body.model is not None:
        return op.body.model.name
    if op.body.item_model is not None:
        return op.body.item_model.name
    return None
