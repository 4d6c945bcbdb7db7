"""The console's store side, on SQLite and on a real PostgreSQL: the source of truth, edits
with versions, checks by the policy file's rules, keys, admin rows, export and the log's filters."""

from __future__ import annotations

import csv
import io
import json
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from gateway_postgres import PostgresServer
from postmark_client._audit import AuditLogError, sentence
from postmark_client._operations import OPERATIONS
from postmark_client._policy_store import (
    PolicySource,
    ReadOnlySource,
    StaleEdit,
    export_csv,
    export_jsonl,
)
from postmark_client._store import PolicyTables
from postmark_client.access import AccessDeniedError, Policy, PolicyError, hash_key
from store_support import (
    KINDS,
    MAILER_KEY,
    FailingStore,
    loaded,
    open_kind,
    postmark,
    store_arg,
    write_policy,
)

MAILER = "onboarding-mailer"
SEND = {"From": "a@example.com", "To": "b@example.com", "Subject": "Hi", "TextBody": "Hi"}


@pytest.fixture(params=KINDS)
def kind(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture
def url(kind: str, request: pytest.FixtureRequest) -> str | None:
    if kind == "sqlite":
        return None
    server: PostgresServer = request.getfixturevalue("postgres")
    return server.database()


@pytest.fixture
def store(kind: str, url: str | None, tmp_path: Path) -> Iterator[PolicyTables]:
    opened = open_kind(kind, tmp_path, url)
    try:
        yield opened
    finally:
        opened.close()


@pytest.fixture
def source(store: PolicyTables, tmp_path: Path) -> PolicySource:
    path = write_policy(tmp_path)
    return PolicySource.from_store(loaded(path, store), store)


def _second(kind: str, url: str | None, tmp_path: Path) -> PolicySource:
    """Another gateway's view of the same store (its own connection)."""
    other = open_kind(kind, tmp_path, url)
    return PolicySource.from_store(loaded(tmp_path / "agents.toml", other), other)


def test_the_file_source_refuses_every_edit(store: PolicyTables, tmp_path: Path) -> None:
    policy = loaded(write_policy(tmp_path), store)
    source = PolicySource.from_file(policy)
    assert source.where() == "file"
    assert source.agent(MAILER).grants["bounces"] == "read"
    edits: list[Callable[[], object]] = [
        lambda: source.set_level("ada", MAILER, "bounces", "full", 0),
        lambda: source.set_narrowing("ada", MAILER, expected_version=0, sends_per_hour=5),
        lambda: source.add_agent("ada", "new-bot"),
        lambda: source.remove_agent("ada", MAILER, 0),
        lambda: source.create_key("ada", MAILER),
        lambda: source.rotate_key("ada", MAILER),
        lambda: source.revoke_key("ada", MAILER),
    ]
    for edit in edits:
        with pytest.raises(ReadOnlySource) as refused:
            edit()
        assert "is the source of truth: edit it with `postmark access`" in str(refused.value)
    assert Policy.load(tmp_path / "agents.toml").agents == source.policy().agents


def test_a_first_start_imports_the_file(source: PolicySource, tmp_path: Path) -> None:
    assert source.where() == "store"
    file_agents = Policy.load(tmp_path / "agents.toml").agents
    agents = source.policy().agents
    assert set(agents) == set(file_agents)
    # The key moved to the store's key table; everything else is as the file says.
    assert agents[MAILER].key_sha256 is None
    assert {**vars_of(file_agents[MAILER]), "key_sha256": None} == vars_of(agents[MAILER])
    found = source.policy().agent_for_key(MAILER_KEY)
    assert found is not None and found.name == MAILER
    [row] = source.entries(decision="admin")
    assert sentence(row) == (
        f"admin postmark-gateway imported {tmp_path / 'agents.toml'} into the store (2 agents)"
    )
    # A second start finds the store's policy and imports nothing.
    again = PolicySource.from_store(Policy.load(tmp_path / "agents.toml"), source._tables())
    assert len(again.entries(decision="admin")) == 1


def vars_of(agent: object) -> dict[str, object]:
    return {name: getattr(agent, name) for name in agent.__slots__}  # type: ignore[attr-defined]


def test_a_change_holds_at_every_gateway_sharing_the_store_at_once(
    source: PolicySource, kind: str, url: str | None, tmp_path: Path
) -> None:
    other = _second(kind, url, tmp_path)
    op = OPERATIONS["send_email"]
    other.policy().access(MAILER).begin(op, SEND, None, None, "t").done(None, None)
    mailer = source.agent(MAILER)
    source.set_level("ada", MAILER, "email", "off", mailer.version)
    # The other gateway's next call reads the moved version and denies.
    with pytest.raises(AccessDeniedError, match="off on email"):
        other.policy().access(MAILER).begin(op, SEND, None, None, "t")
    assert other.agent(MAILER).version == mailer.version + 1
    assert other.refresh() is False


def test_the_second_of_two_edits_from_the_same_version_is_refused(
    source: PolicySource, kind: str, url: str | None, tmp_path: Path
) -> None:
    tab = source.agent(MAILER)
    other_tab = _second(kind, url, tmp_path).agent(MAILER)
    source.set_level("ada", MAILER, "bounces", "full", tab.version)
    with pytest.raises(StaleEdit) as refused:
        _second(kind, url, tmp_path).set_level(
            "bob", MAILER, "templates", "read", other_tab.version
        )
    assert (refused.value.expected, refused.value.found) == (tab.version, tab.version + 1)
    with pytest.raises(StaleEdit):
        source.remove_agent("bob", MAILER, tab.version)
    with pytest.raises(StaleEdit):
        source.set_narrowing("bob", MAILER, expected_version=tab.version, recipients=None)
    now = source.agent(MAILER)
    assert (now.grants["bounces"], now.grants["templates"]) == ("full", "off")
    assert [sentence(r) for r in source.entries(agent=MAILER, decision="admin")] == [
        f"admin ada changed {MAILER}: bounces read \u2192 full"
    ]


def test_a_save_of_many_changes_is_all_or_nothing(store: PolicyTables, tmp_path: Path) -> None:
    failing = FailingStore(store)
    source = PolicySource.from_store(loaded(write_policy(tmp_path), store), failing)
    before = source.agent(MAILER)
    rows = len(source.entries())
    changes = {"levels": {"bounces": "full", "stats": "read"}, "sends_per_hour": 7}
    # A failure at each statement of the save in turn, until the save gets through.
    for number in range(1, 60):
        failing.statements = 0
        failing.fails = lambda at, values, number=number: at == number
        try:
            source.save_agent("ada", MAILER, before.version, **changes)  # type: ignore[arg-type]
        except AuditLogError as exc:
            assert f"injected failure at statement {number}" in str(exc)
            assert source.agent(MAILER) == before and len(source.entries()) == rows, number
            continue
        break
    assert number > 3  # the save is several statements, and a failure at each changed nothing
    after = source.agent(MAILER)
    assert (after.grants["bounces"], after.grants["stats"], after.sends_per_hour) == (
        "full", "read", 7,
    )  # fmt: skip
    assert after.version == before.version + 1
    [row] = source.entries(decision="admin", after_id=rows)
    assert sentence(row) == (
        f"admin ada changed {MAILER}: bounces read \u2192 full; stats off \u2192 read; "
        "sends_per_hour 100 \u2192 7"
    )


@pytest.mark.parametrize(
    ("edit", "key", "says"),
    [
        (lambda s, v: s.set_level("ada", MAILER, "bouncez", "full", v), "bouncez", "group"),
        (
            lambda s, v: s.set_level("ada", MAILER, "bounces", "fulll", v),
            "bounces",
            "unknown level 'fulll': one of off, read, write, full (did you mean 'full'?)",
        ),
        (
            lambda s, v: s.set_level("ada", MAILER, "recipients", "read", v),
            "recipients",
            "unknown group 'recipients'",
        ),
        (
            lambda s, v: s.set_narrowing("ada", MAILER, expected_version=v, recipients=["x"]),
            "recipients",
            "'x' is not an address",
        ),
        (
            lambda s, v: s.set_narrowing("ada", MAILER, expected_version=v, sends_per_day=-1),
            "sends_per_day",
            "whole number",
        ),
    ],
)
def test_bad_values_are_refused_by_the_policy_files_rules(
    source: PolicySource, edit: object, key: str, says: str
) -> None:
    version = source.agent(MAILER).version
    with pytest.raises(PolicyError) as refused:
        edit(source, version)  # type: ignore[operator]
    assert refused.value.key == f"agents.{MAILER}.{key}" and says in refused.value.message
    assert source.agent(MAILER).version == version


def test_agent_names_follow_the_policy_files_rules(source: PolicySource) -> None:
    with pytest.raises(PolicyError, match="an agent name is letters"):
        source.add_agent("ada", "<script>alert(1)</script>")
    with pytest.raises(PolicyError, match="exists"):
        source.add_agent("ada", "Support-Bot")
    added = source.add_agent("ada", "new-bot")
    assert added.version == 1 and set(added.grants.values()) == {"off"}
    source.remove_agent("ada", "new-bot", 1)
    assert "new-bot" not in source.policy().agents
    assert [sentence(r) for r in source.entries(agent="new-bot")] == [
        "admin ada added agent new-bot",
        "admin ada removed agent new-bot (and revoked 0 keys)",
    ]


def test_narrowing_is_set_and_cleared(source: PolicySource) -> None:
    version = source.agent(MAILER).version
    after = source.set_narrowing(
        "ada", MAILER, expected_version=version, recipients=["*@example.org"], sends_per_hour=None
    )
    assert after.recipients == ("*@example.org",) and after.sends_per_hour is None
    assert after.message_streams == ("outbound",)
    [row] = source.entries(agent=MAILER, decision="admin")
    assert sentence(row) == (
        f"admin ada changed {MAILER}: recipients *@example.com \u2192 *@example.org; "
        "sends_per_hour 100 \u2192 none"
    )


def test_keys_are_shown_once_rotated_and_revoked(source: PolicySource) -> None:
    policy = source.policy()
    key = source.create_key("ada", "support-bot")
    assert policy.agent_for_key(key) is not None
    listed = source.keys("support-bot")
    assert [k.fingerprint for k in listed] == [hash_key(key)[:12]]
    assert key not in repr(listed) and listed[0].time is not None
    stored = source._tables().tables(lambda t: t.execute("SELECT * FROM agent_keys").fetchall())
    assert key not in repr(stored)
    new = source.rotate_key("ada", "support-bot")
    assert policy.agent_for_key(key) is None
    found = policy.agent_for_key(new)
    assert found is not None and found.name == "support-bot"
    assert source.revoke_key("ada", "support-bot") == 1
    assert policy.agent_for_key(new) is None and source.keys("support-bot") == []
    sentences = [sentence(r) for r in source.entries(agent="support-bot", decision="admin")]
    assert sentences == [
        f"admin ada created key {hash_key(key)[:12]} for support-bot",
        (
            f"admin ada rotated the keys of support-bot: new key {hash_key(new)[:12]}, "
            "1 old key revoked"
        ),
        f"admin ada revoked 1 key of support-bot ({hash_key(new)[:12]})",
    ]


def test_admin_rows_escape_what_they_show(source: PolicySource) -> None:
    source.set_level("ada\x1b[2J\n", MAILER, "templates", "read", source.agent(MAILER).version)
    [row] = source.entries(agent=MAILER, decision="admin")
    assert row.token == "ada\x1b[2J" and row.group == "templates"
    assert sentence(row) == f"admin ada\\e[2J changed {MAILER}: templates off \u2192 read"


def test_the_export_loads_back_to_the_same_policy(
    source: PolicySource, kind: str, tmp_path: Path
) -> None:
    version = source.agent(MAILER).version
    source.set_level("ada", MAILER, "bounces", "full", version)
    source.set_narrowing(
        "ada", MAILER, expected_version=version + 1, recipients=['"odd"\\name@example.com']
    )
    source.add_agent("ada", "a.dotted_name")
    exported = source.export_toml()
    assert Policy.loads(exported, path=tmp_path / "x.toml").agents == source.policy().agents
    done = postmark("access", "export", "--policy", str(tmp_path / "agents.toml"),
                    *store_arg(kind, source._tables()))  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert done.stdout == exported and 'record_addresses = "full"' in done.stdout


def test_export_of_a_store_without_a_policy_says_so(tmp_path: Path) -> None:
    write_policy(tmp_path)
    (tmp_path / "audit.sqlite").write_bytes(b"")
    done = postmark("access", "export", "--policy", str(tmp_path / "agents.toml"))
    assert done.returncode != 0 and "holds no policy yet" in done.stderr
    assert "Traceback" not in done.stderr


def test_entries_filter_and_page_newest_first(source: PolicySource) -> None:
    policy = source.policy()
    op = OPERATIONS["send_email"]
    start = time.time()
    policy.access(MAILER).begin(op, SEND, None, None, "t").done(None, None)
    with pytest.raises(AccessDeniedError):
        policy.access("support-bot").begin(op, SEND, None, None, "t")
    source.set_level("ada", MAILER, "bounces", "full", source.agent(MAILER).version)
    everything = source.entries()
    assert [e.decision for e in everything] == ["admin", "allowed", "denied", "admin"]
    newest = source.entries(newest_first=True, limit=2)
    assert [e.id for e in newest] == [everything[3].id, everything[2].id]
    page = source.entries(newest_first=True, limit=2, before_id=newest[-1].id)
    assert [e.id for e in page] == [everything[1].id, everything[0].id]
    assert [e.id for e in source.entries(group="email")] == [everything[1].id, everything[2].id]
    assert [e.id for e in source.entries(group="bounces")] == [everything[3].id]
    assert [e.agent for e in source.entries(decision="denied")] == ["support-bot"]
    assert [e.id for e in source.entries(agent=MAILER, since=start)] == [
        everything[1].id,
        everything[3].id,
    ]
    assert source.entries(until=start) == [everything[0]]


def test_csv_and_json_lines_exports(source: PolicySource) -> None:
    policy = source.policy()
    op = OPERATIONS["send_email"]
    odd = {**SEND, "To": "b@evil.test"}
    with pytest.raises(AccessDeniedError):
        policy.access(MAILER).begin(op, odd, None, None, "=SUM(1)\x1b[31m")
    rows = source.entries()
    table = list(csv.DictReader(io.StringIO(export_csv(rows))))
    assert [r["id"] for r in table] == [str(e.id) for e in rows]
    assert table[1]["token"] == "'=SUM(1)\\e[31m" and table[1]["sentence"] == sentence(rows[1])
    assert table[1]["decision"] == "denied" and table[1]["hash"] == rows[1].hash
    assert all(not cell.startswith("=") for r in table for cell in r.values())
    lines = export_jsonl(rows).splitlines()
    assert [json.loads(line)["id"] for line in lines] == [e.id for e in rows]
    assert "\x1b" not in export_jsonl(rows) and "\x1b" not in export_csv(rows)
