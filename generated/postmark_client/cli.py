# Copied by postmark-codegen from templates/static/postmark_client/cli.py;
# edit it there and regenerate, not here.
"""The `postmark` command: every operation of the API as `postmark <group> <action>`.

    postmark email send --from a@example.com --to b@example.com --subject Hi --text-body Hello
    postmark bounces list --count 50 --type HardBounce --output table
    postmark messages search-outbound --recipient b@example.com --all
    postmark servers create --name Staging
    postmark webhooks listen --port 8080 --user hooks --password s3cret

The commands are built at run time from the operation table (`_operations.OPERATIONS`, generated
from the spec), so an operation added to the spec is a command after regenerating. Options are
the operation's path, query and top-level body fields in kebab-case; a body can also come whole
from `--json` (text, `@file.json`, or `-` for stdin) with the flags overriding its fields. Each
command calls the client's own method, so the client's checks run before anything is sent.

Exit codes: 0 success; 1 Postmark answered with an error (or could not be reached); 2 usage
error, including a request the client refused as invalid; 3 a batch in which some messages
failed. Tokens are read from options or the environment and never printed.
"""

from __future__ import annotations

import argparse
import copy
import difflib
import importlib
import inspect
import json
import logging
import os
import re
import sys
import textwrap
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from functools import partial
from typing import IO, TYPE_CHECKING, Any, Final, Literal

from ._cli_agents import AgentUsageError, add_agent_options, agent_access
from ._meta import Operation, Param, ParamType
from ._operations import OPERATIONS
from ._spec import (
    API_VERSION,
    BASE_URL_ENV,
    CLIENT_CLASSES,
    DEFAULT_BASE_URL,
    GROUPS,
    TOKEN_ENV_VARS,
    TOKEN_HEADERS,
    VERSION,
)
from .batch import BatchResult
from .errors import (
    APIConnectionError,
    APIError,
    BatchFailedError,
    PostmarkError,
    RequestValidationError,
    UnreachableResultsError,
)
from .pagination import SyncPage

if TYPE_CHECKING:
    import httpx

    _SubParsersBase = argparse._SubParsersAction[argparse.ArgumentParser]
else:
    _SubParsersBase = argparse._SubParsersAction  # not subscriptable at run time

__all__ = ["build_parser", "main"]

PROG: Final = "postmark"
EXIT_OK: Final = 0
EXIT_API_ERROR: Final = 1
EXIT_USAGE: Final = 2
EXIT_BATCH_FAILED: Final = 3


# ---- commands beyond the operations ----------------------------------------------------------


@dataclass(frozen=True)
class Command:
    """A `postmark <group> <name>` command that is not an API operation (`webhooks listen`).

    `configure` adds its options to its parser; `run` gets the parsed arguments and returns the
    exit code (raise UsageError for a bad command line). A command named "" is the group itself
    (`postmark audit`); the group's other commands are then its optional actions.
    """

    group: str
    group_help: str
    name: str
    help: str
    description: str
    configure: Callable[[argparse.ArgumentParser], None]
    run: Callable[[argparse.Namespace], int]


COMMAND_MODULES: Final[dict[str, str]] = {
    "webhooks": "._webhook_listen",
    "access": "._cli_access",
    "audit": "._cli_access",
}
"""Group -> the module of this package holding its extra commands in `COMMANDS`, a tuple of
`Command` listed after the group's operations: every command that is not an API operation. The
module of an operation group is imported only when its group is on the command line, so a new
module's commands are one line here."""


def _extra_commands(group: str) -> tuple[Command, ...]:
    module = COMMAND_MODULES.get(group)
    if module is None:
        return ()
    commands: tuple[Command, ...] = importlib.import_module(module, __package__).COMMANDS
    return tuple(command for command in commands if command.group == group)


# ---- errors the command reports itself --------------------------------------------------------


class UsageError(Exception):
    """A command line that cannot become a request; reported with exit code 2."""


class _DryRunStop(Exception):
    """Raised by the dry-run transport with the request the client was about to send."""

    def __init__(self, request: httpx.Request) -> None:
        super().__init__("dry run")
        self.request = request


def _stop_dry_run(request: httpx.Request) -> httpx.Response:
    """The dry-run transport's handler: captures the first request and aborts it (the client has
    checked and built it by then)."""
    raise _DryRunStop(request)


# ---- building the parser ------------------------------------------------------------------


def kebab(name: str) -> str:
    """`search_outbound` -> `search-outbound`, `from_` -> `from`."""
    return name.strip("_").replace("_", "-")


@dataclass(frozen=True, slots=True)
class _Option:
    """One option of an operation's command and where its value goes."""

    flag: str
    dest: str
    source: Literal["path", "query", "body"]
    wire: str
    python: str
    required: bool


# The on/off options of every command: their flags and their help.
_SWITCHES: Final = (
    (("--compact",), "one-line JSON (the default when the output is not a terminal)"),
    (
        ("--verbose", "-v"),
        "log each HTTP call (method, path, status, duration, request id) on stderr",
    ),
    (
        ("--show-tokens",),
        "print API tokens found in answers (a server's ApiTokens); hidden by default",
    ),
    (
        ("--dry-run",),
        "check and print the HTTP request (token redacted) instead of sending it (of a batch, its first call)",
    ),
)


_GLOBAL_FLAGS: Final = frozenset(
    {
        "--server-token",
        "--account-token",
        "--base-url",
        "--output",
        *(flags[0] for flags, _ in _SWITCHES),
        "--json",
        "--all",
        "--help",
        "--version",
    }
)


def _add_global_options(parser: argparse.ArgumentParser, *, on_command: bool) -> None:
    """Connection and output options, accepted before or after the command.

    On commands they default to SUPPRESS, so that an option given before the command is not
    overwritten by the command's own (absent) default.
    """

    def default(value: Any) -> Any:
        return argparse.SUPPRESS if on_command else value

    options = parser.add_argument_group("connection and output")
    for kind, env in TOKEN_ENV_VARS.items():
        options.add_argument(
            f"--{kind}-token",
            dest=f"{kind}_token",
            metavar="TOKEN",
            default=default(None),
            help=f"the {kind} API token (default: ${env}); never printed",
        )
    options.add_argument(
        "--base-url",
        metavar="URL",
        default=default(None),
        help=f"the API's address (default: ${BASE_URL_ENV}, else Postmark's)",
    )
    options.add_argument(
        "--output",
        "-o",
        choices=("json", "table"),
        default=default("json"),
        help="json (default), or a table for lists",
    )
    for flags, help_text in _SWITCHES:
        options.add_argument(*flags, action="store_true", default=default(False), help=help_text)
    add_agent_options(options, default)


def _integer(text: str) -> int:
    try:
        return int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected an integer, got {text!r}") from None


def _number(text: str) -> float:
    try:
        return float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number, got {text!r}") from None


_TRUE: Final = frozenset({"true", "yes", "1", "on"})
_FALSE: Final = frozenset({"false", "no", "0", "off"})


def _boolean(text: str) -> bool:
    lowered = text.strip().lower()
    if lowered in _TRUE:
        return True
    if lowered in _FALSE:
        return False
    raise argparse.ArgumentTypeError(f"expected true or false, got {text!r}")


def _json_value(text: str) -> Any:
    try:
        return json.loads(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(f"expected JSON ({exc})") from None


def _key_value(text: str) -> dict[str, str]:
    """`key=value` as the one-entry mapping of an object sent as `<prefix><key>=<value>`."""
    key, equals, value = text.partition("=")
    if not equals or not key.strip():
        raise argparse.ArgumentTypeError(f"expected KEY=VALUE, got {text!r}")
    return {key.strip(): value}


_ARG_TYPES: Final[dict[ParamType, Callable[[str], Any]]] = {
    "string": str,
    "integer": _integer,
    "number": _number,
    "boolean": _boolean,
    "array": _json_value,
    "object": _json_value,
}
_METAVARS: Final[dict[ParamType, str]] = {
    "integer": "N",
    "number": "X",
    "boolean": "true|false",
    "array": "JSON",
    "object": "JSON",
}


def _flag_for(python: str, source: str, taken: set[str]) -> str:
    flag = "--" + kebab(python)
    if flag in taken:
        # A field named like a global option (`--output`) keeps working under its source's prefix.
        flag = f"--{source}-{kebab(python)}"
    if flag in taken:
        raise RuntimeError(f"two options of one command are both named {flag}")
    taken.add(flag)
    return flag


def _help_text(description: str, *notes: str) -> str:
    text = " ".join(description.split())
    extra = ", ".join(note for note in notes if note)
    if extra:
        text = f"{text} [{extra}]" if text else f"[{extra}]"
    return text.replace("%", "%%")


def _add_option(
    parser: argparse._ActionsContainer,
    taken: set[str],
    item: Param | _BodyField,
    *,
    source: Literal["path", "query", "body"],
    required: bool,
    default: object = None,
    prefix: str | None = None,
) -> _Option:
    """The option of a parameter or a body field; `taken` gathers the flags already used."""
    wire, python, kind, enum = item.wire, item.python, item.type, item.enum
    description = item.description
    flag = _flag_for(python, source, taken)
    dest = f"{source}__{python}"
    notes = []
    if source == "body" or wire != python:
        notes.append(wire)
    if required and default is None:
        notes.append("required")
    if default is not None:
        notes.append(f"default {default}")
    settings: dict[str, Any] = {
        "dest": dest,
        "default": None,
        "type": _ARG_TYPES.get(kind, str),
        "help": _help_text(description, *notes),
    }
    if prefix is not None:
        settings.update(type=_key_value, metavar="KEY=VALUE")
    elif kind == "boolean":
        settings.update(nargs="?", const=True, metavar="true|false")
    elif enum and kind == "string":
        settings["choices"] = enum
    else:
        settings["metavar"] = _METAVARS.get(kind, kebab(python).upper())
    # Body fields may come from --json instead, so only path and query values are required here;
    # the usage line still shows a required body field as required (see _OperationFormatter).
    action = parser.add_argument(flag, required=required and source != "body", **settings)
    action.body_required = required and source == "body"  # type: ignore[attr-defined]
    return _Option(flag, dest, source, wire, python, required)


class _OperationFormatter(argparse.RawDescriptionHelpFormatter):
    """Shows the body fields the spec requires without brackets in the usage line: they are
    required (unless --json holds them), though argparse is not asked to enforce them."""

    def _format_usage(
        self,
        usage: str | None,
        actions: Iterable[argparse.Action],
        groups: Iterable[argparse._MutuallyExclusiveGroup],
        prefix: str | None,
    ) -> str:
        shown = []
        for action in actions:
            if getattr(action, "body_required", False):
                action = copy.copy(action)
                action.required = True
            shown.append(action)
        return super()._format_usage(usage, shown, groups, prefix)


def _add_operation_options(parser: argparse.ArgumentParser, op: Operation) -> list[_Option]:
    taken = set(_GLOBAL_FLAGS)
    options: list[_Option] = []
    fields = parser.add_argument_group("parameters")
    for param in (*op.path_params, *op.query_params):
        options.append(
            _add_option(
                fields,
                taken,
                param,
                source=param.location,
                required=param.required and param.default is None,
                default=param.default,
                prefix=param.prefix,
            )
        )
    body = parser.add_argument_group("body fields (override the same fields of --json)")
    for body_field in _body_fields(op):
        options.append(
            _add_option(body, taken, body_field, source="body", required=body_field.required)
        )
    if op.body_schema is not None:
        what = "the messages: an array, or an object with them in " if _is_batch(op) else "the body"
        field_note = repr(op.messages_field or "Messages") if _is_batch(op) else ""
        body.add_argument(
            "--json",
            metavar="JSON|@FILE|-",
            help=f"{what}{field_note} as JSON text, @file.json, or - to read stdin",
        )
    if op.paging is not None:
        parser.add_argument(
            "--all",
            action="store_true",
            help="fetch every page (progress on stderr) and print all items",
        )
    return options


@dataclass(frozen=True, slots=True)
class _BodyField:
    """A top-level field of an object request body: a `--kebab-case` flag."""

    wire: str
    python: str
    type: ParamType
    required: bool
    enum: tuple[str, ...] | None
    description: str


def _body_fields(op: Operation) -> list[_BodyField]:
    """The fields of the operation's object body, read from the package's one encoding of the
    request schemas (`_schemas`); none for an array body (a batch takes --json)."""
    from ._schemas import PYTHON_NAMES, SCHEMAS

    names = PYTHON_NAMES.get(op.body_schema or "")
    if names is None:
        return []
    schema = SCHEMAS[op.body_schema or ""]
    required = set(schema.get("required", ()))
    return [
        _BodyField(
            wire=wire,
            python=names[wire],
            type=field.get("type", "object"),  # a nested model: `$ref` (or `anyOf` with null)
            required=wire in required,
            enum=tuple(field["enum"]) if "enum" in field else None,
            description=field.get("description", ""),
        )
        for wire, field in schema["properties"].items()
    ]


def _is_batch(op: Operation) -> bool:
    return op.batch or op.body_is_array


def _describe(op: Operation) -> str:
    """The command's --help text: the spec's words, the token, read or write, limits."""
    token_env = TOKEN_ENV_VARS[op.token]
    lines = [op.summary, ""]
    if op.description:
        lines += [textwrap.fill(" ".join(op.description.split()), 88), ""]
    access = (
        "read (changes nothing)"
        if op.access == "read"
        else "write (sends e-mail or changes data on Postmark)"
    )
    lines += [
        f"request: {op.method} {op.path}",
        (
            f"token:   {op.token} token, sent as {TOKEN_HEADERS[op.token]} "
            f"(--{op.token}-token or ${token_env})"
        ),
        f"access:  {access}",
    ]
    if op.paging is not None:
        paging = op.paging
        lines.append(
            f"paging:  up to {paging.max_count} items per page ({paging.count}/{paging.offset}); "
            f"the first {paging.max_reachable:,} results are reachable; --all fetches every page"
        )
    for limit in op.limits:
        where = f" ({limit.field})" if limit.field else ""
        text = limit.description or f"{limit.name}: at most {limit.max} {limit.unit}"
        lines.append(f"limit:   {text}{where}")
    if op.webhook_event:
        lines.append(f"webhook: triggers the {op.webhook_event} webhook")
    if _is_batch(op):
        lines.append(
            "body:    --json with the messages; each is checked before any is sent, and the "
            "batch is split by Postmark's limits (exit 3 if any message fails)"
        )
    elif op.body_schema is not None:
        lines.append(
            "body:    the flags below, or --json '{...}' / @file.json / - (flags win over --json)"
        )
    return "\n".join(lines).replace("%", "%%")


class _Subcommands(_SubParsersBase):
    """Subcommands whose parsers are filled in only when the command line chooses them, so that
    `postmark email send` builds the options of one operation, not of all 85; `--help` at each
    level still lists every choice (their names and help are added up front)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fillers: dict[str, list[Callable[[argparse.ArgumentParser], None]]] = {}

    def add_lazy(
        self, name: str, fill: Callable[[argparse.ArgumentParser], None], **settings: Any
    ) -> None:
        """A choice whose parser `fill` completes when it is chosen (one name may get several)."""
        if name not in self._name_parser_map:
            self.add_parser(name, **settings)
        self.fillers.setdefault(name, []).append(fill)

    def __call__(
        self,
        parser: argparse.ArgumentParser,
        namespace: argparse.Namespace,
        values: str | Sequence[Any] | None,
        option_string: str | None = None,
    ) -> None:
        assert isinstance(values, list)  # argparse passes [choice, *its arguments]
        chosen = self._name_parser_map[values[0]]
        for fill in self.fillers.pop(values[0], ()):
            fill(chosen)
        super().__call__(parser, namespace, values, option_string)


def _subcommands(
    parser: argparse.ArgumentParser, dest: str, metavar: str, *, required: bool = True
) -> _Subcommands:
    title = f"{dest}s"
    made = parser.add_subparsers(
        dest=dest, metavar=metavar, title=title, required=required, action=_Subcommands
    )
    assert isinstance(made, _Subcommands)
    return made


def _fill_group(group: str, parser: argparse.ArgumentParser) -> None:
    """A group's actions: its operations in the table's order, then its extra commands (the
    group's own command, named "", makes them optional)."""
    extras = _extra_commands(group)
    own = [extra for extra in extras if not extra.name]
    for extra in own:
        _fill_command(extra, parser)
    actions = _subcommands(parser, "action", "<action>", required=not own)
    for op in OPERATIONS.values():
        if kebab(op.group) == group:
            actions.add_lazy(
                kebab(op.name),
                partial(_fill_operation, op),
                help=op.summary.replace("%", "%%"),
                formatter_class=_OperationFormatter,
            )
    for extra in extras:
        if extra.name:
            actions.add_lazy(extra.name, partial(_fill_command, extra), help=extra.help)


def _fill_operation(op: Operation, command: argparse.ArgumentParser) -> None:
    command.description = _describe(op)
    options = _add_operation_options(command, op)
    _add_global_options(command, on_command=True)
    command.set_defaults(run=partial(_run_operation, op, options), command=command)


def _fill_command(extra: Command, command: argparse.ArgumentParser) -> None:
    command.description = extra.description
    extra.configure(command)
    command.set_defaults(run=extra.run, command=command)


def build_parser() -> argparse.ArgumentParser:
    """The command tree, read from the operation table: the groups up front, a group's actions
    and an action's options when the command line chooses them."""
    parser = argparse.ArgumentParser(
        prog=PROG,
        description=(
            "Postmark's API from the command line: every operation as "
            "`postmark <group> <action>`. Run `postmark <group> <action> --help` for its options."
        ),
        epilog=(
            "exit codes: 0 success, 1 API error, 2 usage error (including an invalid request), "
            "3 some messages of a batch failed"
        ),
    )
    parser.add_argument(
        "--version",
        action="version",
        version=f"{PROG} {VERSION} (Postmark API {API_VERSION})",
    )
    _add_global_options(parser, on_command=False)
    groups = _subcommands(parser, "group", "<group>")
    # Every group of the table in its order; a group with only extra commands comes after them,
    # with the help its commands give.
    names: dict[str, str] = {}
    for op in OPERATIONS.values():
        names.setdefault(kebab(op.group), GROUPS.get(op.group, op.group))
    for group in COMMAND_MODULES:
        if group not in names:
            names[group] = _extra_commands(group)[0].group_help
    for group, help_text in names.items():
        groups.add_lazy(group, partial(_fill_group, group), help=help_text, description=help_text)
    return parser


# ---- turning options into a call ------------------------------------------------------------


def _read_json_option(value: str) -> Any:
    """`--json` as text, `@path`, or `-` (stdin)."""
    if value == "-":
        text, where = sys.stdin.read(), "stdin"
    elif value.startswith("@"):
        path = value[1:]
        try:
            with open(path, encoding="utf-8") as handle:
                text = handle.read()
        except OSError as exc:
            raise UsageError(f"--json: cannot read {path}: {exc.strerror or exc}") from None
        where = path
    else:
        text, where = value, "--json"
    try:
        return json.loads(text)
    except ValueError as exc:
        raise UsageError(f"--json: {where} is not valid JSON: {exc}") from None


def _flag_of(options: Sequence[_Option], wire: str) -> str:
    return next((option.flag for option in options if option.wire == wire), wire)


def _read_model(
    reader: Callable[[Mapping[str, Any]], Any], data: Mapping[str, Any], where: str
) -> Any:
    """A request model from wire data; unknown fields are refused (requests are strict)."""
    try:
        model = reader(data)
    except (TypeError, ValueError, KeyError, AttributeError) as exc:
        raise UsageError(f"{where}: {type(exc).__name__}: {exc}") from None
    extra = getattr(model, "extra", None)
    if extra:
        names = ", ".join(sorted(extra))
        raise UsageError(f"{where}: unknown field(s) {names}")
    return model


def _body_data(op: Operation, options: Sequence[_Option], args: argparse.Namespace) -> Any:
    """--json, then the body flags on top."""
    raw = getattr(args, "json", None)
    data = _read_json_option(raw) if raw is not None else None
    given = {
        option.wire: getattr(args, option.dest)
        for option in options
        if option.source == "body" and getattr(args, option.dest, None) is not None
    }
    if not given:
        return data
    if data is None:
        data = {}
    if not isinstance(data, dict):
        raise UsageError(
            f"--json: expected a JSON object to combine with {', '.join(sorted(given))}, "
            f"got a JSON {type(data).__name__}"
        )
    return {**data, **given}


def _body_arguments(
    op: Operation, options: Sequence[_Option], args: argparse.Namespace
) -> dict[str, Any]:
    data = _body_data(op, options, args)
    if _is_batch(op):
        return {"messages": _messages(op, data)}
    if data is None:
        data = {}
    if not isinstance(data, dict):
        raise UsageError(f"--json: the body is a JSON object, got a JSON {type(data).__name__}")
    fields = _body_fields(op)
    for body_field in fields:
        if body_field.required and data.get(body_field.wire) is None:
            flag = _flag_of(options, body_field.wire)
            raise UsageError(f"{flag} is required (the body field {body_field.wire})")
    model = _read_model(_model_reader(op.body_schema), data, "--json")
    return {
        body_field.python: getattr(model, body_field.python)
        for body_field in fields
        if body_field.wire in data
    }


def _model_reader(schema: str | None) -> Callable[[Mapping[str, Any]], Any]:
    """`from_dict` of the request model the operation table names (`models.SendEmailRequest`)."""
    from . import models  # the request models load only for a command that reads a body

    model = getattr(models, schema or "", None)
    if model is None:
        raise UsageError(f"this package has no request model {schema!r} to read the body into")
    reader: Callable[[Mapping[str, Any]], Any] = model.from_dict
    return reader


def _messages(op: Operation, data: Any) -> list[Any]:
    """The messages of a batch: an array, or an object holding them (`{"Messages": [...]}`)."""
    key = op.messages_field or "Messages"
    if isinstance(data, dict):
        unknown = sorted(set(data) - {key})
        if unknown:
            raise UsageError(f"--json: unknown field(s) {', '.join(unknown)} (expected {key})")
        data = data.get(key)
    if data is None:
        raise UsageError(
            f"--json is required: the messages to send (an array, or an object with {key!r}: [...])"
        )
    if not isinstance(data, list):
        raise UsageError(f"--json: the messages are a JSON array, got a JSON {type(data).__name__}")
    reader = _model_reader(op.body_item_schema)
    messages = []
    for index, item in enumerate(data):
        if not isinstance(item, dict):
            raise UsageError(
                f"messages[{index}]: a message is a JSON object, got {type(item).__name__}"
            )
        messages.append(_read_model(reader, item, f"messages[{index}]"))
    return messages


def _option_label(options: Sequence[_Option], field: str) -> str:
    """The client names a field by its Python or wire name; a CLI user knows the flag."""
    name = field.split(" ", 1)[0]
    for option in options:
        if name in (option.python, option.wire):
            return f"{option.flag} ({option.wire})"
    return field


def _call(method: Callable[..., Any], arguments: dict[str, Any]) -> Any:
    """Call a resource method, passing positional-only parameters by position."""
    positional = [
        arguments.pop(name)
        for name, parameter in inspect.signature(method).parameters.items()
        if parameter.kind is inspect.Parameter.POSITIONAL_ONLY and name in arguments
    ]
    return method(*positional, **arguments)


def _token(op: Operation, args: argparse.Namespace) -> str | None:
    token: str | None = getattr(args, f"{op.token}_token", None) or os.environ.get(
        TOKEN_ENV_VARS[op.token]
    )
    return token or None


_NO_TOKEN: Final = "dry-run-without-a-token"


def _client(op: Operation, args: argparse.Namespace) -> Any:
    token = _token(op, args)
    if token is None:
        if not args.dry_run:
            raise UsageError(
                f"this command needs a {op.token} token: pass --{op.token}-token or set "
                f"${TOKEN_ENV_VARS[op.token]}"
            )
        token = _NO_TOKEN
    options: dict[str, Any] = {
        "token": token,
        "base_url": args.base_url or os.environ.get(BASE_URL_ENV) or None,
    }
    # The client and httpx load only for a command that runs (not for --help).
    import httpx

    from . import client as clients

    if args.dry_run:
        options["transport"] = httpx.MockTransport(_stop_dry_run)
    try:
        options["access"] = agent_access(args)
        client_class: Callable[..., Any] = getattr(clients, CLIENT_CLASSES[op.token])
        return client_class(**options)
    except (TypeError, ValueError, AgentUsageError) as exc:
        raise UsageError(str(exc)) from None


# ---- output ---------------------------------------------------------------------------------


def _json_default(value: Any) -> Any:
    if isinstance(value, (datetime, date)):
        return value.isoformat()
    to_dict = getattr(value, "to_dict", None)
    if to_dict is not None:
        return to_dict()
    raise TypeError(f"{type(value).__name__} is not JSON serializable")


# Answers carry server tokens (`Server.ApiTokens`); they are printed only on request, so that a
# listing on a shared screen or in a CI log does not leak them.
_TOKEN_FIELD: Final = re.compile(r"Tokens?$")
_HIDDEN: Final = "<hidden: use --show-tokens>"


def hide_tokens(data: Any) -> Any:
    """`data` with the values of token fields (`ApiTokens`, `...Token`) replaced."""
    if isinstance(data, dict):
        return {
            key: _HIDDEN if _TOKEN_FIELD.search(key) and value else hide_tokens(value)
            for key, value in data.items()
        }
    if isinstance(data, list):
        return [hide_tokens(item) for item in data]
    return data


def jsonable(value: Any) -> Any:
    """Models, lists and dicts of them, as JSON-ready data with Postmark's field names."""
    to_dict = getattr(value, "to_dict", None)
    if to_dict is not None:
        return to_dict()
    if isinstance(value, (list, tuple)):
        return [jsonable(item) for item in value]
    if isinstance(value, dict):
        return {key: jsonable(item) for key, item in value.items()}
    return value


class _Printer:
    """Writes results as JSON (indented on a terminal) or as a table."""

    def __init__(self, args: argparse.Namespace, stream: IO[str]) -> None:
        self.stream = stream
        self.table = getattr(args, "output", "json") == "table"
        compact = getattr(args, "compact", False) or not stream.isatty()
        self.indent = None if compact else 2
        self.show_tokens = getattr(args, "show_tokens", False)

    def prepare(self, value: Any) -> Any:
        data = jsonable(value)
        return data if self.show_tokens else hide_tokens(data)

    def dumps(self, data: Any) -> str:
        separators = (",", ":") if self.indent is None else (",", ": ")
        return json.dumps(
            data,
            indent=self.indent,
            separators=separators,
            ensure_ascii=False,
            default=_json_default,
        )

    def show(self, value: Any) -> None:
        data = self.prepare(value)
        if self.table:
            self.stream.write(render_table(data))
        else:
            self.stream.write(self.dumps(data) + "\n")
        self.stream.flush()

    def show_stream(self, items: Iterable[Any]) -> None:
        """Print items as one JSON array (or one table) without holding them all as JSON."""
        if self.table:
            self.show([self.prepare(item) for item in items])
            return
        self.stream.write("[")
        for index, item in enumerate(items):
            separator = "," if index else ""
            text = self.dumps(self.prepare(item))
            if self.indent is not None:
                text = "\n" + textwrap.indent(text, " " * self.indent)
            self.stream.write(separator + text)
        self.stream.write("\n]\n" if self.indent is not None else "]\n")
        self.stream.flush()


_CELL_WIDTH: Final = 40


def _cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        text = "true" if value else "false"
    elif isinstance(value, (dict, list)):
        text = json.dumps(value, ensure_ascii=False, separators=(",", ":"), default=_json_default)
    else:
        text = str(value)
    text = " ".join(text.split())
    return text if len(text) <= _CELL_WIDTH else text[: _CELL_WIDTH - 1] + "…"


def _table_rows(data: Any) -> list[dict[str, Any]] | None:
    """The rows of a list result: the list itself, or the one list of objects in a response."""
    if isinstance(data, list) and all(isinstance(row, dict) for row in data):
        return data
    if isinstance(data, dict):
        lists = [
            value
            for value in data.values()
            if isinstance(value, list) and value and all(isinstance(row, dict) for row in value)
        ]
        if len(lists) == 1:
            return lists[0]
        empty = [value for value in data.values() if isinstance(value, list)]
        if not lists and len(empty) == 1:
            return []
    return None


def render_table(data: Any) -> str:
    """A plain-text table: a row per item and a column per scalar field; key/value otherwise."""
    rows = _table_rows(data)
    if rows is None:
        if not isinstance(data, dict):
            return _cell(data) + "\n"
        rows = [{"Field": key, "Value": value} for key, value in data.items()]
    if not rows:
        return "(no items)\n"
    columns: list[str] = []
    for row in rows:
        for key, value in row.items():
            if key not in columns and not isinstance(value, (dict, list)):
                columns.append(key)
    if not columns:
        columns = list(rows[0])
    cells = [[_cell(row.get(column)) for column in columns] for row in rows]
    widths = [
        max(len(column), *(len(line[i]) for line in cells)) for i, column in enumerate(columns)
    ]
    lines = ["  ".join(column.ljust(widths[i]) for i, column in enumerate(columns)).rstrip()]
    lines.append("  ".join("-" * width for width in widths))
    for line in cells:
        lines.append("  ".join(text.ljust(widths[i]) for i, text in enumerate(line)).rstrip())
    return "\n".join(lines) + "\n"


def _batch_rows(result: BatchResult[Any]) -> list[dict[str, Any]]:
    """One entry per message, in order: Postmark's answer, or what went wrong."""
    rows: list[dict[str, Any]] = []
    for outcome in result:
        row: dict[str, Any] = {"Index": outcome.index, "Status": outcome.status}
        if outcome.result is not None:
            row.update(jsonable(outcome.result))
        else:
            row["ErrorCode"] = outcome.error_code or None  # never "0 (Success)" on a failure
            row["Message"] = outcome.error_message
        rows.append(row)
    return rows


def _report_batch(result: BatchResult[Any], printer: _Printer) -> int:
    printer.show(_batch_rows(result))
    failed = result.failed
    if not failed:
        return EXIT_OK
    _error(f"{len(failed)} of {len(result)} messages failed:")
    for outcome in failed[:20]:
        _error(f"  {outcome.describe()}")
    if len(failed) > 20:
        _error(f"  ... and {len(failed) - 20} more (see the output)")
    return EXIT_BATCH_FAILED


class _AllPages:
    """Every item from a first page on, a progress line per page on stderr.

    At Postmark's cap (10,000 results per search) the walk ends after the last reachable item
    and keeps the UnreachableResultsError in `unreachable`, so that the items printed so far
    still form valid JSON before the command reports the rest as unreachable.
    """

    def __init__(self, page: SyncPage[Any], label: str) -> None:
        self.page = page
        self.label = label
        self.unreachable: UnreachableResultsError | None = None

    def __iter__(self) -> Iterator[Any]:
        page = self.page
        fetched = 0
        tty = sys.stderr.isatty()
        while True:
            fetched += len(page.items)
            end = "\r" if tty else "\n"
            sys.stderr.write(
                f"{PROG}: {self.label}: fetched {fetched:,} of {page.total_count:,}{end}"
            )
            sys.stderr.flush()
            yield from page.items
            if not page.has_next_page():
                break
            following = page.next_page()
            if following is None:
                break
            page = following
        if tty:
            sys.stderr.write("\n")
        self.unreachable = page.unreachable_error()


def _print_request(request: httpx.Request, printer: _Printer, token_given: bool) -> None:
    secret = {header.lower() for header in TOKEN_HEADERS.values()} | {"authorization"}
    headers: dict[str, str] = {}
    for raw_name, raw_value in request.headers.raw:
        name = raw_name.decode("latin-1")
        value = raw_value.decode("latin-1")
        if name.lower() in secret:
            value = "<redacted>" if token_given else "<no token given>"
        headers[name] = value
    body: Any = None
    if request.content:
        try:
            body = json.loads(request.content)
        except ValueError:
            body = request.content.decode("utf-8", "replace")
    # Always JSON (a request is not a list to tabulate), and the token headers are redacted above.
    printer.table = False
    printer.show_tokens = True
    printer.show(
        {"method": request.method, "url": str(request.url), "headers": headers, "body": body}
    )


# ---- running --------------------------------------------------------------------------------


def _error(message: str) -> None:
    sys.stderr.write(f"{PROG}: {message}\n")
    sys.stderr.flush()


def _api_error(exc: APIError) -> None:
    name = exc.error_info.name if exc.error_info else None
    code = (
        f"{exc.error_code}" + (f" ({name})" if name else "") if exc.error_code is not None else "-"
    )
    _error(f"API error: HTTP {exc.status_code}")
    sys.stderr.write(f"ErrorCode: {code}\nMessage: {exc.message}\n")
    if exc.request_id:
        sys.stderr.write(f"RequestID: {exc.request_id}\n")
    sys.stderr.flush()


def _run_operation(op: Operation, options: Sequence[_Option], args: argparse.Namespace) -> int:
    printer = _Printer(args, sys.stdout)
    label = f"{kebab(op.group)} {kebab(op.name)}"
    arguments = {
        option.python: getattr(args, option.dest)
        for option in options
        if option.source != "body" and getattr(args, option.dest, None) is not None
    }
    if op.body_schema is not None:
        arguments.update(_body_arguments(op, options, args))
    client = _client(op, args)
    try:
        method = getattr(getattr(client, op.group), op.name)
        try:
            result = _call(method, arguments)
        except RequestValidationError as exc:
            raise RequestValidationError(_option_label(options, exc.field), exc.message) from None
        except _DryRunStop as stop:
            _print_request(stop.request, printer, _token(op, args) is not None)
            return EXIT_OK
        if isinstance(result, SyncPage):
            if getattr(args, "all", False):
                walk = _AllPages(result, label)
                printer.show_stream(walk)
                if walk.unreachable is not None:
                    raise walk.unreachable
            else:
                printer.show(result.response)
            return EXIT_OK
        if isinstance(result, BatchResult):
            return _report_batch(result, printer)
        printer.show(result)
        return EXIT_OK
    except BatchFailedError as exc:
        return _report_batch(exc.result, printer)
    finally:
        client.close()


def _configure_logging(verbose: bool) -> None:
    """The client logs each call; shown with --verbose, silent otherwise (errors are reported
    by the command itself, not by Python's last-resort log handler)."""
    logger = logging.getLogger("postmark_client")
    handler: logging.Handler
    if verbose:
        handler = logging.StreamHandler(sys.stderr)
        handler.setFormatter(logging.Formatter(f"{PROG}: %(message)s"))
        logger.setLevel(logging.INFO)
    else:
        handler = logging.NullHandler()
    logger.addHandler(handler)


def _unrecognized(command: argparse.ArgumentParser, unknown: list[str]) -> str:
    """argparse's message for unknown arguments, with the closest option of the command."""
    message = f"unrecognized arguments: {' '.join(unknown)}"
    options = [o for action in command._actions for o in action.option_strings]
    for word in unknown:
        if word.startswith("--"):
            close = difflib.get_close_matches(word.split("=", 1)[0], options, n=1)
            if close:
                return f"{message} (did you mean {close[0]}?)"
    return message


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; returns the exit code."""
    parser = build_parser()
    args, unknown = parser.parse_known_args(argv)
    command: argparse.ArgumentParser = args.command
    if unknown:
        command.error(_unrecognized(command, unknown))
    _configure_logging(bool(getattr(args, "verbose", False)))
    try:
        code: int = args.run(args)
        return code
    except (UsageError, AgentUsageError) as exc:
        command.print_usage(sys.stderr)
        _error(f"error: {exc}")
        return EXIT_USAGE
    except RequestValidationError as exc:
        _error(f"error: invalid request: {exc.field}: {exc.message} (nothing was sent)")
        return EXIT_USAGE
    except UnreachableResultsError as exc:
        _error(f"error: {exc}")
        if exc.narrow_by:
            flags = ", ".join(f"--{kebab(name)}" for name in exc.narrow_by)
            _error(f"narrow the search with {flags} (for example a date range) and run it per part")
        return EXIT_API_ERROR
    except APIConnectionError as exc:
        _error(f"error: {exc}")
        if not os.environ.get(BASE_URL_ENV) and not getattr(args, "base_url", None):
            from .testing._server import DEFAULT_PORT

            _error(
                f"the call went to Postmark ({DEFAULT_BASE_URL}); to use the local fake, start "
                f"`postmark-fake` and set {BASE_URL_ENV}=http://127.0.0.1:{DEFAULT_PORT}"
                " (or pass --base-url)"
            )
        return EXIT_API_ERROR
    except APIError as exc:
        _api_error(exc)
        return EXIT_API_ERROR
    except PostmarkError as exc:
        _error(f"error: {exc}")
        return EXIT_API_ERROR
    except BrokenPipeError:
        # The reader went away (`| head`): stop quietly, without a traceback at exit.
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        return EXIT_API_ERROR
    except KeyboardInterrupt:
        return 130
