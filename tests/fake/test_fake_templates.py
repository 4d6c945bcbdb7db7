"""Templates: aliases, layouts, the 100-per-server limit, and /templates/validate rendering."""

from __future__ import annotations

import pytest
from fake_support import call, error_of
from postmark_client import ServerClient
from postmark_client.errors import (
    TemplateLimitExceededError,
    TemplateNotFoundError,
    UnprocessableEntityError,
)
from postmark_client.testing import FakePostmark
from postmark_client.testing.examples import example_request, example_response


def test_create_get_edit_list_and_delete_by_id_or_alias(client: ServerClient) -> None:
    created = client.templates.create(
        name="Welcome", alias="welcome", subject="Hi {{name}}", text_body="Hello {{name}}"
    )
    assert created.active and created.alias == "welcome" and created.template_type == "Standard"
    by_alias = client.templates.get("Welcome")  # aliases match case-insensitively
    assert by_alias.template_id == created.template_id
    assert by_alias.text_body == "Hello {{name}}"
    edited = client.templates.edit(created.template_id, name="Welcome v2", alias="welcome-v2")
    assert edited.name == "Welcome v2"
    assert client.templates.get("welcome-v2").subject == "Hi {{name}}"
    with pytest.raises(TemplateNotFoundError):
        client.templates.get("welcome")
    assert [t.name for t in client.templates.list().items] == ["Welcome v2"]
    deleted = client.templates.delete("welcome-v2")
    assert deleted.error_code == 0 and str(created.template_id) in deleted.message
    # A deleted template can still be read (Active false), but not listed, edited or deleted again.
    assert client.templates.get(created.template_id).active is False
    assert client.templates.list().total_count == 0
    with pytest.raises(TemplateNotFoundError):
        client.templates.delete(created.template_id)
    with pytest.raises(TemplateNotFoundError):
        client.templates.edit(created.template_id, name="again")


def test_aliases_are_unique_among_active_templates(client: ServerClient) -> None:
    client.templates.create(name="A", alias="same", subject="S", text_body="B")
    with pytest.raises(UnprocessableEntityError) as raised:
        client.templates.create(name="B", alias="same", subject="S", text_body="B")
    assert raised.value.error_code == 1122
    client.templates.delete("same")
    client.templates.create(name="C", alias="same", subject="S", text_body="B")
    assert client.templates.get("same").name == "C"


def test_a_server_holds_at_most_100_templates(fake: FakePostmark, client: ServerClient) -> None:
    for index in range(100):
        client.templates.create(name=f"T{index}", subject="S", text_body="B")
    with pytest.raises(TemplateLimitExceededError) as raised:
        client.templates.create(name="one too many", subject="S", text_body="B")
    assert raised.value.error_code == 1105
    assert client.templates.list(count=500).total_count == 100
    client.templates.delete(client.templates.list(count=1).items[0].template_id)
    client.templates.create(name="fits again", subject="S", text_body="B")


def test_template_rules(fake: FakePostmark, client: ServerClient) -> None:
    def refused(body: dict[str, object]) -> int:
        return error_of(call(fake, "POST", "/templates", body))[1]

    assert refused({"Subject": "S", "TextBody": "B"}) == 1120  # no Name
    assert refused({"Name": "N", "TextBody": "B"}) == 1120  # a Standard template needs a Subject
    assert refused({"Name": "N", "Subject": "S"}) == 1120  # no body at all
    assert refused({"Name": "N", "Subject": "S", "TextBody": "B", "Alias": "1bad"}) == 1122
    assert refused({"Name": "N", "Subject": "S", "TextBody": "{{#open}} never closed"}) == 1122
    assert refused({"Name": "L", "TemplateType": "Layout", "HtmlBody": "no placeholder"}) == 1131
    assert (
        refused(
            {"Name": "L", "TemplateType": "Layout", "HtmlBody": "{{{ @content }}}", "Subject": "S"}
        )
        == 1123
    )
    assert (
        refused({"Name": "N", "Subject": "S", "TextBody": "B", "LayoutTemplate": "missing"}) == 1101
    )
    # An unknown field is ignored, as Postmark does (see _wire.check_object).
    colour = call(
        fake, "POST", "/templates", {"Name": "C", "Subject": "S", "TextBody": "B", "Colour": "red"}
    )
    assert colour.status_code == 200 and "Colour" not in colour.json()
    assert error_of(call(fake, "PUT", "/templates/12345", {"Name": "x"})) == (422, 1101)
    client.templates.create(name="T", alias="t", subject="S", text_body="B")
    assert error_of(call(fake, "PUT", "/templates/t", {})) == (422, 1109)


def test_a_layout_in_use_cannot_be_deleted(client: ServerClient) -> None:
    client.templates.create(
        name="L", alias="layout", template_type="Layout", html_body="<div>{{{ @content }}}</div>"
    )
    client.templates.create(
        name="T", alias="uses-it", subject="S", html_body="x", layout_template="layout"
    )
    assert [t.alias for t in client.templates.list(layout_template="layout").items] == ["uses-it"]
    assert [t.alias for t in client.templates.list(template_type="Layout").items] == ["layout"]
    with pytest.raises(UnprocessableEntityError) as raised:
        client.templates.delete("layout")
    assert raised.value.error_code == 1130
    client.templates.delete("uses-it")
    client.templates.delete("layout")


def test_validate_reproduces_the_spec_example(client: ServerClient, fake: FakePostmark) -> None:
    answer = call(fake, "POST", "/templates/validate", example_request("validate_template")).json()
    expected = example_response("validate_template")
    assert answer["AllContentIsValid"] is True
    for part in ("Subject", "HtmlBody", "TextBody"):
        assert answer[part]["RenderedContent"] == expected[part]["RenderedContent"]
    assert answer["SuggestedTemplateModel"] == expected["SuggestedTemplateModel"]


def test_validate_renders_with_the_test_model_and_reports_errors(client: ServerClient) -> None:
    result = client.templates.validate(
        subject="Order {{order.id}}",
        html_body="{{#items}}<li>{{name}}</li>{{/items}}{{^items}}none{{/items}} {{{raw}}} {{! a comment }}",
        test_render_model={
            "order": {"id": 42},
            "items": [{"name": "<b>"}, {"name": "pen"}],
            "raw": "<i>",
        },
    )
    assert result.all_content_is_valid is True
    assert result.subject is not None and result.subject.rendered_content == "Order 42"
    assert (
        result.html_body is not None
        and result.html_body.rendered_content == "<li>&lt;b&gt;</li><li>pen</li> <i> "
    )
    assert result.text_body is None
    broken = client.templates.validate(
        text_body="line one\n{{#each people}}{{name}}", subject="fine"
    )
    assert broken.all_content_is_valid is False
    assert broken.text_body is not None and broken.text_body.content_is_valid is False
    error = broken.text_body.validation_errors[0]
    assert error.line == 2 and "never closed" in error.message
    assert broken.subject is not None and broken.subject.content_is_valid is True


def test_validate_needs_some_content(fake: FakePostmark) -> None:
    assert error_of(call(fake, "POST", "/templates/validate", {"TestRenderModel": {}})) == (
        422,
        1109,
    )
