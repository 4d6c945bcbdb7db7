"""Does the fake Postmark cover the spec? Checked from the static modules' text, without importing
the generated package (which may not exist yet, or be the previous spec's).

The fake (`templates/static/postmark_client/testing/`) registers one handler per operationId with
`@handles("operation_id")` in `_handlers.py`, and names the schemas and enums it reads with
`model_keys("Name")` / `enum_values("Name")` in `_wire.py`. Every operation of the spec needs a
handler, unless it carries `x-postmark-resource` (a plain resource the fake serves generically);
every schema and enum the fake names must be in the spec. A handler for an operation the spec
lacks is fine: the fake routes only what the operation table holds.
"""

from __future__ import annotations

import ast
import hashlib
import json
from pathlib import Path

from generator import cache
from generator.model import Api, NotInSpecError

TESTING = Path("static") / "postmark_client" / "testing"
HANDLERS = TESTING / "_handlers.py"
WIRE = TESTING / "_wire.py"
"""Relative to the templates folder; these are also the outputs whose presence switches the check on."""


# What this module reads from a syntax tree is part of a remembered result's key.
_OWN_SOURCE_DIGEST = hashlib.sha256(Path(__file__).read_bytes()).hexdigest()


class StaticSourceError(Exception):
    """A static module the check reads is missing or is not valid Python."""


def literal_calls(source: str, function: str, where: str = "<source>") -> list[str]:
    """The string literal arguments of every call `function("...", ...)` in `source` whose
    arguments are all string literals, in order (decorators included: `@handles("send_email")`
    is such a call)."""
    return _literal_calls(source, (function,), where)[function]


def _literal_calls(source: str, functions: tuple[str, ...], where: str) -> dict[str, list[str]]:
    """literal_calls for each of `functions`, from one parse of `source`.

    Remembered by the hash of the text, the functions and this module's own source (a parse is a
    tenth of a warm run); only a text that parsed is remembered, so an error is always raised.
    """
    key = hashlib.sha256(
        json.dumps([_OWN_SOURCE_DIGEST, functions, source]).encode("utf-8")
    ).hexdigest()
    cached = _cached_calls(key, functions)
    if cached is not None:
        return cached
    try:
        tree = ast.parse(source, where)
    except SyntaxError as exc:
        raise StaticSourceError(f"{where}: line {exc.lineno}: {exc.msg}") from None
    found: dict[str, list[str]] = {function: [] for function in functions}
    for node in ast.walk(tree):
        if (
            isinstance(node, ast.Call)
            and isinstance(node.func, ast.Name)
            and node.func.id in found
            and node.args
            and all(isinstance(a, ast.Constant) and isinstance(a.value, str) for a in node.args)
        ):
            found[node.func.id] += [str(a.value) for a in node.args if isinstance(a, ast.Constant)]
    cache.write(cache.LITERALS, key, json.dumps(found).encode("utf-8"))
    return found


def _cached_calls(key: str, functions: tuple[str, ...]) -> dict[str, list[str]] | None:
    """A remembered result, or None when there is none or it is not one this module wrote."""
    body = cache.read(cache.LITERALS, key)
    if body is None:
        return None
    try:
        found = json.loads(body)
    except ValueError:
        return None
    if not (
        isinstance(found, dict)
        and sorted(found) == sorted(functions)
        and all(
            isinstance(names, list) and all(isinstance(name, str) for name in names)
            for names in found.values()
        )
    ):
        return None
    return found


def coverage_problems(api: Api, templates: Path) -> list[str]:
    """One line per operation the fake cannot answer and per schema or enum it needs but the spec
    lacks; empty when the fake covers the spec."""
    handled = set(literal_calls(_read(templates, HANDLERS), "handles", _shown(HANDLERS)))
    problems = [
        f"{op.spec_path}: operation {op.id!r} has no handler in the fake Postmark "
        f'(@handles("{op.id}") in templates/{HANDLERS.as_posix()}) and no generic behaviour '
        "(x-postmark-resource)"
        for op in api.operations
        if op.id not in handled and op.resource is None
    ]
    lookups = (("model_keys", api.model), ("schema_keys", api.model), ("enum_values", api.enum))
    wire = _literal_calls(_read(templates, WIRE), tuple(name for name, _ in lookups), _shown(WIRE))
    for function, lookup in lookups:
        for name in wire[function]:
            try:
                lookup(name)
            except NotInSpecError as exc:
                problems.append(f"templates/{WIRE.as_posix()}: {exc} ({function}({name!r}))")
    return problems


def _shown(relative: Path) -> str:
    return f"templates/{relative.as_posix()}"


def _read(templates: Path, relative: Path) -> str:
    try:
        return (templates / relative).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise StaticSourceError(f"{_shown(relative)}: cannot be read ({exc})") from None
