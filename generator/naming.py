"""Names: Postmark's PascalCase wire names turned into the Python names of the generated package.

Postmark writes acronyms in capitals inside PascalCase (`MessageID`, `DKIMTextValue`,
`ReturnPathDomainCNAMEValue`), so a run of capitals is one word until the capital that starts the next
lower-case word. Where that rule still gives the wrong name, the spec carries `x-python-name`.
"""

from __future__ import annotations

import ast
import keyword
import re
from collections.abc import Iterable
from pathlib import Path

# "DKIMText" -> "DKIM_Text": a run of capitals ends before the capital that opens a lower-case word.
_ACRONYM_BOUNDARY = re.compile(r"([A-Z]+)([A-Z][a-z])")
# "messageID" -> "message_ID", "Sha256Hash" -> "Sha256_Hash".
_WORD_BOUNDARY = re.compile(r"([a-z0-9])([A-Z])")
_NOT_IDENTIFIER = re.compile(r"[^0-9a-zA-Z_]+")
_IDENTIFIER = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


def snake_case(name: str) -> str:
    """`MessageID` -> `message_id`; `From` -> `from_` (keywords get a trailing underscore)."""
    text = _NOT_IDENTIFIER.sub("_", name.strip())
    text = _ACRONYM_BOUNDARY.sub(r"\1_\2", text)
    text = _WORD_BOUNDARY.sub(r"\1_\2", text)
    text = re.sub(r"_+", "_", text).strip("_").lower()
    if not text:
        raise ValueError(f"cannot derive a Python name from {name!r}")
    if text[0].isdigit():
        text = "_" + text
    return safe_identifier(text)


def safe_identifier(name: str) -> str:
    """A keyword (`from`, `class`) gets a trailing underscore; other names are returned unchanged."""
    return name + "_" if keyword.iskeyword(name) else name


def python_name(wire: str, override: str | None = None) -> str:
    """The Python name of a wire name: the spec's `x-python-name` when given, else its snake_case."""
    if override is not None:
        return safe_identifier(override)
    return snake_case(wire)


def pascal_case(name: str) -> str:
    """`send_email` -> `SendEmail`; `sender_signatures` -> `SenderSignatures`; `TrackLinks` unchanged.

    Words that are already capitalised keep their inner capitals, so PascalCase input is stable.
    """
    words = [w for w in _NOT_IDENTIFIER.sub("_", name).split("_") if w]
    if not words:
        raise ValueError(f"cannot derive a class name from {name!r}")
    result = "".join(w[0].upper() + w[1:] for w in words)
    if result[0].isdigit():
        result = "_" + result
    return result


def constant_name(name: str) -> str:
    """`send_email` -> `SEND_EMAIL`; `InactiveRecipient` -> `INACTIVE_RECIPIENT`."""
    return snake_case(name).rstrip("_").upper()


def is_identifier(name: str) -> bool:
    """A valid, non-keyword Python identifier (what `x-python-name` must be)."""
    return bool(_IDENTIFIER.match(name)) and not keyword.iskeyword(name)


# ---- names the generated code already uses ---------------------------------------------------
# A spec name that lands on one of these breaks the generated package (a field `to_dict` hides
# the method, a group `close` replaces `client.close()`), so `validate` rejects it. Each set is
# read off the templates named beside it (tests/test_hardening_validate.py checks); build.py
# refuses them too, as a last line behind `validate`.

# templates/models_module.py.jinja: every model's methods and attributes, and the names its class body
# evaluates after the fields (`extra = field(...)`, `_wire_keys = frozenset(...)`, `@classmethod`),
# which a field of the same name would shadow.
MODEL_RESERVED = frozenset(
    {
        "extra",
        "from_dict",
        "to_dict",
        "validate",
        "_wire_keys",
        "field",
        "frozenset",
        "classmethod",
        "__repr__",
    }
)
# templates/resources_group.py.jinja (and SyncResource / AsyncResource in the static _base_client.py): the
# attributes of every group class beside its operations' methods.
RESOURCE_RESERVED = frozenset({"_client"})
CLIENT_RESERVED: frozenset[str]
"""What a generated client has beside its groups (a group is a client attribute, so a group of
one of these names would hide it): read on first use from the sources themselves, the classes
`CLIENT_CLASSES` of the static `_base_client.py` and the client template (`client_reserved`)."""
CLIENT_CLASSES = ("BaseClient", "SyncAPIClient", "AsyncAPIClient")
# A member the client template itself defines: `    def name(` or `        self.name =` (a
# group's `def {{ group.name }}` is no member of its own).
_TEMPLATE_MEMBER = re.compile(
    r"^    (?:async )?def (\w+)\(|^        self\.(\w+)\b[^=\n]*=", re.MULTILINE
)


def class_members(source: str, classes: Iterable[str]) -> frozenset[str]:
    """The names the top-level classes `classes` of a Python source define: methods,
    class-level names and `self.<name>` assigned in their methods; no dunders."""
    wanted = set(classes)
    names: set[str] = set()
    for node in ast.parse(source).body:
        if not isinstance(node, ast.ClassDef) or node.name not in wanted:
            continue
        for item in node.body:
            if isinstance(item, (ast.FunctionDef, ast.AsyncFunctionDef)):
                names.add(item.name)
            elif isinstance(item, (ast.Assign, ast.AnnAssign)):
                targets = item.targets if isinstance(item, ast.Assign) else [item.target]
                names.update(t.id for t in targets if isinstance(t, ast.Name))
        for sub in ast.walk(node):
            if not isinstance(sub, ast.Attribute) or not isinstance(sub.ctx, ast.Store):
                continue
            if isinstance(sub.value, ast.Name) and sub.value.id == "self":
                names.add(sub.attr)
    return frozenset(name for name in names if not is_dunder(name))


def client_reserved(templates: Path) -> frozenset[str]:
    """The members of the client classes under `templates` (the templates folder)."""
    base = (templates / "static" / "postmark_client" / "_base_client.py").read_text("utf-8")
    template = (templates / "client.py.jinja").read_text("utf-8")
    own = {name for match in _TEMPLATE_MEMBER.finditer(template) for name in match.groups() if name}
    return class_members(base, CLIENT_CLASSES) | {n for n in own if not is_dunder(n)}


def __getattr__(name: str) -> frozenset[str]:
    # CLIENT_RESERVED is read lazily: the templates folder is found by render, which imports us.
    if name != "CLIENT_RESERVED":
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    from generator.render import templates_dir

    reserved = client_reserved(templates_dir())
    globals()[name] = reserved
    return reserved


# templates/resources_group.py.jinja: the names an operation's method binds or reads itself, which an
# argument (a path or query parameter, or a field of the request body) must not take.
ARGUMENT_RESERVED = frozenset({"self", "body", "messages", "ops", "models", "item", "m"})


def is_dunder(name: str) -> bool:
    """`__init__`, `__class__`: names Python itself gives meaning to."""
    return len(name) > 4 and name.startswith("__") and name.endswith("__")
