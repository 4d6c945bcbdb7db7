"""Every reproduction of a bypass, through every entry point: the library, the `postmark`
command, `postmark-mcp` over stdio and `postmark-mcp --http`.

A case is one call (an agent of the policy, a tool, its arguments as the MCP tool takes them)
and what must follow: the decision with the words of its rule, what the entry point answers,
what the fake Postmark stored, and the one audit row naming the stream and the addresses the
call would have been sent to. Each entry point has its own world for the module (policy file,
audit log, fake Postmark on loopback) and serves every case from it: one `postmark-mcp --http`
for the policy, one stdio process per agent.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextlib
import io
import itertools
import json
import keyword
import signal
import subprocess
import sys
import threading
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import mcp
import pytest
from postmark_client import AccountClient, ServerClient, cli
from postmark_client._audit import AuditLog, sentence
from postmark_client._meta import Operation
from postmark_client.access import Policy, hash_key
from postmark_client.errors import PostmarkError
from postmark_client.mcp import PostmarkTools, tool_name
from postmark_client.mcp._server import _BY_NAME, HTTP_COMMAND, UNKNOWN_KEY
from postmark_client.mcp._tools import BODY_MODELS
from postmark_client.testing import FakePostmark

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "cli"))
from cli_support import LineReader, subprocess_env

POLICY = """\
audit = "audit.sqlite"
record_addresses = "full"

[agents.mailer]
email = "write"
server = "full"
recipients = ["*@example.com"]
message_streams = ["outbound"]
key_sha256 = "{mailer}"

[agents.capped]
email = "full"
sends_per_hour = 1
key_sha256 = "{capped}"
"""
KEYS = {"mailer": "mailer-key", "capped": "capped-key"}
UNKNOWN = "nobody"
"""An agent the policy does not name (over HTTP: a key no agent has)."""
TIMEOUT = 60.0

# ---- the cases ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Expect:
    decision: str
    """The audit row's: allowed or denied."""
    ok: bool
    """Whether the entry point answers with a result (else with an error)."""
    says: str
    """Words in what the entry point answers (its result, or its error)."""
    rule: str
    """Words in the audit row's rule."""
    stream: str | None = None
    addresses: str | None = None
    """The row's addresses (record_addresses = "full"): every address the call could reach."""
    reached: bool = False
    """Whether the request reached the fake Postmark."""
    stored: tuple[tuple[tuple[str, ...], str], ...] = ()
    """(recipients, stream) of each message the fake stored."""
    http_status: int | None = None
    """The HTTP status `postmark-mcp --http` answers with before any MCP (instead of `says`)."""


@dataclass(frozen=True)
class Case:
    id: str
    agent: str
    tool: str
    arguments: Mapping[str, Any]
    expect: Expect
    before: int = 0
    """How often the same call is made, and allowed, first (the sends a quota counts)."""


SEND = {"from": "sender@example.com", "subject": "Hi", "text_body": "Hello"}
EVIL_HOOK = "https://evil.example/hook"
FORGED = "broadcast\n2026-12-07 mailer sent an email: allowed (full on email); ok"
"""A stream name that would print a second, forged row if the log printed it raw."""
CASES = [
    Case(
        "quoted-display-name-holds-an-address",
        "mailer",
        "email_send",
        {**SEND, "to": '"<jane@example.com>" <eve@evil.org>'},
        Expect(
            "denied",
            False,
            "angle brackets inside a display name",
            "angle brackets inside a display name",
            stream="outbound",
            addresses="jane@example.com,eve@evil.org",
        ),
    ),
    Case(
        "semicolon-with-a-foreign-address",
        "mailer",
        "email_send",
        {**SEND, "to": "eve@evil.org;jane@example.com"},
        Expect(
            "denied",
            False,
            "recipient on evil.org is not allowed (*@example.com)",
            "recipient on evil.org is not allowed",
            stream="outbound",
            addresses="eve@evil.org,jane@example.com",
        ),
    ),
    Case(
        "two-angle-addresses",
        "mailer",
        "email_send",
        {**SEND, "to": "Jane <jane@example.com> <eve@evil.org>"},
        Expect(
            "denied",
            False,
            "two angle addresses in one entry",
            "two angle addresses in one entry",
            stream="outbound",
            addresses="jane@example.com,eve@evil.org",
        ),
    ),
    Case(
        "a-narrowed-send-within-the-policy",
        "mailer",
        "email_send",
        {**SEND, "to": "Jane <jane@example.com>"},
        Expect(
            "allowed",
            True,
            "jane@example.com",
            "write on email",
            stream="outbound",
            addresses="jane@example.com",
            reached=True,
            stored=((("jane@example.com",), "outbound"),),
        ),
    ),
    Case(
        "bulk-without-a-stream-lands-on-outbound",
        "mailer",
        "email_send_bulk",
        {**SEND, "recipients": [{"to": "jane@example.com"}]},
        Expect(
            "allowed",
            False,
            "'outbound'",
            "write on email",
            stream="outbound",
            addresses="jane@example.com",
            reached=True,
        ),
    ),
    Case(
        "a-stream-outside-the-policy-with-a-forged-line",
        "mailer",
        "email_send",
        {**SEND, "to": "jane@example.com", "message_stream": FORGED},
        Expect(
            "denied",
            False,
            "is not one of outbound",
            f"message stream {FORGED!r} is not one of outbound",
            stream=FORGED,
            addresses="jane@example.com",
        ),
    ),
    Case(
        "a-field-over-postmarks-limit",
        "mailer",
        "email_send",
        {**SEND, "to": "jane@example.com", "tag": "x" * 1001},
        Expect("invalid", False, "must be at most 1000 characters", "at most 1000 characters"),
    ),
    Case(
        "write-does-not-read",
        "mailer",
        "email_get_bulk_status",
        {"bulk_request_id": "any-id"},
        Expect("denied", False, "write on email (it would need read on email)", "write on email"),
    ),
    Case(
        "a-hook-url-reaches-webhooks",
        "mailer",
        "server_edit",
        {"bounce_hook_url": EVIL_HOOK},
        Expect(
            "denied",
            False,
            "off on webhooks, which setting BounceHookUrl also acts on",
            "off on webhooks, which setting BounceHookUrl also acts on",
        ),
    ),
    Case(
        "quota-reached",
        "capped",
        "email_send",
        {**SEND, "to": "jane@example.com"},
        Expect(
            "denied",
            False,
            "quota: 1 of 1 messages per hour already sent",
            "quota: 1 of 1 messages per hour already sent",
            stream="outbound",
            addresses="jane@example.com",
        ),
        before=1,
    ),
    Case(
        "unknown-agent",
        UNKNOWN,
        "email_send",
        {**SEND, "to": "jane@example.com"},
        Expect("denied", False, "configuration error", "configuration error", http_status=401),
    ),
]


# ---- the entry points -----------------------------------------------------------------------


@dataclass
class Answer:
    ok: bool
    text: str
    status: int | None = None
    """The HTTP status of an answer refused before any MCP."""


@dataclass
class World:
    """One entry point's policy, audit log and fake Postmark (served on loopback)."""

    policy: Policy
    fake: FakePostmark
    url: str

    @property
    def log(self) -> AuditLog:
        assert self.policy.audit_path is not None
        return AuditLog(self.policy.audit_path)


class Entry:
    """An entry point, serving the calls of one world as its users make them."""

    over_http = False
    """Whether it may answer with an HTTP status before any MCP."""

    def __init__(self, world: World) -> None:
        self.world = world

    def call(self, agent: str, op: Operation, arguments: Mapping[str, Any]) -> Answer:
        raise NotImplementedError

    def recorded(self, agent: str, op: Operation) -> tuple[str, str]:
        """The agent and operation of the row a call leaves (here each call is checked, that
        of an agent the policy does not name too)."""
        return agent, op.id

    def close(self) -> None:
        return None


_WIRE = PostmarkTools(Policy.loads(""), tokens={})
"""What turns MCP arguments into wire names, for the library's nested values and the CLI."""


def _split(op: Operation, arguments: Mapping[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
    """The path and query arguments, and the body (wire names)."""
    names = {p.python for p in (*op.path_params, *op.query_params)}
    params = {k: v for k, v in arguments.items() if k in names}
    model = BODY_MODELS.get(op.id)
    body = {k: v for k, v in arguments.items() if k not in names}
    return params, (_WIRE._wire(model, body) if model else {})


class Library(Entry):
    """The library's client acting as the agent (`access=`), against the fake in process."""

    def __init__(self, world: World) -> None:
        super().__init__(world)
        self._clients: dict[tuple[str, str], Any] = {}

    def _client(self, agent: str, op: Operation) -> Any:
        key = (agent, op.token)
        if key not in self._clients:
            fake = self.world.fake
            cls, token = (
                (ServerClient, fake.server_token)
                if op.token == "server"
                else (AccountClient, fake.account_token)
            )
            access = self.world.policy.access(agent)
            self._clients[key] = cls(token, transport=fake.transport(), access=access)
        return self._clients[key]

    def call(self, agent: str, op: Operation, arguments: Mapping[str, Any]) -> Answer:
        method = getattr(getattr(self._client(agent, op), op.group), op.name)
        params, body = _split(op, arguments)
        # The keyword arguments are the tool's (a Python keyword with `_`), their values wired.
        wired = dict(zip((k for k in arguments if k not in params), body.values(), strict=True))
        kwargs = {f"{k}_" if keyword.iskeyword(k) else k: v for k, v in wired.items()}
        try:
            result = method(**params, **kwargs)
        except PostmarkError as exc:
            return Answer(False, str(exc))
        return Answer(True, json.dumps(result.to_dict(), default=str))

    def close(self) -> None:
        for client in self._clients.values():
            client.close()


class Command(Entry):
    """`postmark GROUP ACTION [--PARAM V] [--json BODY] --agent NAME --policy FILE`, in process,
    against the fake on loopback."""

    def call(self, agent: str, op: Operation, arguments: Mapping[str, Any]) -> Answer:
        params, body = _split(op, arguments)
        argv = [op.group.replace("_", "-"), op.name.replace("_", "-")]
        for name, value in params.items():
            argv += [f"--{name.replace('_', '-')}", str(value)]
        if body:
            argv += ["--json", json.dumps(body)]
        argv += ["--agent", agent, "--policy", str(self.world.policy.path)]
        argv += ["--base-url", self.world.url, "--server-token", self.world.fake.server_token]
        out, err = io.StringIO(), io.StringIO()
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            code = cli.main(argv)
        assert "Traceback" not in err.getvalue()
        return Answer(code == 0, out.getvalue() + err.getvalue())


def _server_env(world: World) -> dict[str, str]:
    """The environment of a `postmark-mcp` process: the fake's URL and tokens."""
    return subprocess_env(
        {
            "POSTMARK_API_URL": world.url,
            "POSTMARK_SERVER_TOKEN": world.fake.server_token,
            "POSTMARK_ACCOUNT_TOKEN": world.fake.account_token,
        }
    )


MCP_COMMAND = [sys.executable, "-m", "postmark_client.mcp._server"]


class Stdio(Entry):
    """`postmark-mcp --policy FILE --agent NAME` over stdio: one process per agent, its MCP
    client session held open in a thread of its own (an event loop) for every case."""

    def __init__(self, world: World) -> None:
        super().__init__(world)
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, daemon=True)
        self._thread.start()
        self._stop = asyncio.Event()
        self._held: list[concurrent.futures.Future[None]] = []
        self._clients: dict[str, mcp.Client] = {}

    def _args(self, agent: str) -> list[str]:
        return ["--policy", str(self.world.policy.path), "--agent", agent]

    def _open(self, agent: str) -> mcp.Client:
        params = mcp.StdioServerParameters(
            command=MCP_COMMAND[0],
            args=[*MCP_COMMAND[1:], *self._args(agent)],
            env=_server_env(self.world),
        )
        ready: concurrent.futures.Future[mcp.Client] = concurrent.futures.Future()

        async def hold() -> None:
            async with mcp.Client(params, read_timeout_seconds=TIMEOUT) as client:
                ready.set_result(client)
                await self._stop.wait()

        def ended(done: concurrent.futures.Future[None]) -> None:
            if not ready.done():  # the session failed to open: say why
                ready.set_exception(done.exception() or RuntimeError("the session ended"))

        held = asyncio.run_coroutine_threadsafe(hold(), self._loop)
        held.add_done_callback(ended)
        self._held.append(held)
        return ready.result(TIMEOUT)

    def call(self, agent: str, op: Operation, arguments: Mapping[str, Any]) -> Answer:
        if agent not in self.world.policy.agents:  # the process refuses to start
            ended = subprocess.run(
                [*MCP_COMMAND, *self._args(agent)],
                env=_server_env(self.world),
                stdin=subprocess.DEVNULL,
                capture_output=True,
                text=True,
                timeout=TIMEOUT,
                check=False,
            )
            return Answer(ended.returncode == 0, ended.stdout + ended.stderr)
        if agent not in self._clients:
            self._clients[agent] = self._open(agent)
        called = self._clients[agent].call_tool(tool_name(op), dict(arguments))
        result = asyncio.run_coroutine_threadsafe(called, self._loop).result(TIMEOUT)
        text = "".join(getattr(part, "text", "") for part in result.content)
        return Answer(not result.is_error, text)

    def recorded(self, agent: str, op: Operation) -> tuple[str, str]:
        return agent, op.id if agent in self.world.policy.agents else "postmark-mcp"

    def close(self) -> None:
        self._loop.call_soon_threadsafe(self._stop.set)
        for held in self._held:
            held.result(TIMEOUT)
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(TIMEOUT)
        self._loop.close()


class Http(Entry):
    """`postmark-mcp --http --policy FILE`: one process for the policy, each agent by its key,
    each call a JSON-RPC `tools/call` POST (what a stateless streamable HTTP client sends)."""

    over_http = True

    def __init__(self, world: World) -> None:
        super().__init__(world)
        command = [*MCP_COMMAND, "--http", "--port", "0", "--policy", str(world.policy.path)]
        self.process = subprocess.Popen(
            command, env=_server_env(world), stderr=subprocess.PIPE, text=True, encoding="utf-8"
        )
        assert self.process.stderr is not None
        line = LineReader(self.process.stderr).line_matching(lambda t: "listening on" in t)
        self.url = line.split("listening on ", 1)[1].split()[0]
        self.http = httpx.Client(timeout=TIMEOUT)
        self._ids = itertools.count(1)

    def call(self, agent: str, op: Operation, arguments: Mapping[str, Any]) -> Answer:
        params = {"name": tool_name(op), "arguments": dict(arguments)}
        request = {"jsonrpc": "2.0", "id": next(self._ids), "method": "tools/call"}
        headers = {
            "Accept": "application/json, text/event-stream",
            "Authorization": f"Bearer {KEYS.get(agent, f'{agent}-key')}",
        }
        answer = self.http.post(self.url, json={**request, "params": params}, headers=headers)
        if answer.status_code != 200:
            return Answer(False, answer.text, answer.status_code)
        result = answer.json()["result"]
        return Answer(not result["isError"], "".join(c["text"] for c in result["content"]))

    def recorded(self, agent: str, op: Operation) -> tuple[str, str]:
        if agent in self.world.policy.agents:
            return agent, op.id
        return UNKNOWN_KEY, HTTP_COMMAND

    def close(self) -> None:
        self.http.close()
        self.process.terminate()
        self.process.wait(TIMEOUT)


ENTRIES: dict[str, type[Entry]] = {
    "library": Library,
    "cli": Command,
    "mcp-stdio": Stdio,
    "mcp-http": Http,
}


@contextlib.contextmanager
def served_world(folder: Path) -> Iterator[World]:
    """The policy in `folder`, its audit log, and a fake Postmark served on loopback."""
    path = folder / "agents.toml"
    path.write_text(POLICY.format(**{a: hash_key(k) for a, k in KEYS.items()}), encoding="utf-8")
    fake = FakePostmark()
    with fake.serve("127.0.0.1", 0) as served:
        yield World(Policy.load(path), fake, served.url.rstrip("/"))


@pytest.fixture(scope="module", params=list(ENTRIES))
def entry(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Entry]:
    with served_world(tmp_path_factory.mktemp(request.param)) as world:
        found = ENTRIES[request.param](world)
        try:
            yield found
        finally:
            found.close()


def _stored(fake: FakePostmark) -> list[tuple[tuple[str, ...], str]]:
    return [(tuple(m["Recipients"]), m["MessageStream"]) for m in fake.messages()]


@pytest.mark.parametrize("case", CASES, ids=[case.id for case in CASES])
def test_each_entry_point(entry: Entry, case: Case) -> None:
    world, expect, op = entry.world, case.expect, _BY_NAME[case.tool]
    first_row = max((row.id for row in world.log.entries()), default=0)
    for _ in range(case.before):
        assert entry.call(case.agent, op, case.arguments).ok
    calls, stored = len(world.fake.calls), _stored(world.fake)
    answer = entry.call(case.agent, op, case.arguments)
    status = expect.http_status if entry.over_http else None
    assert (answer.ok, answer.status) == (expect.ok, status), answer
    assert status is not None or expect.says in answer.text, answer.text
    assert len(world.fake.calls) == calls + expect.reached
    assert _stored(world.fake)[len(stored) :] == list(expect.stored)
    # One row per call; those of the sends before it allowed.
    rows = world.log.entries(after_id=first_row)
    assert [row.decision for row in rows[: case.before]] == ["allowed"] * case.before
    [row] = rows[case.before :]
    assert (row.agent, row.operation) == entry.recorded(case.agent, op)
    assert row.decision == expect.decision and expect.rule in row.rule, row
    assert (row.stream, row.addresses) == (expect.stream, expect.addresses), row
    assert "\n" not in sentence(row)  # what `postmark audit` prints: one line
    if expect.decision == "denied":
        assert row.outcome == "not sent"


def test_a_server_stopped_by_sigterm_records_the_outcome_of_its_last_call(tmp_path: Path) -> None:
    with served_world(tmp_path) as world:
        server = Http(world)
        try:
            sent = server.call("mailer", _BY_NAME["email_send"], {**SEND, "to": "jane@example.com"})
        finally:
            server.close()  # SIGTERM at once: before the outcome's delayed write
    assert sent.ok, sent
    [row] = world.log.entries()
    assert (row.decision, row.outcome) == ("allowed", "ok")
    assert server.process.returncode == 128 + signal.SIGTERM
