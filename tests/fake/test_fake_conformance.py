"""Every operation, driven through the real clients (sync and async) against the fake: every
request the clients send and every answer the fake gives must fit the spec (openapi-core)."""

from __future__ import annotations

import asyncio
import inspect
from typing import Any

import pytest
from fake_support import SpecCheckingTransport, no_sleep
from postmark_client import (
    AccountClient,
    AsyncAccountClient,
    AsyncServerClient,
    ServerClient,
    models,
)
from postmark_client._operations import OPERATIONS
from postmark_client.testing import FakePostmark
from postmark_client.testing._wire import route
from support.openapi_check import validate_request

# The stats breakdowns of one period (release note entries of the whole-API edit).
STATS_BREAKDOWNS = (
    "get_spam_complaint_counts",
    "get_tracked_counts",
    "get_open_counts",
    "get_open_platform_counts",
    "get_email_client_counts",
    "get_read_time_counts",
    "get_click_counts",
    "get_browser_family_counts",
    "get_click_platform_counts",
    "get_click_location_counts",
)


async def _no_async_sleep(seconds: float) -> None:
    return None


async def wait(value: Any) -> Any:
    """The value of a sync call, or the awaited value of an async one."""
    return await value if inspect.isawaitable(value) else value


async def every_operation(server: Any, account: Any, fake: FakePostmark) -> None:
    """One pass through all operations, in an order where each finds what it needs."""
    sender = "sender@example.com"
    html = '<p>Hi <a href="https://example.com/start">start</a></p>'
    sent = await wait(
        server.email.send(
            from_=sender, to="jane@example.com", subject="Hello", html_body=html, text_body="Hi",
            track_opens=True, track_links="HtmlAndText", tag="welcome", metadata={"plan": "pro"},
        )
    )  # fmt: skip
    batch = await wait(
        server.email.send_batch(
            [
                models.SendEmailRequest(from_=sender, to="a@example.com", text_body="A"),
                {"From": sender, "To": "b@example.com", "TextBody": "B"},
            ]
        )
    )
    assert len(batch.succeeded) == 2
    await wait(
        server.templates.create(
            name="Layout",
            alias="layout",
            template_type="Layout",
            html_body="<div>{{{ @content }}}</div>",
        )
    )
    created = await wait(
        server.templates.create(
            name="Welcome",
            alias="welcome",
            subject="Hi {{name}}",
            html_body="<b>{{name}}</b>",
            layout_template="layout",
        )
    )
    await wait(
        server.email.send_with_template(
            from_=sender,
            to="jane@example.com",
            template_alias="welcome",
            template_model={"name": "Jane"},
        )
    )
    await wait(
        server.email.send_batch_with_templates(
            [
                models.SendEmailWithTemplateRequest(
                    from_=sender,
                    to="k@example.com",
                    template_id=created.template_id,
                    template_model={},
                )
            ]
        )
    )
    if "send_bulk_email" in OPERATIONS:  # the Bulk API, once the spec has it (2026-03-05)
        bulk = await wait(
            server.email.send_bulk(
                from_=sender,
                recipients=[
                    models.BulkEmailMessage(to="ann@example.com", template_model={"n": "A"})
                ],
                subject="Hi {{n}}",
                text_body="Hi {{n}}",
                message_stream="broadcast",
            )
        )
        for _ in range(3):  # Accepted, Processing, Completed
            await wait(server.email.get_bulk_status(bulk.id))
    await wait(server.templates.list())
    await wait(server.templates.get("welcome"))
    await wait(server.templates.edit(created.template_id, name="Welcome!"))
    await wait(
        server.templates.validate(
            subject="{{#company}}{{name}}{{/company}}",
            test_render_model={"company": {"name": "Acme"}},
        )
    )
    await wait(
        server.email.send(
            from_=sender, to="hardbounce@bounce-testing.postmarkapp.com", text_body="bounces"
        )
    )
    bounce = (await wait(server.bounces.list(type="HardBounce"))).items[0]
    await wait(server.bounces.get(bounce.id))
    await wait(server.bounces.get_dump(bounce.id))
    await wait(server.bounces.activate(bounce.id))
    await wait(server.bounces.get_delivery_stats())
    fake.open(sent.message_id)
    fake.click(sent.message_id, "https://example.com/start")
    await wait(server.messages.search_outbound(recipient="jane@example.com"))
    await wait(server.messages.get_outbound_details(sent.message_id))
    await wait(server.messages.search_opens(recipient="jane@example.com"))
    await wait(server.messages.search_clicks(tag="welcome"))
    failed = fake.receive_inbound("carol@example.net", subject="Hi", status="Failed")
    blocked = fake.receive_inbound("spam@example.net", subject="Win", status="Blocked")
    await wait(server.messages.search_inbound(status="failed"))
    await wait(server.messages.retry_inbound(failed["MessageID"]))
    await wait(server.messages.bypass_inbound(blocked["MessageID"]))
    entries = [models.SuppressionEntry(email_address="gone@example.com")]
    await wait(server.suppressions.create("outbound", suppressions=entries))
    await wait(server.suppressions.dump("outbound", suppression_reason="ManualSuppression"))
    await wait(server.suppressions.delete("outbound", suppressions=entries))
    await wait(server.messages.get_outbound_dump(sent.message_id))
    await wait(server.messages.get_inbound_details(failed["MessageID"]))
    await wait(server.messages.get_opens(sent.message_id))
    await wait(server.messages.get_clicks(sent.message_id))
    await wait(server.stats.get_outbound_overview(tag="welcome"))
    await wait(server.stats.get_sent_counts())
    await wait(server.stats.get_bounce_counts())
    for name in STATS_BREAKDOWNS:
        await wait(getattr(server.stats, name)())
    await wait(server.server.get())
    await wait(server.server.edit(track_opens=True))
    await wait(
        server.message_streams.create(
            id="news", name="News", message_stream_type="Broadcasts", description="Monthly"
        )
    )
    await wait(server.message_streams.list())
    await wait(server.message_streams.get("news"))
    await wait(server.message_streams.edit("news", name="Newsletter"))
    await wait(server.message_streams.archive("news"))
    await wait(server.message_streams.unarchive("news"))
    hook = await wait(
        server.webhooks.create(
            url="https://hooks.example.com/w",
            triggers=models.WebhookTriggersSetting(
                open=models.WebhookOpenTriggerSetting(enabled=True, post_first_open_only=False)
            ),
        )
    )
    await wait(server.webhooks.list(message_stream="outbound"))
    await wait(server.webhooks.get(hook.id))
    await wait(server.webhooks.edit(hook.id, url="https://hooks.example.com/w2"))
    await wait(server.webhooks.delete(hook.id))
    rule = await wait(server.inbound_rules.create(rule="spam@example.net"))
    await wait(server.inbound_rules.list())
    await wait(server.inbound_rules.delete(rule.id))
    await wait(server.templates.delete("welcome"))
    await wait(account.servers.list(name="Fake"))
    staging = await wait(
        account.servers.create(
            name="Staging", color="Green", delivery_hook_url="https://hooks.example.com/d"
        )
    )
    await wait(account.servers.get(staging.id))
    await wait(account.servers.edit(staging.id, track_opens=True))
    await wait(
        account.templates.push(
            source_server_id=1, destination_server_id=staging.id, perform_changes=True
        )
    )
    await wait(account.servers.delete(staging.id))
    domain = await wait(
        account.domains.create(name="example.org", return_path_domain="pm.example.org")
    )
    await wait(account.domains.list())
    await wait(account.domains.edit(domain.id, return_path_domain="bounces.example.org"))
    fake.verify_domain(domain.id)
    await wait(account.domains.rotate_dkim(domain.id))
    await wait(account.domains.get(domain.id))
    await wait(account.domains.verify_dkim(domain.id))
    await wait(account.domains.verify_return_path(domain.id))
    await wait(account.domains.verify_spf(domain.id))
    signature = await wait(
        account.sender_signatures.create(from_email="support@example.org", name="Support")
    )
    await wait(account.sender_signatures.list())
    await wait(account.sender_signatures.get(signature.id))
    await wait(account.sender_signatures.edit(signature.id, name="Help desk"))
    await wait(account.sender_signatures.resend_confirmation(signature.id))
    await wait(account.sender_signatures.verify_spf(signature.id))
    await wait(account.sender_signatures.request_new_dkim(signature.id))
    await wait(account.sender_signatures.delete(signature.id))
    await wait(account.domains.delete(domain.id))
    removal = await wait(
        account.data_removals.create(
            requested_by="admin@example.com", requested_for="jane@example.com"
        )
    )
    await wait(account.data_removals.get(removal.id))


def _operations_seen(checked: SpecCheckingTransport) -> set[str]:
    found = (route(r.method, r.url.path) for r, _ in checked.seen)
    return {match.op.id for match in found if match.op is not None}


def test_every_operation_through_the_sync_clients_fits_the_spec(fake: FakePostmark) -> None:
    checked = SpecCheckingTransport(fake.transport())
    with (
        ServerClient(fake.server_token, transport=checked, sleep=no_sleep) as server,
        AccountClient(fake.account_token, transport=checked, sleep=no_sleep) as account,
    ):
        asyncio.run(every_operation(server, account, fake))
    assert _operations_seen(checked) == set(OPERATIONS)
    assert all(response.status_code == 200 for _, response in checked.seen)


def test_every_operation_through_the_async_clients_fits_the_spec(fake: FakePostmark) -> None:
    checked = SpecCheckingTransport(fake.transport())

    async def run() -> None:
        async with (
            AsyncServerClient(
                fake.server_token, transport=checked, sleep=_no_async_sleep
            ) as server,
            AsyncAccountClient(
                fake.account_token, transport=checked, sleep=_no_async_sleep
            ) as account,
        ):
            await every_operation(server, account, fake)

    asyncio.run(run())
    assert _operations_seen(checked) == set(OPERATIONS)


@pytest.mark.parametrize("op_id", sorted(OPERATIONS))
def test_refusals_fit_the_spec_too(op_id: str, fake: FakePostmark) -> None:
    """Each operation refused (an unknown token) answers a 401 that fits the spec."""
    import httpx
    from support.openapi_check import validate_response

    op = OPERATIONS[op_id]
    path = op.path
    for param in op.path_params:
        path = path.replace("{" + param.wire + "}", "1" if param.type == "integer" else "x")
    query = "&".join(f"{p.wire}=10" for p in op.query_params if p.required)
    header = "X-Postmark-Server-Token" if op.token == "server" else "X-Postmark-Account-Token"
    request = httpx.Request(
        op.method,
        f"https://api.postmarkapp.com{path}" + (f"?{query}" if query else ""),
        headers={header: "not-a-known-token", "Accept": "application/json"},
        content=b"{}" if op.body_schema else None,
    )
    response = fake.transport().handle_request(request)
    response.read()
    assert response.status_code == 401
    assert response.json()["ErrorCode"] == 10
    validate_response(request, response)
    if op.body_schema is None:
        validate_request(request)
