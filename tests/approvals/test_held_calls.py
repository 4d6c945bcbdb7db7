"""Held calls over both stores: the same pending call is one held call, an approval is bound to
the exact arguments and used once, a second decision is refused, and time limits expire."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor

import pytest
from approvals_support import Clock
from postmark_client._approvals import TTL, ApprovalError, Approvals, approval_url
from postmark_client._audit import sentence
from postmark_client._store import AuditStore, open_store

BODY = {"body": {"From": "a@example.com", "To": "b@example.com", "TextBody": "x"}, "path": {}}
RACERS = 8
CHANGED = {"body": {"From": "a@example.com", "To": "c@example.com", "TextBody": "x"}, "path": {}}


def _approvals(store: AuditStore, clock: Clock) -> Approvals:
    return Approvals(store, clock=clock, policy_hash="test")


def test_hold_approve_use_once(store: AuditStore, clock: Clock) -> None:
    approvals = _approvals(store, clock)
    held = approvals.hold("mailer", "send_email", BODY, "approve names email.send")
    again = approvals.hold("mailer", "send_email", dict(reversed(list(BODY.items()))))
    assert again.id == held.id and held.state == "pending"
    assert [h.id for h in approvals.pending()] == [held.id]
    assert held.args == BODY
    approved = approvals.approve(held.id, "ada")
    assert (approved.state, approved.decided_by) == ("approved", "ada")
    assert approvals.pending() == []
    assert not approvals.take("mailer", "send_email", CHANGED)
    assert not approvals.take("other", "send_email", BODY)
    assert approvals.take("mailer", "send_email", BODY)
    assert not approvals.take("mailer", "send_email", BODY)
    found = approvals.get(held.id)
    assert found is not None and found.state == "used"
    assert [(e.decision, e.agent) for e in store.entries()] == [
        ("approved", "mailer"),
        ("used", "mailer"),
    ]
    assert [sentence(e) for e in store.entries()] == [
        f"mailer's call to send one message (email.send): approved (approval {held.id} by ada)",
        f"mailer's call to send one message (email.send): used (approval {held.id} by ada)",
    ]


def test_a_second_decision_is_refused(store: AuditStore, clock: Clock) -> None:
    approvals = _approvals(store, clock)
    held = approvals.hold("mailer", "send_email", BODY)
    approvals.approve(held.id, "ada")
    with pytest.raises(ApprovalError, match="already approved by ada"):
        approvals.approve(held.id, "bob")
    with pytest.raises(ApprovalError, match="already approved by ada"):
        approvals.deny(held.id, "bob")
    with pytest.raises(ApprovalError, match="no held call has the id 'nope'"):
        approvals.approve("nope", "ada")
    with pytest.raises(ApprovalError, match="needs a name"):
        approvals.approve(approvals.hold("mailer", "send_email", CHANGED).id, " ")
    assert [e.decision for e in store.entries()] == ["approved"]


def test_deny(store: AuditStore, clock: Clock) -> None:
    approvals = _approvals(store, clock)
    held = approvals.hold("mailer", "delete_server", {"path": {"serverid": "7"}})
    denied = approvals.deny(held.id, "ada")
    assert (denied.state, denied.decided_by) == ("denied", "ada")
    assert not approvals.take("mailer", "delete_server", {"path": {"serverid": "7"}})
    assert approvals.hold("mailer", "delete_server", {"path": {"serverid": "7"}}).id != held.id
    (row,) = store.entries()
    assert sentence(row) == (
        "mailer tried to delete a server (servers.delete): denied "
        f"(approval {held.id} denied by ada)"
    )


def test_expiry(store: AuditStore, clock: Clock) -> None:
    approvals = _approvals(store, clock)
    waiting = approvals.hold("mailer", "send_email", BODY)
    clock.advance(TTL)
    assert approvals.pending() == []
    assert approvals.get(waiting.id).state == "expired"  # type: ignore[union-attr]
    with pytest.raises(ApprovalError, match="already expired"):
        approvals.approve(waiting.id, "ada")
    fresh = approvals.hold("mailer", "send_email", BODY)
    assert fresh.id != waiting.id
    clock.advance(TTL - 1)
    approvals.approve(fresh.id, "ada")  # in time; its use has TTL from now
    clock.advance(TTL - 1)
    unused = approvals.hold("mailer", "send_email", CHANGED)
    clock.advance(1)
    assert not approvals.take("mailer", "send_email", BODY)
    assert [(e.decision, e.rule.split(",")[0]) for e in store.entries()] == [
        ("expired", f"approval {waiting.id}"),
        ("approved", f"approval {fresh.id} by ada"),
        ("expired", f"approval {fresh.id}"),
    ]
    assert approvals.get(unused.id).state == "pending"  # type: ignore[union-attr]
    assert "expired (approval" in sentence(store.entries()[-1])


def test_approval_url() -> None:
    assert approval_url("https://gw.example/", "abc") == "https://gw.example/console/approvals/abc"
    assert approval_url(None, "abc") == "/console/approvals/abc"


def test_racing_identical_calls_take_one_approval_once(store: AuditStore, clock: Clock) -> None:
    first = _approvals(store, clock)
    first.approve(first.hold("mailer", "send_email", BODY).id, "ada")
    # A store (a connection) per racer, as separate processes or gateway hosts have.
    where = getattr(store, "url", None) or store.path
    stores = [open_store(where) for _ in range(RACERS)]
    racers = [_approvals(own, clock) for own in stores]
    for approvals in racers:
        assert approvals.pending() == []  # connected before the race
    start = threading.Barrier(RACERS)

    def take(approvals: Approvals) -> bool:
        start.wait(timeout=30)
        return approvals.take("mailer", "send_email", BODY)

    with ThreadPoolExecutor(RACERS) as pool:
        taken = list(pool.map(take, racers))
    for approvals, own in zip(racers, stores):
        approvals.close()
        own.close()
    assert taken.count(True) == 1
    assert [e.decision for e in store.entries()] == ["approved", "used"]
