"""Account operations: servers (each with a freshly minted token), domains, sender signatures."""

from __future__ import annotations

import pytest
from fake_support import call, error_of, no_sleep
from postmark_client import AccountClient, ServerClient
from postmark_client.errors import NotFoundError, UnprocessableEntityError
from postmark_client.testing import FakePostmark


def test_a_new_server_mints_its_own_token(fake: FakePostmark, account: AccountClient) -> None:
    created = account.servers.create(name="Staging", color="Green", track_opens=True)
    assert created.name == "Staging" and created.color == "Green" and created.track_opens is True
    assert len(created.api_tokens) == 1
    token = created.api_tokens[0]
    assert token not in (fake.server_token, fake.account_token)
    assert token in fake.server_tokens()
    assert created.inbound_address == f"{created.inbound_hash}@inbound.postmarkapp.com"
    with ServerClient(token, transport=fake.transport(), sleep=no_sleep) as staging:
        staging.email.send(from_="a@example.com", to="b@example.com", text_body="x")
        assert staging.messages.search_outbound().total_count == 1
    assert fake.messages() == []  # the first server saw nothing
    assert [s.name for s in account.servers.list().items] == ["Fake Server", "Staging"]
    assert [s.name for s in account.servers.list(name="stag").items] == ["Staging"]


def test_server_settings_change_and_names_stay_unique(account: AccountClient) -> None:
    server = account.servers.create(name="Staging")
    edited = account.servers.edit(
        server.id, name="Staging EU", delivery_hook_url="https://hooks.example.com/d"
    )
    assert edited.name == "Staging EU" and edited.delivery_hook_url == "https://hooks.example.com/d"
    assert account.servers.get(server.id).name == "Staging EU"
    with pytest.raises(UnprocessableEntityError) as raised:
        account.servers.create(name="staging eu")
    assert raised.value.error_code == 603
    with pytest.raises(NotFoundError):
        account.servers.get(999999)


def test_server_refusals(fake: FakePostmark, account: AccountClient) -> None:
    server = account.servers.create(name="S")
    assert error_of(call(fake, "PUT", f"/servers/{server.id}", {}, token="account")) == (422, 609)
    # DeliveryType cannot change after creation: an unknown field of an edit, ignored, which
    # leaves nothing to change.
    assert error_of(
        call(fake, "PUT", f"/servers/{server.id}", {"DeliveryType": "Sandbox"}, token="account")
    ) == (422, 609)
    assert error_of(call(fake, "POST", "/servers", {"Name": ""}, token="account")) == (422, 608)
    assert error_of(
        call(fake, "POST", "/servers", {"Name": "C", "Color": "Pink"}, token="account")
    ) == (422, 607)
    assert error_of(
        call(fake, "POST", "/servers", {"Name": "H", "BounceHookUrl": "not a url"}, token="account")
    ) == (422, 606)
    assert error_of(
        call(
            fake,
            "POST",
            "/servers",
            {"Name": "F", "BounceHookUrl": "ftp://x.example.com/h"},
            token="account",
        )
    ) == (422, 606)
    assert error_of(
        call(fake, "POST", "/servers", {"Name": "T", "InboundSpamThreshold": -1}, token="account")
    ) == (422, 611)
    account.servers.edit(server.id, inbound_domain="in.example.com")
    assert error_of(
        call(
            fake,
            "POST",
            "/servers",
            {"Name": "D", "InboundDomain": "in.example.com"},
            token="account",
        )
    ) == (422, 602)


def test_server_deletion_can_be_disabled_for_the_account() -> None:
    fake = FakePostmark(server_deletion=False)
    with AccountClient(fake.account_token, transport=fake.transport(), sleep=no_sleep) as account:
        server = account.servers.create(name="Keep")
        with pytest.raises(UnprocessableEntityError) as raised:
            account.servers.delete(server.id)
        assert raised.value.error_code == 604
        assert account.servers.get(server.id).name == "Keep"


def test_domains_and_dkim_rotation(fake: FakePostmark, account: AccountClient) -> None:
    domain = account.domains.create(name="example.org", return_path_domain="pm-bounces.example.org")
    assert domain.dkim_update_status == "Pending" and domain.dkim_verified is False
    assert domain.dkim_pending_host and domain.dkim_pending_host.endswith("._domainkey.example.org")
    assert domain.return_path_domain_cname_value == "pm.mtasv.net"
    with pytest.raises(UnprocessableEntityError) as raised:
        account.domains.rotate_dkim(domain.id)
    assert raised.value.error_code == 505  # a new domain's key is still pending
    fake.verify_domain("example.org")
    listed = account.domains.list().items
    assert [(d.name, d.dkim_verified) for d in listed] == [("example.org", True)]
    rotated = account.domains.rotate_dkim(domain.id)
    assert (
        rotated.dkim_update_status == "Pending" and rotated.dkim_pending_host != rotated.dkim_host
    )
    edited = account.domains.edit(domain.id, return_path_domain="bounces.example.org")
    assert (
        edited.return_path_domain == "bounces.example.org"
        and edited.return_path_domain_verified is False
    )
    with pytest.raises(UnprocessableEntityError) as raised:
        account.domains.edit(domain.id, return_path_domain="bounces.elsewhere.com")
    assert raised.value.error_code == 522


def test_domain_refusals(fake: FakePostmark, account: AccountClient) -> None:
    account.domains.create(name="example.org")
    assert error_of(call(fake, "POST", "/domains", {"Name": "EXAMPLE.org"}, token="account")) == (
        422,
        512,
    )
    assert error_of(call(fake, "POST", "/domains", {"Name": "not a domain"}, token="account")) == (
        422,
        516,
    )
    assert error_of(call(fake, "POST", "/domains", {}, token="account")) == (422, 514)
    assert error_of(call(fake, "POST", "/domains", {"Name": "a" * 256}, token="account")) == (
        422,
        515,
    )
    assert error_of(
        call(fake, "PUT", "/domains/4242", {"ReturnPathDomain": "x"}, token="account")
    ) == (422, 510)
    assert error_of(call(fake, "POST", "/domains/4242/rotatedkim", token="account")) == (422, 510)


def test_sender_signatures(fake: FakePostmark, account: AccountClient) -> None:
    created = account.sender_signatures.create(
        from_email="support@example.org",
        name="Support",
        reply_to_email="help@example.org",
        confirmation_personal_note="Hi!",
    )
    assert (created.domain, created.confirmed, created.reply_to_email_address) == (
        "example.org",
        False,
        "help@example.org",
    )
    assert created.confirmation_personal_note == "Hi!"
    fake.confirm_sender_signature(created.id)
    assert account.sender_signatures.list().items[0].confirmed is True
    with pytest.raises(UnprocessableEntityError) as raised:
        account.sender_signatures.create(from_email="SUPPORT@example.org", name="Again")
    assert raised.value.error_code == 504
    with pytest.raises(UnprocessableEntityError) as raised:
        account.sender_signatures.create(from_email="me@gmail.com", name="Me")
    assert raised.value.error_code == 503
    removed = account.sender_signatures.delete(created.id)
    assert removed.error_code == 0 and "support@example.org" in removed.message
    assert account.sender_signatures.list().total_count == 0
    assert error_of(call(fake, "DELETE", f"/senders/{created.id}", token="account")) == (422, 501)
    assert error_of(
        call(fake, "POST", "/senders", {"FromEmail": "x@example.org"}, token="account")
    ) == (422, 520)
    assert error_of(
        call(fake, "POST", "/senders", {"FromEmail": "nope", "Name": "N"}, token="account")
    ) == (422, 522)
    note = {"FromEmail": "y@example.org", "Name": "N", "ConfirmationPersonalNote": "x" * 401}
    assert error_of(call(fake, "POST", "/senders", note, token="account")) == (422, 521)


def test_account_lists_page_with_totals(account: AccountClient) -> None:
    for index in range(5):
        account.servers.create(name=f"S{index}")
    page = account.servers.list(count=2, offset=1)
    assert page.total_count == 6
    assert [s.name for s in page.items] == ["S0", "S1"]
