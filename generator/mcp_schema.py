"""What the MCP tools need beyond the spec's JSON Schemas (generator/schemas.py): the request
model of each tool's body arguments. Used by `templates/mcp_tools.py.jinja` (the
`mcp_body_model` filter); the server makes the input schemas and the argument names from
`postmark_client._schemas` (static `mcp/_input_schemas.py`).
"""

from __future__ import annotations

from generator.model import Operation


def body_model(op: Operation) -> str | None:
    """The request model a tool's body arguments convert into (a batch: one message's)."""
    if op.body is None:
        return None
    if op.body.model is not None:
        return op.body.model.name
    if op.body.item_model is not None:
        return op.body.item_model.name
    return None
