"""What `tools/list` costs an agent: a byte budget derived from the spec, and schemas that are
valid JSON Schema (Draft 2020-12) that real Postmark requests still satisfy."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urlsplit

import jsonschema
import mcp
import pytest
import yaml
from postmark_client._meta import Operation
from postmark_client._operations import OPERATIONS
from postmark_client._schemas import PARAMETERS, SCHEMAS
from postmark_client._spec import GROUPS
from postmark_client.access import Policy
from postmark_client.mcp import build_server, tool_name
from postmark_client.mcp._input_schemas import IDEMPOTENCY_SCHEMA
from postmark_client.mcp._tools import BODY_MODELS, INPUT_SCHEMAS, WIRE_NAMES
from postmark_client.testing import FakePostmark

ROOT = Path(__file__).resolve().parents[2]
SOURCES = ROOT / "tests" / "fixtures" / "examples" / "SOURCES.md"
SPEC = ROOT / "spec" / "postmark.yaml"
REF = "#/$defs/"

# What one tool may cost beyond its name and the spec's words for it: the access and token
# sentences (up to 65 and 47), the annotations (up to 55) and the JSON keys around them (~110).
TOOL_ALLOWANCE = 280
# What one argument may cost beyond its description and its limits, enum and format: its name,
# its type and its place in `required`, in JSON.
ARGUMENT_ALLOWANCE = 48
# What a nested model's frame costs: `{"type":"object","properties":{},"required":[]}`.
NESTED_ALLOWANCE = 56
# The keywords an agent needs besides type and description, said as the spec says them.
LIMIT_KEYWORDS = (
    "enum", "format", "pattern", "minimum", "maximum", "minLength", "maxLength", "minItems",
    "maxItems",
)  # fmt: skip


def _arguments(model: str, seen: frozenset[str], said: bool) -> Iterator[Mapping[str, Any]]:
    """The field schemas of a request model, nested models' fields included (once per path);
    `said`: described in another tool, so counted without their descriptions."""
    for field in SCHEMAS[model]["properties"].values():
        yield {k: v for k, v in field.items() if k != "description"} if said else field
        for nested in _refs(field):
            if nested in seen:
                continue
            if "description" not in field and not said:  # the nested model's words instead
                yield {"description": SCHEMAS[nested].get("description", "")}
            yield {"frame": NESTED_ALLOWANCE - ARGUMENT_ALLOWANCE}
            yield from _arguments(nested, seen | {nested}, said or _said_elsewhere(nested))


def _said_elsewhere(model: str) -> bool:
    """Whether a model is the body of a single-message tool (a batch's message is described
    there)."""
    return any(m == model and not OPERATIONS[o].body_is_array for o, m in BODY_MODELS.items())


def _refs(schema: Mapping[str, Any]) -> Iterator[str]:
    if "$ref" in schema:
        yield schema["$ref"].removeprefix(REF)
    for key in ("items", "additionalProperties"):
        if isinstance(schema.get(key), Mapping):
            yield from _refs(schema[key])
    for member in schema.get("anyOf", []):
        yield from _refs(member)


def _argument_cost(schema: Mapping[str, Any]) -> int:
    if "frame" in schema:
        return int(schema["frame"])
    limits = {key: schema[key] for key in LIMIT_KEYWORDS if key in schema}
    return ARGUMENT_ALLOWANCE + _size(schema.get("description", "")) + _size(limits)


def budget(op: Operation) -> int:
    """The bytes a tool may take: the spec's words for the operation and its limits that no
    field carries, and per argument (parameters, body fields, nested fields) its description
    and enum, each said once, plus a fixed allowance for the JSON around them."""
    words = _size(tool_name(op)) + _size(op.summary) + _size(op.description)
    words += sum(_size(limit.description) for limit in op.limits if limit.field is None)
    # The sentences the server adds: a second group's (with its fields), the webhook event's.
    words += sum(_size(", ".join(reach.fields)) + 100 for reach in op.reaches)
    words += _size(op.webhook_event) + 50 if op.webhook_event else 0
    arguments: list[Mapping[str, Any]] = list(PARAMETERS.get(op.id, {}).values())
    if op.idempotency_metadata is not None:
        arguments.append(IDEMPOTENCY_SCHEMA)
    model = BODY_MODELS.get(op.id)
    if model is not None:
        said = op.body_is_array and _said_elsewhere(model)
        arguments += list(_arguments(model, frozenset({model}), said))
    return TOOL_ALLOWANCE + words + sum(_argument_cost(a) for a in arguments)


async def _listing(tmp_path: Path) -> list[dict[str, Any]]:
    path = tmp_path / "full.toml"
    path.write_text("[agents.admin]\n" + "".join(f'{g} = "full"\n' for g in GROUPS), "utf-8")
    fake = FakePostmark()
    tokens = {"server": fake.server_token, "account": fake.account_token}
    server = build_server(Policy.load(path), agent="admin", tokens=tokens, transport=fake.transport)
    async with mcp.Client(server) as client:
        listed = await client.list_tools()
    return [tool.model_dump(mode="json", by_alias=True, exclude_none=True) for tool in listed.tools]


def _size(value: Any) -> int:
    return len(json.dumps(value, separators=(",", ":"), ensure_ascii=False))


async def test_full_access_tools_list_fits_the_budget_the_spec_gives(tmp_path: Path) -> None:
    tools = await _listing(tmp_path)
    by_name = {tool_name(op): op for op in OPERATIONS.values()}
    assert len(tools) == len(OPERATIONS)
    assert sum(_size(t) for t in tools) <= sum(budget(op) for op in OPERATIONS.values())
    # The allowances are averages: one tool may pass its own by a tenth, none by more.
    sizes = {t["name"]: (_size(t), budget(by_name[t["name"]])) for t in tools}
    over = {name: pair for name, pair in sizes.items() if pair[0] > pair[1] * 1.1}
    assert not over, over


def _descriptions(schema: Any) -> Iterator[str]:
    if isinstance(schema, dict):
        for key, value in schema.items():
            if key == "properties":
                for field in value.values():
                    yield from _descriptions(field)
            elif key == "description" and isinstance(value, str):
                yield value
            else:
                yield from _descriptions(value)
    elif isinstance(schema, list):
        for item in schema:
            yield from _descriptions(item)


def _keys(schema: Any) -> Iterator[tuple[str, Any]]:
    """Every keyword of a schema and its nested ones (property names skipped)."""
    if isinstance(schema, dict):
        for key, value in schema.items():
            if key == "properties":
                for field in value.values():
                    yield from _keys(field)
                continue
            yield key, value
            yield from _keys(value)
    elif isinstance(schema, list):
        for item in schema:
            yield from _keys(item)


async def test_each_tool_says_a_thing_once(tmp_path: Path) -> None:
    for tool in await _listing(tmp_path):
        schema = tool["inputSchema"]
        keys = list(_keys(schema))
        assert not {"examples", "default", "nullable", "$ref"} & {k for k, _ in keys}, tool["name"]
        assert ("additionalProperties", {}) not in keys and ("items", {}) not in keys
        # MCP's defaults are left out: openWorldHint true, and no title beside the summary.
        assert "openWorldHint" not in tool.get("annotations", {}) and "title" not in tool
        lines = tool["description"].split("\n")
        assert len(lines) == len(set(lines)), tool["name"]


def _undescribed(schema: Any) -> Any:
    if isinstance(schema, dict):
        return {
            k: (
                {n: _undescribed(f) for n, f in v.items()} if k == "properties" else _undescribed(v)
            )
            for k, v in schema.items()
            if k != "description"
        }
    return [_undescribed(item) for item in schema] if isinstance(schema, list) else schema


def test_a_batch_says_its_messages_fields_once_in_the_single_send() -> None:
    """A batch's message is described in the tool taking one message; the batch keeps every
    field, its type, required-ness, enums and limits, and caps the messages at Postmark's 500."""
    single = dict(INPUT_SCHEMAS["send_email"]["properties"])
    del single["idempotency_key"]  # the batch's key is per call
    messages = INPUT_SCHEMAS["send_email_batch"]["properties"]["messages"]
    limit = next(lim for lim in OPERATIONS["send_email_batch"].limits if lim.unit == "items")
    assert messages["maxItems"] == limit.max == 500
    item = messages["items"]
    assert item["description"] == "As the arguments of the email_send tool."
    assert list(_descriptions(item["properties"])) == []
    assert item["properties"] == _undescribed(single)
    assert item["required"] == INPUT_SCHEMAS["send_email"]["required"]


def _described_at(model: str, wire: str) -> dict[str, Any]:
    """A body field's schema where it is described: in the tool whose arguments are the fields
    of its model, or of the model of the messages that hold it."""
    names = WIRE_NAMES[model]
    single = [o for o, m in BODY_MODELS.items() if m == model and not OPERATIONS[o].body_is_array]
    for argument, (name, nested) in names.items():
        if name == wire and single:
            field: dict[str, Any] = INPUT_SCHEMAS[single[0]]["properties"][argument]
            return field
        if nested is not None and wire not in (w for w, _ in names.values()):
            return _described_at(nested, wire)
    raise AssertionError(f"{wire} is no field of {model}")


def test_every_limit_on_a_field_is_in_that_fields_schema() -> None:
    """The limits the tool description leaves out are said by the field: maxItems or words."""
    for op in OPERATIONS.values():
        for limit in op.limits:
            if limit.field is None:
                continue
            field = _described_at(BODY_MODELS[op.id], limit.field)
            said = field.get("maxItems") == limit.max or str(limit.max) in field["description"]
            assert said, (op.id, limit.name)


@pytest.mark.parametrize("op_id", sorted(INPUT_SCHEMAS))
def test_every_input_schema_is_draft_2020_12(op_id: str) -> None:
    jsonschema.Draft202012Validator.check_schema(INPUT_SCHEMAS[op_id])
    assert INPUT_SCHEMAS[op_id]["type"] == "object"


def _recorded_requests() -> Iterator[tuple[str, str]]:
    """The real requests the recorded example answers came from (`METHOD url`)."""
    found = re.findall(r"`([A-Z]+) (https://api\.postmarkapp\.com/[^`]*)`", SOURCES.read_text())
    yield from sorted(set(found))


def _operation(method: str, path: str) -> tuple[Operation, dict[str, str]]:
    for op in OPERATIONS.values():
        pattern = re.sub(r"\\{(\w+)\\}", r"(?P<\1>[^/]+)", re.escape(op.path))
        match = re.fullmatch(pattern, path.rstrip("/") or "/")
        if op.method == method and match:
            return op, match.groupdict()
    raise AssertionError(f"no operation for {method} {path}")


def _typed(op: Operation, wire: str, text: str) -> tuple[str, Any]:
    param = next(p for p in op.path_params + op.query_params if p.wire.lower() == wire.lower())
    value: Any = int(text) if param.type == "integer" else text
    return param.python.rstrip("_") or param.python, value


def test_the_real_recorded_requests_are_valid_tool_arguments() -> None:
    checked = 0
    for method, url in _recorded_requests():
        parts = urlsplit(url)
        op, path_values = _operation(method, parts.path)
        arguments = dict(_typed(op, wire, value) for wire, value in path_values.items())
        arguments |= dict(_typed(op, wire, value) for wire, value in parse_qsl(parts.query))
        required = INPUT_SCHEMAS[op.id].get("required", [])
        if set(required) - set(arguments):  # a POST whose body was not recorded
            continue
        jsonschema.Draft202012Validator(INPUT_SCHEMAS[op.id]).validate(arguments)
        checked += 1
    assert checked >= 15


def _to_arguments(model: str, wire: Mapping[str, Any]) -> dict[str, Any]:
    """A request body (wire names) as tool arguments (snake_case), nested models included."""
    by_wire = {w: (argument, nested) for argument, (w, nested) in WIRE_NAMES[model].items()}
    result: dict[str, Any] = {}
    for key, value in wire.items():
        argument, nested = by_wire[key]
        if nested is not None and isinstance(value, list):
            value = [_to_arguments(nested, v) if isinstance(v, Mapping) else v for v in value]
        elif nested is not None and isinstance(value, Mapping):
            value = _to_arguments(nested, value)
        result[argument] = value
    return result


def test_every_request_example_of_the_spec_is_valid_tool_arguments() -> None:
    doc = yaml.safe_load(SPEC.read_text(encoding="utf-8"))
    examples = {
        op["operationId"]: op["requestBody"]["content"]["application/json"]["example"]
        for item in doc["paths"].values()
        for op in item.values()
        if isinstance(op, dict)
        and "example" in op.get("requestBody", {}).get("content", {}).get("application/json", {})
    }
    assert examples.keys() <= BODY_MODELS.keys() and len(examples) >= 20
    for op_id, body in examples.items():
        op = OPERATIONS[op_id]
        arguments: dict[str, Any] = {
            p.python.rstrip("_"): (1 if p.type == "integer" else "x") for p in op.path_params
        }
        if op.body_is_array:
            arguments["messages"] = [_to_arguments(BODY_MODELS[op_id], m) for m in body]
        else:
            arguments |= _to_arguments(BODY_MODELS[op_id], body)
        jsonschema.Draft202012Validator(INPUT_SCHEMAS[op_id]).validate(arguments)


def test_an_argument_without_a_description_is_described_in_the_tool_named() -> None:
    """Every top-level argument has a description, or the schema names the tool, always listed
    beside it (the same grants decide both), where the same argument has one."""
    by_tool = {tool_name(op): op for op in OPERATIONS.values()}
    pointed = 0
    for op in OPERATIONS.values():
        schema = INPUT_SCHEMAS[op.id]
        bare = [n for n, f in schema["properties"].items() if "description" not in f]
        if not bare:
            continue
        found = re.fullmatch(
            r"Arguments without a description: as in the (\w+) tool\.",
            schema.get("description", ""),
        )
        assert found, (op.id, bare)
        other = by_tool[found.group(1)]
        assert (other.group, other.access, other.reaches) == (op.group, op.access, op.reaches)
        for name in bare:
            said = INPUT_SCHEMAS[other.id]["properties"][name]
            rest = {k: v for k, v in said.items() if k != "description"}
            assert "description" in said and rest == schema["properties"][name], (op.id, name)
        pointed += 1
    assert pointed >= 10  # the stats and message searches share their filters


def _bare_fields(schema: Mapping[str, Any], path: str) -> Iterator[str]:
    """The nested fields without a description, except in a message described elsewhere."""
    if str(schema.get("description", "")).startswith("As the arguments of the "):
        return
    for name, field in schema.get("properties", {}).items():
        if "description" not in field:
            yield f"{path}.{name}"
        for key in ("items", "additionalProperties"):
            if isinstance(field.get(key), Mapping):
                yield from _bare_fields(field[key], f"{path}.{name}")
        yield from _bare_fields(field, f"{path}.{name}")


def test_every_nested_field_has_a_description() -> None:
    bare = [
        where
        for op_id, schema in INPUT_SCHEMAS.items()
        for name, field in schema["properties"].items()
        for where in _bare_fields(field, f"{op_id}.{name}")
    ]
    assert bare == []


async def test_more_messages_than_a_batch_takes_are_refused_naming_the_limit(
    tmp_path: Path,
) -> None:
    path = tmp_path / "p.toml"
    path.write_text('[agents.m]\nemail = "full"\n', encoding="utf-8")
    fake = FakePostmark()
    tokens = {"server": fake.server_token, "account": None}
    server = build_server(Policy.load(path), agent="m", tokens=tokens, transport=fake.transport)
    message = {"from": "a@example.com", "to": "b@example.com", "text_body": "x"}
    async with mcp.Client(server) as client:
        refused = await client.call_tool("email_send_batch", {"messages": [message] * 501})
        sent = await client.call_tool("email_send_batch", {"messages": [message] * 2})
    assert refused.is_error
    assert refused.content[0].text == "invalid argument messages: must hold at most 500 items"
    assert not sent.is_error and len(fake.calls) == 1
