"""Per-agent access to the API: a policy file, the one check before a call, and its audit row.

Postmark's tokens have no scopes: a server token sends, deletes templates and reactivates bounces
alike. A policy file narrows that per agent, by group (the client attributes: `email`,
`bounces`, ...), each `off`, `read`, `write` (the group's writes without its reads: a sender
that cannot search what others sent) or `full` (read and write), and denies everything else:

    audit = "postmark-audit.sqlite"      # the audit log (relative to this file)

    [agents.support-bot]
    messages = "read"
    bounces = "full"

    [agents.onboarding-mailer]
    email = "full"
    recipients = ["*@example.com"]       # optional narrowing of sends
    message_streams = ["outbound"]
    sends_per_hour = 100                 # messages, counted across processes in the audit log
    sends_per_day = 1000

Top-level keys: `audit`, `audit_log_id` (the id the log must carry: a missing or replaced log
is then refused, see `postmark audit --log-id`), `record_addresses` (`domains`, the default;
`full`; `none`; error text is stored by the same rule),
`attachments_dir` (the folder the MCP server may read attachment files from), `server_tokens`
(a TOML file of `name = "server token"` lines, read by postmark-gateway only). Agent keys: a
level per group, `recipients`, `message_streams` (a list: the streams sends may use; a level
string is the grant of the message streams group), `sends_per_hour`, `sends_per_day`,
`key_sha256` (the SHA-256 of the agent's key for `postmark-mcp --http` and postmark-gateway),
`server_token` (the name in `server_tokens` whose token the gateway uses for the agent),
`approve` and `approve_over_recipients` (below) and `description`. Anything else is refused at
load with its line, never read as "allow".

A call may need a person's approval: `approve = ["email.send_bulk", "servers.delete"]` names
operations as `group.name` (as `postmark access` lists them), `approve_over_recipients = 100`
holds any send to more recipients than that. The check holds such a call (audit decision
`held`, nothing sent) and raises `ApprovalRequiredError` with the URL of its console page
(`console_url`, a top-level key; postmark-gateway's own address when not given); once an
administrator approves it, the identical call (same agent, operation and arguments) goes
through once within the approval's time limit (see `postmark_client._approvals`).

Some operations act on a second group as well (`x-postmark-reaches` in the spec,
`Operation.reaches` here): `templates.push` overwrites templates on other servers, so it also
takes `write` on `servers`; `server.edit` with a hook URL decides where Postmark posts events, so
such a call also takes `write` on `webhooks`. A call needs the grant of both groups.

Give a client an agent's access (`ServerClient(token, access=policy.access("support-bot"))`)
and every call is checked in the client core before anything is sent: a denial raises
`AccessDeniedError` and sends nothing; allowed or denied, the decision and its outcome are
written to the audit log.
"""

from __future__ import annotations

import difflib
import fnmatch
import hashlib
import re
import tomllib
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any, Final, Literal, NamedTuple

from ._approvals import ApprovalError, Approvals, Held, approval_url
from ._audit import AuditLog, AuditLogError, redact
from ._idempotency import IDEMPOTENCY_METADATA_KEY
from ._meta import Operation, Reach
from ._operations import OPERATIONS
from ._spec import GROUPS
from ._store import AuditStore, Outcome, SendQuota
from .errors import (
    APIConnectionError,
    APIError,
    BatchFailedError,
    MessageMaybeSentError,
    OutcomeUnknownError,
    PostmarkError,
)
from .rules import Mailbox, outgoing

__all__ = [
    "LEVELS",
    "AccessDeniedError",
    "Agent",
    "AgentAccess",
    "ApprovalError",
    "ApprovalRequiredError",
    "Approvals",
    "AuditLogError",
    "Decision",
    "Held",
    "Policy",
    "PolicyError",
    "UnknownAgentError",
    "approval_url",
    "hash_key",
]

Level = Literal["off", "read", "write", "full"]
Params = Mapping[str, Any] | None
"""A call's path or query parameters (None: it has none)."""
LEVELS: Final[tuple[Level, ...]] = ("off", "read", "write", "full")
# The operations (by `x-postmark-access`) each level reaches in its group.
_ALLOWS: Final[Mapping[str, frozenset[str]]] = {
    "off": frozenset(),
    "read": frozenset({"read"}),
    "write": frozenset({"write"}),
    "full": frozenset({"read", "write"}),
}
_OPTIONS: Final = (
    "recipients",
    "message_streams",
    "sends_per_hour",
    "sends_per_day",
    "key_sha256",
    "server_token",
    "approve",
    "approve_over_recipients",
    "description",
)
_TOP_KEYS: Final = (
    "audit",
    "audit_log_id",
    "record_addresses",
    "attachments_dir",
    "server_tokens",
    "console_url",
    "agents",
)
_RECORD_ADDRESSES: Final = ("domains", "full", "none")
_AGENT_NAME: Final = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")
_DEFAULT_AUDIT: Final = "postmark-audit.sqlite"


class AccessDeniedError(PostmarkError):
    """The policy does not let this agent make this call; nothing was sent.

    `agent`, `operation` (the operationId), `needs` (the grant it would take: `read on
    messages`, `full on email`, or a narrowing rule) and `rule` (what denied it).
    """

    agent: str
    operation: str
    needs: str
    rule: str

    def __init__(self, agent: str, operation: str, needs: str, rule: str) -> None:
        self.agent = agent
        self.operation = operation
        self.needs = needs
        self.rule = rule
        super().__init__(
            f"agent {agent!r} may not call {operation}: {rule} (it would need {needs}); "
            "nothing was sent"
        )


class UnknownAgentError(AccessDeniedError):
    """A configuration error: the agent a client acts as is not in the policy (every call
    is refused, and recorded as such)."""

    def __init__(self, agent: str, operation: str, rule: str) -> None:
        PostmarkError.__init__(self, f"configuration error: {rule}; nothing was sent")
        self.agent = agent
        self.operation = operation
        self.needs = "an agent of the policy"
        self.rule = rule


class ApprovalRequiredError(AccessDeniedError):
    """The call needs a person's approval: it is held (nothing was sent) until an administrator
    approves it at `url`; the identical call made after that goes through once.

    `url` is the console page of the held call, `approval_id` its id, `reason` why it needs
    approval (`approve` names the operation, or its recipients are over
    `approve_over_recipients`); `agent`, `operation`, `needs`, `rule` as for AccessDeniedError.
    """

    url: str
    approval_id: str
    reason: str

    def __init__(self, agent: str, operation: str, url: str, approval_id: str, reason: str) -> None:
        PostmarkError.__init__(
            self,
            f"agent {agent!r} may not call {operation} without a person's approval ({reason}): "
            f"held for approval at {url}; nothing was sent. Once it is approved, make the "
            "identical call again: it goes through once",
        )
        self.agent = agent
        self.operation = operation
        self.needs = "a person's approval"
        self.rule = f"needs approval ({reason})"
        self.url = url
        self.approval_id = approval_id
        self.reason = reason


class PolicyError(ValueError):
    """A policy file that cannot be used, located: `agents.toml:7: agents.bot.emial: ...`."""

    def __init__(self, path: str, line: int | None, key: str, message: str) -> None:
        self.path = path
        self.line = line
        self.key = key
        self.message = message
        where = f"{path}:{line}" if line is not None else path
        super().__init__(f"{where}: {key}: {message}")


def hash_key(key: str) -> str:
    """The SHA-256 (hex) of a bearer key, as `key_sha256` stores it."""
    return hashlib.sha256(key.encode("utf-8")).hexdigest()


@dataclass(frozen=True, slots=True)
class Agent:
    """One agent of a policy."""

    name: str
    grants: Mapping[str, Level]
    recipients: tuple[str, ...] | None = None
    message_streams: tuple[str, ...] | None = None
    sends_per_hour: int | None = None
    sends_per_day: int | None = None
    key_sha256: str | None = None
    server_token: str | None = None
    """The server (a name in the policy's `server_tokens` file) whose token postmark-gateway
    forwards this agent's server-token calls with; None: POSTMARK_SERVER_TOKEN."""
    approve: frozenset[str] = frozenset()
    """The operations (by operationId) whose every call waits for a person's approval."""
    approve_over_recipients: int | None = None
    """A send to more recipients than this waits for a person's approval."""
    description: str = ""

    def level(self, group: str) -> Level:
        return self.grants.get(group, "off")

    def narrowing(self) -> list[str]:
        """What narrows the grants, in words: `recipients *@example.com`, `100 messages per
        hour`, ... (empty: nothing)."""
        said = []
        if self.recipients is not None:
            said.append(f"recipients {', '.join(self.recipients)}")
        if self.message_streams is not None:
            said.append(f"message streams {', '.join(self.message_streams)}")
        if self.sends_per_hour is not None:
            said.append(f"{self.sends_per_hour} messages per hour")
        if self.sends_per_day is not None:
            said.append(f"{self.sends_per_day} messages per day")
        return said

    def allows(self, group: str, access: str) -> bool:
        """Whether the level on `group` covers operations of this access (`read`, `write`)."""
        return access in _ALLOWS[self.grants.get(group, "off")]

    def may(self, op: Operation) -> bool:
        """Whether the grants allow `op` at all: its group, and each second group every call of
        it acts on (one only some calls act on, by a field, and narrowing are checked per call)."""
        return self.allows(op.group, op.access) and all(
            self.allows(reach.group, reach.access) for reach in op.reaches if not reach.fields
        )

    def approval_needed(self, op: Operation, recipients: int) -> str | None:
        """Why a call needs a person's approval (the policy key that says so), or None."""
        if op.id in self.approve:
            return f"approve names {op.group}.{op.name}"
        limit = self.approve_over_recipients
        if limit is not None and recipients > limit:
            return f"{recipients} recipients, over approve_over_recipients = {limit}"
        return None


class Decision(NamedTuple):
    """What the policy says about one call."""

    allowed: bool
    rule: str
    needs: str


@dataclass(slots=True)
class Facts:
    """What a call acts on, as the audit log records it (never a body or a token)."""

    stream: str | None = None
    recipients: list[str] = field(default_factory=list)
    messages: int = 0
    unreadable: str | None = None
    """The first recipient field that does not read as plain addresses, and why."""


# ---- reading a policy file ------------------------------------------------------------------


def _split_dotted(text: str) -> tuple[str, ...]:
    parts = re.findall(r'"((?:[^"\\]|\\.)*)"|\'([^\']*)\'|([^.\s]+)', text)
    return tuple(_basic(a) if a else b or c for a, b, c in parts)


def _basic(text: str) -> str:
    """A TOML basic string's text with its escapes read (`"bot\\n"` is `bot` and a newline)."""
    if "\\" not in text:
        return text
    try:
        return str(tomllib.loads(f'k = "{text}"')["k"])
    except tomllib.TOMLDecodeError:
        return text


def _key_lines(text: str) -> dict[tuple[str, ...], int]:
    """The line of each table header and key (tomllib reports no positions)."""
    lines: dict[tuple[str, ...], int] = {}
    table: tuple[str, ...] = ()
    for number, raw in enumerate(text.splitlines(), 1):
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        if line.startswith("["):
            header = line.lstrip("[").split("]", 1)[0]
            table = _split_dotted(header)
            lines.setdefault(table, number)
        elif "=" in line:
            key = _split_dotted(line.split("=", 1)[0])
            lines.setdefault(table + key, number)
    return lines


class _Reader:
    def __init__(self, path: str, text: str) -> None:
        self.path = path
        self.lines = _key_lines(text)

    def error(self, key: tuple[str, ...], message: str) -> PolicyError:
        line = None
        for end in range(len(key), 0, -1):
            line = self.lines.get(key[:end])
            if line is not None:
                break
        return PolicyError(self.path, line, ".".join(key), message)


def _suggest(word: str, choices: Iterable[str]) -> str:
    close = difflib.get_close_matches(word, list(choices), n=1)
    return f" (did you mean {close[0]!r}?)" if close else ""


def _strings(reader: _Reader, key: tuple[str, ...], value: Any) -> tuple[str, ...]:
    if not isinstance(value, list) or not all(isinstance(v, str) and v for v in value):
        raise reader.error(key, "must be a list of non-empty strings")
    return tuple(value)


def _count(reader: _Reader, key: tuple[str, ...], value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise reader.error(key, f"must be a whole number >= 0, got {value!r}")
    return value


# Operations as a policy names them: `group.name`, as `postmark access` lists them.
_BY_DOTTED: Final = {f"{op.group}.{op.name}": op.id for op in OPERATIONS.values()}


def _operation_ids(reader: _Reader, key: tuple[str, ...], value: Any) -> list[str]:
    """The operationIds of a list of `group.name` operations; PolicyError naming an unknown one."""
    found = []
    for dotted in _strings(reader, key, value):
        op_id = _BY_DOTTED.get(dotted)
        if op_id is None:
            raise reader.error(
                key,
                f"unknown operation {dotted!r}: operations are named group.name, as "
                f"`postmark access` lists them{_suggest(dotted, _BY_DOTTED)}",
            )
        found.append(op_id)
    return found


def _read_agent(reader: _Reader, name: str, table: Any) -> Agent:
    key = ("agents", name)
    if not _AGENT_NAME.fullmatch(name):
        raise reader.error(key, "an agent name is letters, digits, '.', '_' or '-' (at most 64)")
    if not isinstance(table, dict):
        raise reader.error(key, "must be a table of grants ([agents.NAME])")
    grants: dict[str, Level] = {}
    options: dict[str, Any] = {}
    for item, value in table.items():
        where = (*key, item)
        # `message_streams` is a group (the message streams API) and an option (the streams an
        # agent may send on): a level string is the group's grant, a list the option.
        if item in GROUPS and not (item in _OPTIONS and isinstance(value, list)):
            if value not in LEVELS:
                raise reader.error(
                    where,
                    f"unknown level {value!r}: one of {', '.join(LEVELS)}"
                    + (_suggest(value, LEVELS) if isinstance(value, str) else ""),
                )
            grants[item] = value
        elif item in ("recipients", "message_streams"):
            patterns = _strings(reader, where, value)
            if item == "recipients":
                for pattern in patterns:
                    if pattern.count("@") != 1 or pattern.endswith("@"):
                        raise reader.error(
                            where, f"{pattern!r} is not an address or a '*@domain' pattern"
                        )
            options[item] = tuple(p.lower() for p in patterns) if item == "recipients" else patterns
        elif item in ("sends_per_hour", "sends_per_day", "approve_over_recipients"):
            options[item] = _count(reader, where, value)
        elif item == "approve":
            options[item] = frozenset(_operation_ids(reader, where, value))
        elif item == "key_sha256":
            if not isinstance(value, str) or not re.fullmatch(r"[0-9a-f]{64}", value):
                raise reader.error(where, "must be 64 lower-case hex digits (see hash_key)")
            options[item] = value
        elif item == "description":
            if not isinstance(value, str):
                raise reader.error(where, "must be a string")
            options[item] = value
        elif item == "server_token":
            if not isinstance(value, str) or not value:
                raise reader.error(where, "must be the name of a server in server_tokens")
            options[item] = value
        else:
            raise reader.error(
                where,
                f"unknown key {item!r}: not a group ({', '.join(GROUPS)}) nor an option "
                f"({', '.join(_OPTIONS)}){_suggest(item, [*GROUPS, *_OPTIONS])}",
            )
    return Agent(name=name, grants=grants, **options)


_TOML_AT: Final = re.compile(r"\(at line (\d+), column \d+\)")
_TOML_TWICE: Final = re.compile(r"Cannot declare \(([^)]*)\) twice")


def _toml_error(path: str, exc: tomllib.TOMLDecodeError) -> PolicyError:
    text = str(exc)
    at = _TOML_AT.search(text)
    line = int(at.group(1)) if at else None
    message = _TOML_AT.sub("", text).strip()
    twice = _TOML_TWICE.search(text)
    key = ".".join(re.findall(r"'([^']*)'", twice.group(1))) if twice else "(syntax)"
    if twice and key.startswith("agents."):
        message = f"agent {key.split('.', 1)[1]!r} is declared twice"
    return PolicyError(path, line, key, message)


def _one_agent_per_key(reader: _Reader, agents: Mapping[str, Agent]) -> None:
    """Refuse two agents with one bearer key: the key would log in as whichever came first."""
    holder: dict[str, str] = {}
    for agent in agents.values():
        if agent.key_sha256 is None:
            continue
        first = holder.setdefault(agent.key_sha256, agent.name)
        if first != agent.name:
            line = reader.lines.get(("agents", first, "key_sha256"))
            raise reader.error(
                ("agents", agent.name, "key_sha256"),
                f"the same key as agents.{first}.key_sha256"
                + (f" (line {line})" if line is not None else "")
                + ": each agent needs its own key",
            )


# ---- the policy -----------------------------------------------------------------------------


class Policy:
    """A loaded policy: agents, where the audit log is, and the hash of the file's bytes."""

    def __init__(
        self,
        agents: Mapping[str, Agent],
        *,
        path: Path | None = None,
        audit: Path | None = None,
        audit_log_id: str | None = None,
        record_addresses: str = "domains",
        attachments_dir: Path | None = None,
        server_tokens: Path | None = None,
        sha256: str = "",
        allow_all: bool = False,
        console_url: str | None = None,
    ) -> None:
        self.agents = dict(agents)
        self.path = path
        self.audit_path = audit
        self.audit_log_id = audit_log_id
        self.record_addresses = record_addresses
        self.attachments_dir = attachments_dir
        self.server_tokens = server_tokens
        self.sha256 = sha256
        self.allow_all = allow_all
        self.console_url = console_url
        """Where administrators decide held calls (the base of their approval URLs)."""
        self._log: AuditStore | None = None
        # (agent name, operation id) -> (agent, operation, decision by grants): see _by_grant.
        self._grants: dict[tuple[str, str], tuple[Agent, Operation, Decision]] = {}
        self._approvals: Approvals | None = None
        self.key_lookup: Callable[[str], str | None] | None = None
        """Where keys kept outside the policy are found: the agent of a key's SHA-256, or None
        (the store's key table, set by `PolicySource`)."""

    @classmethod
    def load(cls, path: str | Path) -> Policy:
        """Read and check a policy file; PolicyError (with line and key) when it is not usable."""
        where = Path(path)
        try:
            raw = where.read_bytes()
        except OSError as exc:
            raise PolicyError(str(path), None, "(file)", exc.strerror or str(exc)) from None
        # utf-8-sig: a byte order mark (as some editors write) is not part of the TOML.
        return cls.loads(raw.decode("utf-8-sig", errors="replace"), path=where)

    @classmethod
    def loads(cls, text: str, *, path: Path | str | None = None) -> Policy:
        """Read a policy from its text; relative paths in it are relative to `path`'s folder."""
        name = str(path) if path is not None else "<policy>"
        text = text.removeprefix("\ufeff")
        try:
            data = tomllib.loads(text)
        except tomllib.TOMLDecodeError as exc:
            raise _toml_error(name, exc) from None
        reader = _Reader(name, text)
        for key in data:
            if key not in _TOP_KEYS:
                raise reader.error(
                    (key,),
                    f"unknown key {key!r}: the top level holds {', '.join(_TOP_KEYS)}"
                    + _suggest(key, _TOP_KEYS),
                )
        base = Path(path).resolve().parent if path is not None else Path.cwd()
        audit = data.get("audit", _DEFAULT_AUDIT)
        if not isinstance(audit, str) or not audit:
            raise reader.error(("audit",), "must be a file name (relative to the policy file)")
        record = data.get("record_addresses", "domains")
        if record not in _RECORD_ADDRESSES:
            raise reader.error(
                ("record_addresses",), f"must be one of {', '.join(_RECORD_ADDRESSES)}"
            )
        log_id = data.get("audit_log_id")
        if log_id is not None and (not isinstance(log_id, str) or not log_id):
            raise reader.error(("audit_log_id",), "must be the id `postmark audit --log-id` prints")
        folder = data.get("attachments_dir")
        if folder is not None and (not isinstance(folder, str) or not folder):
            raise reader.error(("attachments_dir",), "must be a folder name")
        console_url = data.get("console_url")
        if console_url is not None and (
            not isinstance(console_url, str) or not re.match(r"https?://[^\s/]+", console_url)
        ):
            raise reader.error(("console_url",), "must be an http:// or https:// address")
        tokens_file = data.get("server_tokens")
        if tokens_file is not None and (not isinstance(tokens_file, str) or not tokens_file):
            raise reader.error(("server_tokens",), "must be a file name (relative to the policy)")
        agents_table = data.get("agents", {})
        if not isinstance(agents_table, dict):
            raise reader.error(("agents",), "must be a table of agents ([agents.NAME])")
        agents: dict[str, Agent] = {}
        folded: dict[str, str] = {}
        for agent_name, table in agents_table.items():
            lower = agent_name.lower()
            if lower in folded:
                raise reader.error(
                    ("agents", agent_name),
                    f"agent {agent_name!r} is declared twice (as {folded[lower]!r})",
                )
            folded[lower] = agent_name
            agents[agent_name] = _read_agent(reader, agent_name, table)
            if agents[agent_name].server_token is not None and tokens_file is None:
                raise reader.error(
                    ("agents", agent_name, "server_token"),
                    "names a server, but the policy has no server_tokens file",
                )
        _one_agent_per_key(reader, agents)
        return cls(
            agents,
            path=Path(path) if path is not None else None,
            audit=base / audit,
            audit_log_id=log_id,
            record_addresses=record,
            attachments_dir=(base / folder) if folder else None,
            server_tokens=(base / tokens_file) if tokens_file else None,
            sha256=hashlib.sha256(text.encode("utf-8")).hexdigest(),
            console_url=console_url,
        )

    @classmethod
    def allowing_all(cls, audit: Path | None = None, name: str = "any") -> Policy:
        """Every group `full` for one agent (what `postmark-mcp --allow-all` runs with)."""
        grants: dict[str, Level] = dict.fromkeys(GROUPS, "full")
        return cls({name: Agent(name, grants)}, audit=audit, allow_all=True, sha256="allow-all")

    # Questions ------------------------------------------------------------------------------

    @property
    def log(self) -> AuditStore | None:
        """The audit log: the one given to `use_store`, else the file the policy names (opened
        on first write)."""
        if self._log is None and self.audit_path is not None:
            self._log = AuditLog(self.audit_path, log_id=self.audit_log_id)
        return self._log

    def use_store(self, store: AuditStore) -> None:
        """Write the audit log (and count send quotas) in `store` instead of the policy's file:
        a `PostgresStore` shared by several gateway hosts."""
        self._log = store
        self._approvals = None

    @property
    def approvals(self) -> Approvals | None:
        """The held calls, in the audit store (None without one)."""
        log = self.log
        if self._approvals is None and log is not None:
            self._approvals = Approvals(log, policy_hash=self.sha256[:16])
        return self._approvals

    def use_approvals(self, approvals: Approvals) -> None:
        """Keep held calls in `approvals` (over this policy's store; a test's own clock)."""
        self._approvals = approvals

    def agent(self, name: str) -> Agent | None:
        return self.agents.get(name)

    def agent_for_key(self, key: str) -> Agent | None:
        """The agent whose `key_sha256` is this bearer key's hash."""
        digest = hash_key(key)
        for agent in self.agents.values():
            if agent.key_sha256 is not None and agent.key_sha256 == digest:
                return agent
        name = self.key_lookup(digest) if self.key_lookup is not None else None
        return self.agents.get(name) if name is not None else None

    def operations_for(self, name: str) -> list[Operation]:
        """The operations an agent's grants reach, in spec order."""
        agent = self.agents.get(name)
        if agent is None:
            return []
        return [op for op in OPERATIONS.values() if agent.may(op)]

    def access(self, name: str) -> AgentAccess:
        """The access object a client takes (`access=`) to act as this agent."""
        return AgentAccess(self, name)

    def decide(
        self,
        name: str,
        op: Operation,
        data: Any = None,
        path: Mapping[str, Any] | None = None,
        query: Mapping[str, Any] | None = None,
    ) -> tuple[Decision, Facts]:
        """The decision on one call, and what it acts on (for the audit row)."""
        facts = _facts(op, data, path, query)
        return self._decide(name, op, facts, data), facts

    def _decide(self, name: str, op: Operation, facts: Facts, data: Any = None) -> Decision:
        agent, by_grant = self._by_grant(name, op, data)
        if agent is None or not by_grant.allowed:
            return by_grant
        streams = agent.message_streams
        if streams is not None and facts.stream is not None and facts.stream not in streams:
            return Decision(
                False,
                f"message stream {facts.stream!r} is not one of {', '.join(streams)}",
                f"message stream in {', '.join(streams)}",
            )
        narrowed = agent.recipients is not None or streams is not None
        if narrowed and facts.unreadable is not None:
            # What cannot be read cannot be checked: some reader may send it elsewhere.
            return Decision(
                False,
                f"recipient field {facts.unreadable}",
                "recipient fields that read as plain addresses",
            )
        if agent.recipients is not None and facts.recipients:
            matches = _recipient_matcher(agent.recipients)
            for address in facts.recipients:
                if matches(address.lower()) is None:
                    return Decision(
                        False,
                        f"recipient on {_domain(address) or 'an unknown domain'} is not "
                        f"allowed ({', '.join(agent.recipients)})",
                        f"recipients matching {', '.join(agent.recipients)}",
                    )
        return by_grant

    def _by_grant(self, name: str, op: Operation, data: Any) -> tuple[Agent | None, Decision]:
        """The decision by the agent's grants alone; kept per agent and operation when no field
        of the body changes it (the agent and the operation objects must be the same again)."""
        agent = self.agents.get(name)
        kept = self._grants.get((name, op.id))
        if kept is not None and kept[0] is agent and kept[1] is op:
            return agent, kept[2]
        decision = _grant_decision(name, agent, op, data)
        if agent is not None and OPERATIONS.get(op.id) is op and _static_reach(op):
            self._grants[(name, op.id)] = (agent, op, decision)
        return agent, decision


def _grant_decision(name: str, agent: Agent | None, op: Operation, data: Any) -> Decision:
    acting = _acted_on(op, data)
    needs = " and ".join(
        f"{access} on {group}"
        for group, access in ((op.group, op.access), *((r.group, r.access) for r in acting))
    )
    if agent is None:
        return Decision(False, f"agent {name!r} is not in the policy", needs)
    known = OPERATIONS.get(op.id)
    if known is None or (known is not op and known != op):
        return Decision(False, f"unknown operation {op.id!r}", needs)
    level = agent.level(op.group)
    if not agent.allows(op.group, op.access):
        return Decision(False, f"{level} on {op.group}", needs)
    for reach in acting:
        if not agent.allows(reach.group, reach.access):
            return Decision(False, _reach_refusal(agent, op, reach, data), needs)
    granted = ", ".join([f"{level} on {op.group}"] + [_grant(agent, r.group) for r in acting])
    return Decision(True, granted, needs)


def _static_reach(op: Operation) -> bool:
    """Whether every call of `op` acts on the same groups (no reach depends on a field)."""
    return not any(reach.fields for reach in op.reaches)


@lru_cache(maxsize=64)
def _recipient_matcher(patterns: tuple[str, ...]) -> Callable[[str], re.Match[str] | None]:
    """One compiled match of an address (lower-cased) against any of the patterns, as
    `fnmatchcase` matches each."""
    return re.compile("|".join(f"(?:{fnmatch.translate(p)})" for p in patterns)).match


def _unstamped(op: Operation, data: Any) -> Any:
    """The body an approval is bound to: without the idempotency key the client stamps into
    each message's Metadata (a new one for every call unless the caller gives one)."""
    field = op.idempotency_metadata
    if field is None:
        return data
    holder, _, inner = field.rpartition(".")

    def strip(message: Any) -> Any:
        metadata = message.get(inner) if isinstance(message, Mapping) else None
        if not isinstance(metadata, Mapping) or IDEMPOTENCY_METADATA_KEY not in metadata:
            return message
        rest = {k: v for k, v in metadata.items() if k != IDEMPOTENCY_METADATA_KEY}
        return {
            **{k: v for k, v in message.items() if k != inner},
            **({inner: rest} if rest else {}),
        }

    if holder:
        entries = data.get(holder) if isinstance(data, Mapping) else None
        return {**data, holder: [strip(m) for m in entries]} if isinstance(entries, list) else data
    return [strip(m) for m in data] if isinstance(data, list) else strip(data)


# ---- what a call acts on --------------------------------------------------------------------


def _acted_on(op: Operation, data: Any = None) -> list[Reach]:
    """The second groups this call acts on: every reach without fields, and each whose fields
    the body (`data`, wire names) sets to a non-null value."""
    if not op.reaches:
        return []
    body = data if isinstance(data, Mapping) else {}
    return [
        reach
        for reach in op.reaches
        if not reach.fields or any(body.get(name) is not None for name in reach.fields)
    ]


def _grant(agent: Agent, group: str) -> str:
    return f"{agent.level(group)} on {group}"


def _reach_refusal(agent: Agent, op: Operation, reach: Reach, data: Any) -> str:
    """`off on webhooks, which setting BounceHookUrl also acts on`."""
    if not reach.fields:
        return f"{_grant(agent, reach.group)}, which {op.id} also acts on"
    body = data if isinstance(data, Mapping) else {}
    given = [name for name in reach.fields if body.get(name) is not None]
    return f"{_grant(agent, reach.group)}, which setting {', '.join(given)} also acts on"


def _reach_text(reach: Reach) -> str:
    """`write on webhooks when it sets BounceHookUrl, InboundHookUrl`, or `write on servers`."""
    text = f"{reach.access} on {reach.group}"
    return f"{text} when it sets {', '.join(reach.fields)}" if reach.fields else text


def _domain(address: str) -> str:
    return address.rpartition("@")[2].lower() if "@" in address else ""


def _facts(
    op: Operation,
    data: Any,
    path: Mapping[str, Any] | None,
    query: Mapping[str, Any] | None,
) -> Facts:
    facts = Facts()
    for values in (path, query):
        if values:
            for key, value in values.items():
                if "stream" in key.lower() and isinstance(value, str):
                    facts.stream = value
    if op.access != "write" or op.acts_on != "email" or data is None:
        return facts
    messages = outgoing(op, data)
    facts.messages = len(messages)
    streams: list[str] = []
    recipients = facts.recipients
    for message in messages:
        for reading in message.recipients:
            # Every address the message could reach, so the row names what would be sent to.
            for entry in reading.entries:
                if isinstance(entry, Mailbox):
                    recipients.append(entry.address)
                    continue
                recipients.extend(entry.candidates)
                if facts.unreadable is None:
                    facts.unreadable = reading.problem
        if message.stream is not None and message.stream not in streams:
            streams.append(message.stream)
    if streams:
        facts.stream = ",".join(streams)
    return facts


# ---- the object the client core consults ----------------------------------------------------


class AgentAccess:
    """One agent's access, given to a client as `access=`: checks each call and records it.

    The client core calls `check(op)` before building a request (a denial by grant costs
    nothing more), then `begin(...)` with the body about to be sent; that writes the audit row
    (denied ones too) and returns the call to complete with `done` or `failed`.
    """

    def __init__(self, policy: Policy, agent: str) -> None:
        self.policy = policy
        self.agent = agent
        found = policy.agents.get(agent)
        limits = (found.sends_per_hour, found.sends_per_day) if found is not None else None
        # The agent's send quotas (None: it has none, so nothing is counted).
        self._limits = limits if limits is not None and limits != (None, None) else None

    def __repr__(self) -> str:
        return f"AgentAccess(agent={self.agent!r}, policy={str(self.policy.path)!r})"

    def check(self, op: Operation, token: str) -> None:
        """Refuse (recorded) a call the agent's grants do not reach."""
        agent = self.policy.agents.get(self.agent)
        if agent is None or not agent.may(op):
            self.begin(op, None, None, None, token)

    def refuse(
        self, op: Operation | str, token: str, reason: str, *, decision: str = "invalid"
    ) -> None:
        """Record a call refused before any check of the policy could pass it: the client's
        own checks of its arguments (`invalid`), an unknown tool or a configuration error
        (`denied`); `op` is an operation or the name the caller gave."""
        log = self.policy.log
        if log is None:
            return
        if isinstance(op, str):
            names: tuple[str, str, str, str] = (op, "", "", "")
        else:
            names = (op.id, op.group, op.access, op.summary)
        record = self.policy.record_addresses
        row = (self.agent, *names, token, None, 0, None, None, 0, decision, redact(reason, record),
               "not sent", self.policy.sha256[:16])  # fmt: skip
        log.begin(row)

    def begin(self, op: Operation, data: Any, path: Params, query: Params, token: str) -> AuditCall:
        """Decide, write the row, and raise AccessDeniedError when denied."""
        facts = _facts(op, data, path, query)
        agent = self.policy.agents.get(self.agent)
        if agent is None:
            return self._unknown_agent(op, token)
        decision = self.policy._decide(self.agent, op, facts, data)
        if decision.allowed and (agent.approve or agent.approve_over_recipients is not None):
            arguments = {"body": data, "path": path, "query": query}
            decision = self._approved(op, facts, decision, arguments, token)
        log = self.policy.log
        row_id = 0
        rule = decision.rule
        allowed = decision.allowed
        if log is not None:
            row = self._row(op, facts, decision, token)
            limits = self._limits
            quota = None
            if allowed and limits is not None and facts.messages:
                quota = SendQuota(limits[0], limits[1], facts.messages)
            row_id, refusal = log.begin(row, quota)
            if refusal is not None:
                allowed, rule = False, refusal
        if not allowed:
            needs = decision.needs if decision.allowed is False else "a send quota left"
            raise AccessDeniedError(self.agent, op.id, needs, rule)
        return AuditCall(log, row_id, op, self.policy.record_addresses)

    def _approved(
        self,
        op: Operation,
        facts: Facts,
        decision: Decision,
        arguments: Mapping[str, Any],
        token: str,
    ) -> Decision:
        """An allowed call that needs a person's approval: allowed when its approval is taken
        now, else held (its row written as `held`) and ApprovalRequiredError raised."""
        agent = self.policy.agents[self.agent]
        reason = agent.approval_needed(op, len(facts.recipients))
        if reason is None:
            return decision
        approvals = self.policy.approvals
        if approvals is None:
            rule = f"{reason}, and there is no audit store to hold the call in"
            return Decision(False, rule, "a person's approval")
        arguments = {
            "body": _unstamped(op, arguments["body"]),
            "path": dict(arguments["path"] or {}),
            "query": dict(arguments["query"] or {}),
        }
        if approvals.take(self.agent, op.id, arguments):
            return Decision(True, f"{decision.rule}; approved, as {reason}", decision.needs)
        held = approvals.hold(self.agent, op.id, arguments, reason)
        url = approval_url(self.policy.console_url, held.id)
        log = self.policy.log
        if log is not None:
            rule = f"{reason}; waiting for approval at {url}"
            log.begin(self._row(op, facts, Decision(False, rule, "approval"), token, "held"))
        raise ApprovalRequiredError(self.agent, op.id, url, held.id, reason)

    def _unknown_agent(self, op: Operation, token: str) -> AuditCall:
        where = f" {self.policy.path}" if self.policy.path is not None else ""
        rule = f"agent {self.agent!r} is not in the policy{where}"
        self.refuse(op, token, f"configuration error: {rule}", decision="denied")
        raise UnknownAgentError(self.agent, op.id, rule)

    def _row(
        self, op: Operation, facts: Facts, decision: Decision, token: str, word: str = ""
    ) -> tuple[Any, ...]:
        record = self.policy.record_addresses
        recipients = facts.recipients
        domains = addresses = None
        if recipients and record != "none":
            if len(recipients) == 1:
                domains = _domain(recipients[0])
            else:
                domains = ",".join(sorted({_domain(a) for a in recipients}))
            if record == "full":
                addresses = ",".join(recipients)
        return (
            self.agent,
            op.id,
            op.group,
            op.access,
            op.summary,
            token,
            facts.stream,
            len(facts.recipients),
            domains,
            addresses,
            facts.messages,
            word or ("allowed" if decision.allowed else "denied"),
            redact(decision.rule, record),
            "unknown" if decision.allowed else "not sent",
            self.policy.sha256[:16],
        )


class AuditCall:
    """An allowed call in flight: its row waits for `done` or `failed`."""

    __slots__ = ("_log", "_op", "_record", "_row")

    def __init__(
        self, log: AuditStore | None, row_id: int, op: Operation, record: str = "domains"
    ) -> None:
        self._log = log
        self._row = row_id
        self._op = op
        self._record = record

    def done(self, result: Any, request_id: str | None) -> None:
        if self._log is None:
            return
        self._log.finish(Outcome(self._row, "ok", None, _detail(self._op, result), request_id))

    def reconciled(self, message_id: str | None) -> None:
        """The call was answered with the first result of its idempotency key, not sent."""
        if self._log is None:
            return
        detail = f"already sent as {message_id}" if message_id else "already sent"
        self._log.finish(Outcome(self._row, "reconciled", None, detail))

    def failed(self, exc: BaseException) -> None:
        if self._log is None:
            return
        code = request_id = None
        if isinstance(exc, APIError):
            outcome, code, text, request_id = "error", exc.error_code, exc.message, exc.request_id
        elif isinstance(exc, BatchFailedError):
            outcome, text = "partly sent", _detail(self._op, exc.result) or ""
        elif not isinstance(exc, Exception):
            outcome, text = "cancelled", _cancelled(self._op)
        else:
            outcome = _failure(exc)
            text = str(exc) if outcome != "failed" else f"{type(exc).__name__}: {exc}"
        # Postmark's own words may name addresses ("Found inactive addresses: ..."): stored as
        # record_addresses says, like the recipients.
        self._log.finish(Outcome(self._row, outcome, code, redact(text, self._record), request_id))


def _cancelled(op: Operation) -> str:
    """What is known of a call stopped from outside (cancelled, interrupted) after its row was
    written: its request may have left before it was stopped."""
    if op.access == "read":
        return ""
    return "may have been sent" if op.acts_on == "email" else "may have reached Postmark"


def _failure(exc: BaseException) -> str:
    """The outcome word of a failure that is not Postmark's answer."""
    if isinstance(exc, MessageMaybeSentError):
        return "may have been sent"
    if isinstance(exc, OutcomeUnknownError):
        return "outcome unknown"
    if isinstance(exc, APIConnectionError):
        return "network error"
    return "failed"


def _detail(op: Operation, result: Any) -> str | None:
    """A short, body-free account of a result: `23 found`, `2 accepted, 1 failed`."""
    if op.paging is not None:
        total = getattr(result, op.paging.total_attr, None)
        if isinstance(total, int):
            return f"{total} found"
    failed = getattr(result, "failed", None)
    succeeded = getattr(result, "succeeded", None)
    if isinstance(failed, list) and isinstance(succeeded, list):
        text = f"{len(succeeded)} accepted, {len(failed)} failed"
        unknown = getattr(result, "unknown", None) or []
        if unknown:
            text += f" ({len(unknown)} may have been sent)"
        found = getattr(result, "reconciled", None) or []
        return "; ".join([text, *(f"#{o.index} {o.error_message}" for o in found)])
    if op.access == "write" and op.acts_on == "email":
        return "accepted"
    return None


def describe(policy: Policy, agent: str | None = None) -> str:
    """The matrix of agents x groups, the operations each agent may call (with the second groups
    they act on), and those withheld because a second group's grant is missing."""
    names = [agent] if agent is not None else list(policy.agents)
    width = max([len("agent"), *(len(n) for n in names)])
    groups = list(GROUPS)
    lines = ["  ".join(["agent".ljust(width), *groups])]
    for name in names:
        found = policy.agents.get(name)
        cells = [found.level(g) if found else "off" for g in groups]
        row = "  ".join([name.ljust(width), *(c.ljust(len(g)) for c, g in zip(cells, groups))])
        lines.append(row.rstrip())
    for name in names:
        found = policy.agents.get(name)
        lines.append("")
        if found is None:
            lines.append(f"{name}: not in the policy (denied everything)")
            continue
        ops = policy.operations_for(name)
        lines.append(f"{name}: {len(ops)} operation{'s' if len(ops) != 1 else ''}")
        narrowing = found.narrowing()
        if narrowing:
            lines.append(f"  narrowed to: {'; '.join(narrowing)}")
        approval = _approval_text(found)
        if approval:
            lines.append(f"  held for a person's approval: {approval}")
        for op in ops:
            lines.append(f"  {op.group}.{op.name}  ({op.access}) {op.summary}")
            for reach in op.reaches:
                held = "granted" if found.allows(reach.group, reach.access) else "denied"
                lines.append(
                    f"      also {_reach_text(reach)}: {held} ({_grant(found, reach.group)})"
                )
        withheld = _withheld(found)
        if withheld:
            lines.append("  withheld (a second group's grant is missing):")
        for op in withheld:
            missing = [r for r in op.reaches if not found.allows(r.group, r.access)]
            needs = "; ".join(f"{_reach_text(r)} ({_grant(found, r.group)})" for r in missing)
            lines.append(f"  {op.group}.{op.name}  ({op.access}) also needs {needs}")
    return "\n".join(lines)


def _approve_names(agent: Agent) -> list[str]:
    """The operations `approve` names, as `group.name`, in spec order."""
    return [f"{op.group}.{op.name}" for op in OPERATIONS.values() if op.id in agent.approve]


def _approval_text(agent: Agent) -> str:
    """`email.send_bulk; sends to more than 100 recipients`, or empty."""
    parts = _approve_names(agent)
    if agent.approve_over_recipients is not None:
        parts.append(f"sends to more than {agent.approve_over_recipients} recipients")
    return "; ".join(parts)


def _withheld(agent: Agent) -> list[Operation]:
    """Operations the agent's grant on their own group reaches, but not on a second group."""
    return [
        op for op in OPERATIONS.values() if agent.allows(op.group, op.access) and not agent.may(op)
    ]


def matrix_json(policy: Policy) -> dict[str, Any]:
    """The same matrix as JSON. `second_groups`: for each operation the agent's grant on its own
    group reaches and that acts on another group, each such group, the access it takes, the
    fields that act there (none: every call) and whether the agent holds that grant. `approve`
    (`group.name` each) and `approve_over_recipients`: what waits for a person's approval."""
    return {
        name: {
            "grants": {g: agent.level(g) for g in GROUPS},
            "operations": [op.id for op in policy.operations_for(name)],
            "approve": _approve_names(agent),
            "approve_over_recipients": agent.approve_over_recipients,
            "second_groups": {
                op.id: [
                    {
                        "group": reach.group,
                        "access": reach.access,
                        "fields": list(reach.fields),
                        "granted": agent.allows(reach.group, reach.access),
                    }
                    for reach in op.reaches
                ]
                for op in OPERATIONS.values()
                if op.reaches and agent.allows(op.group, op.access)
            },
        }
        for name, agent in policy.agents.items()
    }
