# Copied by postmark-codegen from templates/static/postmark_client/gateway/console/_html.py;
# edit it there and regenerate, not here.
"""HTML built in Python, escaped by default: every value given to `html` is escaped unless it
is already `Html` (markup this module made). An agent controls what it sends, its name in a
policy and the text of Postmark's answers, and the console shows all of them."""

from __future__ import annotations

import html as _html
import string
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

__all__ = ["Html", "attrs", "count", "html", "join", "options"]


class Html(str):
    """Markup that is safe as it is (made here from escaped parts)."""

    __slots__ = ()


def _escaped(value: Any) -> str:
    if isinstance(value, Html):
        return value
    if value is None:
        return ""
    return _html.escape(str(value), quote=True)


class _Escaping(string.Formatter):
    def format_field(self, value: Any, format_spec: str) -> str:
        return _escaped(format(value, format_spec) if format_spec else value)


_FORMATTER = _Escaping()


def html(template: str, /, **values: Any) -> Html:
    """`template` (trusted markup with `{name}` fields) with each value escaped."""
    return Html(_FORMATTER.vformat(template, (), values))


def join(parts: Iterable[Any], sep: str = "") -> Html:
    """Parts joined, each escaped unless it is Html."""
    return Html(sep.join(_escaped(part) for part in parts))


def attrs(values: Mapping[str, Any]) -> Html:
    """` name="value"` pairs; True is a bare attribute, False or None leaves it out."""
    out = []
    for name, value in values.items():
        if value is True:
            out.append(f" {name}")
        elif value is not None and value is not False:
            out.append(f' {name}="{_escaped(value)}"')
    return Html("".join(out))


def options(choices: Sequence[tuple[str, str]], selected: str | None) -> Html:
    """`<option>`s of (value, label) pairs, the `selected` one marked."""
    return join(
        html(
            "<option{a}>{label}</option>",
            a=attrs({"value": value, "selected": value == selected}),
            label=label,
        )
        for value, label in choices
    )


def count(number: int, noun: str) -> str:
    """`1 key`, `2 keys`."""
    return f"{number} {noun}{'' if number == 1 else 's'}"
