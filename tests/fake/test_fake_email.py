"""Sending: what the fake stores, what search and details find, and how it refuses bad sends."""

from __future__ import annotations

import base64

import pytest
from fake_support import call, error_of, no_sleep
from postmark_client import ServerClient, models
from postmark_client.errors import (
    InactiveRecipientError,
    SenderSignatureNotConfirmedError,
    SenderSignatureNotFoundError,
    TemplateNotFoundError,
    UnprocessableEntityError,
)
from postmark_client.testing import FakePostmark

SENDER = "sender@example.com"


def send(
    client: ServerClient, to: str = "jane@example.com", **extra: object
) -> models.SendEmailResponse:
    fields: dict[str, object] = {
        "from_": SENDER,
        "to": to,
        "subject": "Hello",
        "text_body": "Hi",
        **extra,
    }
    return client.email.send(**fields)  # type: ignore[arg-type]


def test_a_send_is_stored_and_search_and_details_find_it(
    fake: FakePostmark, client: ServerClient
) -> None:
    sent = send(
        client,
        to="Jane Doe <jane@example.com>, bob@example.com",
        cc="carol@example.com",
        tag="welcome",
        metadata={"id": "7"},
    )
    assert sent.error_code == 0 and sent.message == "OK"
    page = client.messages.search_outbound(recipient="carol@example.com")
    assert page.total_count == 1
    found = page.items[0]
    assert found.message_id == sent.message_id
    assert [r.email for r in found.to] == ["jane@example.com", "bob@example.com"]
    assert found.to[0].name == "Jane Doe"
    assert found.recipients == ["jane@example.com", "bob@example.com", "carol@example.com"]
    assert found.tag == "welcome" and found.status == "Sent"
    # The caller's Metadata is kept beside the send's idempotency key.
    assert found.metadata is not None and found.metadata.pop("idempotency_key")
    assert found.metadata == {"id": "7"}
    details = client.messages.get_outbound_details(sent.message_id or "")
    assert details.text_body == "Hi"
    assert "Subject: Hello" in (details.body or "")
    assert sorted(e.recipient for e in details.message_events) == [
        "bob@example.com",
        "carol@example.com",
        "jane@example.com",
    ]
    assert {e.type for e in details.message_events} == {"Delivered"}
    assert [m["MessageID"] for m in fake.messages()] == [sent.message_id]


def test_search_filters_and_pages_with_totals(client: ServerClient) -> None:
    for index in range(7):
        send(
            client,
            to=f"user{index}@example.com",
            tag="even" if index % 2 == 0 else "odd",
            subject=f"Number {index}",
        )
    assert client.messages.search_outbound(tag="even").total_count == 4
    assert client.messages.search_outbound(subject="Number 3").items[0].subject == "Number 3"
    assert client.messages.search_outbound(from_email="sender@").total_count == 7
    assert client.messages.search_outbound(status="queued").total_count == 0
    assert client.messages.search_outbound(status="sent").total_count == 7
    assert client.messages.search_outbound(message_stream="broadcast").total_count == 0
    page = client.messages.search_outbound(count=3, offset=2)
    assert page.total_count == 7
    # Newest first: offset 2 starts at the fifth message sent.
    assert [m.subject for m in page.items] == ["Number 4", "Number 3", "Number 2"]
    walked = [m.subject for m in client.messages.search_outbound(count=2).auto_paging_iter()]
    assert walked == [f"Number {i}" for i in reversed(range(7))]


def test_date_filters_are_inclusive_days_in_eastern_time(
    fake: FakePostmark, client: ServerClient
) -> None:
    send(client)
    day = fake.messages()[0]["ReceivedAt"][:10]
    assert client.messages.search_outbound(from_date=day, to_date=day).total_count == 1
    assert client.messages.search_outbound(to_date="2000-01-01").total_count == 0
    assert client.messages.search_outbound(from_date=f"{day}T00:00:00").total_count == 1


def test_metadata_filters_work_as_postmark_documents(
    fake: FakePostmark, client: ServerClient
) -> None:
    send(client, metadata={"color": "blue"})
    send(client, metadata={"color": "red"})
    answer = call(fake, "GET", "/messages/outbound?count=10&offset=0&metadata_color=blue")
    assert answer.json()["TotalCount"] == 1


def test_missing_from_is_errorcode_300(fake: FakePostmark) -> None:
    answer = call(fake, "POST", "/email", {"To": "jane@example.com", "TextBody": "Hi"})
    assert error_of(answer) == (422, 300)
    assert "'From' is required" in answer.json()["Message"]


@pytest.mark.parametrize(
    "message",
    [
        {"From": SENDER, "To": "jane@example.com"},  # no body
        {"From": SENDER, "To": "not-an-address", "TextBody": "x"},
        {"From": "nobody", "To": "jane@example.com", "TextBody": "x"},
        {"From": SENDER, "To": "", "TextBody": "x"},
        {"From": SENDER, "To": "jane@example.com", "TextBody": "x", "TrackLinks": "Sometimes"},
        {"From": SENDER, "To": "jane@example.com", "TextBody": "x", "Tag": "t" * 1001},
        {"From": SENDER, "To": ", ".join(f"u{i}@example.com" for i in range(51)), "TextBody": "x"},
        {
            "From": SENDER,
            "To": "j@example.com",
            "TextBody": "x",
            "Attachments": [{"Name": "a.txt", "Content": "%%", "ContentType": "text/plain"}],
        },
    ],
)
def test_invalid_sends_are_errorcode_300(fake: FakePostmark, message: dict[str, object]) -> None:
    assert error_of(call(fake, "POST", "/email", message)) == (422, 300)
    assert fake.messages() == []


def test_unknown_fields_are_ignored_and_forbidden_attachments_refused(fake: FakePostmark) -> None:
    base = {"From": SENDER, "To": "jane@example.com", "TextBody": "x"}
    assert call(fake, "POST", "/email", {**base, "Colour": "blue"}).status_code == 200
    assert "Colour" not in fake.messages()[-1]
    exe = {
        "Name": "run.exe",
        "Content": base64.b64encode(b"MZ").decode(),
        "ContentType": "application/octet-stream",
    }
    assert error_of(call(fake, "POST", "/email", {**base, "Attachments": [exe]})) == (422, 411)


def test_not_json_is_errorcode_402(fake: FakePostmark) -> None:
    assert error_of(call(fake, "POST", "/email", b"{not json")) == (422, 402)
    assert error_of(call(fake, "POST", "/email", b"")) == (422, 402)


def test_message_streams(fake: FakePostmark, client: ServerClient) -> None:
    assert error_of(
        call(
            fake,
            "POST",
            "/email",
            {"From": SENDER, "To": "a@example.com", "TextBody": "x", "MessageStream": "nope"},
        )
    ) == (422, 1235)
    assert error_of(
        call(
            fake,
            "POST",
            "/email",
            {"From": SENDER, "To": "a@example.com", "TextBody": "x", "MessageStream": "inbound"},
        )
    ) == (422, 1236)
    fake.add_message_stream("newsletter", "Broadcasts")
    send(client, message_stream="newsletter")
    assert client.messages.search_outbound(message_stream="newsletter").total_count == 1


def test_a_suppressed_recipient_is_errorcode_406_naming_the_addresses(
    fake: FakePostmark, client: ServerClient
) -> None:
    client.suppressions.create(
        "outbound", suppressions=[models.SuppressionEntry(email_address="gone@example.com")]
    )
    with pytest.raises(InactiveRecipientError) as raised:
        send(client, to="jane@example.com, gone@example.com")
    assert raised.value.error_code == 406
    assert raised.value.inactive_recipients == ("gone@example.com",)
    assert "Found inactive addresses: gone@example.com." in raised.value.message
    # Suppressions belong to a stream: the broadcast stream still reaches the address.
    send(client, to="gone@example.com", message_stream="broadcast")
    assert len(fake.messages()) == 1


def test_a_batch_answers_200_with_an_outcome_per_message(
    fake: FakePostmark, client: ServerClient
) -> None:
    client.suppressions.create(
        "outbound", suppressions=[models.SuppressionEntry(email_address="gone@example.com")]
    )
    result = client.email.send_batch(
        [
            models.SendEmailRequest(from_=SENDER, to="a@example.com", text_body="1"),
            models.SendEmailRequest(from_=SENDER, to="gone@example.com", text_body="2"),
            models.SendEmailRequest(
                from_=SENDER, to="c@example.com", text_body="3", message_stream="nope"
            ),
        ]
    )
    assert [o.error_code for o in result] == [0, 406, 1235]  # type: ignore[attr-defined]
    assert len(result.succeeded) == 1 and len(result.failed) == 2
    assert len(fake.messages()) == 1


def test_a_batch_over_500_is_errorcode_410_and_sends_nothing(fake: FakePostmark) -> None:
    messages = [{"From": SENDER, "To": f"u{i}@example.com", "TextBody": "x"} for i in range(501)]
    assert error_of(call(fake, "POST", "/email/batch", messages)) == (422, 410)
    templated = {
        "Messages": [
            {"From": SENDER, "To": "u@example.com", "TemplateAlias": "t", "TemplateModel": {}}
        ]
        * 501
    }
    assert error_of(call(fake, "POST", "/email/batchWithTemplates", templated)) == (422, 410)
    assert fake.messages() == []


def test_a_batch_whose_json_breaks_the_schema_fails_whole(fake: FakePostmark) -> None:
    messages = [
        {"From": SENDER, "To": "a@example.com", "TextBody": "x"},
        {"From": SENDER, "To": "b@example.com", "TextBody": 5},
    ]
    answer = call(fake, "POST", "/email/batch", messages)
    assert error_of(answer) == (422, 300)
    assert "message 1" in answer.json()["Message"]
    assert fake.messages() == []


def test_templated_sends_render_the_stored_template(
    fake: FakePostmark, client: ServerClient
) -> None:
    client.templates.create(
        name="Layout",
        alias="base",
        template_type="Layout",
        html_body="<main>{{{ @content }}}</main>",
        text_body="{{{ @content }}}\n-- {{team}}",
    )
    client.templates.create(
        name="Welcome",
        alias="welcome",
        layout_template="base",
        subject="Hi {{name}}",
        html_body="<p>{{name}} & co</p>",
        text_body="Dear {{ name }}",
    )
    client.email.send_with_template(
        from_=SENDER,
        to="jane@example.com",
        template_alias="welcome",
        template_model={"name": "<Jane>", "team": "Acme"},
    )
    stored = fake.messages()[0]
    assert stored["Subject"] == "Hi <Jane>"
    assert stored["HtmlBody"] == "<main><p>&lt;Jane&gt; & co</p></main>"
    assert stored["TextBody"] == "Dear <Jane>\n-- Acme"


def test_templated_send_errors(fake: FakePostmark, client: ServerClient) -> None:
    with pytest.raises(TemplateNotFoundError):
        client.email.send_with_template(
            from_=SENDER, to="a@example.com", template_alias="missing", template_model={}
        )
    body = {
        "From": SENDER,
        "To": "a@example.com",
        "TemplateAlias": "missing",
        "TemplateModel": {},
        "Subject": "no",
    }
    assert error_of(call(fake, "POST", "/email/withTemplate", body)) == (422, 1123)
    client.templates.create(name="T", alias="t", subject="S", text_body="B")
    client.templates.delete("t")
    with pytest.raises(TemplateNotFoundError):
        client.email.send_with_template(
            from_=SENDER, to="a@example.com", template_alias="t", template_model={}
        )


def test_a_sandbox_server_stores_but_never_delivers(fake: FakePostmark, account: object) -> None:
    server = account.servers.create(name="Sandbox", delivery_type="Sandbox")  # type: ignore[attr-defined]
    token = server.api_tokens[0]
    with ServerClient(token, transport=fake.transport(), sleep=no_sleep) as sandbox:
        sent = sandbox.email.send(
            from_=SENDER, to="hardbounce@bounce-testing.postmarkapp.com", text_body="x"
        )
        details = sandbox.messages.get_outbound_details(sent.message_id or "")
    assert details.sandboxed is True
    assert details.message_events == []
    assert fake.bounces(token) == []


def test_each_server_has_its_own_messages(
    fake: FakePostmark, client: ServerClient, account: object
) -> None:
    other = account.servers.create(name="Other")  # type: ignore[attr-defined]
    send(client)
    with ServerClient(
        other.api_tokens[0], transport=fake.transport(), sleep=no_sleep
    ) as other_client:
        assert other_client.messages.search_outbound().total_count == 0
        send(other_client, to="x@example.com")
        assert other_client.messages.search_outbound().items[0].recipients == ["x@example.com"]
    assert client.messages.search_outbound().total_count == 1


def test_sender_signatures_are_enforced_when_asked(account: object) -> None:
    strict = FakePostmark(require_sender_signature=True)
    with ServerClient(strict.server_token, transport=strict.transport(), sleep=no_sleep) as client:
        with pytest.raises(SenderSignatureNotFoundError):
            send(client, from_="me@mycompany.com")
        from postmark_client import AccountClient

        with AccountClient(
            strict.account_token, transport=strict.transport(), sleep=no_sleep
        ) as strict_account:
            strict_account.sender_signatures.create(from_email="me@mycompany.com", name="Me")
            with pytest.raises(SenderSignatureNotConfirmedError):
                send(client, from_="Me <me@mycompany.com>")
            strict.confirm_sender_signature("me@mycompany.com")
            send(client, from_="Me <me@mycompany.com>")
            domain = strict_account.domains.create(name="other.org")
            with pytest.raises(SenderSignatureNotFoundError):
                send(client, from_="anyone@other.org")
            strict.verify_domain(domain.id)
            send(client, from_="anyone@other.org")
    assert len(strict.messages()) == 2


def test_a_send_error_does_not_store_anything(fake: FakePostmark, client: ServerClient) -> None:
    with pytest.raises(UnprocessableEntityError):
        client.email.send(from_=SENDER, to="a@example.com", text_body="x", message_stream="nope")
    assert fake.messages() == []
