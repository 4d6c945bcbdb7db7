"""One JSON Schema per object schema, with Postmark's (wire) names: the request-schema encoding
the fake Postmark checks bodies with and the MCP tools' input schemas are made from.

`postmark_client/_schemas.py` prints `object_schemas(api)`, `parameter_schemas(api)` (each
operation's path and query parameters) and `python_names(api)` (each request field's Python
name). A nested model is a `$ref` to
`#/$defs/<Model>`; each field carries its constraints, its description and, where the spec says
so, `nullable` (the fake accepts null) and examples. Keys beyond JSON Schema's: `nullable`.
"""

from __future__ import annotations

from typing import Any

from generator.model import Api, Field, Model, Parameter

REF_PREFIX = "#/$defs/"

# Field constraint -> its JSON Schema keyword, in the order the schemas list them.
CONSTRAINTS = (
    ("max_length", "maxLength"),
    ("min_length", "minLength"),
    ("max_items", "maxItems"),
    ("min_items", "minItems"),
    ("minimum", "minimum"),
    ("maximum", "maximum"),
    ("pattern", "pattern"),
)


class _ByRef:
    """What `TypeRef.json_schema` asks for: an enum's values, a nested model as a `$ref`."""

    def __init__(self, api: Api) -> None:
        self.enums = {e.name: e.values for e in api.enums}

    def enum_values(self, name: str) -> list[str]:
        return self.enums.get(name, [])

    def model_schema(self, name: str) -> dict[str, Any]:
        return {"$ref": REF_PREFIX + name}


def field_schema(item: Field, source: _ByRef) -> dict[str, Any]:
    """A field's JSON Schema: its type's, then its format, description, constraints, examples."""
    schema = item.type.json_schema(source)
    if item.type.kind == "str" and item.format:
        schema["format"] = item.format
    if item.description:
        schema["description"] = item.description
    for attribute, keyword in CONSTRAINTS:
        value = getattr(item, attribute)
        if value is not None:
            schema[keyword] = value
    if item.example is not None and isinstance(item.example, (str, int, float, bool)):
        schema["examples"] = [item.example]
    if item.nullable:
        schema["nullable"] = True
    return schema


def model_schema(model: Model, source: _ByRef) -> dict[str, Any]:
    properties = {f.wire: field_schema(f, source) for f in model.fields}
    schema: dict[str, Any] = {"type": "object", "properties": properties}
    required = [f.wire for f in model.fields if f.required]
    if required:
        schema["required"] = required
    if model.require_any_of:
        schema["anyOf"] = [{"required": group} for group in model.require_any_of]
    if model.closed:
        schema["additionalProperties"] = False
    if model.description:
        schema["description"] = model.description.strip()
    return schema


def object_schemas(api: Api) -> dict[str, dict[str, Any]]:
    """Every object schema's JSON Schema, by model name, in spec order."""
    source = _ByRef(api)
    return {model.name: model_schema(model, source) for model in api.models}


def python_names(api: Api) -> dict[str, dict[str, str]]:
    """Per request model: each field's wire name -> its Python attribute name."""
    return {m.name: {f.wire: f.name for f in m.fields} for m in api.models if m.is_request}


def parameter_schema(param: Parameter) -> dict[str, Any]:
    """A path or query parameter's JSON Schema."""
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


def parameter_schemas(api: Api) -> dict[str, dict[str, dict[str, Any]]]:
    """Per operationId (those with parameters): each parameter's JSON Schema by wire name."""
    return {
        op.id: {param.wire: parameter_schema(param) for param in op.parameters}
        for op in api.operations
        if op.parameters
    }
