"""The record types of the operation table in `_operations.py`.

The table is generated from the spec so that the client core, the CLI and the fake Postmark all
read one description of each operation instead of keeping their own.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

Token = Literal["server", "account"]
ParamType = Literal["string", "integer", "number", "boolean", "array", "object"]


@dataclass(frozen=True, slots=True)
class Param:
    """A path or query parameter."""

    wire: str
    python: str
    location: Literal["path", "query"]
    type: ParamType
    required: bool = False
    enum: tuple[str, ...] | None = None
    minimum: int | None = None
    maximum: int | None = None
    format: str | None = None
    pattern: str | None = None
    default: int | str | bool | None = None
    description: str = ""
    prefix: str | None = None
    """An object parameter sent as one pair per entry, `<prefix><key>=<value>`
    (`x-postmark-query-prefix`: `metadata_`)."""


@dataclass(frozen=True, slots=True)
class Paging:
    """How a count/offset list pages: parameter names, response fields, and Postmark's caps."""

    count: str
    offset: str
    items: str
    items_attr: str
    total: str
    total_attr: str
    max_count: int
    max_reachable: int
    narrow_by: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class Limit:
    """A limit Postmark states for an operation (`x-postmark-limits`)."""

    name: str
    max: int
    unit: Literal["bytes", "items", "addresses", "templates"]
    scope: Literal["message", "request", "server"]
    field: str | None = None
    description: str = ""


@dataclass(frozen=True, slots=True)
class Resource:
    """A plain stored resource (`x-postmark-resource`): the fake Postmark serves it generically."""

    collection: str
    action: Literal["create", "list", "get", "edit", "delete", "archive", "unarchive"]
    id: str
    """The record's id field (wire name)."""
    id_param: str | None = None
    """The path parameter holding the id (get, edit, delete, archive, unarchive)."""
    list: str | None = None
    """list only: the 200 response field holding the records."""
    filters: tuple[tuple[str, str], ...] = ()
    """list only: (query parameter, record field it equals) pairs."""


@dataclass(frozen=True, slots=True)
class Reach:
    """A second group an operation acts on (`x-postmark-reaches`): a call needs a grant there too.

    `push_templates` (group `templates`) overwrites templates on other servers, so it also takes
    `write` on `servers`; `edit_current_server` points event hooks elsewhere when it sets
    `BounceHookUrl`, so such a call also takes `write` on `webhooks`.
    """

    group: str
    access: Literal["read", "write"]
    fields: tuple[str, ...] = ()
    """Body fields (wire names) that act on the group; a call acts there when it sets one of them
    to a non-null value. Empty: every call acts there."""


@dataclass(frozen=True, slots=True)
class Operation:
    """One API operation, as the spec describes it."""

    id: str
    group: str
    name: str
    method: str
    path: str
    token: Token
    access: Literal["read", "write"]
    retry_safe: bool
    summary: str
    description: str
    path_params: tuple[Param, ...] = ()
    query_params: tuple[Param, ...] = ()
    body_schema: str | None = None
    body_is_array: bool = False
    response_schema: str | None = None
    response_is_array: bool = False
    paging: Paging | None = None
    limits: tuple[Limit, ...] = ()
    webhook_event: str | None = None
    acts_on: str = ""
    batch: bool = False
    body_item_schema: str | None = None
    """The schema of one message of a batch (or of one element of an array body)."""
    response_item_schema: str | None = None
    """The schema of one element of an array response (one send result of a batch)."""
    resource: Resource | None = None
    """A plain stored resource the fake Postmark serves generically (`x-postmark-resource`)."""
    default_stream: str | None = None
    """The message stream a send lands on when neither its body nor its messages name one."""
    messages_field: str | None = None
    """The body field whose entries are the messages of a send: `Messages` of a batch object, or
    the Bulk API's recipients (which share the body's other fields). None for a body that is one
    message or an array of them."""
    reaches: tuple[Reach, ...] = ()
    """The other groups the operation acts on (`x-postmark-reaches`)."""
    idempotency_metadata: str | None = None
    """The Metadata field of each message that carries its idempotency key
    (`x-postmark-idempotency`): `Metadata`, or `Messages.Metadata` for the entries of a list."""
    reconcile_with: str | None = None
    """The operationId of the search that finds a message by a metadata field, with which an
    ambiguous failure of this send is reconciled."""
