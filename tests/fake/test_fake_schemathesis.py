"""Schemathesis fuzzes the fake's HTTP server from the spec: no server errors, no answer that
breaks the spec, and requests that break the spec are refused (faults are off here)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from postmark_client.testing import FakePostmark
from schemathesis.checks import (
    content_type_conformance,
    negative_data_rejection,
    not_a_server_error,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)
from schemathesis.config import SchemathesisConfig
from support.openapi_check import SPEC_PATH
from support.spec_yaml import spec_doc

SERVER_TOKEN, ACCOUNT_TOKEN = "fuzz-server-token", "fuzz-account-token"
CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
    negative_data_rejection,
]
TOKENS = {
    "serverToken": ("X-Postmark-Server-Token", SERVER_TOKEN),
    "accountToken": ("X-Postmark-Account-Token", ACCOUNT_TOKEN),
}
# Bounded so that the run stays well under a minute: the spec's examples, the coverage phase's
# boundary values (positive only: its negative variants alone take minutes), and a few random
# valid and invalid cases per operation.
CONFIG = {
    "generation": {"max-examples": 8, "mode": "all"},
    "phases": {
        "stateful": {"enabled": False},
        "coverage": {"unexpected-methods": [], "generation": {"mode": "positive"}},
    },
}


def _spec() -> dict[str, Any]:
    spec = spec_doc(SPEC_PATH)
    spec.pop("webhooks", None)  # Postmark's calls to the user's receiver, not calls to Postmark
    return spec


schema = schemathesis.openapi.from_dict(_spec(), config=SchemathesisConfig.from_dict(CONFIG))


@schema.auth()
class FakeTokens:
    """The token each operation needs, in its header; left out where a case tests a missing one."""

    def get(self, case: schemathesis.Case, context: schemathesis.AuthContext) -> str:
        return _scheme(case)

    def set(self, case: schemathesis.Case, data: str, context: schemathesis.AuthContext) -> None:
        header, token = TOKENS[data]
        case.headers = {**(case.headers or {}), header: token}


def _scheme(case: schemathesis.Case) -> str:
    return str(next(iter(case.operation.definition.raw["security"][0])))


@pytest.fixture(scope="module")
def fake_url() -> Iterator[str]:
    fake = FakePostmark(seed="demo", server_token=SERVER_TOKEN, account_token=ACCOUNT_TOKEN)
    with fake.serve("127.0.0.1", 0) as server:
        yield server.url


@schema.parametrize()
@settings(deadline=None, suppress_health_check=list(HealthCheck), database=None, derandomize=True)
def test_fuzzed_requests_get_answers_that_fit_the_spec(
    case: schemathesis.Case, fake_url: str
) -> None:
    case.call_and_validate(base_url=fake_url, checks=CHECKS)
