"""postmark_client.testing's example data and factories, checked against the spec."""

from __future__ import annotations

import msgspec
import pytest
from fake_support import assert_fits
from postmark_client import models
from postmark_client._operations import OPERATIONS
from postmark_client.testing import examples, factories
from postmark_client.testing.examples import (
    EXAMPLES,
    WEBHOOK_EXAMPLES,
    example_request,
    example_response,
    example_response_model,
    example_webhook,
)

MODEL_NAMES = [
    name
    for name in models.__all__
    if isinstance(getattr(models, name), type) and issubclass(getattr(models, name), msgspec.Struct)
]


def test_every_operation_and_webhook_has_an_example() -> None:
    assert set(EXAMPLES) == set(OPERATIONS)
    assert set(WEBHOOK_EXAMPLES) == {
        "Delivery",
        "Bounce",
        "SpamComplaint",
        "Open",
        "Click",
        "SubscriptionChange",
        "Inbound",
    }


@pytest.mark.parametrize("op_id", sorted(OPERATIONS))
def test_examples_fit_the_spec_and_parse_into_the_typed_models(op_id: str) -> None:
    op, example = OPERATIONS[op_id], EXAMPLES[op_id]
    assert (example.method, example.path_template) == (op.method, op.path)
    assert "{" not in example.path
    assert set(example.query) == {p.wire for p in op.query_params if p.required}
    if op.response_schema:
        assert_fits(op.response_schema, example_response(op_id))
    if op.body_schema:
        assert_fits(op.body_schema, example_request(op_id))
    else:
        assert example_request(op_id) is None
    parsed = example_response_model(op_id)
    items = parsed if isinstance(parsed, list) else [parsed]
    assert items and all(isinstance(item, msgspec.Struct) for item in items)


def test_example_functions_return_fresh_copies() -> None:
    first = example_response("send_email")
    first["To"] = "changed"
    assert example_response("send_email")["To"] == "receiver@example.com"
    assert example_webhook("Bounce")["RecordType"] == "Bounce"
    with pytest.raises(KeyError, match="operationIds"):
        example_request("no_such_operation")
    with pytest.raises(KeyError):
        example_webhook("Nope")


def test_there_is_a_factory_for_every_model() -> None:
    assert set(factories.FACTORIES) == set(MODEL_NAMES)
    for name in MODEL_NAMES:
        assert hasattr(factories, "make_" + _snake(name))


@pytest.mark.parametrize("name", MODEL_NAMES)
def test_factories_build_models_that_fit_the_spec(name: str) -> None:
    made = factories.FACTORIES[name]()
    assert isinstance(made, getattr(models, name))
    schema = name if name in _component_names() else None
    if schema is not None:
        assert_fits(schema, made.to_dict())
    if hasattr(made, "validate"):
        made.validate()  # request models from the factories are valid requests


def test_overrides_replace_attributes_and_unknown_ones_are_refused() -> None:
    bounce = factories.make_bounce(email="jane@example.com", inactive=False)
    assert (bounce.email, bounce.inactive) == ("jane@example.com", False)
    assert bounce.to_dict()["Email"] == "jane@example.com"
    request = factories.make_send_email_request(
        to="a@example.com", html_body=None, text_body="plain"
    )
    request.validate()
    assert "HtmlBody" not in request.to_dict()
    assert factories.make_bounce() == factories.make_bounce()
    assert factories.make_bounce() is not factories.make_bounce()
    with pytest.raises(TypeError):
        factories.make_bounce(no_such_attribute=1)


def test_the_testing_package_loads_its_names_lazily() -> None:
    from postmark_client import testing

    assert testing.examples is examples
    assert testing.EXAMPLES is EXAMPLES
    assert set(testing.__all__) <= set(dir(testing))
    with pytest.raises(AttributeError):
        testing.NoSuchThing  # noqa: B018


def _snake(name: str) -> str:
    from generator.naming import snake_case

    return snake_case(name)


def _component_names() -> set[str]:
    from fake_support import _spec

    return set(_spec()["components"]["schemas"])
