"""How the spec's names and `x-` extensions are read: one reader each, shared by validate and build.

`validate` checks what a reader needs (and says where it is wrong); `build` calls the same reader
on the checked spec. Adding an extension is one reader here plus its rule in validate.py.
"""

from __future__ import annotations

import keyword
from collections.abc import Mapping
from typing import Any

from generator import naming

PYTHON_NAME = "x-python-name"
PAGING_KEYS = ("count", "offset", "items", "total", "max-count", "max-reachable")
REACH_KEYS = ("group", "access", "fields")
RESOURCE_KEYS = ("collection", "action", "id", "id-param", "list", "filters")


class NameProblem(ValueError):
    """No Python name can be read; `at_override` when the `x-python-name` itself is the culprit."""

    def __init__(self, message: str, at_override: bool):
        super().__init__(message)
        self.message = message
        self.at_override = at_override


def python_name_of(wire: str, node: Mapping[str, Any]) -> str:
    """The Python name of a property or parameter: its `x-python-name`, else its snake_case."""
    override = python_name(node)
    if override is not None:
        if not isinstance(override, str) or not override.isidentifier():
            raise NameProblem(f"{override!r} is not a valid Python identifier", True)
        if keyword.iskeyword(override):
            raise NameProblem(f"{override!r} is a Python keyword", True)
    try:
        return naming.python_name(wire, override)
    except ValueError:
        raise NameProblem(
            f"cannot derive a Python name from {wire!r}; set x-python-name", False
        ) from None


def group_name(tag: Mapping[str, Any]) -> Any:
    """A tag's group name in Python (`client.<name>`): its `x-python-name`, as written."""
    return python_name(tag)


def method_name(operation: Mapping[str, Any]) -> Any:
    """An operation's method name in its group: its `x-python-name`, as written."""
    return python_name(operation)


def the_tag(operation: Mapping[str, Any]) -> str | None:
    """The one tag (the group) of an operation, or None when it has not exactly one name."""
    tags = operation.get("tags")
    if isinstance(tags, list) and len(tags) == 1 and isinstance(tags[0], str):
        return tags[0]
    return None


def is_batch(operation: Mapping[str, Any]) -> bool:
    """`x-postmark-batch: true`: the body is the messages, sent as one argument `messages`."""
    return batch(operation) is True


def is_secret(prop: Mapping[str, Any]) -> bool:
    """`x-postmark-secret: true`: the value is kept out of logs and reprs."""
    return secret(prop) is True


def resource(value: Any) -> dict[str, Any] | None:
    """`x-postmark-resource` (a mapping of RESOURCE_KEYS) in the fake's names, or None."""
    if not isinstance(value, Mapping):
        return None
    filters = value.get("filters") or {}
    return {
        "collection": value.get("collection"),
        "action": value.get("action"),
        "id": value.get("id"),
        "id_param": value.get("id-param"),
        "list": value.get("list"),
        "filters": [[str(k), str(v)] for k, v in dict(filters).items()],
    }


def reaches(value: Any) -> list[tuple[str, Any, list[str]]] | None:
    """`x-postmark-reaches` (a list of mappings of REACH_KEYS) as (group, access, fields),
    or None when it is not such a list."""
    if value is None:
        return []
    if not isinstance(value, list) or not all(isinstance(entry, Mapping) for entry in value):
        return None
    return [
        (
            str(entry.get("group")),
            entry.get("access"),
            [str(name) for name in entry.get("fields") or []],
        )
        for entry in value
    ]


# ---- the other extensions: each key is read here and nowhere else ------------------------------
# Each reader returns the value as written (None when absent); validate says what is wrong with it,
# build turns the checked value into the model.

ACCESS = "x-postmark-access"
ACTS_ON = "x-postmark-acts-on"
RETRY = "x-postmark-retry"
TOKEN = "x-postmark-token"
PAGING = "x-postmark-paging"
LIMITS = "x-postmark-limits"
BATCH = "x-postmark-batch"
IDEMPOTENCY = "x-postmark-idempotency"
QUERY_PREFIX = "x-postmark-query-prefix"
DEFAULT_STREAM = "x-postmark-default-stream"
WEBHOOK_EVENT = "x-postmark-webhook-event"
RECORD_TYPE = "x-postmark-record-type"
DETECT_BY = "x-postmark-detect-by"
RESOURCE = "x-postmark-resource"
REACHES = "x-postmark-reaches"
SECRET = "x-postmark-secret"
OPEN_ENUMS = "x-postmark-enums"
ERROR_CODES = "x-postmark-error-codes"
RELEASE_NOTES = "x-postmark-release-notes"


def value(node: Any, key: str) -> Any:
    """The extension `key` of a spec mapping as written, or None (absent, or not a mapping)."""
    return node.get(key) if isinstance(node, Mapping) else None


def access(operation: Any) -> Any:
    """`x-postmark-access` of an operation: `read` or `write`."""
    return value(operation, ACCESS)


def acts_on(operation: Any) -> Any:
    """`x-postmark-acts-on` of an operation: what it acts on (`email`, `template`, ...)."""
    return value(operation, ACTS_ON)


def retry(operation: Any) -> Any:
    """`x-postmark-retry` of an operation: `safe` or `unsafe` to send again."""
    return value(operation, RETRY)


def token(node: Any) -> Any:
    """`x-postmark-token` of a tag, a security scheme or an operation: `server` or `account`."""
    return value(node, TOKEN)


def paging(operation: Any) -> Any:
    """`x-postmark-paging` of an operation: a mapping of PAGING_KEYS."""
    return value(operation, PAGING)


def limits(operation: Any) -> Any:
    """`x-postmark-limits` of an operation: a list of {name, max, unit, scope, field?}."""
    return value(operation, LIMITS)


def batch(operation: Any) -> Any:
    """`x-postmark-batch` of an operation as written (`is_batch` says whether it is on)."""
    return value(operation, BATCH)


def idempotency(operation: Any) -> Any:
    """`x-postmark-idempotency` of a send: {metadata, search}."""
    return value(operation, IDEMPOTENCY)


def query_prefix(parameter: Any) -> Any:
    """`x-postmark-query-prefix` of an object query parameter."""
    return value(parameter, QUERY_PREFIX)


def default_stream(operation: Any) -> Any:
    """`x-postmark-default-stream` of a sending operation: the stream a message lands on."""
    return value(operation, DEFAULT_STREAM)


def webhook_event(operation: Any) -> Any:
    """`x-postmark-webhook-event` of an operation: the webhook it configures."""
    return value(operation, WEBHOOK_EVENT)


def record_type(webhook_post: Any) -> Any:
    """`x-postmark-record-type` of a webhook: on its `post` (spec/CONVENTIONS.md, Webhooks)."""
    return value(webhook_post, RECORD_TYPE)


def detect_by(schema: Any) -> Any:
    """`x-postmark-detect-by` of a payload schema: the field that marks it without RecordType."""
    return value(schema, DETECT_BY)


def resource_value(operation: Any) -> Any:
    """`x-postmark-resource` of an operation as written (`resource` reads it for the fake)."""
    return value(operation, RESOURCE)


def reaches_value(operation: Any) -> Any:
    """`x-postmark-reaches` of an operation as written (`reaches` reads its entries)."""
    return value(operation, REACHES)


def secret(prop: Any) -> Any:
    """`x-postmark-secret` of a property as written (`is_secret` says whether it is on)."""
    return value(prop, SECRET)


def python_name(node: Any) -> Any:
    """`x-python-name` of a property, parameter, tag or operation as written."""
    return value(node, PYTHON_NAME)


def open_enums(root: Any) -> Any:
    """`x-postmark-enums` at the root: how enums read values the spec does not list."""
    return value(root, OPEN_ENUMS)


def error_codes(components: Any) -> Any:
    """`components.x-postmark-error-codes`: the ErrorCode table."""
    return value(components, ERROR_CODES)


def release_notes(root: Any) -> Any:
    """`x-postmark-release-notes` at the root: the dated notes the spec reflects."""
    return value(root, RELEASE_NOTES)
