"""Helpers of the fake Postmark's tests: a spec-checking transport, raw calls, schema checks."""

from __future__ import annotations

import copy
import json
from functools import lru_cache
from typing import Any

import httpx
from jsonschema import Draft202012Validator
from postmark_client.testing import FakePostmark
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT202012
from support.openapi_check import SPEC_PATH, validate_request, validate_response
from support.spec_yaml import spec_doc

TOKEN_HEADERS = {"server": "X-Postmark-Server-Token", "account": "X-Postmark-Account-Token"}


class SpecCheckingTransport(httpx.BaseTransport, httpx.AsyncBaseTransport):
    """Wraps a transport: every request and every answer must fit the spec (openapi-core).

    `seen` keeps (request, response) pairs so that tests can ask which operations ran.
    """

    def __init__(self, inner: Any) -> None:
        self.inner = inner
        self.seen: list[tuple[httpx.Request, httpx.Response]] = []

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        request.read()
        validate_request(request)
        response: httpx.Response = self.inner.handle_request(request)
        response.read()
        validate_response(request, response)
        self.seen.append((request, response))
        return response

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        await request.aread()
        validate_request(request)
        response: httpx.Response = await self.inner.handle_async_request(request)
        await response.aread()
        validate_response(request, response)
        self.seen.append((request, response))
        return response


def call(
    fake: FakePostmark,
    method: str,
    path: str,
    body: Any = None,
    *,
    token: str | None = "server",
    headers: dict[str, str] | None = None,
    check: bool = True,
) -> httpx.Response:
    """A raw request to the fake (what a client could not send), its answer checked against
    the spec unless `check` is False. `token`: "server", "account", None, or a literal token
    sent in the header its operation needs (pass `headers` for anything else)."""
    sent: dict[str, str] = {"Accept": "application/json", "Content-Type": "application/json"}
    if token == "server":
        sent[TOKEN_HEADERS["server"]] = fake.server_token
    elif token == "account":
        sent[TOKEN_HEADERS["account"]] = fake.account_token
    sent.update(headers or {})
    content = (
        None if body is None else (body if isinstance(body, bytes) else json.dumps(body).encode())
    )
    request = httpx.Request(
        method, "https://api.postmarkapp.com" + path, headers=sent, content=content
    )
    response = fake.transport().handle_request(request)
    response.read()
    if check:
        validate_response(request, response)
    return response


def error_of(response: httpx.Response) -> tuple[int, int]:
    """(HTTP status, ErrorCode) of an answer."""
    return response.status_code, int(response.json()["ErrorCode"])


@lru_cache(maxsize=1)
def _spec() -> dict[str, Any]:
    return spec_doc(SPEC_PATH)


def schema_validator(schema_name: str) -> Draft202012Validator:
    """A JSON Schema validator for `components/schemas/<schema_name>` of the spec."""
    spec = copy.deepcopy(_spec())
    registry: Registry = Registry().with_resource(
        "urn:spec", Resource.from_contents(spec, default_specification=DRAFT202012)
    )
    return Draft202012Validator(
        {"$ref": f"urn:spec#/components/schemas/{schema_name}"}, registry=registry
    )


def assert_fits(schema_name: str, value: Any) -> None:
    errors = sorted(schema_validator(schema_name).iter_errors(value), key=lambda e: list(e.path))
    assert not errors, f"{schema_name}: " + "; ".join(
        f"{list(e.path)}: {e.message}" for e in errors[:5]
    )


def no_sleep(seconds: float) -> None:
    """Clients and the fake never really wait in these tests."""
