"""Generic behaviour of plain stored resources (`x-postmark-resource`), from the operation table.

An operation whose `Operation.resource` is set is served here unless `_handlers.py` registers a
handler for it (a handler may still call `serve` for the plain part and add what Postmark does).
What an operation does follows from the extension alone:

- `create` stores the request body (wire names, nulls and unknown fields already dropped) as a
  new record under the `id` field: the body's own id when the caller gives one (message
  streams), otherwise the next number; then answers the record in the 200 schema's shape.
- `list` answers the collection's records in the shape of the `list` field's items, narrowed by
  `filters` (query parameter = record field), paged by the dispatcher when the operation pages.
- `get`, `edit`, `delete`, `archive`, `unarchive` find the record whose `id` equals the
  `id_param` path value (a resource's own not-found ErrorCode otherwise). `edit` merges the body
  into the record (nested objects field by field); `archive` stamps ArchivedAt and
  ExpectedPurgeDate (Postmark purges archived streams after 45 days), `unarchive` clears them;
  `delete` removes the record and answers `{ErrorCode: 0, Message}`.

Records are kept complete: `conform` fills every field the record's schema requires and drops
nulls the schema does not allow, so every answer validates against the spec.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import timedelta
from typing import TYPE_CHECKING, Any, Final, TypeVar

from .._meta import Operation, Resource
from ..errors import ErrorCode
from ._schema_types import V
from ._schemas import SCHEMAS
from ._state import JsonObject, Rejected, ServerState, stamp

if TYPE_CHECKING:
    from ._world import World

_Entry = TypeVar("_Entry")

# Postmark deletes an archived message stream and its data 45 days after archiving it.
PURGE_AFTER: Final = timedelta(days=45)
_STREAM_NOT_FOUND: Final = (
    ErrorCode.MESSAGE_STREAM_NOT_FOUND,
    "The message stream for the provided 'ID' was not found.",
)
# The not-found answer (the spec's ErrorCode table) of a resource collection, else of the
# family an operation acts on (the two kinds of names never meet).
NOT_FOUND: Final[dict[str, tuple[int, str]]] = {
    "message_streams": _STREAM_NOT_FOUND,
    "webhooks": (ErrorCode.WEBHOOK_NOT_FOUND, "The webhook was not found."),
    "inbound_rules": (ErrorCode.INBOUND_RULE_NOT_FOUND, "The inbound rule was not found."),
    "data_removals": (
        ErrorCode.INVALID_DATA_REMOVAL_REQUEST_ID,
        "The data removal request ID is not valid.",
    ),
    "template": (
        ErrorCode.TEMPLATE_NOT_FOUND,
        "The 'TemplateId' associated with this request is not valid or was not found.",
    ),
    "bounce": (ErrorCode.BOUNCE_NOT_FOUND, "The bounce was not found."),
    "message": (ErrorCode.MESSAGE_NOT_FOUND, "This message was not found."),
    "suppression": _STREAM_NOT_FOUND,
    "domain": (ErrorCode.DOMAIN_NOT_FOUND, "The domain was not found."),
    "signature": (
        ErrorCode.SENDER_SIGNATURE_NOT_FOUND_BY_ID,
        "The sender signature was not found.",
    ),
}


@dataclass
class Call:
    """One request as a handler sees it: typed path and query values (wire names), the
    parsed body, and the server the server token names (None for account operations)."""

    world: World
    op: Operation
    server_state: ServerState | None
    path: dict[str, Any]
    query: dict[str, Any]
    others: dict[str, str]
    body: Any
    test_token: bool = False

    @property
    def server(self) -> ServerState:
        assert self.server_state is not None, f"{self.op.id} is not a server operation"
        return self.server_state

    def named(self, table: Mapping[Any, _Entry], key: str) -> _Entry:
        """The entry of `table` the path parameter `key` names; the operation's not-found
        answer when there is none."""
        entry = table.get(self.path[key])
        if entry is None:
            raise not_found(self.op)
        return entry


def not_found(op: Operation) -> Rejected:
    """What Postmark answers when a path names nothing: the resource's own code where it has one."""
    known = (op.resource and NOT_FOUND.get(op.resource.collection)) or NOT_FOUND.get(op.acts_on)
    if known:
        return Rejected(*known)
    return Rejected(
        ErrorCode.RESOURCE_NOT_FOUND, "The requested resource was not found.", status=404
    )


# ---- the shape of records ----------------------------------------------------------------------


def conform(
    record: JsonObject, schema: str | None, context: JsonObject | None = None
) -> JsonObject:
    """`record` in the shape of `schema`: its fields only, nested objects likewise, every required
    field present (from `context` by name, else a neutral value of its type) and no null where
    the schema allows none. Unknown schemas (free-form objects) pass through."""
    spec = SCHEMAS.get(schema or "")
    if spec is None:
        return dict(record)
    context = context or {}
    shaped: JsonObject = {}
    for name, field in spec.fields.items():
        value = record.get(name)
        if value is None and name in spec.required:
            value = context.get(name)
            if value is None:
                value = neutral(field, context)
        if value is None and name not in record and name not in spec.required:
            continue
        if value is None and not field.nullable:
            continue
        shaped[name] = _shape(field, value, context)
    if not spec.fields:  # a map of counts or the like: the record is the answer
        shaped = dict(record)
    return shaped


def _shape(field: V, value: Any, context: JsonObject) -> Any:
    if isinstance(value, dict) and field.model is not None:
        return conform(value, field.model, context)
    if isinstance(value, list) and field.items is not None and field.items.model is not None:
        return [conform(v, field.items.model, context) if isinstance(v, dict) else v for v in value]
    return value


def neutral(field: V, context: JsonObject) -> Any:
    """A sensible value for a required field nobody gave: now for a timestamp, the first value
    of an enum, a complete nested record, else the type's empty value."""
    kind = field.type or (field.types[0] if field.types else "string")
    if field.enum:
        return field.enum[0]
    if field.format == "date-time":
        clock = context.get("@clock")
        return clock() if clock is not None else ""
    if field.model is not None:
        return conform({}, field.model, context)
    return {"string": "", "integer": 0, "number": 0, "boolean": False, "array": []}.get(kind, {})


def items_schema(schema: str | None, field: str) -> str | None:
    """The schema of the records an array field of `schema` holds."""
    spec = SCHEMAS.get(schema or "")
    value = spec.fields.get(field) if spec else None
    return value.items.model if value is not None and value.items is not None else None


def merge(record: JsonObject, changes: JsonObject) -> None:
    """Apply an edit: given fields replace the record's, nested objects change field by field."""
    for name, value in changes.items():
        if isinstance(value, dict) and isinstance(record.get(name), dict):
            merge(record[name], value)
        else:
            record[name] = value


# ---- serving -----------------------------------------------------------------------------------


def records(call: Call) -> dict[Any, JsonObject]:
    """The records of the operation's collection: the account's for account operations, else the
    token's server's."""
    assert call.op.resource is not None, call.op.id
    return call.world.collection(call.op.resource.collection, call.server_state)


def context(call: Call) -> JsonObject:
    """What a record may take from the request's circumstances for a required field."""
    found: JsonObject = {
        "@clock": lambda: stamp(call.world.clock()),  # read only when a timestamp is missing
        "MessageStream": "outbound",
    }
    if call.server_state is not None:
        found["ServerID"] = call.server_state.id
    return found


def find(call: Call) -> JsonObject:
    """The record the path names (Rejected with the resource's not-found code otherwise)."""
    resource = _resource(call)
    assert resource.id_param is not None, call.op.id
    wanted = call.path[resource.id_param]
    for key, record in records(call).items():
        if str(key) == str(wanted):
            return record
    raise not_found(call.op)


def answer(call: Call, record: JsonObject, schema: str | None = None) -> JsonObject:
    """A record in the shape of the operation's 200 schema (or `schema`). A required field the
    record lacks is filled and kept, so later reads answer the same (a default stream's
    CreatedAt is the moment it is first read)."""
    shaped = conform(record, schema or call.op.response_schema, context(call))
    for name, value in shaped.items():
        record.setdefault(name, value)
    return shaped


def serve(call: Call) -> Any:
    """The generic behaviour of `call.op.resource.action`."""
    resource = _resource(call)
    return _ACTIONS[resource.action](call, resource)


def _resource(call: Call) -> Resource:
    assert call.op.resource is not None, f"{call.op.id} is not a plain resource"
    return call.op.resource


def _create(call: Call, resource: Resource) -> Any:
    store = records(call)
    record = dict(call.body or {})
    ident = record.get(resource.id)
    if ident is None:
        ident = call.world.ids.next(resource.collection, 1)
    record[resource.id] = ident
    record = {**conform(record, call.op.response_schema, context(call)), **record}
    store[ident] = record
    return answer(call, record)


def _list(call: Call, resource: Resource) -> Any:
    shape = items_schema(call.op.response_schema, resource.list or "")
    found = [
        answer(call, r, shape)
        for r in records(call).values()
        if all(
            call.query.get(param) is None or str(r.get(field)) == str(call.query[param])
            for param, field in resource.filters
        )
    ]
    if call.op.paging is not None:
        return found
    assert resource.list is not None, call.op.id
    page: JsonObject = {resource.list: found}
    spec = SCHEMAS.get(call.op.response_schema or "")
    for name in spec.required if spec else ():
        if name not in page and spec is not None and spec.fields[name].type == "integer":
            page[name] = len(found)  # TotalCount
    return conform(page, call.op.response_schema, context(call))


def _get(call: Call, resource: Resource) -> Any:
    return answer(call, find(call))


def _edit(call: Call, resource: Resource) -> Any:
    record = find(call)
    merge(record, {k: v for k, v in (call.body or {}).items() if k != resource.id})
    if "UpdatedAt" in record:
        record["UpdatedAt"] = stamp(call.world.clock())
    return answer(call, record)


def _delete(call: Call, resource: Resource) -> Any:
    record = find(call)
    store = records(call)
    for key in [k for k, v in store.items() if v is record]:
        del store[key]
    return answer(call, {"ErrorCode": 0, "Message": f"{record[resource.id]} removed."})


def _archive(call: Call, resource: Resource) -> Any:
    record = find(call)
    if not record.get("ArchivedAt"):
        now = call.world.clock()
        record["ArchivedAt"] = stamp(now)
        record["ExpectedPurgeDate"] = stamp(now + PURGE_AFTER)
    return answer(call, record)


def _unarchive(call: Call, resource: Resource) -> Any:
    record = find(call)
    record["ArchivedAt"] = None
    record["ExpectedPurgeDate"] = None
    return answer(call, record)


_ACTIONS: Final = {
    "create": _create,
    "list": _list,
    "get": _get,
    "edit": _edit,
    "delete": _delete,
    "archive": _archive,
    "unarchive": _unarchive,
}
