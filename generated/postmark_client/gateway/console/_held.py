# Copied by postmark-codegen from templates/static/postmark_client/gateway/console/_held.py;
# edit it there and regenerate, not here.
"""The approvals pages: each held call with its sentence and exact arguments, to approve or
deny once (the decision itself is `Approvals`', which refuses a second one)."""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import UTC, datetime

from ..._approvals import Held
from ..._operations import OPERATIONS
from ._html import Html, html, join
from ._pages import Nav, csrf_field, layout

__all__ = ["approval_page", "approvals_page", "held_sentence"]


def _when(stamp: float | None) -> str:
    if stamp is None:
        return ""
    moment = datetime.fromtimestamp(stamp, UTC)
    return moment.isoformat(timespec="seconds").replace("+00:00", "Z")


def held_sentence(held: Held) -> str:
    """`mailer asked to send a batch of messages (email.send_batch): held, as 3 recipients,
    over approve_over_recipients = 2`."""
    op = OPERATIONS.get(held.operation)
    what = f"{op.summary.rstrip('.').lower()} ({op.group}.{op.name})" if op else held.operation
    return f"{held.agent} asked to {what}: {held.state}, as {held.reason}"


def _held(held: Held, nav: Nav) -> Html:
    decide = Html("")
    if held.state == "pending":
        decide = html(
            '<form method="post" action="/console/approvals/{id}">{csrf}'
            '<button type="submit" name="decision" value="approve">Approve {agent}\'s call</button> '
            '<button type="submit" name="decision" value="deny">Deny {agent}\'s call</button>'
            "</form>",
            id=held.id,
            csrf=csrf_field(nav),
            agent=held.agent,
        )
    decided = (
        html("<dt>decided by</dt><dd>{by} at {at}</dd>", by=held.decided_by, at=_when(held.decided))
        if held.decided_by
        else Html("")
    )
    return html(
        '<article class="held" id="held-{id}"><h3>{sentence}</h3><dl class="detail">'
        "<dt>state</dt><dd>{state}</dd><dt>held at</dt><dd>{created}</dd>"
        "<dt>{until}</dt><dd>{expires}</dd>{decided}"
        "<dt>arguments SHA-256</dt><dd><code>{digest}</code></dd></dl>"
        "<p>The exact arguments (an approval is bound to them, and used once):</p>"
        '<pre tabindex="0" aria-label="Arguments of {agent}\'s call">{arguments}</pre>{decide}'
        "</article>",
        id=held.id,
        sentence=held_sentence(held),
        state=held.state,
        created=_when(held.created),
        until="approval usable until" if held.state == "approved" else "waits until",
        expires=_when(held.expires),
        decided=decided,
        digest=held.digest,
        agent=held.agent,
        arguments=json.dumps(held.args, indent=2, ensure_ascii=False, sort_keys=True),
        decide=decide,
    )


def approvals_page(nav: Nav, pending: Sequence[Held]) -> bytes:
    """Every call waiting for a decision, oldest first."""
    body = (
        join(_held(held, nav) for held in pending)
        if pending
        else html('<p id="no-held">No call is waiting for approval.</p>')
    )
    return layout("Approvals", body, nav, current="approvals")


def approval_page(nav: Nav, held: Held, notice: str | None = None) -> bytes:
    """One held call (the page an agent's refusal names)."""
    said = html('<p class="notice" role="status">{n}</p>', n=notice) if notice else Html("")
    return layout("Approval", join([said, _held(held, nav)]), nav, current="approvals")
