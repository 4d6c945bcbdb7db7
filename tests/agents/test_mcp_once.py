"""MCP send tools take an idempotency key: the same key returns the first result, once sent."""

from __future__ import annotations

from pathlib import Path

import mcp
from postmark_client.access import Policy
from postmark_client.mcp import build_server
from postmark_client.mcp._tools import INPUT_SCHEMAS
from postmark_client.testing import FakePostmark

SEND = {"from": "a@example.com", "to": "b@example.com", "subject": "Hi", "text_body": "Hello"}


def server_for(policy: Policy, fake: FakePostmark) -> mcp.server.Server:  # type: ignore[type-arg]
    tokens = {"server": fake.server_token, "account": fake.account_token}
    return build_server(policy, agent="onboarding-mailer", tokens=tokens, transport=fake.transport)


def test_every_send_tool_takes_a_key() -> None:
    sends = {"send_email", "send_email_batch", "send_email_with_template"}
    sends |= {"send_email_batch_with_templates", "send_bulk_email"}
    assert {
        op for op, schema in INPUT_SCHEMAS.items() if "idempotency_key" in schema["properties"]
    } == sends


async def test_the_same_key_returns_the_first_result_without_sending_again(
    policy_file: Path,
) -> None:
    policy, fake = Policy.load(policy_file), FakePostmark()
    async with mcp.Client(server_for(policy, fake)) as client:
        first = await client.call_tool("email_send", {**SEND, "idempotency_key": "welcome-7"})
        again = await client.call_tool("email_send", {**SEND, "idempotency_key": "welcome-7"})
        other = await client.call_tool("email_send", {**SEND, "idempotency_key": "welcome-8"})
        batch = {"messages": [SEND, SEND], "idempotency_key": "batch-1"}
        sent_batch = await client.call_tool("email_send_batch", batch)
        batch_again = await client.call_tool("email_send_batch", batch)
    assert not first.is_error and first.structured_content == again.structured_content
    assert other.structured_content["MessageID"] != first.structured_content["MessageID"]
    assert sent_batch.structured_content == batch_again.structured_content
    stored = [m["Metadata"]["idempotency_key"] for m in fake.messages()]
    assert sorted(stored) == ["batch-1-0", "batch-1-1", "welcome-7", "welcome-8"]


async def test_a_refused_send_may_be_tried_again_with_its_key(policy_file: Path) -> None:
    policy, fake = Policy.load(policy_file), FakePostmark()
    async with mcp.Client(server_for(policy, fake)) as client:
        refused = await client.call_tool("email_send", {**SEND, "to": "", "idempotency_key": "k"})
        fixed = await client.call_tool("email_send", {**SEND, "idempotency_key": "k"})
    assert refused.is_error and not fixed.is_error
    assert [m["Metadata"]["idempotency_key"] for m in fake.messages()] == ["k"]
