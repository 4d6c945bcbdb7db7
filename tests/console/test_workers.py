"""Two consoles on one store stand for two workers of a gateway (or two gateways behind one
load balancer): a sign-out, a lock-out, a changed password and a revoked key made at one hold
at the other from its next request, on SQLite and on PostgreSQL."""

from __future__ import annotations

import re
from pathlib import Path

from console_support import ADMIN, PASSWORD, InProcess, console_on, csrf_of
from postmark_client._store import PolicyTables
from postmark_client.gateway.console import hash_password


def _signed_in(
    store: PolicyTables, other: PolicyTables, tmp_path: Path
) -> tuple[InProcess, InProcess]:
    """ada signed in at a console on `store`, and her cookie sent to another on `other`,
    where it opens the pages too."""
    here = InProcess(console_on(store, tmp_path))
    assert here.sign_in().status_code == 303
    there = InProcess(console_on(other, tmp_path), here.cookies)
    assert there.get("/console/matrix").status_code == 200
    return here, there


def test_a_sign_out_at_one_worker_holds_at_the_other(
    store: PolicyTables, other: PolicyTables, tmp_path: Path
) -> None:
    here, there = _signed_in(store, other, tmp_path)
    csrf = csrf_of(here.get("/console/matrix").text)
    assert here.post("/console/sign-out", {"csrf": csrf}).status_code == 303
    # The other worker is sent the signed-out cookie again.
    assert there.get("/console/matrix").headers["location"] == "/console/sign-in"
    assert there.get("/console/log.json").status_code == 401
    assert there.post("/console/agents", {"csrf": csrf, "name": "late"}).status_code == 401


def test_failed_sign_ins_at_both_workers_lock_the_name_at_both(
    store: PolicyTables, other: PolicyTables, tmp_path: Path
) -> None:
    here = InProcess(console_on(store, tmp_path))
    there = InProcess(console_on(other, tmp_path))
    for client in (here, here, there, here):
        assert "Wrong name or password." in client.sign_in(ADMIN, "wrong").text
    locked = there.sign_in(ADMIN, "wrong, the fifth time")
    assert "this name is locked for 300 seconds" in locked.text
    refused = here.sign_in(ADMIN, PASSWORD)  # the right password, at the other worker
    assert refused.status_code == 403 and "locked for" in refused.text
    assert "pmc_session" not in refused.headers.get("set-cookie", "")


def test_a_changed_password_ends_the_sessions_signed_in_under_the_old_one(
    store: PolicyTables, other: PolicyTables, tmp_path: Path
) -> None:
    here, _ = _signed_in(store, other, tmp_path)  # the other console has the old password
    # A gateway started again with a new password hash for ada, under the same secret.
    changed = InProcess(console_on(other, tmp_path, hash_password("a new password")), here.cookies)
    assert changed.get("/console/matrix").headers["location"] == "/console/sign-in"
    assert changed.sign_in(ADMIN, "a new password").status_code == 303
    assert changed.get("/console/matrix").status_code == 200


def test_a_key_revoked_at_one_worker_is_refused_at_the_other(
    store: PolicyTables, other: PolicyTables, tmp_path: Path
) -> None:
    here, there = _signed_in(store, other, tmp_path)
    csrf = csrf_of(here.get("/console/keys").text)
    made = here.post("/console/keys", {"csrf": csrf, "agent": "reader", "action": "create"})
    key = re.search(r'id="new-key">([^<]+)<', made.text)
    assert key is not None, made.text
    found = there.app.policy.agent_for_key(key.group(1))
    assert found is not None and found.name == "reader"
    here.post("/console/keys", {"csrf": csrf, "agent": "reader", "action": "revoke"})
    assert there.app.policy.agent_for_key(key.group(1)) is None
