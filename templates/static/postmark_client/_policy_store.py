"""The access policy and the agent keys kept in the store, for the console and the gateway.

A gateway runs from one source of truth at a time (`PolicySource.where()`):

- `"file"`: the policy file, as `postmark access` and an editor keep it. The console shows it and
  every edit here raises `ReadOnlySource`.
- `"store"` (`postmark-gateway --policy-in-store`): the agents live in the store's tables
  (`policy_agents`, `policy_state`, `agent_keys`, beside the audit log, in SQLite or PostgreSQL).
  The first start imports the file's agents (and their `key_sha256`) into an empty store; the
  file's top-level settings (`audit`, `record_addresses`, `server_tokens`, ...) stay the file's.
  Every change bumps the store's version; each gateway sharing the store reads that version
  (one indexed row) before each call and reloads the agents when it moved, so a change holds
  at every gateway from its next call.

Each agent has a `version`; an edit names the version it was made from (`expected_version`) and
is refused with `StaleEdit` when the agent changed since (the second of two edits from two tabs),
so no edit overwrites one it did not see. Values are checked by the rules the policy file is read
with (`access.py`); a bad one raises `PolicyError` naming the key (`agents.bot.bounces`).

Every change writes an audit row (decision `admin`) in the same transaction, whose sentence
reads "admin ada changed onboarding-mailer: bounces read → full"; its `agent` is the agent
changed and its `token` column the administrator.

Keys: `create_key` returns a new random key once; the store keeps only its SHA-256, and `keys`
lists only when each was created and the first hex digits of that hash (`fingerprint`).
"""

from __future__ import annotations

import csv
import io
import json
import secrets
import time
import tomllib
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Final, Literal, TypeVar, cast

from ._audit import ADMIN, AuditEntry, ChainReport, Tables, dumps, escape, read_chain
from ._spec import GROUPS
from ._store import KEY_ADD, KEY_REMOVE, KEYS_OF, KEYS_REMOVE_OF, PolicyTables
from .access import Agent, Level, Policy, PolicyError, _read_agent, _Reader, _suggest, hash_key

__all__ = [
    "UNCHANGED",
    "AgentSettings",
    "EditRefused",
    "KeyInfo",
    "PolicySource",
    "ReadOnlySource",
    "StaleEdit",
    "export_csv",
    "export_jsonl",
    "export_toml",
    "verify",
]

Where = Literal["file", "store"]
T = TypeVar("T")

STORE: Final = "the store"
"""Where a PolicyError of an edit says it is (in place of a file name)."""
IMPORTER: Final = "postmark-gateway"
"""The administrator named in the audit row of the first import."""
FINGERPRINT: Final = 12
"""Hex digits of a key's SHA-256 that `keys` shows."""
KEY_BYTES: Final = 32

_STATE: Final = "SELECT version FROM policy_state WHERE one = 1"
_START: Final = "INSERT INTO policy_state (one, version, imported) VALUES (1, 1, ?)"
_BUMP: Final = "UPDATE policy_state SET version = version + 1 WHERE one = 1"
_AGENTS: Final = "SELECT name, settings, version FROM policy_agents ORDER BY name"
_AGENT: Final = "SELECT settings, version FROM policy_agents WHERE name = ?"
_ADD: Final = "INSERT INTO policy_agents (name, settings, version) VALUES (?, ?, 1)"
_SET: Final = (
    "UPDATE policy_agents SET settings = ?, version = version + 1 WHERE name = ? AND version = ?"
)
_REMOVE: Final = "DELETE FROM policy_agents WHERE name = ? AND version = ?"
_ANY_KEY: Final = "SELECT 1 FROM agent_keys LIMIT 1"


class EditRefused(Exception):
    """An edit that was not made (its subclasses say why)."""


class StaleEdit(EditRefused):
    """The agent changed since the version the edit was made from: reload and edit again.

    `agent`, `expected` (the version the edit named) and `found` (the current one; 0: the
    agent was removed)."""

    def __init__(self, agent: str, expected: int, found: int) -> None:
        self.agent, self.expected, self.found = agent, expected, found
        now = f"it is at version {found}" if found else "it was removed"
        super().__init__(
            f"agent {agent!r} changed since version {expected} ({now}): nothing was changed; "
            "reload and make the edit again"
        )


class ReadOnlySource(EditRefused):
    """The gateway runs from the policy file, which the console does not write."""

    def __init__(self, path: Path | None) -> None:
        self.path = path
        super().__init__(
            f"the policy file{f' {path}' if path else ''} is the source of truth: edit it with "
            "`postmark access` (or run postmark-gateway --policy-in-store to edit here)"
        )


class _Unchanged:
    def __repr__(self) -> str:
        return "UNCHANGED"


UNCHANGED: Final = _Unchanged()
"""The default of each `set_narrowing` argument: leave that narrowing as it is."""


@dataclass(frozen=True, slots=True)
class AgentSettings:
    """One agent as the console shows it: its level on every group (in the spec's order, `off`
    where none is granted), its narrowing (None: not narrowed) and its `version` (for
    `expected_version`; 0 under a file source)."""

    name: str
    grants: dict[str, Level]
    recipients: tuple[str, ...] | None
    message_streams: tuple[str, ...] | None
    sends_per_hour: int | None
    sends_per_day: int | None
    description: str
    version: int

    @classmethod
    def of(cls, agent: Agent, version: int) -> AgentSettings:
        return cls(
            name=agent.name,
            grants={group: agent.level(group) for group in GROUPS},
            recipients=agent.recipients,
            message_streams=agent.message_streams,
            sends_per_hour=agent.sends_per_hour,
            sends_per_day=agent.sends_per_day,
            description=agent.description,
            version=version,
        )


@dataclass(frozen=True, slots=True)
class KeyInfo:
    """A key of an agent, without the key: the first `FINGERPRINT` hex digits of its SHA-256,
    and when it was created (None: the `key_sha256` of the policy file)."""

    agent: str
    fingerprint: str
    created: float | None

    @property
    def time(self) -> str | None:
        """`created` as ISO 8601 UTC to the second."""
        if self.created is None:
            return None
        stamp = datetime.fromtimestamp(self.created, UTC).isoformat(timespec="seconds")
        return stamp.replace("+00:00", "Z")


def _table_of(agent: Agent) -> dict[str, Any]:
    """The agent as its `[agents.NAME]` table of a policy file would hold it (no key)."""
    table: dict[str, Any] = {g: level for g, level in agent.grants.items() if level != "off"}
    if agent.message_streams is not None and "message_streams" in table:
        raise PolicyError(
            STORE,
            None,
            f"agents.{agent.name}.message_streams",
            "a level on the message streams group and a list of streams to send on cannot both "
            "be set (the policy file holds one `message_streams` key)",
        )
    for option in ("recipients", "message_streams", "sends_per_hour", "sends_per_day"):
        value = getattr(agent, option)
        if value is not None:
            table[option] = list(value) if isinstance(value, tuple) else value
    if agent.server_token is not None:
        table["server_token"] = agent.server_token
    if agent.description:
        table["description"] = agent.description
    return table


def _agent_of(name: str, table: dict[str, Any]) -> Agent:
    """The table read by the policy file's own rules (PolicyError naming the key)."""
    return _read_agent(_Reader(STORE, ""), name, table)


def _text(value: Sequence[str] | int | None) -> str:
    if value is None:
        return "none"
    if isinstance(value, int):
        return str(value)
    return ", ".join(value) or "[]"


def _count(number: int, noun: str) -> str:
    return f"{number} {noun}{'' if number == 1 else 's'}"


def _admin(name: str) -> str:
    if not isinstance(name, str) or not name.strip() or len(name) > 200:
        raise PolicyError(STORE, None, "admin", "the administrator's name must be 1 to 200 chars")
    return name.strip()


def _row(admin: str, agent: str, action: str, what: str, group: str = "") -> tuple[Any, ...]:
    """The audit row of an administrator's change (`AuditStore.begin`'s columns)."""
    return (agent, f"admin.{action}", group, ADMIN, what, admin, None, 0, None, None, 0,
            ADMIN, action, "ok", "store")  # fmt: skip


_Change = Callable[[dict[str, Any]], list[str]]
"""One change of an agent's table, made in place; what it changed, as the audit row says it."""
_NARROWING: Final = ("recipients", "message_streams", "sends_per_hour", "sends_per_day")


def _given(narrowing: Mapping[str, object]) -> bool:
    return any(not isinstance(value, _Unchanged) for value in narrowing.values())


def _level_change(agent: str, group: str, level: str) -> _Change:
    """This level on `group` (the level is checked later by the policy file's rules; a group
    must be one, not an option)."""
    if group not in GROUPS:
        raise PolicyError(
            STORE, None, f"agents.{agent}.{group}",
            f"unknown group {group!r}: one of {', '.join(GROUPS)}{_suggest(group, GROUPS)}",
        )  # fmt: skip

    def change(table: dict[str, Any]) -> list[str]:
        held = table.get(group)
        if isinstance(held, list):
            raise PolicyError(
                STORE, None, f"agents.{agent}.{group}",
                "holds the streams this agent may send on: clear that narrowing first",
            )  # fmt: skip
        before = held or "off"
        if level == "off":
            table.pop(group, None)
        else:
            table[group] = level
        return [] if before == level else [f"{group} {before} \u2192 {level}"]

    return change


def _narrowing_change(agent: str, given: Mapping[str, object]) -> _Change:
    def change(table: dict[str, Any]) -> list[str]:
        changes = []
        for option, value in given.items():
            if isinstance(value, _Unchanged):
                continue
            before = table.get(option)
            if option == "message_streams" and isinstance(before, str):
                raise PolicyError(
                    STORE, None, f"agents.{agent}.message_streams",
                    "holds a level on the message streams group: set it off first",
                )  # fmt: skip
            new = list(value) if isinstance(value, (list, tuple)) else value
            if new == before:
                continue
            if new is None:
                table.pop(option, None)
            else:
                table[option] = new
            changes.append(f"{option} {_text(before)} \u2192 {_text(cast(Any, value))}")
        return changes

    return change


class PolicySource:
    """The policy a gateway runs from and the console edits: see the module's docstring.

    Make one with `from_file` or `from_store`. `policy()` is the live `Policy` (the same object
    every time, updated in place, so holders of it see a change); `refresh()` is the cheap
    per-call check a gateway makes.
    """

    def __init__(self, policy: Policy, store: PolicyTables | None, where: Where) -> None:
        self._file = policy
        self._store = store
        self._where: Where = where
        self._version = 0
        self._versions: dict[str, int] = {}
        if where == "file":
            self._policy = policy
        else:
            self._policy = Policy(
                {},
                path=policy.path,
                audit=policy.audit_path,
                audit_log_id=policy.audit_log_id,
                record_addresses=policy.record_addresses,
                attachments_dir=policy.attachments_dir,
                server_tokens=policy.server_tokens,
            )
        if store is not None:
            self._policy.use_store(store)
            self._policy.key_lookup = store.agent_for_key_sha256

    @classmethod
    def from_file(cls, policy: Policy, store: PolicyTables | None = None) -> PolicySource:
        """The policy file as the source of truth (read-only here); `store` (else the file's
        audit log) is where `entries` and `keys` read."""
        log = policy.log
        if store is None and hasattr(log, "tables"):
            store = cast(PolicyTables, log)
        return cls(policy, store, "file")

    @classmethod
    def from_store(
        cls, policy: Policy, store: PolicyTables, *, admin: str = IMPORTER, create: bool = True
    ) -> PolicySource:
        """The store as the source of truth. An empty store is given the agents (and their
        `key_sha256`) of `policy`, the file's, when `create` (else PolicyError)."""
        source = cls(policy, store, "store")
        if not store.tables(lambda t: source._import(t, _admin(admin), create), write=True):
            raise PolicyError(
                STORE, None, "policy", "the store holds no policy yet: start postmark-gateway "
                "--policy-in-store once to import the policy file"
            )  # fmt: skip
        source.refresh()
        return source

    def _import(self, tables: Tables, admin: str, create: bool) -> bool:
        if tables.execute(_STATE).fetchone() is not None:
            return True
        if not create:
            return False
        now = time.time()
        tables.execute(_START, (now,))
        for agent in self._file.agents.values():
            tables.execute(_ADD, (agent.name, json.dumps(_table_of(agent))))
            if agent.key_sha256 is not None:
                tables.execute(KEY_ADD, (agent.key_sha256, agent.name, now))
        count = len(self._file.agents)
        what = (
            f"imported {self._file.path or 'the policy'} into the store ({_count(count, 'agent')})"
        )
        tables.append(_row(admin, "", "import", what))
        return True

    # Reading -----------------------------------------------------------------------------

    def where(self) -> Where:
        """`"file"` or `"store"`: which one is the source of truth."""
        return self._where

    def could_authenticate(self) -> bool:
        """Whether an agent could sign in to a gateway now or later: the store is the source
        (keys are made there), or an agent has a key in the file or in the store."""
        if self._where == "store" or any(a.key_sha256 for a in self._policy.agents.values()):
            return True
        if self._store is None:
            return False
        return self._store.tables(lambda t: t.execute(_ANY_KEY).fetchone() is not None)

    @property
    def store(self) -> PolicyTables | None:
        """The store the policy, the keys and the log are kept in (None: the file's log is
        no store)."""
        return self._store

    @property
    def version(self) -> int:
        """The store's policy version this process last read (0 under a file source)."""
        return self._version

    def policy(self) -> Policy:
        """The current policy (refreshed from the store when its version moved)."""
        self.refresh()
        return self._policy

    def refresh(self) -> bool:
        """Read the store's version (one small query) and reload the agents when it moved;
        whether they changed. Raises the store's error when it cannot be read (fail closed)."""
        if self._where == "file":
            return False
        store = self._tables()
        found = store.tables(lambda t: t.execute(_STATE).fetchone(), single=True)
        version = int(found[0]) if found else 0
        if version == self._version:
            return False
        self._load(store)
        return True

    def _load(self, store: PolicyTables) -> None:
        def read(tables: Tables) -> tuple[int, list[Any]]:
            found = tables.execute(_STATE).fetchone()
            return (int(found[0]) if found else 0), tables.execute(_AGENTS).fetchall()

        version, rows = store.tables(read)
        agents = {str(name): _agent_of(str(name), json.loads(text)) for name, text, _ in rows}
        self._policy.agents = agents
        self._policy.sha256 = f"store-v{version}"
        self._versions = {str(name): int(number) for name, _, number in rows}
        self._version = version

    def agents(self) -> list[AgentSettings]:
        """Every agent, with its grants, narrowing and version."""
        policy = self.policy()
        return [AgentSettings.of(a, self._versions.get(a.name, 0)) for a in policy.agents.values()]

    def agent(self, name: str) -> AgentSettings:
        """One agent; PolicyError when there is none of that name."""
        found = self.policy().agents.get(name)
        if found is None:
            raise PolicyError(self._label(), None, f"agents.{name}", f"no agent {name!r}")
        return AgentSettings.of(found, self._versions.get(name, 0))

    def keys(self, agent: str) -> list[KeyInfo]:
        """The keys of an agent (never the keys themselves), oldest first: the file's
        `key_sha256` (under a file source) and those kept in the store."""
        found: list[KeyInfo] = []
        listed = self._policy.agents.get(agent)
        if listed is not None and listed.key_sha256 is not None:
            found.append(KeyInfo(agent, listed.key_sha256[:FINGERPRINT], None))
        if self._store is not None:
            rows = self._store.tables(lambda t: t.execute(KEYS_OF, (agent,)).fetchall())
            found += [KeyInfo(agent, str(d)[:FINGERPRINT], float(at)) for d, at in rows]
        return found

    def entries(self, **filters: Any) -> list[AuditEntry]:
        """The audit log's rows, as `AuditLog.entries` filters them: `agent`, `group` (the
        area), `decision` (allowed, denied, invalid, admin), `since`/`until` (epoch seconds),
        `newest_first` with `limit` and `before_id` for paging, `after_id` for the live tail."""
        log = self._policy.log
        return [] if log is None else log.entries(**filters)

    def export_toml(self) -> str:
        """The current policy as a policy file (see `export_toml`)."""
        return export_toml(self.policy(), _top_level(self._file))

    # Editing ----------------------------------------------------------------------------

    def set_level(
        self, admin: str, agent: str, group: str, level: str, expected_version: int
    ) -> AgentSettings:
        """Give `agent` this level (off, read, write, full) on `group`."""
        return self.save_agent(admin, agent, expected_version, levels={group: level})

    def set_narrowing(
        self,
        admin: str,
        agent: str,
        *,
        expected_version: int,
        recipients: Sequence[str] | None | _Unchanged = UNCHANGED,
        message_streams: Sequence[str] | None | _Unchanged = UNCHANGED,
        sends_per_hour: int | None | _Unchanged = UNCHANGED,
        sends_per_day: int | None | _Unchanged = UNCHANGED,
    ) -> AgentSettings:
        """Narrow `agent`'s sends: `recipients` (addresses or `*@domain`), `message_streams`,
        `sends_per_hour`, `sends_per_day`; None removes that narrowing, UNCHANGED (the default)
        leaves it."""
        return self.save_agent(
            admin,
            agent,
            expected_version,
            recipients=recipients,
            message_streams=message_streams,
            sends_per_hour=sends_per_hour,
            sends_per_day=sends_per_day,
        )

    def save_agent(
        self,
        admin: str,
        agent: str,
        expected_version: int,
        *,
        levels: Mapping[str, str] | None = None,
        **narrowing: Sequence[str] | int | None | _Unchanged,
    ) -> AgentSettings:
        """Every change of one agent's row at once: `levels` (group: level) and the narrowing
        of `set_narrowing`, in one transaction with one audit row naming each change; a
        failure anywhere leaves the agent as it was."""
        unknown = sorted(set(narrowing) - set(_NARROWING))
        if unknown:
            raise TypeError(f"save_agent() got unknown narrowing {', '.join(unknown)}")
        levels = dict(levels or {})
        changes = [_level_change(agent, group, level) for group, level in levels.items()]
        changes.append(_narrowing_change(agent, narrowing))
        kinds = ["set_level"] * bool(levels) + ["set_narrowing"] * _given(narrowing)
        action = kinds[0] if len(kinds) == 1 else "save_agent"
        group = next(iter(levels)) if len(levels) == 1 else ""
        return self._edit(admin, agent, expected_version, changes, action, group)

    def add_agent(self, admin: str, name: str, description: str = "") -> AgentSettings:
        """A new agent, with every group off."""
        who = self._writable(admin)
        table: dict[str, Any] = {"description": description} if description else {}
        _agent_of(name, table)

        def work(tables: Tables) -> None:
            for held, _, _ in tables.execute(_AGENTS).fetchall():
                if str(held).lower() == name.lower():
                    raise PolicyError(STORE, None, f"agents.{name}", f"agent {held!r} exists")
            tables.execute(_ADD, (name, json.dumps(table)))
            tables.execute(_BUMP)
            tables.append(_row(who, name, "add_agent", f"added agent {name}"))

        self._write(work)
        return self.agent(name)

    def remove_agent(self, admin: str, name: str, expected_version: int) -> int:
        """Remove an agent, and revoke its keys; how many keys."""
        who = self._writable(admin)

        def work(tables: Tables) -> int:
            self._current(tables, name, expected_version)
            tables.execute(_REMOVE, (name, expected_version))
            keys = int(tables.execute(KEYS_REMOVE_OF, (name,)).rowcount)
            tables.execute(_BUMP)
            what = f"removed agent {name} (and revoked {_count(keys, 'key')})"
            tables.append(_row(who, name, "remove_agent", what))
            return keys

        removed: int = self._write(work)
        return removed

    def create_key(self, admin: str, agent: str) -> str:
        """A new key for `agent`, returned this once (only its SHA-256 is kept)."""
        return self._new_key(admin, agent, rotate=False)

    def rotate_key(self, admin: str, agent: str) -> str:
        """A new key for `agent`, returned this once; its other keys stop working."""
        return self._new_key(admin, agent, rotate=True)

    def revoke_key(self, admin: str, agent: str, fingerprint: str | None = None) -> int:
        """Revoke `agent`'s keys (only the one `fingerprint` names, when given); how many."""
        who = self._writable(admin)

        def work(tables: Tables) -> int:
            self._current(tables, agent, None)
            held = [str(d) for d, _ in tables.execute(KEYS_OF, (agent,)).fetchall()]
            gone = [d for d in held if fingerprint is None or d.startswith(fingerprint)]
            for digest in gone:
                tables.execute(KEY_REMOVE, (digest,))
            shown = ", ".join(d[:FINGERPRINT] for d in gone) or "none"
            what = f"revoked {_count(len(gone), 'key')} of {agent} ({shown})"
            tables.append(_row(who, agent, "revoke_key", what))
            return len(gone)

        result: int = self._write(work)
        return result

    def _new_key(self, admin: str, agent: str, *, rotate: bool) -> str:
        who = self._writable(admin)
        key = secrets.token_urlsafe(KEY_BYTES)
        digest = hash_key(key)

        def work(tables: Tables) -> None:
            self._current(tables, agent, None)
            old = tables.execute(KEYS_REMOVE_OF, (agent,)).rowcount if rotate else 0
            tables.execute(KEY_ADD, (digest, agent, time.time()))
            if rotate:
                what = f"rotated the keys of {agent}: new key {digest[:FINGERPRINT]}, {_count(old, 'old key')} revoked"
            else:
                what = f"created key {digest[:FINGERPRINT]} for {agent}"
            tables.append(_row(who, agent, "rotate_key" if rotate else "create_key", what))

        self._write(work)
        return key

    def _edit(
        self,
        admin: str,
        agent: str,
        expected: int,
        changes: Sequence[_Change],
        action: str,
        group: str = "",
    ) -> AgentSettings:
        who = self._writable(admin)

        def work(tables: Tables) -> None:
            before = self._current(tables, agent, expected)
            table = json.loads(before)
            said = [part for change in changes for part in change(table)]
            if table == json.loads(before):
                return
            _table_of(_agent_of(agent, table))
            tables.execute(_SET, (json.dumps(table), agent, expected))
            tables.execute(_BUMP)
            what = f"changed {agent}: {'; '.join(said)}"
            tables.append(_row(who, agent, action, what, group))

        self._write(work)
        return self.agent(agent)

    def _current(self, tables: Tables, agent: str, expected: int | None) -> str:
        """The agent's settings, checked against `expected` (StaleEdit)."""
        found = tables.execute(_AGENT, (agent,)).fetchone()
        if found is None:
            if expected is not None:
                raise StaleEdit(agent, expected, 0)
            raise PolicyError(STORE, None, f"agents.{agent}", f"no agent {agent!r} in the store")
        if expected is not None and int(found[1]) != expected:
            raise StaleEdit(agent, expected, int(found[1]))
        return str(found[0])

    def _writable(self, admin: str) -> str:
        if self._where == "file":
            raise ReadOnlySource(self._file.path)
        return _admin(admin)

    def _write(self, work: Callable[[Tables], T]) -> T:
        result = self._tables().tables(work, write=True)
        self.refresh()
        return result

    def _tables(self) -> PolicyTables:
        assert self._store is not None  # a store source has one
        return self._store

    def _label(self) -> str:
        return STORE if self._where == "store" else str(self._file.path or "<policy>")


def _top_level(policy: Policy) -> dict[str, Any]:
    """The top-level settings of the policy file as written there (not the agents)."""
    if policy.path is not None and policy.path.exists():
        data = tomllib.loads(policy.path.read_text(encoding="utf-8-sig"))
        return {k: v for k, v in data.items() if k != "agents"}
    return {"record_addresses": policy.record_addresses}


def _toml(value: Any) -> str:
    if isinstance(value, str):
        # A JSON string is a TOML basic string, but for DEL, which TOML wants escaped.
        return json.dumps(value, ensure_ascii=False).replace("\x7f", "\\u007f")
    if isinstance(value, list):
        return "[" + ", ".join(_toml(v) for v in value) + "]"
    return str(int(value))


def export_toml(policy: Policy, top: dict[str, Any] | None = None) -> str:
    """A policy file holding `policy`'s agents (keys stay in the store: no `key_sha256`), after
    the `top`-level settings given; `Policy.loads` reads it back to the same agents."""
    lines = [f"{key} = {_toml(value)}" for key, value in (top or {}).items()]
    for agent in policy.agents.values():
        lines += ["", f"[agents.{_toml(agent.name)}]"]
        lines += [f"{key} = {_toml(value)}" for key, value in _table_of(agent).items()]
    return "\n".join(lines) + "\n"


def verify(store: PolicyTables) -> ChainReport:
    """Walk the store's hash chain (see `_audit.py`): `ChainReport` says whether it is intact,
    or the first row id where it breaks, and why."""
    return store.tables(read_chain)


_CSV_FIELDS: Final = (
    "id", "time", "agent", "operation", "group", "access", "token", "message_stream",
    "recipients", "domains", "messages", "decision", "rule", "outcome", "error_code", "detail",
    "request_id", "hash", "sentence",
)  # fmt: skip
# What a spreadsheet would run as a formula at the start of a cell.
_FORMULA: Final = ("=", "+", "-", "@", "\t", "\r")


def _cell(value: Any, escaped: bool) -> str:
    """A CSV cell: a number as it is; text escaped (unless it is already) and kept from being
    read as a formula."""
    if value is None:
        return ""
    if isinstance(value, (int, float)):
        return str(value)
    text = ",".join(value) if isinstance(value, list) else str(value)
    text = text if escaped else escape(text)
    return "'" + text if text.startswith(_FORMULA) else text


def export_csv(entries: Iterable[AuditEntry]) -> str:
    """The rows as CSV with a header line: the fields of `postmark audit --json` and the
    sentence; text escaped as `sentence` escapes it, and a cell a spreadsheet would read as a
    formula (starting `=`, `+`, `-`, `@`) prefixed with `'`."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(_CSV_FIELDS)
    for entry in entries:
        data = entry.to_json()
        writer.writerow([_cell(data.get(field), field == "sentence") for field in _CSV_FIELDS])
    return out.getvalue()


def export_jsonl(entries: Iterable[AuditEntry]) -> str:
    """The rows as JSON Lines, as `postmark audit --json` prints them."""
    return "".join(dumps(entry) + "\n" for entry in entries)
