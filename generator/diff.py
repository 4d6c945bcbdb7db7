"""`postmark-codegen diff OLD [NEW]`: what changed between two versions of the spec, and who it breaks.

Postmark has no API versions, only dated release notes, so after every spec edit the maintainer
needs to know two things: what changed on the wire, and what changed for code that uses the
generated `postmark_client`. Both specs are built into the generator's intermediate model
(`generator.model.Api`) and compared there, so `$ref`s, `allOf`s and shared parameters are already
resolved, and every Python name is the one the templates will emit.

Each change has a scope:

- `api`: the HTTP contract. Operations are matched by method and path (path parameter names
  ignored), parameters by location and wire name, fields by wire name, limits by name. Schema and
  Python names play no part here, so renaming a component schema or an `x-python-name` is no API
  change at all.
- `python`: the generated package. Methods are matched by operation, arguments and model fields by
  wire name, classes by where they sit in the API. A new `x-python-name` that the api scope calls
  harmless shows up here as a breaking rename (`client.email.send -> client.email.deliver`).

- `agents`: what agents read, each tool of the generated MCP server (`postmark-mcp`) as its
  `tools/list` answers: its name, description, input schema and annotations, computed by that
  server itself (generator/agent_view.py) and compared per operation. These texts come from spec
  prose and reach agents verbatim, so every change is listed with the lines it removes and adds,
  for the reviewer of a spec pull request; none is breaking by itself (an agent lists its tools
  again).

Breaking (for a caller of the old version): a removed operation, parameter, field, method, class or
argument; a new required request field or parameter; a type change; a value removed from a request
enum; a response field that may now be missing; a changed token or security header; a new or
tightened limit; a changed paging contract; any Python rename. Not breaking: additions of optional
things, response enum values, loosened limits. Descriptions and examples are ignored by the api
and python scopes (the agents scope shows those an agent reads).

Sources: a spec file, or `git:REF` for the spec as of a git revision (`git:HEAD`,
`git:origin/main`). For `git:REF` the folder holding the spec (`spec/`) is read at that revision
(`git archive`), so `$ref`s to other files under it resolve as they were. NEW defaults to the
working tree's spec; `--spec` names that file and, for `git:REF`, its path in the repository.

Formats: `text` (default), `markdown` (a table per scope, for pull-request comments and job
summaries) and `json`, whose shape is stable (`schema_version` changes if it ever does not):

    {
      "schema_version": 1,
      "old": {"source": "git:HEAD", "revision": "<40-hex commit or null>", "version": "2025.06"},
      "new": {"source": "spec/postmark.yaml", "revision": null, "version": "2026.03.05"},
      "changes": [
        {
          "kind": "operation-added",           # see KINDS
          "scope": "api",                      # "api" | "python" | "agents"
          "breaking": false,
          "location": "paths./email/bulk.post",  # spec path (the new spec's; the old one's for removals)
          "python": "client.email.send_bulk",  # the affected name in postmark_client, or null
          "before": null,                      # the old value, as a string, or null (agents:
                                               #   the whole text, JSON indented for schemas)
          "after": "POST /email/bulk",         # the new value, as a string, or null
          "message": "operation POST /email/bulk (send_bulk_email) added"
        }
      ],
      "summary": {"breaking": 0, "non_breaking": 1}
    }

Changes are sorted: api, python, agents, breaking first, then by location, kind and Python name.
Python names read `client.<group>.<method>` (the client is a ServerClient or an AccountClient, by
the operation's token), `client.<group>.<method>(<argument>=)` (or `(<argument>)` when positional),
`models.<Class>`, `models.<Class>.<attribute>`, `errors.<Class>`, `errors.ErrorCode.<NAME>`.

Exit codes: 0 (whatever the changes), 1 with `--fail-on-breaking` when a change is breaking,
2 when a spec cannot be read or built, or a git revision is unknown.
"""

from __future__ import annotations

import argparse
import difflib
import json
import re
import subprocess
import sys
import tarfile
import tempfile
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal, TypeVar

from generator.agent_view import AgentViewError, mcp_tools
from generator.build import BuildError, build_api
from generator.loader import RefError, SpecLoadError, load_spec
from generator.model import (
    Api,
    EnumType,
    ErrorCodeInfo,
    Field,
    Limit,
    Model,
    Operation,
    Parameter,
    Reach,
    TypeRef,
    WebhookEvent,
)
from generator.validate import _printable

DEFAULT_SPEC = "spec/postmark.yaml"
GIT_PREFIX = "git:"
SCHEMA_VERSION = 1
EXIT_OK, EXIT_BREAKING, EXIT_FAILED = 0, 1, 2
FORMATS = ("text", "markdown", "json")

Scope = Literal["api", "python", "agents"]
Usage = Literal["request", "response"]

# Every kind of change, with its scope. Whether a change is breaking can depend on the case (a new
# parameter breaks only when it is required), so `_RULES` says it only where it never depends.
KINDS: dict[str, Scope] = {
    "operation-added": "api",
    "operation-removed": "api",
    "operation-changed": "api",  # retry safety, read/write access, second groups (informational)
    "security-changed": "api",
    "parameter-added": "api",
    "parameter-removed": "api",
    "parameter-required": "api",  # an optional parameter became required
    "parameter-optional": "api",
    "parameter-type-changed": "api",
    "parameter-default-changed": "api",
    "request-body-added": "api",
    "request-body-removed": "api",
    "request-body-type-changed": "api",
    "response-type-changed": "api",
    "request-field-added": "api",
    "request-field-removed": "api",
    "request-field-renamed": "api",  # same type and place, another wire name
    "request-field-required": "api",
    "request-field-optional": "api",
    "request-field-type-changed": "api",
    "response-field-added": "api",
    "response-field-removed": "api",
    "response-field-renamed": "api",
    "response-field-optional": "api",  # may now be missing or null
    "response-field-required": "api",
    "response-field-type-changed": "api",
    "type-changed": "api",  # an array item or map value type
    "enum-value-added": "api",
    "enum-value-removed": "api",
    "constraint-tightened": "api",  # maxLength, maxItems, maximum, minimum, ... of request values
    "constraint-loosened": "api",
    "constraint-changed": "api",  # pattern, format
    "limit-added": "api",
    "limit-removed": "api",
    "limit-tightened": "api",
    "limit-loosened": "api",
    "limit-changed": "api",  # unit, scope or field
    "paging-added": "api",
    "paging-removed": "api",
    "paging-changed": "api",
    "webhook-added": "api",
    "webhook-removed": "api",
    "method-added": "python",
    "method-removed": "python",
    "method-renamed": "python",
    "method-returns-changed": "python",
    "operation-id-changed": "python",
    "group-renamed": "python",
    "argument-added": "python",
    "argument-removed": "python",
    "argument-renamed": "python",
    "argument-type-changed": "python",
    "argument-required": "python",
    "argument-optional": "python",
    "argument-default-changed": "python",
    "argument-order-changed": "python",
    "model-added": "python",
    "model-removed": "python",
    "model-renamed": "python",
    "field-added": "python",
    "field-removed": "python",
    "field-renamed": "python",
    "field-type-changed": "python",
    "field-optional": "python",
    "field-required": "python",
    "enum-added": "python",
    "enum-removed": "python",
    "enum-renamed": "python",
    "enum-literal-added": "python",  # a value of an enum's Literal alias
    "enum-literal-removed": "python",
    "type-added": "python",  # aliases (`Metadata`) and unions (`WebhookPayload`)
    "type-removed": "python",
    "type-renamed": "python",
    "error-code-added": "python",
    "error-code-removed": "python",
    "error-code-renamed": "python",
    "exception-added": "python",
    "exception-removed": "python",
    # What agents read: the MCP tools the generated server lists (generator/agent_view.py).
    "tool-added": "agents",
    "tool-removed": "agents",
    "tool-renamed": "agents",
    "tool-description-changed": "agents",
    "tool-input-schema-changed": "agents",
    "tool-annotations-changed": "agents",
    "tools-not-compared": "agents",  # a side's tools could not be listed: the reason says why
}
SCOPES: tuple[Scope, ...] = ("api", "python", "agents")


class DiffError(Exception):
    """A side of the diff cannot be read: the message names the source and why."""


@dataclass(frozen=True)
class Change:
    kind: str
    breaking: bool
    location: str
    python: str | None
    message: str
    before: str | None = None
    after: str | None = None

    @property
    def scope(self) -> Scope:
        return KINDS[self.kind]

    def sort_key(self) -> tuple[Any, ...]:
        return (
            SCOPES.index(self.scope),
            not self.breaking,
            self.location,
            self.kind,
            self.python or "",
            self.message,
        )

    def to_json(self) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "scope": self.scope,
            "breaking": self.breaking,
            "location": self.location,
            "python": self.python,
            "before": self.before,
            "after": self.after,
            "message": self.message,
        }


@dataclass(frozen=True)
class Side:
    """One spec as compared: where it came from, its model and its MCP tools by operationId."""

    source: str
    revision: str | None
    api: Api
    tools: dict[str, dict[str, Any]] = field(default_factory=dict)
    tools_error: str | None = None  # why `tools` could not be listed

    def to_json(self) -> dict[str, Any]:
        return {"source": self.source, "revision": self.revision, "version": self.api.version}


@dataclass
class Report:
    old: Side
    new: Side
    changes: list[Change]

    @property
    def breaking(self) -> list[Change]:
        return [c for c in self.changes if c.breaking]

    def to_json(self) -> dict[str, Any]:
        return {
            "schema_version": SCHEMA_VERSION,
            "old": self.old.to_json(),
            "new": self.new.to_json(),
            "changes": [c.to_json() for c in self.changes],
            "summary": {
                "breaking": len(self.breaking),
                "non_breaking": len(self.changes) - len(self.breaking),
            },
        }


# ---- reading a side ------------------------------------------------------------------------------


def _git(args: list[str], cwd: Path) -> subprocess.CompletedProcess[bytes]:
    try:
        return subprocess.run(["git", *args], cwd=cwd, capture_output=True, check=False)
    except OSError as exc:
        raise DiffError(f"cannot run git: {exc.strerror or exc}") from None


@contextmanager
def _git_checkout(ref: str, spec_path: str) -> Iterator[tuple[Path, str]]:
    """The spec's folder as of `ref`, in a temporary folder: yields (spec file there, commit)."""
    source = GIT_PREFIX + ref
    cwd = Path.cwd()
    top = _git(["rev-parse", "--show-toplevel"], cwd)
    if top.returncode != 0:
        raise DiffError(f"{source}: {cwd} is not inside a git repository")
    toplevel = Path(top.stdout.decode().strip())
    try:
        relative = Path(spec_path).absolute().relative_to(toplevel.resolve())
    except ValueError:
        try:
            relative = Path(spec_path).resolve().relative_to(toplevel.resolve())
        except ValueError:
            raise DiffError(
                f"{source}: the spec {spec_path} is outside the repository {toplevel}"
            ) from None
    if not ref or ref.startswith("-"):
        raise DiffError(f"{source}: {ref!r} is not a git revision")
    commit = _git(
        ["rev-parse", "--verify", "--quiet", "--end-of-options", f"{ref}^{{commit}}"], toplevel
    )
    if commit.returncode != 0:
        raise DiffError(f"{source}: unknown git revision {ref!r}")
    sha = commit.stdout.decode().strip()
    posix = relative.as_posix()
    if _git(["cat-file", "-e", f"{sha}:{posix}"], toplevel).returncode != 0:
        raise DiffError(f"{source}: {posix} does not exist at {ref} ({sha[:12]})")
    folder = relative.parent.as_posix()
    archive = _git(["archive", "--format=tar", sha, "--", folder], toplevel)
    if archive.returncode != 0:
        raise DiffError(
            f"{source}: git archive failed: {archive.stderr.decode(errors='replace').strip()}"
        )
    with tempfile.TemporaryDirectory(prefix="postmark-codegen-diff-") as scratch:
        tar_path = Path(scratch) / "spec.tar"
        tar_path.write_bytes(archive.stdout)
        root = Path(scratch) / "tree"
        with tarfile.open(tar_path) as tar:
            # The archive is the repository's own history; the "data" filter (3.11.4+) still
            # refuses links and paths that would leave the folder.
            if hasattr(tarfile, "data_filter"):
                tar.extractall(root, filter="data")
            else:  # pragma: no cover - Python before 3.11.4
                tar.extractall(root)
        yield root / relative, sha


def _build(path: Path, source: str) -> Api:
    try:
        spec = load_spec(path)
    except SpecLoadError as exc:
        raise DiffError(
            f"{source}: {exc.message}" + (f" (line {exc.line})" if exc.line else "")
        ) from None
    try:
        return build_api(spec)
    except (BuildError, RefError) as exc:
        raise DiffError(f"{source}: cannot build the model: {exc}") from None
    except KeyError as exc:  # a $ref the loader could not follow
        raise DiffError(
            f"{source}: cannot build the model: {exc.args[0] if exc.args else exc}"
        ) from None
    except Exception as exc:  # noqa: BLE001 - a malformed spec gives a message, never a traceback
        raise DiffError(f"{source}: cannot build the model: {type(exc).__name__}: {exc}") from None


def load_side(source: str, spec_path: str = DEFAULT_SPEC) -> Side:
    """A spec file, or `git:REF` (`spec_path` as of that revision). Raises DiffError."""
    if source.startswith(GIT_PREFIX):
        with _git_checkout(source[len(GIT_PREFIX) :], spec_path) as (path, sha):
            api = _build(path, source)
        return _side(source, sha, api)
    path = Path(source)
    if not path.is_file():
        raise DiffError(f"{source}: no such spec file")
    return _side(source, None, _build(path, source))


def _side(source: str, revision: str | None, api: Api) -> Side:
    try:
        return Side(source, revision, api, mcp_tools(api))
    except AgentViewError as exc:
        return Side(source, revision, api, tools_error=" ".join(str(exc).split()))


# ---- comparing -------------------------------------------------------------------------------------


def _op_key(op: Operation) -> tuple[str, str]:
    """Operations are the same when method and path match; path parameter names do not matter."""
    return op.method, re.sub(r"\{[^}]*\}", "{}", op.path)


def _method(op: Operation) -> str:
    return f"client.{op.group}.{op.name}"


def _argument(op: Operation, name: str, positional: bool) -> str:
    """`client.bounces.get(bounce_id)` for a positional argument, `client.bounces.list(type=)` else."""
    return f"{_method(op)}({name})" if positional else f"{_method(op)}({name}=)"


def _look_through(t: TypeRef) -> str:
    """A short JSON-side description of a type, for messages."""
    return t.described


def _shape(t: TypeRef) -> tuple[Any, ...]:
    """What a type is on the wire at this level (names of models and enums aside)."""
    if t.kind == "scalars":
        return ("scalars", tuple(sorted(_shape(m) for m in t.members)))
    return (t.kind,)


def _renamed_fields(old: list[Field], new: list[Field]) -> dict[str, Field]:
    """Old wire name -> new field, for properties renamed in place: the field at the same
    position of the new schema has a wire name the old one lacked, the same type, and the
    same required/nullable. Anything less certain stays a removal and an addition."""
    before = {f.wire for f in old}
    after = {f.wire for f in new}
    renamed: dict[str, Field] = {}
    for index, was in enumerate(old):
        if was.wire in after or index >= len(new):
            continue
        now = new[index]
        if (
            now.wire not in before
            and _look_through(now.type) == _look_through(was.type)
            and (now.required, now.nullable) == (was.required, was.nullable)
        ):
            renamed[was.wire] = now
    return renamed


@dataclass(frozen=True)
class _Rule:
    """How one rule reports a change. `kind` and `message` are `str.format` templates over the
    facts the comparer passes (always `location`, `python`, `before`, `after`); `breaking` is
    None where the comparer decides it case by case."""

    breaking: bool | None
    message: str
    kind: str = ""  # the rule's own name when empty


# Every rule of the comparer, by name. Names of models and values are the new side's.
_RULES: dict[str, _Rule] = {
    # operations (`it`: the operation; `label`: its method and path)
    "operation-removed": _Rule(True, "operation {it.method} {it.path} ({it.id}) removed"),
    "operation-added": _Rule(False, "operation {it.method} {it.path} ({it.id}) added"),
    "token-changed": _Rule(
        True,
        "{label} now takes the {new.token} token ({new.token_header}) instead of the "
        "{old.token} token ({old.token_header})",
        "security-changed",
    ),
    "token-header-changed": _Rule(
        True,
        "{label} now sends the {new.token} token in {after} (was {before})",
        "security-changed",
    ),
    "client-header-changed": _Rule(
        True, "the {token} token now travels in {after} (was {before})", "security-changed"
    ),
    "retry-changed": _Rule(
        False, "{label}: retry is now {after} (was {before})", "operation-changed"
    ),
    "access-changed": _Rule(
        False, "{label}: access is now {after} (was {before})", "operation-changed"
    ),
    "reaches-changed": _Rule(
        False, "{label}: now also needs {after} (was {before})", "operation-changed"
    ),
    # parameters (`what`: "<label>: <location> parameter <wire>")
    "parameter-removed": _Rule(True, "{label}: {it.location} parameter {it.wire} removed"),
    "parameter-added": _Rule(None, "{label}: {state} {it.location} parameter {it.wire} added"),
    "parameter-required": _Rule(True, "{what} is now required"),
    "parameter-optional": _Rule(False, "{what} is now optional"),
    "parameter-default-changed": _Rule(False, "{what}: default {was} -> {now}"),
    # bodies, paging and limits
    "request-body-added": _Rule(None, "{label} now takes a request body"),
    "request-body-removed": _Rule(True, "{label} no longer takes a request body"),
    "paging-added": _Rule(True, "{label} is now paged (the method returns a page)"),
    "paging-removed": _Rule(True, "{label} is no longer paged"),
    "paging-changed": _Rule(True, "{label}: paging {attr} {before} -> {after}"),
    "paging-limit-tightened": _Rule(
        True, "{label}: paging {key} {before} -> {after}", "limit-tightened"
    ),
    "paging-limit-loosened": _Rule(
        False, "{label}: paging {key} {before} -> {after}", "limit-loosened"
    ),
    "limit-removed": _Rule(False, "{label}: limit {it.name} ({it.max} {it.unit}) removed"),
    "limit-added": _Rule(True, "{label}: new limit {it.name}: {it.max} {it.unit} per {it.scope}"),
    "limit-changed": _Rule(True, "{label}: limit {name} now counts {now} (was {was})"),
    "limit-tightened": _Rule(True, "{label}: limit {name} {before} -> {after} {unit}"),
    "limit-loosened": _Rule(False, "{label}: limit {name} {before} -> {after} {unit}"),
    "constraint-tightened": _Rule(True, "{what}: {bound} {was} -> {now}"),
    "constraint-loosened": _Rule(False, "{what}: {bound} {was} -> {now}"),
    "constraint-changed": _Rule(True, "{what}: {bound} {was} -> {now}"),
    "webhook-removed": _Rule(True, "webhook {before} removed"),
    "webhook-added": _Rule(False, "webhook {after} added"),
    # types on the wire (`usage`: request or response; `owner`: the model's name)
    "type-changed": _Rule(None, "{what}: type {before} -> {after}", "{kind}"),
    "wire-field-renamed": _Rule(
        True, "{usage} field {before} of {owner} renamed to {after}", "{usage}-field-renamed"
    ),
    "wire-field-removed": _Rule(
        True, "{usage} field {before} removed from {owner}", "{usage}-field-removed"
    ),
    "wire-field-added": _Rule(
        None, "{state} {usage} field {after} added to {owner}", "{usage}-field-added"
    ),
    "request-field-required": _Rule(True, "{what} is now required"),
    "request-field-optional": _Rule(False, "{what} is now optional"),
    "response-field-optional": _Rule(True, "{what} may now be missing or null"),
    "response-field-required": _Rule(False, "{what} is now always present"),
    "enum-value-removed": _Rule(None, "{usage} enum {owner}: value {before!r} removed"),
    "enum-literal-removed": _Rule(None, "{python}: Literal value {before!r} removed"),
    "enum-value-added": _Rule(False, "enum {owner}: value {after!r} added"),
    "enum-literal-added": _Rule(False, "{python}: Literal value {after!r} added"),
    # the Python package (`method`: `client.<group>.<name>`)
    "method-removed": _Rule(True, "{before}() removed"),
    "method-added": _Rule(False, "{after}() added"),
    "method-renamed": _Rule(True, "{before}() renamed to {after}()"),
    "operation-id-changed": _Rule(
        True,
        "operationId {before} -> {after} (operation constant {old.const_name} -> "
        "{new.const_name}; the CLI and fixtures name operations by it)",
    ),
    "group-renamed": _Rule(True, "{before} renamed to {after}"),
    "argument-removed": _Rule(True, "{method}(): argument {before} removed"),
    "argument-added": _Rule(None, "{method}(): {state} argument {after} added"),
    "argument-renamed": _Rule(True, "{method}(): argument {before} renamed to {after}"),
    "argument-type-changed": _Rule(None, "{method}(): argument {name}: {before} -> {after}"),
    "argument-required": _Rule(True, "{method}(): argument {name} is now required"),
    "argument-optional": _Rule(
        False, "{method}(): argument {name} is now optional (default {default})"
    ),
    "argument-default-changed": _Rule(
        False, "{method}(): argument {name}: default {before} -> {after}"
    ),
    "argument-order-changed": _Rule(
        True, "{python}(): positional arguments now come in the order {order}"
    ),
    "method-returns-changed": _Rule(True, "{python}() now returns {after} (was {before})"),
    "class-removed": _Rule(True, "models.{before} removed", "{kind}-removed"),
    "class-renamed": _Rule(True, "models.{before} renamed to models.{after}", "{kind}-renamed"),
    "class-added": _Rule(False, "models.{after} added", "{kind}-added"),
    "field-removed": _Rule(True, "{python} removed"),
    "field-added": _Rule(None, "{python} added ({annotation})"),
    "field-renamed": _Rule(True, "models.{owner}.{before} renamed to {python}"),
    "field-type-changed": _Rule(None, "{python}: {before} -> {after}"),
    "field-optional": _Rule(None, "{python} may now be None ({after})"),
    "field-required": _Rule(None, "{python} is no longer optional ({after})"),
    "error-code-removed": _Rule(True, "ErrorCode {it.code} ({before}) removed"),
    "error-code-added": _Rule(False, "ErrorCode {it.code} ({after}) added"),
    "error-code-renamed": _Rule(True, "ErrorCode.{before} renamed to ErrorCode.{after}"),
    "exception-removed": _Rule(True, "errors.{before} removed"),
    "exception-added": _Rule(False, "errors.{after} added"),
}


# Request constraints: which direction tightens.
_UPPER_BOUNDS = ("max_length", "max_items", "maximum")
_LOWER_BOUNDS = ("min_length", "min_items", "minimum")
_TIGHTER = {True: "constraint-tightened", False: "constraint-loosened"}


def _limit_counts(limit: Limit) -> str:
    """What a limit counts: `addresses per message in To`."""
    return f"{limit.unit} per {limit.scope}{' in ' + limit.field if limit.field else ''}"


# Where `_Comparer.presence` reports a thing added or removed: location, Python name, value shown.
_ERROR_CODES = "components.x-postmark-error-codes"


def _operation_place(op: Operation) -> tuple[str, str, str]:
    return op.spec_path, _method(op), f"{op.method} {op.path}"


def _method_place(op: Operation) -> tuple[str, str, str]:
    return op.spec_path, _method(op), _method(op)


def _webhook_place(hook: WebhookEvent) -> tuple[str, str, str]:
    return hook.spec_path, f"models.{hook.model.name}", hook.key


def _error_code_place(entry: ErrorCodeInfo) -> tuple[str, str, str]:
    return _ERROR_CODES, f"errors.ErrorCode.{entry.constant_name}", entry.name


def _exception_place(entry: ErrorCodeInfo) -> tuple[str, str, str | None]:
    return _ERROR_CODES, f"errors.{entry.exception_class}", entry.exception_class


def _show(value: Any) -> str:
    return "none" if value is None else str(value)


def _str(value: Any) -> str | None:
    return None if value is None else str(value)


_T = TypeVar("_T")


class _Pairs:
    """Which old generated type became which new one (first pairing wins), by kind of type."""

    def __init__(self) -> None:
        self.forward: dict[str, str] = {}
        self.backward: dict[str, str] = {}

    def pair(self, old: str | None, new: str | None) -> None:
        if old and new and old not in self.forward and new not in self.backward:
            self.forward[old] = new
            self.backward[new] = old


class _Comparer:
    def __init__(self, old: Api, new: Api):
        self.old, self.new = old, new
        self.old_models = {m.name: m for m in old.models}
        self.new_models = {m.name: m for m in new.models}
        self.old_enums = {e.name: e for e in old.enums}
        self.new_enums = {e.name: e for e in new.enums}
        self.changes: list[Change] = []
        self.pairs = _Pairs()  # models, enums, aliases and unions share one namespace (models.py)
        self._seen_models: set[tuple[str, str, str]] = set()
        self._seen_enums: set[tuple[str, str]] = set()
        self.old_aliases = {a.name: _unqualified(a.annotation) for a in old.aliases}
        self.new_aliases = {a.name: _unqualified(a.annotation) for a in new.aliases}
        self.enum_names = {e.name: e.name for e in [*old.enums, *new.enums]}

    def add(
        self,
        rule: str,
        location: str,
        python: str | None,
        before: Any = None,
        after: Any = None,
        breaking: bool | None = None,
        **facts: Any,
    ) -> None:
        """Report what `rule` says, its kind and message filled in from the facts."""
        spec = _RULES[rule]
        facts.update(location=location, python=python, before=before, after=after)
        decided = spec.breaking if breaking is None else breaking
        assert decided is not None, f"rule {rule} needs the comparer to say whether it breaks"
        kind, message = (spec.kind or rule).format(**facts), spec.message.format(**facts)
        self.changes.append(
            Change(kind, decided, location, python, message, _str(before), _str(after))
        )

    def compare_constraints(
        self, old: Field | Parameter, new: Field | Parameter, location: str, python: str, what: str
    ) -> None:
        for attr in _UPPER_BOUNDS + _LOWER_BOUNDS + ("pattern", "format"):
            before, after = getattr(old, attr, None), getattr(new, attr, None)
            if before == after:
                continue
            if attr in _UPPER_BOUNDS:
                rule = _TIGHTER[after is not None and (before is None or after < before)]
            elif attr in _LOWER_BOUNDS:
                rule = _TIGHTER[after is not None and (before is None or after > before)]
            else:
                rule = "constraint-changed"
            self.add(
                rule, location, python, before, after,
                what=what, bound=attr.replace("_", " "), was=_show(before), now=_show(after),
            )  # fmt: skip

    def presence(
        self,
        before: Mapping[Any, _T],
        after: Mapping[Any, _T],
        noun: str,
        place: Callable[[_T], tuple[str, str | None, Any]],
        **facts: Any,
    ) -> list[tuple[_T, _T]]:
        """Reports `<noun>-removed` for what only `before` has and `<noun>-added` for what only
        `after` has (fact `it`), each at `place(item)`: its location, Python name and the value
        shown; returns the (old, new) pairs of what both have."""
        for key, item in before.items():
            if key not in after:
                location, python, value = place(item)
                self.add(f"{noun}-removed", location, python, value, it=item, **facts)
        for key, item in after.items():
            if key not in before:
                location, python, value = place(item)
                self.add(f"{noun}-added", location, python, None, value, it=item, **facts)
        return [(before[key], item) for key, item in after.items() if key in before]

    def run(self) -> list[Change]:
        self.compare_operations()
        self.compare_webhooks()
        self.compare_security()
        self.compare_methods()
        self.compare_types()
        self.compare_error_codes()
        unique = {(c.kind, c.location, c.python, c.message): c for c in self.changes}
        return sorted(unique.values(), key=Change.sort_key)

    # ---- api scope: operations ------------------------------------------------------------------

    def compare_operations(self) -> None:
        old_ops = {_op_key(op): op for op in self.old.operations}
        new_ops = {_op_key(op): op for op in self.new.operations}
        for old, new in self.presence(old_ops, new_ops, "operation", _operation_place):
            self.compare_operation(old, new)

    def compare_operation(self, old: Operation, new: Operation) -> None:
        where, python = new.spec_path, _method(new)
        facts: dict[str, Any] = {"label": f"{new.method} {new.path}", "old": old, "new": new}
        if (old.token, old.token_header) != (new.token, new.token_header):
            rule = "token-changed" if old.token != new.token else "token-header-changed"
            self.add(rule, f"{where}.security", python, old.token_header, new.token_header, **facts)
        if old.retry_safe != new.retry_safe:
            safe = {True: "safe", False: "unsafe"}
            retry = safe[old.retry_safe], safe[new.retry_safe]
            self.add("retry-changed", f"{where}.x-postmark-retry", python, *retry, **facts)
        if old.access != new.access:
            access = old.access, new.access
            self.add("access-changed", f"{where}.x-postmark-access", python, *access, **facts)
        if old.reaches != new.reaches:
            reaches = _reaches_text(old), _reaches_text(new)
            self.add("reaches-changed", f"{where}.x-postmark-reaches", python, *reaches, **facts)
        self.compare_parameters(old, new)
        self.compare_body(old, new)
        self.compare_type(
            old.response.type,
            new.response.type,
            "response",
            f"{where}.responses.200",
            python,
            "response-type-changed",
            f"{facts['label']} response",
        )
        self.compare_paging(old, new)
        self.compare_limits(old, new)

    def compare_parameters(self, old: Operation, new: Operation) -> None:
        before = {(p.location, p.wire): p for p in old.parameters}
        after = {(p.location, p.wire): p for p in new.parameters}
        label = f"{new.method} {new.path}"
        for key, param in before.items():
            if key not in after:
                python = _argument(new, param.name, param.location == "path")
                self.add(
                    "parameter-removed", param.spec_path, python, param.wire, label=label, it=param
                )
        for key, param in after.items():
            python = _argument(new, param.name, param.location == "path")
            needed = param.required and not param.has_default
            if key not in before:
                state = "required" if needed else "optional"
                self.add(
                    "parameter-added", param.spec_path, python, None, param.wire, needed,
                    label=label, it=param, state=state,
                )  # fmt: skip
                continue
            old_param = before[key]
            what = f"{label}: {param.location} parameter {param.wire}"
            old_needed = old_param.required and not old_param.has_default
            if needed != old_needed:
                rule = "parameter-required" if needed else "parameter-optional"
                self.add(rule, param.spec_path, python, what=what)
            if old_param.default != param.default:
                self.add(
                    "parameter-default-changed", param.spec_path, python,
                    old_param.default, param.default,
                    what=what, was=_show(old_param.default), now=_show(param.default),
                )  # fmt: skip
            self.compare_type(
                old_param.type,
                param.type,
                "request",
                f"{param.spec_path}.schema",
                python,
                "parameter-type-changed",
                what,
            )
            self.compare_constraints(old_param, param, param.spec_path, python, what)

    def compare_body(self, old: Operation, new: Operation) -> None:
        label = f"{new.method} {new.path}"
        where = f"{new.spec_path}.requestBody"
        if old.body is None and new.body is None:
            return
        if old.body is None:
            assert new.body is not None
            model = new.body.model
            needed = new.body.is_array or (
                model is not None and any(f.required for f in model.fields)
            )
            self.add("request-body-added", where, _method(new), breaking=needed, label=label)
            return
        if new.body is None:
            where = f"{old.spec_path}.requestBody"
            self.add("request-body-removed", where, _method(new), label=label)
            return
        self.compare_type(
            old.body.type,
            new.body.type,
            "request",
            where,
            _method(new),
            "request-body-type-changed",
            f"{label} request body",
        )

    def compare_paging(self, old: Operation, new: Operation) -> None:
        label = f"{new.method} {new.path}"
        where = f"{new.spec_path}.x-postmark-paging"
        python = _method(new)
        if old.paging is None and new.paging is None:
            return
        if old.paging is None:
            self.add("paging-added", where, python, label=label)
            return
        if new.paging is None:
            self.add("paging-removed", f"{old.spec_path}.x-postmark-paging", python, label=label)
            return
        for attr in ("count", "offset", "items", "total"):
            before, after = getattr(old.paging, attr), getattr(new.paging, attr)
            if before != after:
                self.add(
                    "paging-changed", f"{where}.{attr}", python, before, after,
                    label=label, attr=attr,
                )  # fmt: skip
        for attr, key in (("max_count", "max-count"), ("max_reachable", "max-reachable")):
            before, after = getattr(old.paging, attr), getattr(new.paging, attr)
            if before != after:
                rule = "paging-limit-tightened" if after < before else "paging-limit-loosened"
                self.add(rule, f"{where}.{key}", python, before, after, label=label, key=key)

    def compare_limits(self, old: Operation, new: Operation) -> None:
        label = f"{new.method} {new.path}"
        before = {lim.name: lim for lim in old.limits}
        after = {lim.name: lim for lim in new.limits}
        python = _method(new)
        for index, (name, lim) in enumerate(before.items()):
            if name not in after:
                where = f"{old.spec_path}.x-postmark-limits.{index}"
                self.add("limit-removed", where, python, lim.max, label=label, it=lim)
        for index, (name, lim) in enumerate(after.items()):
            where = f"{new.spec_path}.x-postmark-limits.{index}"
            if name not in before:
                self.add("limit-added", where, python, None, lim.max, label=label, it=lim)
                continue
            was = before[name]
            facts: dict[str, Any] = {"label": label, "name": name, "unit": lim.unit}
            if (was.unit, was.scope, was.field) != (lim.unit, lim.scope, lim.field):
                counts = _limit_counts(was), _limit_counts(lim)
                self.add("limit-changed", where, python, was=counts[0], now=counts[1], **facts)
            if was.max != lim.max:
                rule = "limit-tightened" if lim.max < was.max else "limit-loosened"
                self.add(rule, where, python, was.max, lim.max, **facts)

    def compare_webhooks(self) -> None:
        before = {w.key: w for w in self.old.webhooks}
        after = {w.key: w for w in self.new.webhooks}
        for was, hook in self.presence(before, after, "webhook", _webhook_place):
            self.compare_type(
                TypeRef("model", name=was.model.name),
                TypeRef("model", name=hook.model.name),
                "response",
                f"{hook.spec_path}.post.requestBody",
                f"models.{hook.model.name}",
                "response-type-changed",
                f"webhook {hook.key} payload",
            )

    def compare_security(self) -> None:
        before = {c.token: c for c in self.old.clients}
        after = {c.token: c for c in self.new.clients}
        for token in sorted(set(before) & set(after)):
            old, new = before[token], after[token]
            if old.header != new.header:
                where = f"components.securitySchemes.{new.security_scheme}"
                headers = old.header, new.header
                self.add("client-header-changed", where, new.class_name, *headers, token=token)

    # ---- api scope: types, recursively ------------------------------------------------------------

    def compare_type(
        self,
        old: TypeRef,
        new: TypeRef,
        usage: Usage,
        location: str,
        python: str | None,
        kind: str,
        what: str,
    ) -> None:
        """Compare two types found at the same place; pair the generated types they name."""
        if old.alias or new.alias:
            self.pairs.pair(old.alias, new.alias)
        if _shape(old) != _shape(new):
            self.add(
                "type-changed", location, python, _look_through(old), _look_through(new),
                self.type_change_breaks(old, new, usage), kind=kind, what=what,
            )  # fmt: skip
            return
        if old.kind == "model":
            self.pairs.pair(old.name, new.name)
            self.compare_model(
                self.old_models[old.name or ""], self.new_models[new.name or ""], usage
            )
        elif old.kind == "enum":
            self.pairs.pair(old.name, new.name)
            self.compare_enum(self.old_enums[old.name or ""], self.new_enums[new.name or ""])
        elif old.kind == "union":
            self.pairs.pair(old.name, new.name)
            self.compare_union(old.name or "", new.name or "", usage)
        elif old.kind == "scalars":
            for before, after in zip(old.members, new.members):
                self.compare_type(before, after, usage, location, python, kind, what)
        elif old.item is not None and new.item is not None:
            self.compare_type(
                old.item, new.item, usage, location, python, "type-changed", f"{what} items"
            )

    def type_change_breaks(self, old: TypeRef, new: TypeRef, usage: Usage) -> bool:
        """A type change breaks callers, except between a string and an enum where nobody loses.

        Requests: a closed enum narrows what may be sent (breaking); going back to a string widens it.
        Responses with open enums: the reader gets a string either way.
        """
        if {old.kind, new.kind} != {"str", "enum"}:
            return True
        if usage == "response":
            return not (self.old.responses_open_enums and self.new.responses_open_enums)
        return new.kind == "enum"

    def compare_union(self, old_name: str, new_name: str, usage: Usage) -> None:
        old_union = next(u for u in self.old.unions if u.name == old_name)
        new_union = next(u for u in self.new.unions if u.name == new_name)
        after = {v.value or v.model: v for v in new_union.variants}
        for variant in old_union.variants:
            match = after.get(variant.value or variant.model)
            if match is not None:
                self.compare_type(
                    TypeRef("model", name=variant.model),
                    TypeRef("model", name=match.model),
                    usage,
                    new_union.spec_path,
                    f"models.{new_name}",
                    "type-changed",
                    f"{new_name} variant {variant.value or variant.model}",
                )

    def compare_model(self, old: Model, new: Model, usage: Usage) -> None:
        key = (old.name, new.name, usage)
        if key in self._seen_models:
            return
        self._seen_models.add(key)
        before = {f.wire: f for f in old.fields}
        after = {f.wire: f for f in new.fields}
        renamed = _renamed_fields(old.fields, new.fields)
        facts: dict[str, Any] = {"usage": usage, "owner": new.name}
        for wire, now in renamed.items():
            python = f"models.{new.name}.{now.name}"
            self.add("wire-field-renamed", now.spec_path, python, wire, now.wire, **facts)
            self.compare_field(before[wire], now, new.name, usage, python)
        for wire, f in before.items():
            if wire not in after and wire not in renamed:
                python = f"models.{new.name}.{f.name}"
                self.add("wire-field-removed", f.spec_path, python, wire, **facts)
        renamed_to = {now.wire for now in renamed.values()}
        for wire, f in after.items():
            python = f"models.{new.name}.{f.name}"
            if wire in renamed_to:
                continue
            if wire not in before:
                breaking = usage == "request" and f.required
                state = "required" if f.required else "optional"
                self.add(
                    "wire-field-added", f.spec_path, python, None, wire, breaking,
                    state=state, **facts,
                )  # fmt: skip
                continue
            self.compare_field(before[wire], f, new.name, usage, python)

    def compare_field(self, old: Field, new: Field, owner: str, usage: Usage, python: str) -> None:
        what = f"{usage} field {owner}.{new.wire}"
        if usage == "request":
            if new.required != old.required:
                rule = "request-field-required" if new.required else "request-field-optional"
                self.add(rule, new.spec_path, python, what=what)
            self.compare_constraints(old, new, new.spec_path, python, what)
        elif new.optional != old.optional:
            rule = "response-field-optional" if new.optional else "response-field-required"
            self.add(rule, new.spec_path, python, what=what)
        self.compare_type(
            old.type, new.type, usage, new.spec_path, python, f"{usage}-field-type-changed", what
        )

    def compare_enum(self, old: EnumType, new: EnumType) -> None:
        key = (old.name, new.name)
        if key in self._seen_enums:
            return
        self._seen_enums.add(key)
        request = old.is_request or new.is_request
        python = f"models.{new.name}"
        facts: dict[str, Any] = {"usage": "request" if request else "response", "owner": new.name}
        # A request enum is a closed Literal: code passing a removed value stops type-checking.
        for rule in ("enum-value", "enum-literal"):
            for value in old.values:
                if value not in new.values:
                    self.add(
                        f"{rule}-removed", new.spec_path, python, value, None, request, **facts
                    )
            for value in new.values:
                if value not in old.values:
                    self.add(f"{rule}-added", new.spec_path, python, None, value, **facts)

    # ---- python scope ---------------------------------------------------------------------------

    def compare_methods(self) -> None:
        old_ops = {_op_key(op): op for op in self.old.operations}
        new_ops = {_op_key(op): op for op in self.new.operations}
        for old, op in self.presence(old_ops, new_ops, "method", _method_place):
            if _method(old) != _method(op):
                self.add("method-renamed", op.spec_path, _method(op), _method(old), _method(op))
            if old.id != op.id:
                where = f"{op.spec_path}.operationId"
                self.add("operation-id-changed", where, _method(op), old.id, op.id, old=old, new=op)
        before = {g.tag: g for g in self.old.groups}
        for index, group in enumerate(self.new.groups):
            was = before.get(group.tag)
            if was is not None and was.name != group.name:
                names = f"client.{was.name}", f"client.{group.name}"
                self.add("group-renamed", f"tags.{index}.x-python-name", names[1], *names)

    def compare_arguments(self, old: Operation, new: Operation) -> None:
        method = _method(new)
        before = {(a.source, a.wire): a for a in old.arguments}
        after = {(a.source, a.wire): a for a in new.arguments}
        for key, arg in before.items():
            if key not in after:
                where = _argument(new, arg.name, arg.source == "path")
                self.add("argument-removed", new.spec_path, where, arg.name, method=method)
        for key, arg in after.items():
            where = _argument(new, arg.name, arg.source == "path")
            if key not in before:
                required = arg.default is None
                state = "required" if required else "optional"
                self.add(
                    "argument-added", new.spec_path, where, None, arg.name, required,
                    state=state, method=method,
                )  # fmt: skip
                continue
            was = before[key]
            facts: dict[str, Any] = {"method": method, "name": arg.name}
            if was.name != arg.name:
                self.add("argument-renamed", new.spec_path, where, was.name, arg.name, **facts)
            change = self.annotation_change(was.annotation, arg.annotation)
            if change is not None:
                self.add(
                    "argument-type-changed", new.spec_path, where, was.annotation, arg.annotation,
                    change != "widened", **facts,
                )  # fmt: skip
            if was.default is not None and arg.default is None:
                self.add("argument-required", new.spec_path, where, **facts)
            elif was.default is None and arg.default is not None:
                self.add("argument-optional", new.spec_path, where, default=arg.default, **facts)
            elif was.default != arg.default:
                defaults = was.default, arg.default
                self.add("argument-default-changed", new.spec_path, where, *defaults, **facts)
        old_positional = [
            (a.source, a.wire) for a in old.positional_arguments if (a.source, a.wire) in after
        ]
        new_positional = [
            (a.source, a.wire) for a in new.positional_arguments if (a.source, a.wire) in before
        ]
        if old_positional != new_positional:
            order = ", ".join(a.name for a in new.positional_arguments)
            self.add("argument-order-changed", new.spec_path, method, order=order)
        returns = _returns(old), _returns(new)
        if self.annotation_change(*returns) is not None:
            self.add("method-returns-changed", new.spec_path, method, *returns)

    def compare_types(self) -> None:
        """Classes of models.py: pair the rest by name, then by spec path; report the unpaired."""
        old_types = _generated_types(self.old)
        new_types = _generated_types(self.new)
        for name, (kind, _) in old_types.items():
            if new_types.get(name, ("", ""))[0] == kind:
                self.pairs.pair(name, name)
        by_path = {(kind, spec_path): name for name, (kind, spec_path) in new_types.items()}
        for name, key in old_types.items():
            self.pairs.pair(name, by_path.get(key))
        for name, (kind, spec_path) in old_types.items():
            new_name = self.pairs.forward.get(name)
            if new_name is None or new_name not in new_types:
                self.add("class-removed", spec_path, f"models.{name}", name, kind=kind)
            elif new_name != name:
                where, python = new_types[new_name][1], f"models.{new_name}"
                self.add("class-renamed", where, python, name, new_name, kind=kind)
        for name, (kind, spec_path) in new_types.items():
            if name not in self.pairs.backward or self.pairs.backward[name] not in old_types:
                self.add("class-added", spec_path, f"models.{name}", None, name, kind=kind)
        # Now that renames are known, compare what names appear in: signatures and model fields.
        old_ops = {_op_key(op): op for op in self.old.operations}
        for op in self.new.operations:
            if _op_key(op) in old_ops:
                self.compare_arguments(old_ops[_op_key(op)], op)
        for old_name, new_name in self.pairs.forward.items():
            if old_name in self.old_models and new_name in self.new_models:
                self.compare_model_fields(self.old_models[old_name], self.new_models[new_name])

    def compare_model_fields(self, old: Model, new: Model) -> None:
        before = {f.wire: f for f in old.fields}
        after = {f.wire: f for f in new.fields}
        request = old.is_request or new.is_request
        response = old.is_response or new.is_response
        renamed = _renamed_fields(old.fields, new.fields)
        renamed_from = {now.wire: wire for wire, now in renamed.items()}
        for wire, f in before.items():
            if wire not in after and wire not in renamed:
                self.add("field-removed", f.spec_path, f"models.{new.name}.{f.name}", f.name)
        for wire, f in after.items():
            python = f"models.{new.name}.{f.name}"
            if wire not in before and wire not in renamed_from:
                # A request model's constructor needs every field that has no default.
                breaking = request and not f.optional
                self.add(
                    "field-added", f.spec_path, python, None, f.name, breaking,
                    annotation=f.annotation,
                )  # fmt: skip
                continue
            was = before[renamed_from.get(wire, wire)]
            if was.name != f.name:
                self.add("field-renamed", f.spec_path, python, was.name, f.name, owner=new.name)
            annotations = was.annotation, f.annotation
            change = self.annotation_change(*annotations)
            if change is not None:
                # A response model's reader only loses when the type changes; a request model's
                # constructor also loses when what it accepts narrows.
                breaking = change == "changed" or (change == "narrowed" and request)
                self.add("field-type-changed", f.spec_path, python, *annotations, breaking)
            elif _is_optional(f.annotation) and not _is_optional(was.annotation):
                self.add("field-optional", f.spec_path, python, *annotations, response)
            elif _is_optional(was.annotation) and not _is_optional(f.annotation):
                self.add("field-required", f.spec_path, python, *annotations, request)

    def compare_error_codes(self) -> None:
        before = {e.code: e for e in self.old.error_codes}
        after = {e.code: e for e in self.new.error_codes}
        for was, entry in self.presence(before, after, "error-code", _error_code_place):
            if was.constant_name != entry.constant_name:
                python = f"errors.ErrorCode.{entry.constant_name}"
                names = was.constant_name, entry.constant_name
                self.add("error-code-renamed", _ERROR_CODES, python, *names)
        old_classes = {e.exception_class: e for e in self.old.error_codes if e.exception_class}
        new_classes = {e.exception_class: e for e in self.new.error_codes if e.exception_class}
        self.presence(old_classes, new_classes, "exception", _exception_place)

    def annotation_change(
        self, old: str, new: str
    ) -> Literal["changed", "narrowed", "widened"] | None:
        """How a Python annotation changed, optionality aside; None when it means the same type.

        Both sides are compared in the new names (renamed classes are reported once, as renames),
        with aliases spelled out (`Metadata` is `dict[str, str]`) and an open enum (`X | str`)
        read as the `str` it is. A closed enum replaced by `str` widens; the reverse narrows.
        """
        before = _words(self.old_aliases).sub(
            lambda m: self.old_aliases[m.group(0)], _unqualified(old)
        )
        before = _canonical(
            self.rename_pattern.sub(lambda m: self.pairs.forward[m.group(0)], before),
            self.enum_names,
        )
        after = _canonical(
            _words(self.new_aliases).sub(lambda m: self.new_aliases[m.group(0)], _unqualified(new)),
            self.enum_names,
        )
        if before == after:
            return None
        as_strings = (
            _words(self.enum_names).sub("str", before),
            _words(self.enum_names).sub("str", after),
        )
        if as_strings[0] == after:
            return "widened"
        if as_strings[1] == before:
            return "narrowed"
        return "changed"

    @property
    def rename_pattern(self) -> re.Pattern[str]:
        return _words({o: n for o, n in self.pairs.forward.items() if o != n})


def _generated_types(api: Api) -> dict[str, tuple[str, str]]:
    """Class name -> (kind for change names, spec path) for everything models.py defines."""
    types: dict[str, tuple[str, str]] = {}
    for m in api.models:
        types[m.name] = ("model", m.spec_path)
    for e in api.enums:
        types[e.name] = ("enum", e.spec_path)
    for a in api.aliases:
        types[a.name] = ("type", a.spec_path)
    for u in api.unions:
        types[u.name] = ("type", u.spec_path)
    return types


_NEVER = re.compile(r"(?!)")


def _words(names: dict[str, str]) -> re.Pattern[str]:
    """A pattern matching any of `names` as a whole identifier (longest first)."""
    if not names:
        return _NEVER
    alternatives = "|".join(re.escape(n) for n in sorted(names, key=len, reverse=True))
    return re.compile(rf"(?<![\w.])(?:{alternatives})(?!\w)")


def _unqualified(annotation: str) -> str:
    """`models.X` -> `X`: models.py spells its own names without the module."""
    return re.sub(r"\bmodels\.", "", annotation)


def _canonical(annotation: str, enums: dict[str, str]) -> str:
    """Optionality dropped, and an open enum `X | str` read as `str`."""
    text = re.sub(r" \| None\b", "", annotation)
    return _words({f"{name} | str": name for name in enums}).sub("str", text)


def _is_optional(annotation: str) -> bool:
    return annotation.endswith(" | None") or annotation == "None"


def _returns(op: Operation) -> str:
    """What the generated (sync) method returns."""
    return op.return_annotation()


def diff_apis(old: Api, new: Api) -> list[Change]:
    """Every change from `old` to `new`, sorted (see the module docstring)."""
    return _Comparer(old, new).run()


def diff_tools(old: Side, new: Side) -> list[Change]:
    """Every change of what agents read: the MCP tools of the operations on either side, matched
    as operations are (method and path). Never breaking by itself: a reviewer reads them."""
    for side in (old, new):
        if side.tools_error is not None:
            message = (
                f"the MCP tools of {side.source} cannot be listed, so what agents read was not "
                f"compared: {side.tools_error}"
            )
            return [Change("tools-not-compared", False, "", None, message)]
    before = {_op_key(op): op for op in old.api.operations if op.id in old.tools}
    after = {_op_key(op): op for op in new.api.operations if op.id in new.tools}
    changes: list[Change] = []
    for key in sorted(before.keys() | after.keys()):
        was, now = before.get(key), after.get(key)
        op = now or was
        assert op is not None
        old_tool = old.tools[was.id] if was else None
        new_tool = new.tools[now.id] if now else None
        changes.extend(_tool_changes(op, old_tool, new_tool))
    return changes


# What a tool shows agents, each compared on its own: (kind, MCP field, what it is called).
_TOOL_PARTS = (
    ("tool-renamed", "name", "name"),
    ("tool-description-changed", "description", "description"),
    ("tool-input-schema-changed", "inputSchema", "input schema"),
    ("tool-annotations-changed", "annotations", "annotations"),
)


def _tool_changes(
    op: Operation, old: dict[str, Any] | None, new: dict[str, Any] | None
) -> Iterator[Change]:
    label = f"{op.method} {op.path}"
    if old is None or new is None:
        tool = new or old
        assert tool is not None
        kind, verb = ("tool-added", "added") if old is None else ("tool-removed", "removed")
        text = _tool_text(tool)
        yield Change(
            kind, False, op.spec_path, None, f"tool {tool['name']} ({label}) {verb}",
            None if old is None else text, text if old is None else None,
        )  # fmt: skip
        return
    for kind, key, what in _TOOL_PARTS:
        if old.get(key) != new.get(key):
            message = (
                f"tool {old['name']} ({label}) renamed to {new['name']}"
                if key == "name"
                else f"tool {new['name']} ({label}): {what} changed"
            )
            yield Change(
                kind, False, op.spec_path, None, message,
                _tool_value(old.get(key)), _tool_value(new.get(key)),
            )  # fmt: skip


def _tool_value(value: Any) -> str:
    """A tool's part as a reviewer reads it: text as it is, anything else as indented JSON."""
    if isinstance(value, str):
        return value
    return json.dumps(value, indent=2, sort_keys=True, ensure_ascii=False)


def _tool_text(tool: dict[str, Any]) -> str:
    """All a tool shows agents, part by part, as `_tool_value` writes each."""
    lines: list[str] = []
    for _, key, what in _TOOL_PARTS:
        lines.append(f"{what}:")
        lines += [f"  {line}" for line in _tool_value(tool.get(key)).splitlines()]
    return "\n".join(lines)


def diff(old_source: str, new_source: str | None = None, spec_path: str = DEFAULT_SPEC) -> Report:
    """Read both sides (raising DiffError) and compare them."""
    old = load_side(old_source, spec_path)
    new = load_side(new_source or spec_path, spec_path)
    changes = diff_apis(old.api, new.api) + diff_tools(old, new)
    return Report(old, new, sorted(changes, key=Change.sort_key))


# ---- output ----------------------------------------------------------------------------------------


def _side_label(side: Side) -> str:
    revision = f" @ {side.revision[:12]}" if side.revision else ""
    return f"{side.source}{revision} ({side.api.version})"


def _counts(report: Report) -> str:
    breaking = len(report.breaking)
    other = len(report.changes) - breaking
    return f"{breaking} breaking, {other} non-breaking"


_SCOPE_TITLES: dict[Scope, str] = {
    "api": "API (what Postmark accepts and returns)",
    "python": "Python package (postmark_client)",
    "agents": "Agent-visible text (the MCP tools: names, descriptions, input schemas, annotations)",
}


def _text_diff(change: Change) -> list[str]:
    """The lines of what agents read that the change removes (-) and adds (+), with control
    characters shown as escapes, so spec text cannot act on the reader's terminal."""
    before = (change.before or "").splitlines() if change.before is not None else []
    after = (change.after or "").splitlines() if change.after is not None else []
    lines = list(difflib.unified_diff(before, after, lineterm="", n=2))[2:]
    return [_printable(line) for line in lines if not line.startswith("@@")]


def format_text(report: Report) -> str:
    lines = [f"spec diff: {_side_label(report.old)} -> {_side_label(report.new)}"]
    if not report.changes:
        lines.append("no changes")
        return "\n".join(lines) + "\n"
    for scope, title in _SCOPE_TITLES.items():
        changes = [c for c in report.changes if c.scope == scope]
        if not changes:
            continue
        lines.append("")
        lines.append(f"{title}:")
        for c in changes:
            flag = "BREAKING" if c.breaking else "        "
            lines.append(f"  {flag}  {c.kind:<28} {c.message}")
            detail = c.location + (f"  [{c.python}]" if c.python else "")
            if detail:
                lines.append(f"  {'':8}  {'':<28} at {detail}")
            if scope == "agents":
                lines += [f"  {'':8}  {'':<28}   {line}" for line in _text_diff(c)]
    lines.append("")
    lines.append(_counts(report))
    return "\n".join(lines) + "\n"


def _cell(text: str | None) -> str:
    if not text:
        return ""
    return text.replace("\\", "\\\\").replace("|", "\\|").replace("\n", " ")


def _code(text: str | None) -> str:
    return f"`{_cell(text)}`" if text else ""


def format_markdown(report: Report) -> str:
    lines = [
        "## Spec diff",
        "",
        f"{_code(report.old.source)} ({report.old.api.version}) → "
        + f"{_code(report.new.source)} ({report.new.api.version})",
        "",
    ]
    if not report.changes:
        lines.append("No changes.")
        return "\n".join(lines) + "\n"
    breaking = len(report.breaking)
    lines.append(
        f"**{breaking} breaking**, {len(report.changes) - breaking} non-breaking."
        if breaking
        else f"Nothing breaking; {len(report.changes)} non-breaking."
    )
    for scope, title in _SCOPE_TITLES.items():
        changes = [c for c in report.changes if c.scope == scope]
        if not changes:
            continue
        lines += [
            "",
            f"### {title}",
            "",
            "| | Change | Details | Where | Python |",
            "| --- | --- | --- | --- | --- |",
        ]
        for c in changes:
            flag = "**breaking**" if c.breaking else ""
            lines.append(
                f"| {flag} | {c.kind} | {_cell(c.message)} | {_code(c.location)} | {_code(c.python)} |"
            )
        if scope == "agents":
            for c in changes:
                lines += ["", f"{_cell(c.message)}:", "", *_fenced("diff", _text_diff(c))]
    return "\n".join(lines) + "\n"


def _fenced(info: str, lines: list[str]) -> list[str]:
    """A fenced code block longer than any run of backticks inside it: spec text stays text."""
    runs = [len(run) for line in lines for run in re.findall(r"`+", line)]
    fence = "`" * max(3, max(runs, default=0) + 1)
    return [fence + info, *lines, fence]


def format_json(report: Report) -> str:
    return json.dumps(report.to_json(), indent=2, sort_keys=False) + "\n"


FORMATTERS = {"text": format_text, "markdown": format_markdown, "json": format_json}


# ---- the subcommand ---------------------------------------------------------------------------------


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "old",
        metavar="OLD",
        help="the old spec: a file, or git:REF (the spec as of a git revision)",
    )
    parser.add_argument(
        "new",
        metavar="NEW",
        nargs="?",
        default=None,
        help="the new spec: a file or git:REF (default: the working tree's --spec)",
    )
    parser.add_argument(
        "--spec",
        default=DEFAULT_SPEC,
        help=f"the spec file in the working tree; git:REF reads this path at REF (default: {DEFAULT_SPEC})",
    )
    parser.add_argument(
        "--format", choices=FORMATS, default="text", help="output format (default: text)"
    )
    parser.add_argument(
        "--fail-on-breaking", action="store_true", help="exit 1 when a change is breaking"
    )
    parser.add_argument(
        "--policy",
        metavar="FILE",
        default=None,
        help="an access policy file: also say which agents' reach the change alters",
    )


def _policy_grants(path: str) -> dict[str, dict[str, str]]:
    """Each agent's grant per group from an access policy file (`postmark_client.access`
    checks the file in full; here only `[agents.NAME]` group = level entries are read)."""
    import tomllib

    try:
        data = tomllib.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, tomllib.TOMLDecodeError) as exc:
        raise DiffError(f"--policy {path}: {exc}") from None
    agents = data.get("agents", {})
    if not isinstance(agents, dict):
        raise DiffError(f"--policy {path}: agents must be a table")
    return {
        name: {k: v for k, v in table.items() if v in _LEVEL_ALLOWS}
        for name, table in agents.items()
        if isinstance(table, dict)
    }


# What each policy level lets an agent call in a group (as `postmark_client.access` decides).
_LEVEL_ALLOWS: dict[str, tuple[str, ...]] = {
    "off": (),
    "read": ("read",),
    "write": ("write",),
    "full": ("read", "write"),
}


def _reach_label(reach: Reach) -> str:
    """`write on webhooks when it sets BounceHookUrl`, or `write on servers` (every call)."""
    text = f"{reach.access} on {reach.group}"
    return f"{text} when it sets {', '.join(reach.fields)}" if reach.fields else text


def _reaches_text(op: Operation) -> str:
    """The second groups an operation acts on, for a change's before and after."""
    return "; ".join(_reach_label(r) for r in op.reaches) or "no other grant"


def _reach(api: Api, grants: dict[str, str]) -> dict[str, str]:
    """operationId -> `group.name (read|write)` for every operation the grants reach, with the
    second groups it acts on (`; also write on webhooks when it sets X: denied`)."""

    def allows(group: str, access: str) -> bool:
        return access in _LEVEL_ALLOWS[grants.get(group, "off")]

    found = {}
    for op in api.operations:
        if not allows(op.group, op.access) or not all(
            allows(r.group, r.access) for r in op.reaches if not r.fields
        ):
            continue
        notes = [
            f"also {_reach_label(r)}: {'granted' if allows(r.group, r.access) else 'denied'}"
            for r in op.reaches
        ]
        found[op.id] = f"{op.group}.{op.name} ({'; '.join([op.access, *notes])})"
    return found


def policy_reach(report: Report, path: str) -> dict[str, dict[str, list[str]]]:
    """Which agents' reach the change alters: operations each gains or loses, and those it keeps
    whose access changes (`old -> new`: another access, or a second group they act on)."""
    result: dict[str, dict[str, list[str]]] = {}
    for agent, grants in _policy_grants(path).items():
        old, new = _reach(report.old.api, grants), _reach(report.new.api, grants)
        gained = [new[k] for k in new if k not in old]
        lost = [old[k] for k in old if k not in new]
        changed = [f"{old[k]} -> {new[k]}" for k in new if k in old and old[k] != new[k]]
        if gained or lost or changed:
            result[agent] = {"gains": gained, "loses": lost, "changes": changed}
    return result


def format_reach(reach: dict[str, dict[str, list[str]]], path: str) -> str:
    lines = [f"\nAgents' reach (policy {path}):"]
    if not reach:
        lines.append("            no agent's reach changes")
    for agent, change in reach.items():
        for verb, key in (("gains", "gains"), ("loses", "loses"), ("now has", "changes")):
            for item in change[key]:
                lines.append(f"            {agent} {verb} {item}")
    return "\n".join(lines) + "\n"


def run(args: argparse.Namespace) -> int:
    try:
        report = diff(args.old, args.new, args.spec)
        reach = policy_reach(report, args.policy) if args.policy else None
    except DiffError as exc:
        print(f"postmark-codegen diff: {exc}", file=sys.stderr)
        return EXIT_FAILED
    if reach is not None and args.format == "json":
        data = json.loads(format_json(report))
        data["policy_reach"] = reach
        sys.stdout.write(json.dumps(data, indent=2) + "\n")
    else:
        sys.stdout.write(FORMATTERS[args.format](report))
        if reach is not None:
            sys.stdout.write(format_reach(reach, args.policy))
    if args.fail_on_breaking and report.breaking:
        print(f"{len(report.breaking)} breaking change(s)", file=sys.stderr)
        return EXIT_BREAKING
    return EXIT_OK


__all__ = [
    "KINDS",
    "Change",
    "DiffError",
    "Report",
    "Side",
    "add_arguments",
    "diff",
    "diff_apis",
    "load_side",
    "policy_reach",
    "run",
]
