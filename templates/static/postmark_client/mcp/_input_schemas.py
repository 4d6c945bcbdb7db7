"""The MCP tools' input schemas, made from the package's one encoding of the spec's schemas.

A tool's arguments are its operation's path and query parameters (`_schemas.PARAMETERS`), then
its body's fields (`_schemas.SCHEMAS`, nested models inlined a few levels deep) under their
snake_case names, or a batch's messages as `messages`; a send that settles by idempotency key
takes `idempotency_key` too.

Every tool's schema is sent in each `tools/list` answer and read by the agent's model, so each
says a thing once: no `examples` or `default` (a parameter left out gets its default), a nested
model's description only where its field has none, a batch's message and an argument that
another tool always listed beside it has described there only, nested models inlined rather
than `$ref`s (several MCP clients resolve no `$defs`).
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

from .._meta import Limit, Operation
from .._operations import OPERATIONS
from .._schemas import PARAMETERS, PYTHON_NAMES, SCHEMAS

IDEMPOTENCY_ARGUMENT = "idempotency_key"
"""The argument of a send tool that makes a repeated call return the first result."""

_MAX_NAME = 60
# How many models deep a tool's schema spells nested models out; deeper ones are plain objects.
_MAX_DEPTH = 4
_REF_PREFIX = "#/$defs/"
# What the fake reads in a field's schema and an agent need not: null is the same as leaving it
# out, a default is what leaving it out gives, and examples repeat what the description says.
_NOT_FOR_AGENTS = frozenset({"nullable", "default", "examples"})

IDEMPOTENCY_SCHEMA = {
    "type": "string",
    "minLength": 1,
    "maxLength": 64,
    "description": "Your key for this send: a call with a used key returns its first result.",
}


def arg_name(python: str) -> str:
    """The tool argument for a Python name: `from_` -> `from` (no keyword clash in JSON)."""
    return python.rstrip("_") or python


def wire_names() -> dict[str, dict[str, tuple[str, str | None]]]:
    """Per request model: each argument -> (its wire name, the model a nested value is)."""
    return {
        model: {
            arg_name(python): (wire, next(_refs(SCHEMAS[model]["properties"][wire]), None))
            for wire, python in names.items()
        }
        for model, names in PYTHON_NAMES.items()
    }


def _refs(schema: Mapping[str, Any]) -> Iterator[str]:
    """The models a field's schema names, outermost first."""
    ref = schema.get("$ref")
    if ref is not None:
        yield ref.removeprefix(_REF_PREFIX)
    for key in ("items", "additionalProperties"):
        if isinstance(schema.get(key), Mapping):
            yield from _refs(schema[key])
    for member in schema.get("anyOf", ()):
        yield from _refs(member)


def tool_name(op: Operation) -> str:
    """`<group>_<action>`, at most 60 characters."""
    return f"{op.group}_{op.name}"[:_MAX_NAME]


def batch_limit(op: Operation, limit: Limit) -> bool:
    """Whether the limit caps a batch's messages (the `maxItems` of its `messages` argument)."""
    return op.body_is_array and limit.unit == "items" and limit.scope == "request"


def _listed_together(one: Operation, other: Operation) -> bool:
    """Whether every agent shown one tool is shown the other (the same grants decide both)."""
    return (one.group, one.access, one.reaches) == (other.group, other.access, other.reaches)


def _undescribed(schema: dict[str, Any]) -> dict[str, Any]:
    """The schema without its descriptions, nested ones included (property names kept)."""
    result: dict[str, Any] = {}
    for key, item in schema.items():
        if key == "description":
            continue
        if key == "properties":
            item = {name: _undescribed(field) for name, field in item.items()}
        elif isinstance(item, dict):
            item = _undescribed(item)
        elif key == "anyOf":
            item = [_undescribed(member) for member in item]
        result[key] = item
    return result


class _Maker:
    def __init__(self, wire_names: Mapping[str, Mapping[str, tuple[str, str | None]]]) -> None:
        # Per request model: wire name -> argument name.
        self.arguments = {
            model: {wire: argument for argument, (wire, _) in names.items()}
            for model, names in wire_names.items()
        }
        # Request model -> the tool whose arguments are its fields, described there (per tool).
        self.said: dict[str, str] = {}

    def model(self, name: str, depth: int, described: bool = False) -> dict[str, Any]:
        """A request model's schema with argument names, its nested models `depth` deep;
        `described`: its field says what it is, so the model's description is left out."""
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
        if "description" in schema and not described:
            result["description"] = schema["description"]
        return result

    def value(
        self, schema: Mapping[str, Any], depth: int, described: bool = False
    ) -> dict[str, Any]:
        """A field's schema; `described`: the field holding this value has a description."""
        ref = schema.get("$ref")
        own = {k: v for k, v in schema.items() if k != "$ref" and k not in _NOT_FOR_AGENTS}
        if ref is not None:
            name = ref.removeprefix(_REF_PREFIX)
            if name in self.said:  # said once, in the tool taking its fields as arguments
                inner = _undescribed(self.model(name, depth + 1))
                inner["description"] = f"As the arguments of the {self.said[name]} tool."
                return inner | own
            said = described or "description" in own
            inner = self.model(name, depth + 1, said) if depth < _MAX_DEPTH else {"type": "object"}
            return inner | own
        said = "description" in own
        result: dict[str, Any] = {}
        for key, item in own.items():
            if key in ("items", "additionalProperties") and item == {}:
                continue  # any value: the same as saying nothing
            if key in ("items", "additionalProperties") and isinstance(item, Mapping):
                item = self.value(item, depth, said)
            elif key == "anyOf":
                item = [self.value(member, depth, said) for member in item]
            result[key] = item
        return result


def _messages(op: Operation, maker: _Maker, model: str) -> dict[str, Any]:
    """A batch's `messages`: its items, at most as many as the operation's batch limit."""
    schema: dict[str, Any] = {
        "type": "array",
        "items": maker.value({"$ref": _REF_PREFIX + model}, 0),
    }
    for limit in op.limits:
        if batch_limit(op, limit):
            schema["maxItems"] = limit.max
    schema["description"] = "The messages, each as for a single send."
    return schema


def input_schemas(
    body_models: Mapping[str, str], wire_names: Mapping[str, Mapping[str, tuple[str, str | None]]]
) -> dict[str, dict[str, Any]]:
    """The input schema of every operation's tool, by operationId."""
    maker = _Maker(wire_names)
    single: dict[str, Operation] = {}  # request model -> the first taking its fields as arguments
    for op in OPERATIONS.values():
        if op.id in body_models and not op.body_is_array:
            single.setdefault(body_models[op.id], op)
    result = {}
    for op in OPERATIONS.values():
        maker.said = {
            model: tool_name(other)
            for model, other in single.items()
            if other.id != op.id and _listed_together(op, other)
        }
        properties: dict[str, Any] = {}
        required: list[str] = []
        parameters = PARAMETERS.get(op.id, {})
        for param in op.path_params + op.query_params:
            name = arg_name(param.python)
            properties[name] = maker.value(parameters[param.wire], 1)
            if param.required and param.default is None:
                required.append(name)
        model = body_models.get(op.id)
        if model is not None and op.body_is_array:
            properties["messages"] = _messages(op, maker, model)
            required.append("messages")
        elif model is not None:
            body = maker.model(model, 1)
            for name, field in body["properties"].items():
                if name in properties:
                    raise ValueError(f"{op.id}: argument {name!r} is both a parameter and a field")
                properties[name] = field
            required.extend(body.get("required", []))
        if op.idempotency_metadata is not None:
            properties[IDEMPOTENCY_ARGUMENT] = dict(IDEMPOTENCY_SCHEMA)
        schema: dict[str, Any] = {"type": "object", "properties": properties}
        if required:
            schema["required"] = required
        schema["additionalProperties"] = False
        result[op.id] = schema
    _say_once(result)
    return result


def _say_once(schemas: dict[str, dict[str, Any]]) -> None:
    """An argument the same, description included, as in the first tool listed with it (the
    first of its group with the same access and second groups) is described there only; the
    schema says where (in its own description)."""
    first: dict[tuple[Any, ...], Operation] = {}
    for op in OPERATIONS.values():
        lead = first.setdefault((op.group, op.access, op.reaches), op)
        if lead is op:
            continue
        said = schemas[lead.id]["properties"]
        properties = schemas[op.id]["properties"]
        same = [n for n, f in properties.items() if "description" in f and said.get(n) == f]
        saved = sum(len(properties[name]["description"]) for name in same)
        note = f"Arguments without a description: as in the {tool_name(lead)} tool."
        if saved <= len(note):
            continue
        for name in same:
            properties[name] = {k: v for k, v in properties[name].items() if k != "description"}
        schemas[op.id] = {"description": note, **schemas[op.id]}
