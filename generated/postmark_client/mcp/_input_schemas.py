# Copied by postmark-codegen from templates/static/postmark_client/mcp/_input_schemas.py;
# edit it there and regenerate, not here.
"""The MCP tools' input schemas, made from the package's one encoding of the spec's schemas.

A tool's arguments are its operation's path and query parameters (`_schemas.PARAMETERS`), then
its body's fields (`_schemas.SCHEMAS`, nested models inlined a few levels deep) under their
snake_case names, or a batch's messages as `messages`; a send that settles by idempotency key
takes `idempotency_key` too.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from .._operations import OPERATIONS
from .._schemas import PARAMETERS, SCHEMAS

IDEMPOTENCY_ARGUMENT = "idempotency_key"
"""The argument of a send tool that makes a repeated call return the first result."""

# How many models deep a tool's schema spells nested models out; deeper ones are plain objects.
_MAX_DEPTH = 4
_REF_PREFIX = "#/$defs/"
# What the fake reads in a field's schema and an agent need not: null is the same as leaving it out.
_NOT_FOR_AGENTS = frozenset({"nullable"})

_IDEMPOTENCY_SCHEMA = {
    "type": "string",
    "minLength": 1,
    "maxLength": 64,
    "description": (
        "Your key for this send: calling again with the same key returns the first "
        "result instead of sending again. Sent in Metadata (idempotency_key)."
    ),
}


def arg_name(python: str) -> str:
    """The tool argument for a Python name: `from_` -> `from` (no keyword clash in JSON)."""
    return python.rstrip("_") or python


class _Maker:
    def __init__(self, wire_names: Mapping[str, Mapping[str, tuple[str, str | None]]]) -> None:
        # Per request model: wire name -> argument name.
        self.arguments = {
            model: {wire: argument for argument, (wire, _) in names.items()}
            for model, names in wire_names.items()
        }

    def model(self, name: str, depth: int) -> dict[str, Any]:
        """A request model's schema with argument names, its nested models `depth` deep."""
        schema = SCHEMAS[name]
        names = self.arguments.get(name, {})
        result: dict[str, Any] = {
            "type": "object",
            "properties": {
                names.get(wire, wire): self.value(field, depth)
                for wire, field in schema["properties"].items()
            },
        }
        if "required" in schema:
            result["required"] = [names.get(wire, wire) for wire in schema["required"]]
        if "description" in schema:
            result["description"] = schema["description"]
        return result

    def value(self, schema: Mapping[str, Any], depth: int) -> dict[str, Any]:
        ref = schema.get("$ref")
        if ref is not None:
            name = ref.removeprefix(_REF_PREFIX)
            inner = self.model(name, depth + 1) if depth < _MAX_DEPTH else {"type": "object"}
            own = {k: v for k, v in schema.items() if k != "$ref" and k not in _NOT_FOR_AGENTS}
            return inner | own
        result: dict[str, Any] = {}
        for key, item in schema.items():
            if key in _NOT_FOR_AGENTS:
                continue
            if key in ("items", "additionalProperties") and isinstance(item, Mapping):
                item = self.value(item, depth)
            elif key == "anyOf":
                item = [self.value(member, depth) for member in item]
            result[key] = item
        return result


def input_schemas(
    body_models: Mapping[str, str], wire_names: Mapping[str, Mapping[str, tuple[str, str | None]]]
) -> dict[str, dict[str, Any]]:
    """The input schema of every operation's tool, by operationId."""
    maker = _Maker(wire_names)
    result = {}
    for op in OPERATIONS.values():
        properties: dict[str, Any] = {}
        required: list[str] = []
        parameters = PARAMETERS.get(op.id, {})
        for param in op.path_params + op.query_params:
            name = arg_name(param.python)
            properties[name] = dict(parameters[param.wire])
            if param.required and param.default is None:
                required.append(name)
        model = body_models.get(op.id)
        if model is not None and op.body_is_array:
            properties["messages"] = {
                "type": "array",
                "items": maker.model(model, 1),
                "description": "The messages, each as for a single send.",
            }
            required.append("messages")
        elif model is not None:
            body = maker.model(model, 1)
            for name, field in body["properties"].items():
                if name in properties:
                    raise ValueError(f"{op.id}: argument {name!r} is both a parameter and a field")
                properties[name] = field
            required.extend(body.get("required", []))
        if op.idempotency_metadata is not None:
            properties[IDEMPOTENCY_ARGUMENT] = dict(_IDEMPOTENCY_SCHEMA)
        schema: dict[str, Any] = {"type": "object", "properties": properties}
        if required:
            schema["required"] = required
        schema["additionalProperties"] = False
        result[op.id] = schema
    return result
