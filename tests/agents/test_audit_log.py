"""The audit log fails closed, records every decision, and prints one escaped line per row."""

from __future__ import annotations

import os
import sqlite3
import subprocess
import sys
import textwrap
from pathlib import Path

import mcp
import pytest
from postmark_client import ServerClient
from postmark_client._audit import AuditLog, dumps, escape, read_chain, sentence
from postmark_client._operations import OPERATIONS
from postmark_client._store import SendQuota
from postmark_client.access import AccessDeniedError, AuditLogError, Policy, UnknownAgentError
from postmark_client.cli import main as cli_main
from postmark_client.errors import APIError, RequestValidationError
from postmark_client.mcp import build_server
from postmark_client.testing import FakePostmark

MESSAGE = {"from_": "a@example.com", "to": "jane@example.com", "text_body": "Hello"}
SEND = {"from": "a@example.com", "to": "jane@example.com", "text_body": "Hello"}
GENERATED = Path(__file__).resolve().parents[2] / "generated"


def write_policy(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "agents.toml"
    path.write_text(textwrap.dedent(text), encoding="utf-8")
    return path


def mailer(fake: FakePostmark, policy: Policy, agent: str = "m") -> ServerClient:
    return ServerClient(fake.server_token, transport=fake.transport(), access=policy.access(agent))


UNWRITABLE = 'audit = "/proc/audit.sqlite"\n[agents.m]\nemail = "full"\nmessages = "read"\n'
CANNOT = "the audit log at /proc/audit.sqlite cannot be written: "


# ---- 2. fail closed -----------------------------------------------------------------------------


def test_an_unwritable_log_denies_the_call_in_the_library(tmp_path: Path) -> None:
    fake, policy = FakePostmark(), Policy.load(write_policy(tmp_path, UNWRITABLE))
    with mailer(fake, policy) as client, pytest.raises(AuditLogError) as caught:
        client.email.send(**MESSAGE)
    assert str(caught.value).startswith(CANNOT)
    assert str(caught.value).endswith("; nothing was sent")
    assert len(fake.calls) == 0


def test_a_log_that_cannot_be_read_says_so_and_a_send_to_it_says_written(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = write_policy(tmp_path, '[agents.m]\nemail = "full"\n')
    policy = Policy.load(path)
    assert policy.audit_path is not None
    policy.audit_path.write_bytes(b"not an audit log " * 512)
    with pytest.raises(AuditLogError) as read:
        AuditLog(policy.audit_path).entries()
    where = policy.audit_path
    assert str(read.value) == f"the audit log at {where} cannot be read: file is not a database"
    assert read.value.reading
    assert cli_main(["audit", "--policy", str(path)]) == 1
    said = capsys.readouterr().err
    assert f"the audit log at {where} cannot be read: file is not a database" in said
    assert "nothing was sent" not in said and "Traceback" not in said
    fake = FakePostmark()
    with mailer(fake, policy) as client, pytest.raises(AuditLogError) as sent:
        client.email.send(**MESSAGE)
    assert str(sent.value) == (
        f"the audit log at {where} cannot be written: file is not a database; nothing was sent"
    )
    assert not sent.value.reading and len(fake.calls) == 0


def test_an_unwritable_log_denies_the_call_in_the_cli(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    path = write_policy(tmp_path, UNWRITABLE)
    monkeypatch.setenv("POSTMARK_SERVER_TOKEN", "fake-server-token")
    code = cli_main(
        ["email", "send", "--from", "a@example.com", "--to", "b@example.com", "--text-body", "x",
         "--agent", "m", "--policy", str(path), "--dry-run"]
    )  # fmt: skip
    captured = capsys.readouterr()
    assert code == 1 and captured.out == ""
    assert captured.err.startswith(f"postmark: error: {CANNOT}")
    assert "nothing was sent" in captured.err and "Traceback" not in captured.err


async def test_an_unwritable_log_denies_the_call_over_mcp(tmp_path: Path) -> None:
    fake, policy = FakePostmark(), Policy.load(write_policy(tmp_path, UNWRITABLE))
    tokens = {"server": fake.server_token, "account": None}
    server = build_server(policy, agent="m", tokens=tokens, transport=fake.transport)
    async with mcp.Client(server) as client:
        result = await client.call_tool("email_send", SEND)
        invalid = await client.call_tool("email_send", {"to": 5})
    assert result.is_error and result.content[0].text.startswith(CANNOT)
    assert invalid.is_error and invalid.content[0].text.startswith(CANNOT)
    assert len(fake.calls) == 0


def _env() -> dict[str, str]:
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(GENERATED), env.get("PYTHONPATH")]))
    return env


async def test_an_unwritable_log_denies_the_call_over_mcp_stdio(tmp_path: Path) -> None:
    path = write_policy(tmp_path, UNWRITABLE)
    params = mcp.StdioServerParameters(
        command=sys.executable,
        args=["-m", "postmark_client.mcp._server", "--policy", str(path), "--agent", "m", "--fake"],
        env=_env(),
    )
    async with mcp.Client(params, read_timeout_seconds=60) as client:
        result = await client.call_tool("email_send", SEND)
    assert result.is_error and result.content[0].text.startswith(CANNOT)


HTTP_CALL = textwrap.dedent("""
    import asyncio, sys
    import httpx
    from postmark_client.access import Policy, hash_key
    from postmark_client.mcp._server import build_server, http_app
    from postmark_client.testing import FakePostmark

    async def main() -> None:
        policy, fake = Policy.load(sys.argv[1]), FakePostmark()
        tokens = {"server": fake.server_token, "account": None}
        app = http_app(build_server(policy, tokens=tokens, transport=fake.transport), policy)
        body = {"jsonrpc": "2.0", "id": 1, "method": "tools/call",
                "params": {"name": "email_send", "arguments": {
                    "from": "a@example.com", "to": "b@example.com", "text_body": "x"}}}
        headers = {"Accept": "application/json, text/event-stream",
                   "Authorization": "Bearer the-key"}
        lifespan = app.app.router.lifespan_context(app.app)
        async with lifespan:
            transport = httpx.ASGITransport(app=app)
            async with httpx.AsyncClient(transport=transport, base_url="http://127.0.0.1:8765") as c:
                answer = await c.post("/mcp", json=body, headers=headers)
        print(answer.status_code, answer.text)
        print("calls", len(fake.calls))

    asyncio.run(main())
    """)


def test_an_unwritable_log_denies_the_call_over_mcp_http(tmp_path: Path) -> None:
    from postmark_client.access import hash_key

    path = write_policy(tmp_path, UNWRITABLE + f'key_sha256 = "{hash_key("the-key")}"\n')
    out = subprocess.run(
        [sys.executable, "-c", HTTP_CALL, str(path)],
        capture_output=True, text=True, timeout=120, env=_env(), check=False,
    )  # fmt: skip
    assert out.returncode == 0, out.stderr
    assert CANNOT in out.stdout and '"isError":true' in out.stdout.replace(" ", "")
    assert out.stdout.strip().endswith("calls 0") and "Traceback" not in out.stderr


REMOVER = textwrap.dedent("""
    import os, sys
    from postmark_client import ServerClient
    from postmark_client.access import AuditLogError, Policy
    from postmark_client.testing import FakePostmark

    fake, policy = FakePostmark(), Policy.load(sys.argv[1])
    client = ServerClient(fake.server_token, transport=fake.transport(), access=policy.access("m"))
    send = dict(from_="a@example.com", to="b@example.com", text_body="x")
    client.email.send(**send)
    for suffix in ("", "-wal", "-shm"):
        if os.path.exists(str(policy.audit_path) + suffix):
            os.remove(str(policy.audit_path) + suffix)
    try:
        client.email.send(**send)
    except AuditLogError as exc:
        print("refused:", exc)
    print("calls", len(fake.calls))
    """)


def test_a_log_removed_under_a_running_client_refuses_every_later_call(tmp_path: Path) -> None:
    path = write_policy(tmp_path, '[agents.m]\nemail = "full"\nsends_per_hour = 5\n')
    out = subprocess.run(
        [sys.executable, "-c", REMOVER, str(path)],
        capture_output=True, text=True, timeout=60, env=_env(), check=False,
    )  # fmt: skip
    assert out.returncode == 0, out.stderr
    assert "refused: the audit log at" in out.stdout
    assert "its file was removed or replaced while open" in out.stdout
    assert out.stdout.strip().endswith("calls 1")


def test_a_log_replaced_under_a_running_client_is_refused(tmp_path: Path) -> None:
    fake = FakePostmark()
    policy = Policy.load(write_policy(tmp_path, '[agents.m]\nemail = "full"\n'))
    with mailer(fake, policy) as client:
        client.email.send(**MESSAGE)
        assert policy.audit_path is not None
        other = tmp_path / "other.sqlite"
        assert AuditLog(other).log_id  # a log of its own, with another id
        os.replace(other, policy.audit_path)
        with pytest.raises(AuditLogError, match="removed or replaced while open"):
            client.email.send(**MESSAGE)
        with pytest.raises(AuditLogError):  # and it stays refused
            client.email.send(**MESSAGE)
    assert len(fake.calls) == 1


def test_a_trigger_that_swallows_rows_is_caught_by_the_read_back(tmp_path: Path) -> None:
    fake = FakePostmark()
    policy = Policy.load(write_policy(tmp_path, '[agents.m]\nemail = "full"\n'))
    with mailer(fake, policy) as client:
        client.email.send(**MESSAGE)
        assert policy.audit_path is not None
        with sqlite3.connect(policy.audit_path) as db:
            db.execute(
                "CREATE TRIGGER swallow BEFORE INSERT ON calls BEGIN SELECT RAISE(IGNORE); END"
            )
        with pytest.raises(AuditLogError, match="does not read back"):
            client.email.send(**MESSAGE)
    assert len(fake.calls) == 1


@pytest.mark.parametrize(
    ("limits", "refused"),
    [
        ("sends_per_hour = 5\nsends_per_day = 2\n", "quota: 2 of 2 messages per day"),
        ("sends_per_hour = 2\nsends_per_day = 5\n", "quota: 2 of 2 messages per hour"),
        ("sends_per_day = 2\n", "quota: 2 of 2 messages per day"),
    ],
    ids=["day first", "hour first", "day alone"],
)
def test_the_hour_and_the_day_quota_are_each_counted(
    tmp_path: Path, limits: str, refused: str
) -> None:
    fake = FakePostmark()
    policy = Policy.load(write_policy(tmp_path, '[agents.m]\nemail = "full"\n' + limits))
    with mailer(fake, policy) as client:
        client.email.send(**MESSAGE)
        client.email.send(**MESSAGE)
        with pytest.raises(AccessDeniedError, match=f"{refused} already sent, 1 more would"):
            client.email.send(**MESSAGE)
    assert len(fake.calls) == 2


def test_a_forked_child_writes_through_a_connection_of_its_own(tmp_path: Path) -> None:
    policy = Policy.load(write_policy(tmp_path, '[agents.m]\nemail = "full"\n'))
    access, op = policy.access("m"), OPERATIONS["send_email"]
    send = {"From": "a@example.com", "To": "jane@example.com"}
    access.begin(op, send, None, None, "t").done(None, "parent")  # its outcome waits
    child = os.fork()
    if child == 0:  # the parent's connection and waiting outcome are not the child's
        code = 1
        try:
            access.begin(op, send, None, None, "t").done(None, "child")
            assert policy.log is not None
            policy.log.flush()
            code = 0
        finally:
            os._exit(code)
    _, status = os.waitpid(child, 0)
    assert os.waitstatus_to_exitcode(status) == 0
    assert policy.log is not None
    entries = policy.log.entries()
    assert [(e.pid, e.request_id) for e in entries] == [(os.getpid(), "parent"), (child, "child")]
    assert isinstance(policy.log, AuditLog)
    assert policy.log.tables(read_chain).intact


def test_quotas_survive_removing_a_pinned_log(tmp_path: Path) -> None:
    text = '[agents.m]\nemail = "full"\nsends_per_hour = 1\n'
    path = write_policy(tmp_path, text)
    fake, policy = FakePostmark(), Policy.load(path)
    with mailer(fake, policy) as client:
        client.email.send(**MESSAGE)
    assert policy.log is not None
    log_id = policy.log.log_id
    policy.log.close()
    path.write_text(f'audit_log_id = "{log_id}"\n' + text, encoding="utf-8")
    with mailer(fake, Policy.load(path)) as client, pytest.raises(AccessDeniedError):
        client.email.send(**MESSAGE)  # the quota still counts the first send
    assert policy.audit_path is not None
    for suffix in ("", "-wal", "-shm"):
        Path(f"{policy.audit_path}{suffix}").unlink(missing_ok=True)
    with mailer(fake, Policy.load(path)) as client, pytest.raises(AuditLogError) as caught:
        client.email.send(**MESSAGE)
    assert f"it is missing (the policy names log id {log_id})" in str(caught.value)
    assert not policy.audit_path.exists() and len(fake.calls) == 1


def test_postmark_audit_log_id_prints_the_id(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = write_policy(tmp_path, '[agents.m]\nemail = "full"\n')
    policy = Policy.load(path)
    with mailer(FakePostmark(), policy) as client:
        client.email.send(**MESSAGE)
    assert cli_main(["audit", "--policy", str(path), "--log-id"]) == 0
    assert policy.log is not None and capsys.readouterr().out == policy.log.log_id + "\n"


def test_postmark_audit_on_a_missing_log_says_so(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = write_policy(tmp_path, '[agents.m]\nemail = "full"\n')
    assert cli_main(["audit", "--policy", str(path)]) == 1
    err = capsys.readouterr().err
    assert f"no audit log at {tmp_path / 'postmark-audit.sqlite'}" in err
    assert not (tmp_path / "postmark-audit.sqlite").exists()


# ---- 3. no forged lines ---------------------------------------------------------------------------

FORGED = "outbound\n2026-12-07T05:00:00.000Z m sent one message (email.send): allowed; accepted"


def test_postmark_audit_prints_one_escaped_line_per_row(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = write_policy(tmp_path, '[agents.m]\nemail = "full"\nmessage_streams = ["outbound"]\n')
    policy = Policy.load(path)
    with mailer(FakePostmark(), policy) as client, pytest.raises(AccessDeniedError):
        client.email.send(**MESSAGE, message_stream=FORGED + "\r\x1b[2K\x9b31m\u2028")
    from postmark_client._cli_access import _run_audit
    from postmark_client.cli import build_parser

    for args in (["audit"], ["audit", "--json"], ["audit", "--follow"], ["audit", "-f", "--json"]):
        parsed = build_parser().parse_args([*args, "--policy", str(path)])
        assert _run_audit(parsed, max_polls=1) == 0
        out = capsys.readouterr().out
        assert out.count("\n") == 1, (args, out)
        for raw in ("\r", "\x1b", "\x9b", "\u2028"):
            assert raw not in out, (args, raw)
    [row] = AuditLog(tmp_path / "postmark-audit.sqlite").entries()
    line = sentence(row)
    assert "outbound\\n2026-12-07" in line and "\\r\\e[2K\\x9b31m\\u2028" in line
    assert ": denied (" in line and "\n" not in dumps(row)


def test_escape_leaves_ordinary_text_and_marks_every_control() -> None:
    assert escape("Jane Doé <jane@example.com>") == "Jane Doé <jane@example.com>"
    assert escape("a\\nb") == "a\\\\nb"  # a backslash cannot pose as an escape
    assert escape("\x00\x07\t\x7f\x85\u202e") == "\\x00\\x07\\t\\x7f\\x85\\u202e"


# ---- 3. every decision recorded -------------------------------------------------------------------


def test_calls_the_client_refuses_are_recorded(tmp_path: Path) -> None:
    fake = FakePostmark()
    policy = Policy.load(write_policy(tmp_path, '[agents.m]\nemail = "full"\n'))
    with mailer(fake, policy) as client:
        with pytest.raises(RequestValidationError):
            client.email.send(**{**MESSAGE, "to": ",".join(f"r{i}@example.com" for i in range(51))})
        with pytest.raises(RequestValidationError):
            client.email.send_batch([{"From": "a@example.com"}] * 501)
    code = cli_main(
        ["email", "send", "--from", "a@example.com", "--to", "b@example.com", "--tag", "x" * 1001,
         "--agent", "m", "--policy", str(tmp_path / "agents.toml"), "--dry-run",
         "--server-token", "fake-server-token"]
    )  # fmt: skip
    assert code == 2
    rows = AuditLog(policy.audit_path or "").entries()
    assert [(r.operation, r.decision, r.outcome) for r in rows] == [
        ("send_email", "invalid", "not sent"),
        ("send_email_batch", "invalid", "not sent"),
        ("send_email", "invalid", "not sent"),
    ]
    assert all(r.rule.startswith("invalid request: ") for r in rows)
    assert len(fake.calls) == 0


async def test_mcp_argument_errors_and_unknown_tools_are_recorded(tmp_path: Path) -> None:
    fake = FakePostmark()
    policy = Policy.load(write_policy(tmp_path, '[agents.m]\nemail = "full"\n'))
    tokens = {"server": fake.server_token, "account": None}
    server = build_server(policy, agent="m", tokens=tokens, transport=fake.transport)
    async with mcp.Client(server) as client:
        await client.call_tool("email_send", {"to": 5})
        await client.call_tool("no_such_tool\n", {})
    rows = AuditLog(policy.audit_path or "").entries()
    assert [(r.operation, r.decision) for r in rows] == [
        ("send_email", "invalid"),
        ("no_such_tool\n", "denied"),
    ]
    assert "invalid argument" in rows[0].rule
    assert sentence(rows[1]) == (
        "m tried to call no_such_tool\\n: denied (unknown tool 'no_such_tool\\\\n')"
    )


def test_an_unknown_agent_is_a_recorded_configuration_error(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    path = write_policy(tmp_path, '[agents.m]\nemail = "full"\n')
    policy = Policy.load(path)
    with mailer(FakePostmark(), policy, "nobody") as client, pytest.raises(UnknownAgentError) as e:
        client.email.send(**MESSAGE)
    assert str(e.value).startswith("configuration error: agent 'nobody' is not in the policy")
    monkeypatch.setenv("POSTMARK_SERVER_TOKEN", "fake-server-token")
    code = cli_main(
        ["email", "send", "--from", "a@example.com", "--to", "b@example.com", "--text-body", "x",
         "--agent", "nobody", "--policy", str(path), "--dry-run"]
    )  # fmt: skip
    assert code == 1 and "error: configuration error: agent 'nobody'" in capsys.readouterr().err
    from postmark_client.mcp._server import main as mcp_main

    assert mcp_main(["--policy", str(path), "--agent", "nobody"]) == 2
    assert "configuration error: no agent 'nobody'" in capsys.readouterr().err
    rows = AuditLog(policy.audit_path or "").entries()
    assert [(r.agent, r.operation, r.decision) for r in rows] == [
        ("nobody", "send_email", "denied"),
        ("nobody", "send_email", "denied"),
        ("nobody", "postmark-mcp", "denied"),
    ]
    assert all("configuration error" in r.rule for r in rows)


@pytest.mark.parametrize(
    ("record", "stored"),
    [
        ("none", "Found inactive addresses: \u2026, \u2026."),
        ("domains", "Found inactive addresses: \u2026@example.com, \u2026@other.test."),
        ("full", "Found inactive addresses: gone@example.com, left@other.test."),
    ],
)
def test_error_text_addresses_are_stored_as_record_addresses_says(
    tmp_path: Path, record: str, stored: str
) -> None:
    policy = Policy.load(
        write_policy(tmp_path, f'record_addresses = "{record}"\n[agents.m]\nemail = "full"\n')
    )
    access = policy.access("m")
    call = access.begin(OPERATIONS["send_email"], {"To": "x@example.com"}, None, None, "t")
    call.failed(APIError(422, 406, "Found inactive addresses: gone@example.com, left@other.test."))
    [row] = AuditLog(policy.audit_path or "").entries()
    assert row.detail == stored


def test_the_quota_count_equals_the_rows_it_counts(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The counters (per minute and hour, kept by a trigger) must give what summing the rows
    # gives, for rows written before they were made (filled in) and after, on every boundary.
    import time as real_time
    from types import SimpleNamespace

    from postmark_client import _audit

    clock = [0.0]
    fixed = SimpleNamespace(
        time=lambda: clock[0], sleep=real_time.sleep, monotonic=real_time.monotonic
    )
    monkeypatch.setattr(_audit, "time", fixed)
    log = AuditLog(tmp_path / "audit.sqlite")
    hour = 1_800_000_000.0  # a whole hour, so the offsets land on minute and hour boundaries

    def write(agent: str, at: float, messages: int, quota: int | None = None) -> None:
        clock[0] = hour + at
        row = (agent, "send_email", "email", "write", "Send", "t", None, 1, None, None, messages,
               "allowed", "full on email", "unknown", "hash")  # fmt: skip
        log.begin(row, SendQuota(quota, None, messages))

    before = [-3600.5, -3599.999, -60.0, -1e-6, 0.0, 59.999999, 60.0, 61.0, 3599.99]
    after = [3600.0, 3600.000001, 3659.5, 3660.0, 5000.25, 7199.0, 7200.0]
    for index, at in enumerate(before):
        write("q" if index % 3 else "other", at, index % 3 + 1)
    write("q", 3599.995, 2, quota=10_000)  # the first quota check makes the counters
    for index, at in enumerate(after):
        write("q", at, index % 4 + 1)
    db = log._connect()
    assert db.execute("SELECT COUNT(*) FROM sent_minutes").fetchone()[0] > 0
    points = [hour + at + delta for at in before + after for delta in (-1e-6, 0.0, 1e-6)]
    points += [hour + minute * 60.0 for minute in range(-61, 122)]
    for since in points:
        counted = db.execute(_audit._SENT_SINCE_COUNTED, ("q", since)).fetchone()[0]
        summed = db.execute(_audit._SENT_SINCE, ("q", since)).fetchone()[0]  # every row
        assert counted == summed, since
    log.close()


def test_counters_without_their_trigger_are_made_again(tmp_path: Path) -> None:
    path = write_policy(tmp_path, '[agents.m]\nemail = "full"\nsends_per_hour = 2\n')
    fake = FakePostmark()
    with mailer(fake, Policy.load(path)) as client:
        client.email.send(**MESSAGE)
    policy = Policy.load(path)
    assert policy.audit_path is not None
    with sqlite3.connect(policy.audit_path) as db:
        db.execute("DROP TRIGGER sent_count")
    with mailer(fake, policy) as client:
        client.email.send(**MESSAGE)  # the second of two: the first is counted again
        with pytest.raises(AccessDeniedError, match="quota: 2 of 2"):
            client.email.send(**MESSAGE)
    assert len(fake.calls) == 2


class _SwitchingElsewhere:
    """A connection whose switch to WAL fails while another process is still switching."""

    def __init__(self, failures: int, error: str = "database is locked") -> None:
        self.failures, self.error, self.tries = failures, error, 0

    def execute(self, sql: str) -> None:
        assert sql == "PRAGMA journal_mode = WAL"
        self.tries += 1
        if self.tries <= self.failures:
            raise sqlite3.OperationalError(self.error)


def test_the_switch_to_wal_waits_for_another_process_switching_a_new_file() -> None:
    from postmark_client._audit import _use_wal

    pauses: list[float] = []
    db = _SwitchingElsewhere(failures=3)
    _use_wal(db, pauses.append)  # type: ignore[arg-type]
    assert db.tries == 4 and len(pauses) == 3


def test_the_switch_to_wal_gives_up_at_once_on_another_error() -> None:
    from postmark_client._audit import _use_wal

    pauses: list[float] = []
    db = _SwitchingElsewhere(failures=1, error="disk I/O error")
    with pytest.raises(sqlite3.OperationalError, match="disk I/O error"):
        _use_wal(db, pauses.append)  # type: ignore[arg-type]
    assert pauses == []
