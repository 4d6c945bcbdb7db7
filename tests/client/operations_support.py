"""Calls of every generated method, built from the spec's own examples, and checks of their answers.

The spec (`spec/postmark.yaml`) is read here directly, not through the generator's model (only
its naming rule, wire name -> Python name, is shared), so that a call is what the spec says it is:
parameter examples (or a value made from the parameter's schema where the spec has none), the
request body example turned into the method's keyword arguments, and the 200 example as the
answer. `assert_parsed` walks a parsed answer next to its example and schema, so every field of
every example is checked, not a sample of them.
"""

from __future__ import annotations

import asyncio
import copy
import datetime as dt
import inspect
import json
import re
import sys
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any
from urllib.parse import quote

import httpx
import msgspec
from postmark_client import models
from postmark_client._meta import Operation
from postmark_client._operations import OPERATIONS
from postmark_client.client import (
    AccountClient,
    AsyncAccountClient,
    AsyncServerClient,
    ServerClient,
)

from generator.naming import python_name

TESTS = Path(__file__).resolve().parents[1]
if str(TESTS) not in sys.path:
    sys.path.insert(0, str(TESTS))

from support.openapi_check import SPEC_PATH, validate_request, validate_response
from support.spec_yaml import spec_doc

TOKEN = "fake-operations-token-0000-not-real"
TOKEN_HEADERS = {"server": "X-Postmark-Server-Token", "account": "X-Postmark-Account-Token"}
KINDS = ("sync", "async")
HTTP_METHODS = ("get", "put", "post", "delete", "patch")

# Values for parameters the spec gives no example for. Strings carry characters that must be
# quoted in a path and encoded in a query, so a forgotten quote() shows.
SYNTHETIC_STRING = "sample id/ä+&=?"
SYNTHETIC_INTEGER = 4_294_967_297  # beyond 32 bits: ids are int64


# ---- the spec ------------------------------------------------------------------------------------


@cache
def spec() -> dict[str, Any]:
    return spec_doc(SPEC_PATH)


def resolve(node: Any) -> tuple[Any, str | None]:
    """Follow `$ref`s; return the target and the name of the last named schema on the way."""
    name = None
    while isinstance(node, dict) and "$ref" in node:
        ref = node["$ref"]
        target: Any = spec()
        for part in ref.removeprefix("#/").split("/"):
            target = target[part]
        if ref.startswith("#/components/schemas/"):
            name = ref.rsplit("/", 1)[1]
        node = target
    return node, name


@dataclass(frozen=True)
class SpecOperation:
    id: str
    method: str
    path: str
    node: dict[str, Any]
    parameters: tuple[dict[str, Any], ...]

    @property
    def body(self) -> dict[str, Any] | None:
        if "requestBody" not in self.node:
            return None
        content: dict[str, Any] = resolve(self.node["requestBody"])[0]["content"]
        return content["application/json"]  # type: ignore[no-any-return]

    @property
    def ok(self) -> dict[str, Any]:
        content: dict[str, Any] = resolve(self.node["responses"]["200"])[0]["content"]
        return content["application/json"]  # type: ignore[no-any-return]


@cache
def spec_operations() -> dict[str, SpecOperation]:
    found: dict[str, SpecOperation] = {}
    for path, item in spec()["paths"].items():
        shared = [resolve(p)[0] for p in item.get("parameters", [])]
        for method in HTTP_METHODS:
            if method not in item:
                continue
            node = item[method]
            own = [resolve(p)[0] for p in node.get("parameters", [])]
            found[node["operationId"]] = SpecOperation(
                node["operationId"], method.upper(), path, node, tuple(shared + own)
            )
    return found


# ---- building a call from the examples -----------------------------------------------------------


def parameter_value(parameter: dict[str, Any]) -> Any:
    """The spec's example of a parameter, else a value made from its schema."""
    schema = resolve(parameter["schema"])[0]
    if "example" in parameter:
        value = parameter["example"]
    elif "example" in schema:
        value = schema["example"]
    elif "enum" in schema:
        value = schema["enum"][-1]
    else:
        kinds = schema["type"] if isinstance(schema["type"], list) else [schema["type"]]
        if "boolean" in kinds:
            value = False  # the value a serializer could drop or print as "False"
        elif "integer" in kinds:
            value = max(SYNTHETIC_INTEGER, schema.get("minimum", 0))
        else:
            value = SYNTHETIC_STRING
    if schema.get("format") == "date":
        return dt.date.fromisoformat(value)  # the method takes a date for a date parameter
    return value


def parameter_name(parameter: dict[str, Any]) -> str:
    """The keyword argument of a parameter: its `x-python-name`, else snake_case."""
    return python_name(parameter["name"], parameter.get("x-python-name"))


def wire_text(value: Any) -> str:
    """How a query or path value is written on the wire, by the spec's rules (not the client's)."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, dt.date):
        return value.isoformat()
    return str(value)


@dataclass
class Call:
    """One call of a generated method and what must come of it."""

    op: Operation
    spec_op: SpecOperation
    kwargs: dict[str, Any]
    path: str
    query: dict[str, str]
    body: Any
    response: Any

    @property
    def token_header(self) -> str:
        return TOKEN_HEADERS[self.op.token]

    @property
    def other_token_header(self) -> str:
        return TOKEN_HEADERS["account" if self.op.token == "server" else "server"]


def body_kwargs(op: Operation, spec_op: SpecOperation, example: Any) -> dict[str, Any]:
    """The request body example as the method's arguments.

    A batch takes its messages as request models; any other body is spread into keyword
    arguments named by the spec (`x-python-name` or snake_case of the wire name), with nested
    values read by the request model.
    """
    if op.batch:
        items = example if isinstance(example, list) else batch_items(example)
        item_model = getattr(models, op.body_item_schema or "")
        return {"messages": [item_model.from_dict(item) for item in items]}
    schema, name = resolve(spec_op.body["schema"])  # type: ignore[index]
    properties = merged(schema)["properties"]
    model = getattr(models, name or "").from_dict(example)
    kwargs = {}
    for wire in example:
        attribute = attribute_name(wire, properties[wire])
        kwargs[attribute] = getattr(model, attribute)
    return kwargs


def attribute_name(wire: str, property_schema: dict[str, Any]) -> str:
    """The Python name of a schema property: its `x-python-name`, else snake_case."""
    return python_name(wire, property_schema.get("x-python-name"))


def batch_items(example: dict[str, Any]) -> list[Any]:
    """The messages of a batch body that is an object: its one array field."""
    (items,) = [value for value in example.values() if isinstance(value, list)]
    return items


def build_call(operation_id: str) -> Call:
    op = OPERATIONS[operation_id]
    spec_op = spec_operations()[operation_id]
    kwargs: dict[str, Any] = {}
    path = spec_op.path
    query: dict[str, str] = {}
    for parameter in spec_op.parameters:
        value = parameter_value(parameter)
        kwargs[parameter_name(parameter)] = value
        if parameter["in"] == "path":
            path = path.replace("{" + parameter["name"] + "}", quote(wire_text(value), safe=""))
        elif "x-postmark-query-prefix" in parameter:  # an object: one `<prefix><key>` per entry
            prefix = parameter["x-postmark-query-prefix"]
            query.update((prefix + key, wire_text(item)) for key, item in value.items())
        else:
            query[parameter["name"]] = wire_text(value)
    body = None
    if spec_op.body is not None:
        body = spec_op.body["example"]
        kwargs.update(body_kwargs(op, spec_op, body))
    return Call(op, spec_op, kwargs, path, query, body, spec_op.ok["example"])


def without_idempotency_keys(op: Operation, body: Any) -> Any:
    """The body with the idempotency key each message of a send carries taken out again (and
    a Metadata left empty by that dropped), after asserting that every message has one."""
    if op.idempotency_metadata is None:
        return body
    holder, _, field_name = op.idempotency_metadata.rpartition(".")
    if isinstance(body, list):
        messages = body
    elif op.batch or holder:
        messages = body[op.messages_field or holder or "Messages"]
    else:
        messages = [body]
    for message in messages:
        metadata = message[field_name]
        assert isinstance(metadata.pop("idempotency_key"), str)
        if not metadata:
            del message[field_name]
    return body


# ---- running a call through httpx.MockTransport --------------------------------------------------


@dataclass
class Recorder:
    """The mock Postmark: answers every request with one JSON body and keeps the requests."""

    answer: Any
    requests: list[httpx.Request] = field(default_factory=list)
    responses: list[httpx.Response] = field(default_factory=list)

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        response = httpx.Response(200, json=self.answer, request=request)
        self.responses.append(response)
        return response

    def validate_against_the_spec(self) -> None:
        """openapi-core: every request sent and every answer given fit the spec."""
        for request, response in zip(self.requests, self.responses, strict=True):
            validate_request(request)
            validate_response(request, response)


def client_class(op: Operation, kind: str) -> type[Any]:
    if op.token == "server":
        return ServerClient if kind == "sync" else AsyncServerClient
    return AccountClient if kind == "sync" else AsyncAccountClient


def invoke(
    op: Operation,
    kind: str,
    kwargs: dict[str, Any],
    handler: Callable[[httpx.Request], httpx.Response],
) -> Any:
    """Call `client.<group>.<name>(**kwargs)` on a fresh sync or async client."""
    transport = httpx.MockTransport(handler)
    cls = client_class(op, kind)
    if kind == "sync":
        with cls(TOKEN, transport=transport, max_retries=0) as client:
            return getattr(getattr(client, op.group), op.name)(**kwargs)

    async def run() -> Any:
        async with cls(TOKEN, transport=transport, max_retries=0) as client:
            result = getattr(getattr(client, op.group), op.name)(**kwargs)
            assert inspect.isawaitable(result), f"async {op.group}.{op.name} is not awaitable"
            return await result

    return asyncio.run(run())


# ---- checking a parsed answer against its example and schema -------------------------------------


def merged(schema: dict[str, Any]) -> dict[str, Any]:
    """An `allOf` of objects as one object schema."""
    if "allOf" not in schema:
        return schema
    properties: dict[str, Any] = {}
    for part in schema["allOf"]:
        part = merged(resolve(part)[0])
        properties.update(part.get("properties", {}))
    return {"type": "object", "properties": properties}


def without_null(schema: dict[str, Any]) -> tuple[dict[str, Any], str | None]:
    """The non-null branch of `anyOf: [X, {type: 'null'}]` (and its schema name)."""
    for key in ("anyOf", "oneOf"):
        if key in schema:
            branches = [resolve(b) for b in schema[key]]
            real = [(b, n) for b, n in branches if b.get("type") != "null"]
            assert len(real) == 1, f"cannot check a union of {len(real)} schemas"
            return real[0]
    return schema, None


def schema_types(schema: dict[str, Any]) -> set[str]:
    kind = schema.get("type")
    if kind is None:
        return {"object"} if "properties" in schema or "allOf" in schema else set()
    return set(kind) if isinstance(kind, list) else {kind}


def parse_timestamp(text: str) -> dt.datetime:
    """Postmark's timestamps, independently of the client: 7 fractional digits cut to 6."""
    text = re.sub(r"(\.\d{6})\d+", r"\1", text).replace("Z", "+00:00")
    return dt.datetime.fromisoformat(text)


def assert_parsed(value: Any, example: Any, node: Any, where: str) -> None:
    """Assert `value` is `example` read into the model of `node` (a schema), field by field."""
    schema, name = resolve(node)
    inner, inner_name = without_null(schema)
    schema, name = inner, inner_name or name
    schema = merged(schema)
    if example is None:
        assert value is None, f"{where}: null should read as None, got {value!r}"
        return
    types = schema_types(schema) - {"null"}
    if "array" in types:
        assert isinstance(value, list), f"{where}: expected a list, got {type(value).__name__}"
        assert len(value) == len(
            example
        ), f"{where}: {len(value)} items, example has {len(example)}"
        for index, (item, item_example) in enumerate(zip(value, example, strict=True)):
            assert_parsed(item, item_example, schema.get("items", {}), f"{where}[{index}]")
        return
    if "object" in types and "properties" in schema:
        assert_model(value, example, schema, name, where)
        return
    if "object" in types:
        assert value == example, f"{where}: a free-form object should be kept as it came"
        return
    assert_scalar(value, example, schema, where)


def assert_model(
    value: Any, example: dict[str, Any], schema: dict[str, Any], name: str | None, where: str
) -> None:
    if name is not None:
        expected = getattr(models, name, None)
        assert expected is not None, f"{where}: models has no class {name}"
        assert isinstance(value, expected), f"{where}: {type(value).__name__}, not {name}"
    else:
        assert isinstance(value, msgspec.Struct), f"{where}: expected a model, got {type(value).__name__}"
    properties = schema["properties"]
    for wire, property_schema in properties.items():
        attribute = attribute_name(wire, property_schema)
        assert hasattr(value, attribute), f"{where}: {type(value).__name__} has no {attribute}"
        if wire in example:
            assert_parsed(
                getattr(value, attribute), example[wire], property_schema, f"{where}.{wire}"
            )
        else:
            assert getattr(value, attribute) is None, f"{where}.{wire}: absent should read as None"
    unknown = {wire: item for wire, item in example.items() if wire not in properties}
    assert value.extra == unknown, f"{where}: unknown fields should be kept in .extra"


def assert_scalar(value: Any, example: Any, schema: dict[str, Any], where: str) -> None:
    types = schema_types(schema)
    if schema.get("format") == "date-time" and isinstance(example, str):
        assert isinstance(value, dt.datetime), f"{where}: not a datetime: {value!r}"
        assert value == parse_timestamp(example), f"{where}: {value!r} is not {example!r}"
        assert (value.tzinfo is None) == (parse_timestamp(example).tzinfo is None), where
        return
    if schema.get("format") == "date" and isinstance(example, str):
        assert type(value) is dt.date, f"{where}: not a date: {value!r}"
        assert value == dt.date.fromisoformat(example), f"{where}: {value!r} is not {example!r}"
        return
    assert value == example, f"{where}: {value!r} is not the example's {example!r}"
    if isinstance(example, bool):
        assert isinstance(value, bool), where
    elif isinstance(example, int) and "number" not in types:
        assert type(value) is int, f"{where}: {type(value).__name__}, not int"
    elif isinstance(example, str):
        assert isinstance(value, str), where


# ---- what a response of Postmark may hold tomorrow -----------------------------------------------

FUTURE_FIELD = "FieldFromTheFuture"
FUTURE_ENUM = "ValueFromTheFuture"


def from_the_future(example: Any, node: Any) -> tuple[Any, int, int]:
    """A copy of `example` with a new field in every object and a new value in every enum.

    Returns the copy, the number of objects given a new field and of enum values replaced, so a
    test can tell that it changed something.
    """
    copied = copy.deepcopy(example)
    counts = [0, 0]

    def walk(value: Any, node: Any) -> Any:
        schema, _ = resolve(node)
        schema = merged(without_null(schema)[0])
        if value is None:
            return value
        if isinstance(value, list) and "items" in schema:
            return [walk(item, schema["items"]) for item in value]
        if isinstance(value, dict) and "properties" in schema:
            for wire, item in list(value.items()):
                if wire in schema["properties"]:
                    value[wire] = walk(item, schema["properties"][wire])
            value[FUTURE_FIELD] = {"Nested": [1, "two"]}
            counts[0] += 1
            return value
        if isinstance(value, str) and "enum" in schema:
            counts[1] += 1
            return FUTURE_ENUM
        return value

    return walk(copied, node), counts[0], counts[1]


def operation_ids() -> list[str]:
    return sorted(OPERATIONS)


def every_object(example: Any) -> Iterator[Any]:
    """Every value nested in a JSON document, the document first."""
    yield example
    if isinstance(example, dict):
        for item in example.values():
            yield from every_object(item)
    elif isinstance(example, list):
        for item in example:
            yield from every_object(item)


def no_nulls(document: Any) -> bool:
    return all(item is not None for item in every_object(document))


def json_body(request: httpx.Request) -> Any:
    return json.loads(request.content) if request.content else None
