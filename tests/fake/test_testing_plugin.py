"""The pytest plugin, used exactly as a user would: a test file of their own, run by pytest in a
subprocess, with the fixtures coming from the installed package's `pytest11` entry point."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from importlib.metadata import entry_points
from pathlib import Path

USER_TESTS = textwrap.dedent('''
    import asyncio

    import pytest

    from postmark_client.errors import InactiveRecipientError


    def send_welcome(client, address):
        """The user's own code under test."""
        return client.email.send(from_="app@example.com", to=address, subject="Welcome!", text_body="Hi")


    def test_welcome_mail_is_sent(postmark_server_client, postmark_fake):
        sent = send_welcome(postmark_server_client, "user@example.com")
        stored = postmark_fake.messages()
        assert [m["Subject"] for m in stored] == ["Welcome!"]
        assert stored[0]["MessageID"] == sent.message_id


    def test_each_test_gets_a_fresh_fake(postmark_fake):
        assert postmark_fake.messages() == []


    def test_bouncing_addresses_behave_like_postmark(postmark_server_client):
        send_welcome(postmark_server_client, "hardbounce@bounce-testing.postmarkapp.com")
        with pytest.raises(InactiveRecipientError):
            send_welcome(postmark_server_client, "hardbounce@bounce-testing.postmarkapp.com")


    def test_account_client(postmark_account_client):
        created = postmark_account_client.servers.create(name="Staging")
        assert created.api_tokens


    def test_async_clients(postmark_async_server_client, postmark_async_account_client):
        async def run():
            async with postmark_async_server_client as client:
                await client.email.send(from_="a@example.com", to="b@example.com", text_body="x")
                page = await client.messages.search_outbound()
            async with postmark_async_account_client as account:
                servers = await account.servers.list()
            return page.total_count, servers.total_count

        assert asyncio.run(run()) == (1, 1)


    @pytest.mark.postmark(seed="demo")
    def test_marker_options_reach_the_fake(postmark_server_client):
        assert postmark_server_client.templates.get("welcome").subject.startswith("Welcome")
    ''')


def run_pytest(folder: Path, *extra: str) -> subprocess.CompletedProcess[str]:
    test_file = folder / "test_users_app.py"
    test_file.write_text(USER_TESTS, encoding="utf-8")
    return subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", *extra, str(test_file)],
        cwd=folder,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def test_the_plugin_is_registered_under_a_name_of_its_own() -> None:
    # postmarker registers a pytest11 plugin named "postmark": pytest loads one plugin per name,
    # so sharing it would silently drop our fixtures wherever both are installed.
    values = [ep.value for ep in entry_points(group="pytest11") if ep.name == "postmark_client"]
    assert values == [
        "postmark_client.testing.plugin"
    ], "the generated package is not installed with its entry points: .venv/bin/pip install -e ./generated"


def test_a_users_test_suite_runs_offline_with_the_fixtures(tmp_path: Path) -> None:
    done = run_pytest(tmp_path)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "6 passed" in done.stdout


def test_without_the_plugin_the_fixtures_do_not_exist(tmp_path: Path) -> None:
    done = run_pytest(tmp_path, "-p", "no:postmark_client")
    assert done.returncode != 0
    assert "fixture 'postmark_server_client' not found" in done.stdout
