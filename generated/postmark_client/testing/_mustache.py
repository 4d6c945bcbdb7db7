# Copied by postmark-codegen from templates/static/postmark_client/testing/_mustache.py;
# edit it there and regenerate, not here.
"""A small Mustache renderer: what the fake Postmark renders templates with.

Postmark's templates are Mustachio, a Mustache dialect: `{{name}}` (HTML-escaped in HTML bodies),
`{{{name}}}` (never escaped), dotted paths `{{company.name}}`, sections `{{#name}}...{{/name}}`,
inverted sections `{{^name}}...{{/name}}`, loops `{{#each items}}...{{/each}}`, comments `{{! }}`
and, in layouts, the `{{{ @content }}}` placeholder. This covers those; it is not Mustachio.
"""

from __future__ import annotations

import html
import re
from dataclasses import dataclass, field
from typing import Any

_TAG = re.compile(
    r"\{\{\{\s*(?P<raw>[^}]*?)\s*\}\}\}|\{\{\s*(?P<sigil>[#^/!&]?)\s*(?P<name>[^}]*?)\s*\}\}"
)
CONTENT_PLACEHOLDER = re.compile(r"\{\{\{\s*@content\s*\}\}\}")
CONTENT_TAG = "{{{ @content }}}"


class TemplateSyntaxError(Exception):
    """The content does not parse: an unclosed or mismatched section, an empty tag."""

    def __init__(self, message: str, line: int, column: int) -> None:
        super().__init__(message)
        self.message = message
        self.line = line
        self.column = column


@dataclass
class _Node:
    kind: str  # text, var, section, inverted, each
    value: str = ""  # the text, or the variable / section name
    escape: bool = True
    children: list[_Node] = field(default_factory=list)


def parse(source: str) -> list[_Node]:
    """The content as a tree of text, variables and sections; raises TemplateSyntaxError."""
    root: list[_Node] = []
    stack: list[tuple[_Node, int]] = []
    position = 0

    def current() -> list[_Node]:
        return stack[-1][0].children if stack else root

    for match in _TAG.finditer(source):
        if match.start() > position:
            current().append(_Node("text", source[position : match.start()]))
        position = match.end()
        if match.group("raw") is not None:
            name = match.group("raw")
            if not name:
                raise _error("An empty {{{ }}} tag", source, match.start())
            current().append(_Node("var", name, escape=False))
            continue
        sigil, name = match.group("sigil"), match.group("name")
        if sigil == "!":
            continue
        if not name:
            raise _error("An empty {{ }} tag", source, match.start())
        if sigil in ("#", "^"):
            kind = "inverted" if sigil == "^" else "section"
            if sigil == "#" and name.startswith("each "):
                kind, name = "each", name[5:].strip()
            node = _Node(kind, name)
            current().append(node)
            stack.append((node, match.start()))
        elif sigil == "/":
            if not stack:
                raise _error(
                    f"'{{{{/{name}}}}}' closes a section that was never opened",
                    source,
                    match.start(),
                )
            node, _ = stack.pop()
            opened = "each" if node.kind == "each" else node.value
            if name != opened:
                raise _error(
                    f"'{{{{/{name}}}}}' does not close the open section '{opened}'",
                    source,
                    match.start(),
                )
        else:
            current().append(_Node("var", name, escape=sigil != "&"))
    if position < len(source):
        current().append(_Node("text", source[position:]))
    if stack:
        node, start = stack[-1]
        raise _error(f"The section '{node.value}' is never closed", source, start)
    return root


def _error(message: str, source: str, offset: int) -> TemplateSyntaxError:
    line = source.count("\n", 0, offset) + 1
    column = offset - (source.rfind("\n", 0, offset) + 1) + 1
    return TemplateSyntaxError(message + ".", line, column)


def render(
    source: str, model: Any, *, escape_html: bool = False, content: str | None = None
) -> str:
    """`source` rendered with `model`; missing values render empty. `content` fills a layout's
    `{{{ @content }}}`."""
    return _render(parse(source), [model], escape_html, content)


def _render(nodes: list[_Node], stack: list[Any], escape_html: bool, content: str | None) -> str:
    out: list[str] = []
    for node in nodes:
        if node.kind == "text":
            out.append(node.value)
        elif node.kind == "var":
            if node.value == "@content":
                out.append(content or "")
                continue
            value = _lookup(stack, node.value)
            text = "" if value is None else _text(value)
            out.append(html.escape(text) if escape_html and node.escape else text)
        elif node.kind == "each":
            value = _lookup(stack, node.value)
            for item in value if isinstance(value, list) else []:
                out.append(_render(node.children, stack + [item], escape_html, content))
        elif node.kind == "section":
            value = _lookup(stack, node.value)
            if isinstance(value, list):
                for item in value:
                    out.append(_render(node.children, stack + [item], escape_html, content))
            elif isinstance(value, dict):
                out.append(_render(node.children, stack + [value], escape_html, content))
            elif _truthy(value):
                out.append(_render(node.children, stack, escape_html, content))
        elif node.kind == "inverted" and not _truthy(_lookup(stack, node.value)):
            out.append(_render(node.children, stack, escape_html, content))
    return "".join(out)


def _lookup(stack: list[Any], name: str) -> Any:
    if name == ".":
        return stack[-1]
    first, *rest = name.split(".")
    for context in reversed(stack):
        if isinstance(context, dict) and first in context:
            value = context[first]
            for part in rest:
                value = value.get(part) if isinstance(value, dict) else None
            return value
    return None


def _truthy(value: Any) -> bool:
    if isinstance(value, (list, str)):
        return len(value) > 0
    return value is not None and value is not False and value != 0


def _text(value: Any) -> str:
    if value is True:
        return "true"
    if value is False:
        return "false"
    return str(value)


def suggested_model(sources: list[str], test_model: Any) -> dict[str, Any]:
    """A model with a placeholder (`name_Value`) for every variable the content uses, with the
    values of `test_model` kept where it has them (what `/templates/validate` suggests)."""
    suggested: dict[str, Any] = {}
    for source in sources:
        _collect(parse(source), suggested)
    if isinstance(test_model, dict):
        return _merge(suggested, test_model)
    return suggested


def _collect(nodes: list[_Node], into: dict[str, Any]) -> None:
    for node in nodes:
        if node.kind == "var" and node.value not in (".", "@content"):
            _place(into, node.value.split("."))
        elif node.kind == "each":
            target = _container(into, node.value.split("."), list)
            if not target:
                target.append({})
            if isinstance(target[0], dict):
                _collect(node.children, target[0])
        elif node.kind in ("section", "inverted"):
            children = [c for c in node.children if c.kind != "text"]
            if children:
                _collect(node.children, _container(into, node.value.split("."), dict))
            else:
                _place(into, node.value.split("."))


def _place(into: dict[str, Any], parts: list[str]) -> None:
    *parents, last = parts
    target = _container(into, parents, dict) if parents else into
    target.setdefault(last, f"{last}_Value")


def _container(into: dict[str, Any], parts: list[str], kind: type) -> Any:
    target: Any = into
    for index, part in enumerate(parts):
        want = kind if index == len(parts) - 1 else dict
        if not isinstance(target.get(part), want):
            target[part] = want()
        target = target[part]
    return target


def _merge(base: dict[str, Any], override: dict[str, Any]) -> dict[str, Any]:
    merged = dict(base)
    for key, value in override.items():
        if isinstance(value, dict) and isinstance(merged.get(key), dict):
            merged[key] = _merge(merged[key], value)
        else:
            merged[key] = value
    return merged
