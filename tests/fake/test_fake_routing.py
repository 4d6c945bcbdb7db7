"""The fake routes every operation of the operation table to a handler keyed by operationId."""

from __future__ import annotations

import pytest
from fake_support import call, error_of
from postmark_client._operations import OPERATIONS
from postmark_client.testing import FakePostmark
from postmark_client.testing._handlers import HANDLERS
from postmark_client.testing._wire import route


def test_every_operation_has_a_handler_or_generic_behaviour() -> None:
    """Handlers cover what Postmark does; a plain resource (x-postmark-resource) without one
    gets the generic behaviour of `_resources.serve`."""
    generic = {op.id for op in OPERATIONS.values() if op.resource is not None}
    assert set(HANDLERS) | generic == set(OPERATIONS)
    assert set(HANDLERS) <= set(OPERATIONS)


@pytest.mark.parametrize("op", OPERATIONS.values(), ids=lambda op: op.id)
def test_every_operation_is_routed_by_its_method_and_path_template(op: object) -> None:
    path = op.path  # type: ignore[attr-defined]
    for param in op.path_params:  # type: ignore[attr-defined]
        path = path.replace(
            "{" + param.wire + "}", "12345" if param.type == "integer" else "some-value"
        )
    found = route(op.method, path)  # type: ignore[attr-defined]
    assert found.op is op
    assert found.values == {p.wire: ("12345" if p.type == "integer" else "some-value") for p in op.path_params}  # type: ignore[attr-defined]


def test_literal_paths_win_over_templates() -> None:
    assert route("POST", "/templates/validate").op is OPERATIONS["validate_template"]
    assert route("GET", "/messages/outbound/opens").op is OPERATIONS["search_message_opens"]


def test_paths_match_case_insensitively_and_with_a_trailing_slash(fake: FakePostmark) -> None:
    assert route("GET", "/DeliveryStats").op is OPERATIONS["get_delivery_stats"]
    assert route("post", "/email/withTemplate/").op is OPERATIONS["send_email_with_template"]
    assert call(fake, "GET", "/deliveryStats", check=False).status_code == 200


def test_unknown_paths_are_404_and_known_paths_with_another_method_405(fake: FakePostmark) -> None:
    assert call(fake, "GET", "/no-such-thing", check=False).status_code == 404
    assert route("GET", "/no-such-thing").path_known is False
    answer = call(fake, "DELETE", "/email", check=False)
    assert answer.status_code == 405
    assert "not allowed" in answer.json()["Message"]


def test_path_values_are_url_decoded(fake: FakePostmark) -> None:
    found = route("GET", "/message-streams/my%20stream/suppressions/dump")
    assert found.values == {"stream_id": "my stream"}
    assert error_of(call(fake, "GET", "/message-streams/my%20stream/suppressions/dump")) == (
        422,
        1226,
    )


@pytest.mark.parametrize("bad", ["abc", "0", "-1", "1.5"])
def test_an_integer_path_value_that_names_nothing_is_not_found(
    fake: FakePostmark, bad: str
) -> None:
    assert error_of(call(fake, "GET", f"/bounces/{bad}")) == (422, 1001)
    assert error_of(call(fake, "GET", f"/servers/{bad}", token="account")) == (404, 12)
