"""Every request schema is written once, as JSON Schema with wire names (`postmark_client._schemas`):
the fake Postmark's request checks and the MCP tools' input schemas are both read from it."""

from __future__ import annotations

import copy
from pathlib import Path

import pytest
from postmark_client import _schemas, cli
from postmark_client._operations import OPERATIONS
from postmark_client.mcp import _input_schemas
from postmark_client.mcp._tools import BODY_MODELS, INPUT_SCHEMAS, WIRE_NAMES
from postmark_client.testing._schema_types import object_schema
from postmark_client.testing._schemas import SCHEMAS as FAKE_SCHEMAS

PACKAGE = Path(__file__).resolve().parents[2] / "generated" / "postmark_client"


@pytest.mark.parametrize("path", ["mcp/_tools.py", "testing/_schemas.py", "_operations/_email.py"])
def test_no_other_module_spells_a_schema_out(path: str) -> None:
    """The keywords of a field's JSON Schema appear in `_schemas.py` only."""
    source = (PACKAGE / path).read_text()
    assert "maxLength" not in source and "'properties'" not in source
    assert "maxLength" in (PACKAGE / "_schemas.py").read_text()


def test_a_change_to_the_one_schema_reaches_the_fake_and_the_mcp_tool(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    changed = copy.deepcopy(_schemas.SCHEMAS)
    changed["SendEmailRequest"]["properties"]["Tag"]["maxLength"] = 3
    monkeypatch.setattr(_input_schemas, "SCHEMAS", changed)
    tools = _input_schemas.input_schemas(BODY_MODELS, WIRE_NAMES)
    assert tools["send_email"]["properties"]["tag"]["maxLength"] == 3
    assert object_schema(changed["SendEmailRequest"]).fields["Tag"].max_length == 3


def test_the_fake_and_the_tools_agree_on_every_body_field() -> None:
    """Each body argument of a tool has the constraints the fake checks its wire field with."""
    for op_id, model in BODY_MODELS.items():
        properties = INPUT_SCHEMAS[op_id]["properties"]
        if OPERATIONS[op_id].body_is_array:  # a batch: each message's
            properties = properties["messages"]["items"]["properties"]
        for argument, (wire, _) in WIRE_NAMES[model].items():
            field = FAKE_SCHEMAS[model].fields[wire]
            schema = properties[argument]
            assert (schema.get("maxLength"), schema.get("maxItems"), schema.get("pattern")) == (
                field.max_length,
                field.max_items,
                field.pattern,
            ), (op_id, argument)


def test_a_change_to_the_one_schema_reaches_the_cli_flags(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """The CLI's body flags (name, help, choices, required) are read from `_schemas` too."""
    changed = copy.deepcopy(_schemas.SCHEMAS)
    tag = changed["SendEmailRequest"]["properties"]["Tag"]
    tag["description"] = "Changed in the one encoding."
    tag["enum"] = ["welcome", "receipt"]
    changed["SendEmailRequest"]["required"].append("Subject")
    monkeypatch.setattr(_schemas, "SCHEMAS", changed)
    with pytest.raises(SystemExit):
        cli.main(["email", "send", "--help"])
    text = " ".join(capsys.readouterr().out.split())
    assert "Changed in the one encoding. [Tag]" in text and "{welcome,receipt}" in text
    assert "Subject, required]" in text
    assert "BodyField" not in (PACKAGE / "_operations" / "_email.py").read_text()
