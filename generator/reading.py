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
    override = node.get(PYTHON_NAME)
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
    return tag.get(PYTHON_NAME)


def method_name(operation: Mapping[str, Any]) -> Any:
    """An operation's method name in its group: its `x-python-name`, as written."""
    return operation.get(PYTHON_NAME)


def the_tag(operation: Mapping[str, Any]) -> str | None:
    """The one tag (the group) of an operation, or None when it has not exactly one name."""
    tags = operation.get("tags")
    if isinstance(tags, list) and len(tags) == 1 and isinstance(tags[0], str):
        return tags[0]
    return None


def is_batch(operation: Mapping[str, Any]) -> bool:
    """`x-postmark-batch: true`: the body is the messages, sent as one argument `messages`."""
    return operation.get("x-postmark-batch") is True


def is_secret(prop: Mapping[str, Any]) -> bool:
    """`x-postmark-secret: true`: the value is kept out of logs and reprs."""
    return prop.get("x-postmark-secret") is True


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
