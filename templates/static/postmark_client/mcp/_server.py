"""The tools, the server around them, and the `postmark-mcp` command.

Everything comes from the operation table (`OPERATIONS`) and the generated input schemas
(`_tools.py`): a new operation in the spec is a new tool, with no code here. Every call goes
through the client core with the agent's access object, so it is checked and written to the
audit log like a call from the library or the CLI; a tool the agent was not shown is refused
the same way.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import contextvars
import json
import mimetypes
import os
import signal
import socket
import sys
import threading
from collections.abc import Callable, Mapping
from datetime import date, datetime
from pathlib import Path
from typing import Any, Final, Protocol

import jsonschema  # type: ignore[import-untyped, unused-ignore]
import mcp_types as types
from mcp import UrlElicitationRequiredError
from mcp.server import Server
from mcp_types.version import MODERN_PROTOCOL_VERSIONS

from .. import models
from .._fake_option import add_fake_option, demo_fake
from .._idempotency import IDEMPOTENCY_METADATA_KEY, is_ambiguous, send_answer
from .._meta import Operation
from .._operations import OPERATIONS
from .._sent_once import (
    NotSearchableError,
    Repeated,
    SendInProgressError,
    SendOnce,
    SentStoreError,
    Slot,
    may_have_sent,
    message_id_of,
)
from .._spec import BASE_URL_ENV, TOKEN_ENV_VARS, VERSION
from ..access import (
    AccessDeniedError,
    Agent,
    ApprovalRequiredError,
    AuditLogError,
    Policy,
    PolicyError,
)
from ..batch import BatchResult
from ..client import AsyncAccountClient, AsyncServerClient
from ..errors import (
    APIError,
    ErrorCode,
    MessageMaybeSentError,
    PostmarkError,
    RequestValidationError,
)
from ._input_schemas import IDEMPOTENCY_ARGUMENT as _IDEMPOTENCY_ARGUMENT
from ._input_schemas import batch_limit, tool_name
from ._tools import BODY_MODELS, INPUT_SCHEMAS, WIRE_NAMES

__all__ = ["PostmarkTools", "SentInMemory", "SentResults", "build_server", "main", "tool_name"]

SENDER_ENV: Final = "DEFAULT_SENDER_EMAIL"
STREAM_ENV: Final = "DEFAULT_MESSAGE_STREAM"
HTTP_PATH: Final = "/mcp"
"""Where `--http` serves the streamable HTTP endpoint."""
HTTP_COMMAND: Final = "postmark-mcp --http"
UNKNOWN_KEY: Final = "(unknown key)"
"""The agent of an audit row for a request whose bearer key no agent has (no name can be one)."""
_SENDER_FIELD: Final = "from"
_STREAM_FIELD: Final = "message_stream"

# jsonschema's words for these repeat the whole value (into the audit row too): say the limit.
_LIMITS: Final = {
    "maxLength": "must be at most {} characters",
    "minLength": "must be at least {} characters",
    "maxItems": "must hold at most {} items",
    "minItems": "must hold at least {} items",
    "maxProperties": "must hold at most {} fields",
    "pattern": "must match {!r}",
}

_current_agent: contextvars.ContextVar[str | None] = contextvars.ContextVar(
    "postmark_mcp_agent", default=None
)


_BY_NAME: Final[dict[str, Operation]] = {tool_name(op): op for op in OPERATIONS.values()}


def _argument_names(op: Operation, fields: tuple[str, ...]) -> list[str]:
    """The tool arguments (snake_case) of these body fields (wire names)."""
    names = WIRE_NAMES.get(BODY_MODELS.get(op.id) or "", {})
    by_wire = {wire: argument for argument, (wire, _) in names.items()}
    return [by_wire.get(wire, wire) for wire in fields]


def _second_groups(op: Operation, agent: Agent | None) -> list[str]:
    """One sentence per second group the operation acts on, and whether this agent may."""
    lines = []
    for reach in op.reaches:
        which = (
            f"Setting {', '.join(_argument_names(op, reach.fields))}"
            if reach.fields
            else "Every call"
        )
        line = (
            f"{which} also acts on {reach.group}: it needs {reach.access} on {reach.group} as "
            f"well as {op.access} on {op.group}."
        )
        if agent is not None and not agent.allows(reach.group, reach.access):
            level = agent.level(reach.group)
            line += f" This agent has {level} on {reach.group}: such a call is refused."
        lines.append(line)
    return lines


def _describe(op: Operation, allow_all: bool, agent: Agent | None = None) -> str:
    """What an agent reads about a tool, each fact once: the limits a field's schema carries
    (its maxItems or description) are not repeated here, nor the server token every tool but
    the account ones uses."""
    parts = [op.summary]
    if op.description:
        parts.append(op.description)
    if op.token != "server":  # which token, not its header: the agent never sends one
        parts.append(f"Needs the {op.token} token, held by the server.")
    if op.access == "read":
        parts.append("Read-only.")
    elif op.retry_safe:
        parts.append("Changes data; safe to repeat.")
    else:
        parts.append("Changes data; not safe to repeat (never retried automatically).")
    parts.extend(_second_groups(op, agent))
    if agent is not None and op.id in agent.approve:
        parts.append(
            "This agent's calls of it wait for a person's approval: the first answer names the "
            "approval page; once approved there, the identical call goes through once."
        )
    parts.extend(
        f"Limit: {limit.description}"
        for limit in op.limits
        if limit.description and limit.field is None and not batch_limit(op, limit)
    )
    if op.webhook_event:
        parts.append(f"Postmark reports the result as {op.webhook_event} webhook events.")
    if allow_all:
        parts.append("WARNING: no access policy (--allow-all).")
    return "\n".join(parts)


def _annotations(op: Operation) -> types.ToolAnnotations:
    """The hints that differ from MCP's defaults (not read-only, destructive, not idempotent,
    open world); the destructive and idempotent hints mean nothing for a read-only tool. No
    title: the description's first line is the summary."""
    if op.access == "read":
        return types.ToolAnnotations(read_only_hint=True)
    destructive = op.acts_on == "email" or op.method == "DELETE"
    return types.ToolAnnotations(
        destructive_hint=None if destructive else False, idempotent_hint=op.retry_safe or None
    )


def _jsonable(value: Any) -> Any:
    to_dict = getattr(value, "to_dict", None)
    if to_dict is not None:
        return _jsonable(to_dict())
    if isinstance(value, BatchResult):
        return {
            "results": [
                {
                    "index": outcome.index,
                    "status": outcome.status,
                    "result": _jsonable(outcome.result),
                    "error_code": outcome.error_code,
                    "error_message": outcome.error_message,
                }
                for outcome in value.outcomes
            ]
        }
    if isinstance(value, Mapping):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_jsonable(v) for v in value]
    if isinstance(value, (datetime, date)):
        return value.isoformat()
    return value


def _error(text: str) -> types.CallToolResult:
    return types.CallToolResult(content=[types.TextContent(text=text)], is_error=True)


class ToolError(Exception):
    """A call that becomes a tool error (is_error) with this text; `maybe_sent` when its
    message may have reached Postmark."""

    maybe_sent = False


class ApprovalPending(ToolError):
    """A call held for a person's approval at `url` (its held call's id: `approval_id`)."""

    def __init__(self, held: ApprovalRequiredError) -> None:
        super().__init__(
            f"waiting for approval at {held.url}: {held.reason}; nothing was sent. Once a person "
            "approves it there, make the identical call again: it goes through once"
        )
        self.url = held.url
        self.approval_id = held.approval_id


_APPROVAL_INPUT: Final = "postmark_approval"
"""The key of the approval elicitation in an InputRequiredResult."""


def _approval_answer(
    ctx: Any, params: types.CallToolRequestParams, pending: ApprovalPending
) -> types.CallToolResult | types.InputRequiredResult:
    """A held call's answer: a URL-mode elicitation of the approval page where the client
    declared it supports them (an InputRequiredResult at 2026-07-28, the -32042 error before),
    else, and on the retry after it, the tool error "waiting for approval at URL"."""
    capabilities = ctx.session.client_capabilities
    elicitation = capabilities.elicitation if capabilities is not None else None
    if elicitation is None or elicitation.url is None:
        return _error(str(pending))
    message = f"A person must approve this call before it is made: {pending}"
    if ctx.protocol_version not in MODERN_PROTOCOL_VERSIONS:
        raise UrlElicitationRequiredError(
            [
                types.ElicitRequestURLParams(
                    message=message, url=pending.url, elicitation_id=pending.approval_id
                )
            ],
            message=str(pending),
        )
    if _APPROVAL_INPUT in (getattr(params, "input_responses", None) or {}):
        return _error(str(pending))  # the page was shown; it is not approved yet
    request = types.ElicitRequest(
        params=types.ElicitRequestURLParams(message=message, url=pending.url)
    )
    return types.InputRequiredResult(input_requests={_APPROVAL_INPUT: request})


class PostmarkTools:
    """The tools of one server: listing per agent, checking arguments, calling the core."""

    def __init__(
        self,
        policy: Policy,
        *,
        tokens: Mapping[str, str | None],
        base_url: str | None = None,
        transport: Callable[[], Any] | None = None,
        default_sender: str | None = None,
        default_stream: str | None = None,
        sent: SentResults | None = None,
        agent_tokens: Mapping[str, str] | None = None,
    ) -> None:
        self.policy = policy
        self.tokens = dict(tokens)
        # The server token of each agent the policy gives a `server_token` (postmark-gateway).
        self.agent_tokens = dict(agent_tokens or {})
        self.base_url = base_url
        self.transport = transport
        self.default_sender = default_sender
        self.default_stream = default_stream
        self._clients: dict[tuple[str, str], Any] = {}
        self.sent: SentResults = sent or SentInMemory()

    # Listing --------------------------------------------------------------------------------

    def operations(self, agent: str) -> list[Operation]:
        return self.policy.operations_for(agent)

    def tools(self, agent: str) -> list[types.Tool]:
        found = self.policy.agent(agent)
        return [self.tool(op, found) for op in self.operations(agent)]

    def tool(self, op: Operation, agent: Agent | None = None) -> types.Tool:
        return types.Tool(
            name=tool_name(op),
            description=_describe(op, self.policy.allow_all, agent),
            input_schema=self._schema(op),
            annotations=_annotations(op),
        )

    def _schema(self, op: Operation) -> dict[str, Any]:
        schema = INPUT_SCHEMAS[op.id]
        defaults = self._defaults(op)
        if not defaults or "required" not in schema:
            return schema
        required = [name for name in schema["required"] if name not in defaults]
        return {**schema, "required": required}

    def _defaults(self, op: Operation) -> dict[str, str]:
        properties = INPUT_SCHEMAS[op.id].get("properties", {})
        found: dict[str, str] = {}
        if self.default_sender and _SENDER_FIELD in properties:
            found[_SENDER_FIELD] = self.default_sender
        if self.default_stream and _STREAM_FIELD in properties:
            found[_STREAM_FIELD] = self.default_stream
        return found

    # Calling --------------------------------------------------------------------------------

    async def call(self, agent: str, name: str, arguments: Mapping[str, Any] | None) -> Any:
        """The tool's structured result; ToolError for anything the agent should read."""
        op = _BY_NAME.get(name)
        if op is None:
            self._refuse(agent, name, f"unknown tool {name!r}", "denied")
            raise ToolError(f"unknown tool {name!r}")
        try:
            args = self._with_files(op, {**self._defaults(op), **dict(arguments or {})})
            self._validate(op, args)
            self._client(agent, op)
        except ToolError as exc:
            self._refuse(agent, op, str(exc), "invalid")
            raise
        key = args.pop(_IDEMPOTENCY_ARGUMENT, None)
        if key is None:
            return await self._call(agent, op, args, None)
        try:
            return await self.sent.once(
                (agent, op.id, str(key)),
                lambda retry: self._call(agent, op, args, str(key), retry),
                lambda result: self._repeated(agent, op, result),
            )
        except (SendInProgressError, SentStoreError) as exc:
            raise ToolError(str(exc)) from None

    def _repeated(self, agent: str, op: Operation, result: Any) -> None:
        """Record a call answered with its key's first result: checked by grant (the message
        was checked when it was sent) and written as reconciled, without sending."""
        token = self._token(agent, op) or ""
        label = f"{op.token} token \u2026{token[-4:]}" if token else ""
        try:
            self.policy.access(agent).begin(op, None, None, None, label).reconciled(
                message_id_of(result)
            )
            log = self.policy.log
            if log is not None:
                log.flush()
        except AuditLogError as exc:
            raise ToolError(str(exc)) from None
        except AccessDeniedError as exc:
            raise ToolError(f"access denied: {exc}") from None

    async def _call(
        self, agent: str, op: Operation, args: dict[str, Any], key: str | None, retry: bool = False
    ) -> Any:
        client = self._client(agent, op)
        if retry and key is not None and op.reconcile_with is None:
            self._unsearchable(agent, op, key)
        try:
            if retry and key is not None and op.reconcile_with and not op.batch:
                # An earlier call with this key failed, maybe after Postmark took the message.
                found = await client.reconcile(op.reconcile_with, key, cast_to=lambda d: d)
                if found is not None:
                    answer = send_answer({"To": args.get("to")}, found)
                    return _jsonable(_cast(op.response_schema)(answer))
            result = await self._send(client, op, args, key, retry)
        except AuditLogError as exc:
            raise ToolError(str(exc)) from None
        except ApprovalRequiredError as exc:
            raise ApprovalPending(exc) from None
        except AccessDeniedError as exc:
            raise ToolError(f"access denied: {exc}") from None
        except RequestValidationError as exc:
            raise ToolError(
                f"invalid argument {exc.field}: {exc.message} (nothing was sent)"
            ) from None
        except APIError as exc:
            code = exc.error_code
            name_of = ErrorCode.name_of(code) if code is not None else None
            label = f"ErrorCode {code}" + (f" ({name_of})" if name_of else "") if code else "error"
            error = ToolError(f"Postmark {label}, HTTP {exc.status_code}: {exc.message}")
            error.maybe_sent = is_ambiguous(exc)
            raise error from None
        except PostmarkError as exc:
            error = ToolError(f"{type(exc).__name__}: {exc}")
            error.maybe_sent = isinstance(exc, MessageMaybeSentError)
            raise error from None
        if key is not None and isinstance(result, BatchResult) and result.unknown:
            raise _batch_maybe_sent(result)
        return _jsonable(result)

    def _unsearchable(self, agent: str, op: Operation, key: str) -> None:
        """Refuse (its row written) a send after one with its key that may have gone out,
        when Postmark cannot be searched for it: never sent again, the key kept uncertain."""
        reason = str(NotSearchableError(op.id, key))
        self._refuse(agent, op, reason, "denied")
        error = ToolError(reason)
        error.maybe_sent = True
        raise error

    def _refuse(self, agent: str, op: Operation | str, reason: str, decision: str) -> None:
        """Record a call refused before it reached the client core (its audit row)."""
        try:
            self.policy.access(agent).refuse(op, "", reason, decision=decision)
        except AuditLogError as exc:
            raise ToolError(str(exc)) from None

    def _validate(self, op: Operation, args: dict[str, Any]) -> None:
        validator = jsonschema.Draft202012Validator(INPUT_SCHEMAS[op.id])
        errors = sorted(validator.iter_errors(args), key=lambda e: list(e.absolute_path))
        if errors:
            first = errors[0]
            where = ".".join(str(part) for part in first.absolute_path) or "arguments"
            said = _LIMITS.get(str(first.validator))
            message = first.message if said is None else said.format(first.validator_value)
            raise ToolError(f"invalid argument {where}: {message}")

    def _client(self, agent: str, op: Operation) -> Any:
        key = (agent, op.token)
        if key not in self._clients:
            token = self._token(agent, op)
            if not token:
                raise ToolError(
                    f"this server has no {op.token} token: set {TOKEN_ENV_VARS[op.token]} in its "
                    "environment"
                )
            options: dict[str, Any] = {
                "base_url": self.base_url,
                "access": self.policy.access(agent),
            }
            if self.transport is not None:
                options["transport"] = self.transport()
            cls = AsyncServerClient if op.token == "server" else AsyncAccountClient
            self._clients[key] = cls(token, **options)
        return self._clients[key]

    def _token(self, agent: str, op: Operation) -> str | None:
        """The Postmark token this agent's calls of `op` go with."""
        return (op.token == "server" and self.agent_tokens.get(agent)) or self.tokens.get(op.token)

    async def _send(
        self,
        client: Any,
        op: Operation,
        args: dict[str, Any],
        key: str | None = None,
        retry: bool = False,
    ) -> Any:
        path: dict[str, Any] = {}
        query: dict[str, Any] = {}
        for param in (*op.path_params, *op.query_params):
            value = args.pop(param.python.rstrip("_") or param.python, None)
            if value is not None:
                (path if param.location == "path" else query)[param.wire] = value
        if op.batch and op.body_item_schema is not None:
            item = getattr(models, op.body_item_schema)
            messages = [
                item.from_dict(self._wire(op.body_item_schema, _keyed(m, key, index)))
                for index, m in enumerate(args.get("messages", []))
            ]
            cast_item = _cast(op.response_item_schema)
            # After a call with this key that may have sent some: each message is searched
            # for by its key first, and only those not found are sent.
            return await client.request_batch(
                op, messages, cast_item=cast_item, search_first=retry and key is not None
            )
        body = None
        model_name = BODY_MODELS.get(op.id)
        if model_name is not None:
            body = getattr(models, model_name).from_dict(self._wire(model_name, args))
        options = {} if key is None else {"idempotency_key": key}
        return await client.request(
            op, path=path, query=query, body=body, cast_to=_cast(op.response_schema), **options
        )

    def _wire(self, model: str, values: Mapping[str, Any]) -> dict[str, Any]:
        """Tool arguments (snake_case) -> the model's wire names, nested models included."""
        names = WIRE_NAMES.get(model, {})
        wire: dict[str, Any] = {}
        for key, value in values.items():
            wire_name, nested = names.get(key, (key, None))
            if nested is not None and nested in WIRE_NAMES:
                if isinstance(value, list):
                    value = [self._nested(nested, v) for v in value]
                elif isinstance(value, Mapping):
                    value = self._nested(nested, value)
            wire[wire_name] = value
        return wire

    def _nested(self, model: str, value: Any) -> Any:
        return self._wire(model, value) if isinstance(value, Mapping) else value

    def _with_files(self, op: Operation, args: dict[str, Any]) -> dict[str, Any]:
        """Attachments given as `path` (inside the policy's attachments_dir) read as content."""
        names = WIRE_NAMES.get(BODY_MODELS.get(op.id) or "", {})
        for key, value in args.items():
            nested = names.get(key, (key, None))[1]
            if nested is None or "content" not in WIRE_NAMES.get(nested, {}):
                continue
            if isinstance(value, list):
                args[key] = [
                    (
                        self._attachment(item)
                        if isinstance(item, Mapping) and "path" in item and "content" not in item
                        else item
                    )
                    for item in value
                ]
        return args

    def _attachment(self, value: Mapping[str, Any]) -> dict[str, Any]:
        """An attachment given as a file path inside the policy's `attachments_dir`."""
        folder = self.policy.attachments_dir
        if folder is None:
            raise ToolError("attachments by path need attachments_dir in the policy file")
        root = folder.resolve()
        target = (root / str(value["path"])).resolve()
        if not target.is_relative_to(root) or not target.is_file():
            raise ToolError(f"invalid argument attachments.path: not a file inside {root}")
        data = target.read_bytes()
        result = {k: v for k, v in value.items() if k != "path"}
        result.setdefault("name", target.name)
        result.setdefault(
            "content_type", mimetypes.guess_type(target.name)[0] or "application/octet-stream"
        )
        result["content"] = base64.b64encode(data).decode("ascii")
        return result

    async def aclose(self) -> None:
        for client in self._clients.values():
            await client.close()
        self._clients.clear()


class SentResults(Protocol):
    """The results of sends by idempotency key: what answers "already sent" to a repeated call.

    This server keeps them in memory (`SentInMemory`, for as long as it runs); postmark-gateway
    keeps them in its store, shared between hosts (`StoreSent`, `PostmarkTools(sent=...)`).
    """

    async def once(self, slot: Slot, send: SendOnce, repeated: Repeated | None = None) -> Any:
        """The result of the first call for `slot` (agent, operation, key), told to
        `repeated`, or of `send(retry)` when there is none yet; `retry` says an earlier call
        for the slot may have sent it."""
        ...


class SentInMemory:
    """SentResults in this process: concurrent calls with one key wait for the first."""

    def __init__(self) -> None:
        self._results: dict[Slot, asyncio.Future[Any]] = {}
        self._failed: set[Slot] = set()

    async def once(self, slot: Slot, send: SendOnce, repeated: Repeated | None = None) -> Any:
        first = self._results.get(slot)
        if first is not None:
            result = await asyncio.shield(first)
            if repeated is not None:
                repeated(result)
            return result
        future: asyncio.Future[Any] = asyncio.get_running_loop().create_future()
        self._results[slot] = future
        try:
            result = await send(slot in self._failed)
        except BaseException as exc:
            del self._results[slot]  # the key may be tried again
            if may_have_sent(exc):
                self._failed.add(slot)  # ... and is searched for first
            future.set_exception(exc if isinstance(exc, Exception) else _cancelled(slot))
            future.exception()  # retrieved: no "never retrieved" warning without waiters
            raise
        self._failed.discard(slot)
        future.set_result(result)
        return result


def _cancelled(slot: Slot) -> ToolError:
    """What a call waiting for the first call with its key reads when that one was cancelled."""
    error = ToolError(
        f"the call with idempotency key {slot[2]!r} this one waited for was cancelled and may "
        "have been sent; make the same call again to settle it (it is searched for by its key "
        "first)"
    )
    error.maybe_sent = True
    return error


def _batch_maybe_sent(result: BatchResult[Any]) -> ToolError:
    """A batch some of whose messages may or may not have been sent: an error that keeps its
    key uncertain (the same call again searches for each message before sending it), with
    every message's outcome."""
    indexes = ", ".join(f"#{outcome.index}" for outcome in result.unknown)
    error = ToolError(
        f"messages {indexes} of the batch may or may not have been sent; make the same call "
        "with the same idempotency_key to settle them (each message is searched for by its "
        "key and sent only if not found). Every message's outcome: "
        + json.dumps(_jsonable(result), ensure_ascii=False, default=str)
    )
    error.maybe_sent = True
    return error


def _keyed(message: Any, key: str | None, index: int) -> Any:
    """A batch message carrying `<key>-<index>` in its Metadata, so the client keeps it."""
    if key is None or not isinstance(message, Mapping):
        return message
    metadata = dict(message.get("metadata") or {})
    metadata.setdefault(IDEMPOTENCY_METADATA_KEY, f"{key}-{index}")
    return {**message, "metadata": metadata}


def _cast(schema: str | None) -> Callable[[Any], Any]:
    model = getattr(models, schema, None) if schema else None
    from_dict = getattr(model, "from_dict", None)
    return from_dict if from_dict is not None else (lambda data: data)


def build_server(
    policy: Policy,
    *,
    agent: str | None = None,
    tokens: Mapping[str, str | None] | None = None,
    base_url: str | None = None,
    transport: Callable[[], Any] | None = None,
    default_sender: str | None = None,
    default_stream: str | None = None,
    agent_tokens: Mapping[str, str] | None = None,
    sent: SentResults | None = None,
) -> Server[Any]:
    """An MCP server for one agent (stdio, in process) or, with `agent=None`, for the agent
    each HTTP request authenticates as (see `serve_http`); `sent`: where the results of sends
    by idempotency key are kept (in memory by default)."""
    tools = PostmarkTools(
        policy,
        tokens=(
            tokens
            if tokens is not None
            else {k: os.environ.get(v) for k, v in TOKEN_ENV_VARS.items()}
        ),
        base_url=base_url,
        transport=transport,
        default_sender=default_sender,
        default_stream=default_stream,
        agent_tokens=agent_tokens,
        sent=sent,
    )

    def who() -> str:
        name = agent or _current_agent.get()
        if name is None:
            raise ToolError("no agent: this request carried no valid bearer key")
        return name

    async def list_tools(
        ctx: Any, params: types.PaginatedRequestParams | None
    ) -> types.ListToolsResult:
        return types.ListToolsResult(tools=tools.tools(who()))

    async def call_tool(
        ctx: Any, params: types.CallToolRequestParams
    ) -> types.CallToolResult | types.InputRequiredResult:
        try:
            result = await tools.call(who(), params.name, params.arguments)
        except ApprovalPending as pending:
            return _approval_answer(ctx, params, pending)
        except ToolError as exc:
            return _error(str(exc))
        text = json.dumps(result, ensure_ascii=False, default=str)
        structured = result if isinstance(result, dict) else {"result": result}
        return types.CallToolResult(
            content=[types.TextContent(text=text)], structured_content=structured
        )

    server: Server[Any] = Server(
        "postmark",
        version=VERSION,
        instructions=(
            "Postmark's API as tools, one per operation. Each agent sees only the tools its "
            "access policy grants; every call is checked and written to an audit log."
        ),
        on_list_tools=list_tools,
        on_call_tool=call_tool,
    )
    server.postmark_tools = tools  # type: ignore[attr-defined]
    return server


# ---- HTTP: each agent by its own bearer key ----------------------------------------------------


class BearerAuth:
    """ASGI middleware: 401 unless `Authorization: Bearer KEY` hashes to an agent's key_sha256;
    each refused request is recorded (as agent `UNKNOWN_KEY`), never its key."""

    def __init__(self, app: Any, policy: Policy) -> None:
        self.app = app
        self.policy = policy

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        header = dict(scope.get("headers") or []).get(b"authorization", b"").decode("latin-1")
        scheme, _, key = header.partition(" ")
        found = self.policy.agent_for_key(key.strip()) if scheme.lower() == "bearer" else None
        if found is None:
            _unknown_agent(self.policy, UNKNOWN_KEY, "with this bearer key", HTTP_COMMAND)
            body = b'{"error":"invalid_token","error_description":"a valid bearer key is required"}'
            await send(
                {
                    "type": "http.response.start",
                    "status": 401,
                    "headers": [
                        (b"content-type", b"application/json"),
                        (b"www-authenticate", b'Bearer error="invalid_token"'),
                        (b"content-length", str(len(body)).encode()),
                    ],
                }
            )
            await send({"type": "http.response.body", "body": body})
            return
        token = _current_agent.set(found.name)
        try:
            await self.app(scope, receive, send)
        finally:
            _current_agent.reset(token)


def http_app(server: Server[Any], policy: Policy, transport_security: Any = None) -> Any:
    """The streamable HTTP app at HTTP_PATH (stateless: each request carries its agent's key);
    `transport_security` (the SDK's TransportSecuritySettings): the Host and Origin checks."""
    app = server.streamable_http_app(
        streamable_http_path=HTTP_PATH,
        stateless_http=True,
        json_response=True,
        transport_security=transport_security,
    )
    return BearerAuth(app, policy)


def _listening_socket(host: str, port: int) -> socket.socket:
    """A socket bound and listening on host:port (port 0 picks a free one), so the address can
    be said before the server runs and connections wait in the backlog; OSError if it cannot."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    # IPPROTO_TCP by name: asyncio sets TCP_NODELAY only on sockets that say so, and without it
    # an answer written in two parts waits for the client's delayed ACK (40 ms).
    sock = socket.socket(family, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((host, port))
        sock.listen(128)
    except OSError:
        sock.close()
        raise
    return sock


def _url_of(sock: socket.socket) -> str:
    host, port = sock.getsockname()[:2]
    return f"http://{f'[{host}]' if ':' in host else host}:{port}{HTTP_PATH}"


# ---- the command -------------------------------------------------------------------------------


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="postmark-mcp",
        description="Serve Postmark's API as MCP tools, per agent, under an access policy.",
    )
    parser.add_argument("--policy", help="the access policy file (agents, grants, audit log)")
    parser.add_argument("--agent", help="the agent this stdio server acts as")
    parser.add_argument(
        "--allow-all",
        action="store_true",
        help="run without a policy: every tool, for one agent 'any' (said in every description)",
    )
    parser.add_argument("--http", action="store_true", help="streamable HTTP on loopback")
    parser.add_argument("--host", default="127.0.0.1", help="address for --http (loopback)")
    parser.add_argument("--port", type=int, default=8765, help="port for --http (default 8765)")
    add_fake_option(parser, "answer from")
    return parser


def _unknown_agent(
    policy: Policy, agent: str, which: str | None = None, command: str = "postmark-mcp"
) -> str:
    """A configuration error, said as such and recorded in the audit log."""
    message = f"configuration error: no agent {which or repr(agent)} in the policy {policy.path}"
    try:
        policy.access(agent).refuse(command, "", message, decision="denied")
    except AuditLogError as exc:
        return f"{message}; {exc}"
    return message


def _exit_on_sigterm(signum: int, frame: Any) -> None:
    """SIGTERM ends the server through SystemExit, so that the audit log writes the outcomes
    it still holds at exit (uvicorn raises the signal again after its graceful shutdown)."""
    raise SystemExit(128 + signum)


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)

    def fail(message: str) -> int:
        sys.stderr.write(f"postmark-mcp: {message}\n")
        return 2

    if args.policy:
        try:
            policy = Policy.load(args.policy)
        except PolicyError as exc:
            return fail(f"policy file refused: {exc}")
    elif args.allow_all:
        policy = Policy.allowing_all(audit=Path("postmark-audit.sqlite"))
        args.agent = args.agent or "any"
    else:
        return fail("give --policy FILE (or --allow-all to run without one, every tool allowed)")
    if not args.http and not args.agent:
        return fail("give --agent NAME (stdio serves one agent)")
    if args.agent and args.agent not in policy.agents:
        return fail(_unknown_agent(policy, args.agent))
    if args.http and args.host not in ("127.0.0.1", "localhost", "::1"):
        return fail("--http serves on loopback only (127.0.0.1, localhost, ::1)")
    tokens: dict[str, str | None] = {k: os.environ.get(v) for k, v in TOKEN_ENV_VARS.items()}
    transport: Callable[[], Any] | None = None
    if args.fake:
        fake, fake_tokens = demo_fake()
        tokens, transport = dict(fake_tokens.items()), fake.transport
    server = build_server(
        policy,
        agent=None if args.http else args.agent,
        tokens=tokens,
        base_url=os.environ.get(BASE_URL_ENV) or None,
        transport=transport,
        default_sender=os.environ.get(SENDER_ENV) or None,
        default_stream=os.environ.get(STREAM_ENV) or None,
    )
    if threading.current_thread() is threading.main_thread():
        signal.signal(signal.SIGTERM, _exit_on_sigterm)
    if args.http:
        import uvicorn

        try:
            sock = _listening_socket(args.host, args.port)
        except OSError as exc:
            return fail(f"cannot listen on {args.host}:{args.port}: {exc.strerror or exc}")
        sys.stderr.write(
            f"postmark-mcp: listening on {_url_of(sock)} (streamable HTTP, each agent by its "
            "bearer key); Ctrl-C stops\n"
        )
        sys.stderr.flush()
        config = uvicorn.Config(http_app(server, policy), log_level="warning")
        uvicorn.Server(config).run(sockets=[sock])
        return 0
    import anyio
    from mcp.server.stdio import stdio_server

    async def serve() -> None:
        async with stdio_server() as (read, write):
            await server.run(read, write, server.create_initialization_options())

    anyio.run(serve)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
