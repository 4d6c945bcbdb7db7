"""The command's own behaviour: paging, tables, exit codes, --dry-run, tokens, --help."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from cli_support import (
    ACCOUNT_TOKEN,
    CLI,
    SERVER_TOKEN,
    TOKENS,
    all_outputs,
    items_of,
    subprocess_env,
)
from postmark_client import _schemas
from postmark_client import cli as cli_module
from postmark_client._operations import OPERATIONS

SENDER = "sender@example.com"


def message(to: str, **extra: Any) -> dict[str, Any]:
    return {"From": SENDER, "To": to, "Subject": "batch", "TextBody": "x", **extra}


# ---- paging and output ------------------------------------------------------------------------


def test_all_pages_through_every_result_with_progress(cli: CLI, fake: Any) -> None:
    batch = [message(f"page{n}@example.com", Tag="paged") for n in range(7)]
    cli.json("email", "send-batch", "--json", json.dumps(batch))
    calls_before = len(fake.calls)

    result = cli.run("messages", "search-outbound", "--tag", "paged", "--count", "3", "--all")
    items = result.json()
    assert sorted(
        m["To"][0]["Email"] if isinstance(m["To"], list) else m["To"] for m in items
    ) == sorted(f"page{n}@example.com" for n in range(7))
    progress = [line for line in result.stderr.splitlines() if "fetched" in line]
    assert progress == [
        "postmark: messages search-outbound: fetched 3 of 7",
        "postmark: messages search-outbound: fetched 6 of 7",
        "postmark: messages search-outbound: fetched 7 of 7",
    ]
    pages = [
        c for c in list(fake.calls)[calls_before:] if c.operation_id == "search_outbound_messages"
    ]
    assert len(pages) == 3


def test_without_all_one_page_comes_back_with_its_total(cli: CLI) -> None:
    cli.json(
        "email",
        "send-batch",
        "--json",
        json.dumps([message(f"one{n}@example.com", Tag="one") for n in range(4)]),
    )
    page = cli.json("messages", "search-outbound", "--tag", "one", "--count", "2")
    assert page["TotalCount"] == 4
    assert len(items_of(page, "Messages")) == 2


def test_all_stops_at_postmark_s_cap_and_says_what_was_not_reached(cli: CLI, fake: Any) -> None:
    from postmark_client import ServerClient

    reachable = OPERATIONS["search_outbound_messages"].paging.max_reachable  # type: ignore[union-attr]
    with ServerClient(token=SERVER_TOKEN, transport=fake.transport()) as client:
        sent = client.email.send_batch(
            [message(f"r{n}@example.com", Tag="cap") for n in range(reachable + 1)]
        )
    assert len(sent.succeeded) == reachable + 1

    result = cli.run(
        "messages", "search-outbound", "--tag", "cap", "--count", "500", "--all", expect=1
    )
    items = result.json()  # what was reachable is still printed as valid JSON
    assert len(items) == reachable
    assert f"fetched {reachable:,} of {reachable + 1:,}" in result.stderr
    error, hint = result.stderr.splitlines()[-2:]
    assert f"the first {reachable:,}" in error and "from_date" in error
    # ... and how to narrow it with this command's own flags.
    assert "--from-date" in hint and "--to-date" in hint and "narrow the search" in hint


def test_output_table_lists_items_in_columns(cli: CLI) -> None:
    cli.json(
        "templates",
        "create",
        "--name",
        "Table me",
        "--alias",
        "table-me",
        "--subject",
        "s",
        "--text-body",
        "t",
    )
    table = cli.run("templates", "list", "--output", "table").stdout.splitlines()
    header = table[0].split()
    assert {"TemplateId", "Name", "Alias"} <= set(header)
    assert set(table[1].replace(" ", "")) == {"-"}
    row = next(line for line in table[2:] if "table-me" in line)
    assert "Table me" in row


def test_output_table_works_with_all(cli: CLI) -> None:
    cli.json(
        "email",
        "send-batch",
        "--json",
        json.dumps([message(f"t{n}@example.com", Tag="tbl") for n in range(3)]),
    )
    result = cli.run(
        "-o", "table", "messages", "search-outbound", "--tag", "tbl", "--count", "2", "--all"
    )
    lines = result.stdout.splitlines()
    assert "MessageID" in lines[0].split()
    assert len(lines) == 2 + 3


def test_compact_is_one_line_and_options_work_before_the_command(cli: CLI) -> None:
    result = cli.run("--compact", "servers", "list")
    assert result.stdout.count("\n") == 1
    assert json.loads(result.stdout)["TotalCount"] >= 1


def test_verbose_logs_each_call_on_stderr(cli: CLI) -> None:
    quiet = cli.run("servers", "list")
    assert quiet.stderr == ""
    loud = cli.run("-v", "servers", "list")
    assert "GET /servers -> 200" in loud.stderr
    assert json.loads(loud.stdout)["TotalCount"] >= 1


def test_python_dash_m_runs_the_same_command(cli: CLI) -> None:
    module = CLI(cli.base_url, prefix=[sys.executable, "-m", "postmark_client"])
    assert module.json("servers", "list")["TotalCount"] >= 1


# ---- exit codes ---------------------------------------------------------------------------------


def test_batch_with_a_failing_message_exits_3_and_reports_each_message(cli: CLI, fake: Any) -> None:
    batch = [
        message("ok1@example.com"),
        message("bad@example.com", MessageStream="no-such-stream"),
        message("ok2@example.com"),
    ]
    result = cli.run("email", "send-batch", "--json", "-", input=json.dumps(batch), expect=3)
    rows = result.json()
    assert [row["Status"] for row in rows] == ["sent", "rejected", "sent"]
    assert rows[1]["ErrorCode"] not in (None, 0)
    assert "1 of 3 messages failed" in result.stderr
    assert f"ErrorCode {rows[1]['ErrorCode']}" in result.stderr
    stored = {m["To"] if isinstance(m["To"], str) else m["To"][0]["Email"] for m in fake.messages()}
    assert {"ok1@example.com", "ok2@example.com"} <= stored


def test_a_batch_over_500_messages_is_split_into_calls(cli: CLI, fake: Any) -> None:
    calls = len(fake.calls)
    batch = [message(f"big{n}@example.com", Tag="big") for n in range(501)]
    rows = cli.json("email", "send-batch", "--json", "-", input=json.dumps(batch))
    assert len(rows) == 501 and {row["Status"] for row in rows} == {"sent"}
    assert [row["Index"] for row in rows] == list(range(501))
    batch_calls = [c for c in list(fake.calls)[calls:] if c.operation_id == "send_email_batch"]
    assert len(batch_calls) == 2


def test_batch_accepts_an_object_with_messages(cli: CLI) -> None:
    rows = cli.json(
        "email", "send-batch", "--json", json.dumps({"Messages": [message("wrapped@example.com")]})
    )
    assert [row["Status"] for row in rows] == ["sent"]


def test_api_error_exits_1_with_error_code_and_message(cli: CLI) -> None:
    result = cli.run("templates", "get", "--template-id-or-alias", "no-such-template", expect=1)
    assert "ErrorCode: 1101" in result.stderr
    assert "Message:" in result.stderr
    assert result.stdout == ""


def test_unknown_token_exits_1_with_error_code_10(cli: CLI) -> None:
    result = cli.run("bounces", "list", "--server-token", "canary-wrong-token", expect=1)
    assert "ErrorCode: 10" in result.stderr
    assert "canary-wrong-token" not in result.stdout + result.stderr


def test_inactive_recipient_is_an_api_error(cli: CLI) -> None:
    cli.json(
        "suppressions",
        "create",
        "--stream-id",
        "outbound",
        "--suppressions",
        '[{"EmailAddress": "x@example.com"}]',
    )
    result = cli.run(
        "email", "send", "--from", SENDER, "--to", "x@example.com", "--text-body", "x", expect=1
    )
    assert "ErrorCode: 406" in result.stderr


@pytest.mark.parametrize(
    ("args", "says"),
    [
        pytest.param(
            ("email", "send", "--to", "b@example.com", "--text-body", "x"),
            "--from",
            id="missing-required-field",
        ),
        pytest.param(
            ("email", "send", "--from", SENDER, "--to", "b@example.com"),
            "HtmlBody",
            id="client-validation",
        ),
        pytest.param(("bounces", "list", "--count", "501"), "count", id="count-over-limit"),
        pytest.param(
            ("bounces", "list", "--type", "NoSuchType"), "invalid choice", id="enum-choice"
        ),
        pytest.param(("bounces", "get", "--bounce-id", "abc"), "expected an integer", id="integer"),
        pytest.param(("bounces", "get"), "--bounce-id", id="missing-path-parameter"),
        pytest.param(("email", "send", "--json", "{not json"), "not valid JSON", id="bad-json"),
        pytest.param(
            ("email", "send", "--json", "@/no/such/file.json"), "cannot read", id="missing-file"
        ),
        pytest.param(
            (
                "email",
                "send-batch",
                "--json",
                '[{"From": "a@example.com", "To": "b@example.com", "TextBody": "x", "Nope": 1}]',
            ),
            "Nope",
            id="unknown-field",
        ),
        pytest.param(("email", "send-batch"), "--json is required", id="batch-without-messages"),
        pytest.param(("email", "nonsense"), "invalid choice", id="unknown-action"),
        pytest.param((), "required", id="no-command"),
    ],
)
def test_usage_errors_exit_2_and_name_the_problem(
    cli: CLI, fake: Any, args: tuple[str, ...], says: str
) -> None:
    calls = len(fake.calls)
    result = cli.run(*args, expect=2)
    assert says in result.stderr
    assert len(fake.calls) == calls, "a usage error must not send anything"


def test_missing_token_is_a_usage_error(cli: CLI) -> None:
    result = cli.run("servers", "list", tokens=False, expect=2)
    assert "--account-token" in result.stderr and "POSTMARK_ACCOUNT_TOKEN" in result.stderr


# ---- dry run and tokens -----------------------------------------------------------------------


def test_dry_run_prints_the_request_with_the_token_redacted_and_sends_nothing(
    cli: CLI, fake: Any
) -> None:
    calls = len(fake.calls)
    result = cli.run(
        "email", "send", "--from", SENDER, "--to", "dry@example.com", "--subject", "Hi",
        "--text-body", "Hello", "--track-links", "HtmlOnly", "--dry-run",
    )  # fmt: skip
    request = result.json()
    assert request["method"] == "POST"
    assert request["url"] == f"{cli.base_url}/email"
    assert request["headers"]["X-Postmark-Server-Token"] == "<redacted>"
    assert request["headers"]["Content-Type"] == "application/json"
    assert request["body"].pop("Metadata")["idempotency_key"]  # what the send would carry
    assert request["body"] == {
        "From": SENDER, "To": "dry@example.com", "Subject": "Hi", "TextBody": "Hello", "TrackLinks": "HtmlOnly",
    }  # fmt: skip
    assert len(fake.calls) == calls
    assert not [m for m in fake.messages() if "dry@example.com" in json.dumps(m)]


def test_dry_run_shows_query_and_path_and_still_validates(cli: CLI, fake: Any) -> None:
    calls = len(fake.calls)
    request = cli.json(
        "bounces", "list", "--count", "5", "--type", "HardBounce", "--inactive",
        "--from-date", "2024-01-01", "--dry-run",
    )  # fmt: skip
    assert request["method"] == "GET"
    assert request["url"] == (
        f"{cli.base_url}/bounces?count=5&offset=0&type=HardBounce&inactive=true&fromdate=2024-01-01"
    )
    off = cli.json("bounces", "list", "--inactive", "false", "--dry-run")
    assert off["url"].endswith("&inactive=false")
    bad_date = cli.run("bounces", "list", "--from-date", "yesterday", "--dry-run", expect=2)
    assert "--from-date (fromdate)" in bad_date.stderr
    account = cli.json("servers", "get", "--server-id", "7", "--dry-run")
    assert account["url"] == f"{cli.base_url}/servers/7"
    assert account["headers"]["X-Postmark-Account-Token"] == "<redacted>"
    assert "X-Postmark-Server-Token" not in account["headers"]
    invalid = cli.run(
        "email", "send", "--from", SENDER, "--to", "x@example.com", "--dry-run", expect=2
    )
    assert "HtmlBody" in invalid.stderr
    assert len(fake.calls) == calls


def test_dry_run_of_a_batch_shows_the_array_body(cli: CLI) -> None:
    request = cli.json(
        "email", "send-batch", "--json", json.dumps([message("a@example.com")]), "--dry-run"
    )
    assert request["url"].endswith("/email/batch")
    assert request["body"][0].pop("Metadata")["idempotency_key"]  # each message carries a key
    assert request["body"] == [message("a@example.com")]


def test_tokens_never_appear_in_any_output(cli: CLI) -> None:
    """Every run already checks this; here the runs that are most likely to leak one."""
    cli.run("--server-token", SERVER_TOKEN, "email", "send", "--from", SENDER, "--to", "t@example.com",
            "--text-body", "x", "--dry-run")  # fmt: skip
    cli.run(
        "--account-token",
        ACCOUNT_TOKEN,
        "servers",
        "create",
        "--name",
        "Leaky?",
        "--dry-run",
        "-o",
        "table",
    )
    cli.run("servers", "list", "--output", "table")
    cli.run("servers", "get", "--server-id", "999999", expect=1)
    cli.run("bounces", "list", "--count", "900", expect=2)
    cli.run("email", "send", "--help")
    output = all_outputs(cli.runs)
    assert "<redacted>" in output
    for token in TOKENS:
        assert token not in output


def test_server_tokens_in_answers_are_hidden_unless_asked_for(cli: CLI, fake: Any) -> None:
    listed = cli.json("servers", "list")
    first = items_of(listed, "Servers")[0]
    assert first["ApiTokens"] == "<hidden: use --show-tokens>"

    created = cli.run(
        "servers", "create", "--name", "Fresh", "--show-tokens", shows_tokens=True
    ).json()
    new_token = created["ApiTokens"][0]
    assert new_token in fake.server_tokens() and new_token not in TOKENS
    # The new token works: the CLI can use it right away.
    assert cli.json("--server-token", new_token, "templates", "list")["TotalCount"] == 0
    table = cli.run("servers", "get", "--server-id", str(created["ID"]), "-o", "table").stdout
    assert new_token not in table and "<hidden" in table


# ---- --help -----------------------------------------------------------------------------------


def test_help_shows_the_description_token_and_access(cli: CLI) -> None:
    text = cli.run("email", "send", "--help").stdout
    op = OPERATIONS["send_email"]
    assert op.summary in text
    assert "X-Postmark-Server-Token" in text and "--server-token" in text
    assert "access:  write" in text
    assert "--text-body" in text and "--json" in text
    text = cli.run("sender-signatures", "list", "--help").stdout
    assert "X-Postmark-Account-Token" in text and "access:  read" in text and "--all" in text


def test_every_operation_is_a_command_with_its_options(capsys: pytest.CaptureFixture[str]) -> None:
    """Built from the operation table: each operation, each of its parameters and body fields."""
    for op in OPERATIONS.values():
        command = [cli_module.kebab(op.group), cli_module.kebab(op.name)]
        with pytest.raises(SystemExit) as exit_info:
            cli_module.main([*command, "--help"])
        assert exit_info.value.code == 0
        text = capsys.readouterr().out
        assert " ".join(" ".join(op.summary.split()).split()[:3]) in " ".join(text.split()), op.id
        assert f"{op.method} {op.path}" in text, op.id
        assert f"access:  {op.access}" in text, op.id
        assert f"{op.token} token" in text, op.id
        body = _schemas.PYTHON_NAMES.get(op.body_schema or "", {})
        for name in [p.python for p in (*op.path_params, *op.query_params)] + list(body.values()):
            assert f"--{cli_module.kebab(name)}" in text, (op.id, name)
        assert ("--all" in text) == (op.paging is not None), op.id
        assert ("--json" in text) == (op.body_schema is not None), op.id


def test_an_operation_added_to_the_table_becomes_a_command(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """The commands are read from OPERATIONS at run time: nothing else needs an edit."""
    from dataclasses import replace

    from postmark_client._meta import Param

    base = OPERATIONS["get_server"]
    added = replace(
        base,
        id="get_widget",
        group="widgets",
        name="get_one",
        path="/widgets/{widgetid}",
        summary="Get a widget",
        description="A widget, by ID.",
        path_params=(Param("widgetid", "widget_id", "path", "integer", True),),
        query_params=(Param("shade", "shade", "query", "string", enum=("Light", "Dark")),),
    )
    monkeypatch.setattr(cli_module, "OPERATIONS", {**OPERATIONS, added.id: added})
    with pytest.raises(SystemExit):
        cli_module.main(["widgets", "get-one", "--help"])
    text = capsys.readouterr().out
    assert "Get a widget" in text and "GET /widgets/{widgetid}" in text
    assert "--widget-id" in text and "{Light,Dark}" in text


def test_the_console_script_is_declared() -> None:
    pyproject = Path(__file__).resolve().parents[2] / "generated" / "pyproject.toml"
    if not pyproject.exists():
        pytest.skip("generated/pyproject.toml is not generated yet")
    assert 'postmark = "postmark_client.cli:main"' in pyproject.read_text()


def test_version(cli: CLI) -> None:
    from postmark_client._base_client import VERSION

    assert VERSION in cli.run("--version").stdout


def test_module_entry_point_runs_without_a_server() -> None:
    completed = subprocess.run(
        [sys.executable, "-m", "postmark_client", "--help"],
        check=False,
        capture_output=True,
        text=True,
        timeout=60,
        env=subprocess_env({}),
    )
    assert completed.returncode == 0
    assert "sender-signatures" in completed.stdout and "webhooks" in completed.stdout


# ---- messages a new user reads ------------------------------------------------------------------


def test_usage_shows_required_body_fields_as_required(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        cli_module.main(["email", "send", "--help"])
    usage = capsys.readouterr().out.split("\n\n")[0]
    assert " --from FROM --to TO " in usage and "[--from FROM]" not in usage
    assert "[--cc CC]" in usage


def test_an_unknown_flag_names_the_closest_one(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exit_:
        cli_module.main(["email", "send", "--form", "a@example.com", "--to", "b@example.com"])
    assert exit_.value.code == 2
    assert "unrecognized arguments: --form a@example.com (did you mean --from?)" in (
        capsys.readouterr().err
    )


def test_a_failed_connection_names_the_url_and_the_fake(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    # Postmark's address stands in as a closed loopback port: nothing leaves this machine.
    closed = "http://127.0.0.1:1"
    monkeypatch.setattr("postmark_client._base_client.DEFAULT_BASE_URL", closed)
    monkeypatch.setattr(cli_module, "DEFAULT_BASE_URL", closed)
    monkeypatch.delenv("POSTMARK_API_URL", raising=False)
    monkeypatch.setenv("POSTMARK_SERVER_TOKEN", SERVER_TOKEN)
    slept: list[float] = []  # a refused connection is retried: no real waiting in a test
    monkeypatch.setattr("postmark_client._base_client.time.sleep", slept.append)
    code = cli_module.main(["bounces", "get", "--bounce-id", "1"])
    err = capsys.readouterr().err
    assert code == cli_module.EXIT_API_ERROR
    assert f"the call went to Postmark ({closed})" in err
    assert "postmark-fake" in err and "POSTMARK_API_URL=http://127.0.0.1:8025" in err


def test_a_failed_connection_to_postmark_api_url_names_that_url(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    closed = "http://127.0.0.1:1"  # a closed loopback port
    monkeypatch.setenv("POSTMARK_API_URL", closed)
    monkeypatch.setenv("POSTMARK_SERVER_TOKEN", SERVER_TOKEN)
    slept: list[float] = []
    monkeypatch.setattr("postmark_client._base_client.time.sleep", slept.append)
    code = cli_module.main(["bounces", "get", "--bounce-id", "1"])
    err = capsys.readouterr().err
    assert code == cli_module.EXIT_API_ERROR
    assert f"GET {closed}/bounces/{{bounceid}} (get_bounce): connection failed" in err, err
    assert "Traceback" not in err


def test_help_of_one_command_loads_neither_httpx_nor_the_other_groups_commands() -> None:
    """`postmark email send --help` builds that command alone and imports no HTTP stack."""
    probe = (
        "import sys\n"
        "from postmark_client import cli\n"
        "try:\n"
        "    cli.main(['email', 'send', '--help'])\n"
        "except SystemExit:\n"
        "    pass\n"
        "print('httpx' in sys.modules, 'postmark_client.client' in sys.modules,\n"
        "      'postmark_client._webhook_listen' in sys.modules, file=sys.stderr)\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, timeout=60, check=True
    )
    assert "--from" in done.stdout
    assert done.stderr.strip() == "False False False"
