"""Check real httpx requests and responses against spec/postmark.yaml with openapi-core.

The client's requests and the fake Postmark's responses go through the same validator, so
neither can drift from the spec without a test failing.
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx
from openapi_core import OpenAPI
from openapi_core.datatypes import RequestParameters
from werkzeug.datastructures import Headers, ImmutableMultiDict

from support.spec_yaml import spec_doc

SPEC_PATH = Path(__file__).resolve().parents[2] / "spec" / "postmark.yaml"


@lru_cache(maxsize=4)
def openapi(spec_path: Path = SPEC_PATH) -> OpenAPI:
    spec = spec_doc(spec_path)
    # Tests talk to mock and loopback hosts: a relative server matches any host.
    spec["servers"] = spec.get("servers", []) + [{"url": "/"}]
    _param_types_as_any_of(spec)
    return OpenAPI.from_dict(spec)


def _param_types_as_any_of(spec: dict[str, Any]) -> None:
    """openapi-core reads a parameter's `type` as one string: `[integer, string]` (a template
    ID or alias) becomes the equivalent `anyOf` of the two types."""
    for path_item in spec.get("paths", {}).values():
        for operation in path_item.values():
            for param in operation.get("parameters", []) if isinstance(operation, dict) else []:
                schema = param.get("schema", {})
                if isinstance(schema.get("type"), list):
                    schema["anyOf"] = [{"type": kind} for kind in schema.pop("type")]


class _Request:
    def __init__(self, request: httpx.Request) -> None:
        self._request = request
        url = urlsplit(str(request.url))
        self.host_url = f"{url.scheme}://{url.netloc}"
        self.path = url.path
        self.method = request.method.lower()
        self.parameters = RequestParameters(
            query=ImmutableMultiDict(parse_qs(url.query, keep_blank_values=True)),
            header=Headers(dict(request.headers)),
            cookie=ImmutableMultiDict(),
        )
        self.body = request.content or None
        self.content_type = request.headers.get("Content-Type", "application/json")


class _Response:
    def __init__(self, response: httpx.Response) -> None:
        self.data = response.content
        self.status_code = response.status_code
        self.content_type = response.headers.get("Content-Type", "application/json").split(";")[0]
        self.headers = Headers(dict(response.headers))


def validate_request(request: httpx.Request) -> None:
    """Raise an openapi-core error when the request does not fit the spec."""
    openapi().validate_request(_Request(request))


def validate_response(request: httpx.Request, response: httpx.Response) -> None:
    """Raise an openapi-core error when the response does not fit the spec for that request."""
    openapi().validate_response(_Request(request), _Response(response))
