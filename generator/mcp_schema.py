"""What the MCP tools need beyond the spec's JSON Schemas (generator/schemas.py): per request
model, the argument (snake_case) -> wire name of each field and the model a nested value converts
through, and the request model of each tool's body arguments. Used by
`templates/mcp_tools.py.jinja` (the `mcp_wire_names` and `mcp_body_model` filters); the server
makes the input schemas from `postmark_client._schemas` (static `mcp/_input_schemas.py`).
"""

from __future__ import annotations

from generator.model import Api, Operation


def arg_name(python: str) -> str:
    """The tool argument for a Python name: `from_` -> `from` (no keyword clash in JSON)."""
    return python.rstrip("_") or python


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
