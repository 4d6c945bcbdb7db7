"""`validate` rejects spec text that would become broken or hostile code.

Each case writes a small valid spec cut from spec/postmark.yaml (tests/support/small_spec.py) to
<tmp>/spec/postmark.yaml, applies one hostile mutation, and expects one exact located line (other
rules may add their own lines) and exit 1. The whole spec validates in over a second; the cut in a
tenth of that, and it validates clean (test_the_small_spec_is_clean), so each line is the mutation's.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from support.small_spec import dump, small_doc

from generator import naming
from generator.cli import main

REPO = Path(__file__).resolve().parent.parent
REAL_SPEC = REPO / "spec" / "postmark.yaml"
TEMPLATES = REPO / "templates"
SPEC = "spec/postmark.yaml"

Doc = dict[str, Any]
EMAIL = ("paths", "/email", "post")
BOUNCES = ("paths", "/bounces", "get")
SEND = ("components", "schemas", "SendEmailRequest")
INJECT = "\" + __import__('os').system('touch pwned') + \""


@pytest.fixture
def workdir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    (tmp_path / "spec").mkdir()
    monkeypatch.chdir(tmp_path)
    return tmp_path


def at(doc: Doc, path: tuple[Any, ...]) -> Any:
    for key in path:
        doc = doc[key]
    return doc


def put(path: tuple[Any, ...], value: Any) -> Callable[[Doc], None]:
    return lambda doc: at(doc, path[:-1]).__setitem__(path[-1], value)


def add_param(path: tuple[Any, ...], param: Doc) -> Callable[[Doc], None]:
    return lambda doc: at(doc, path).setdefault("parameters", []).insert(0, param)


HEADER_PARAM = {"name": "X Bad", "in": "header", "schema": {"type": "string"}}
CASES: list[tuple[str, Callable[[Doc], None], str]] = [
    # servers[].url: an absolute https:// URL, nothing else
    *[
        (
            f"server-{name}",
            put(("servers", 0, "url"), url),
            (
                f"servers.0.url: {url!r} is not an absolute https:// URL "
                "(https://host[:port][/path]; no quotes, spaces, query or control characters)"
            ),
        )
        for name, url in [
            ("injection", "https://api.postmarkapp.com" + INJECT),
            ("http", "http://api.postmarkapp.com"),
            ("relative", "api.postmarkapp.com"),
            ("space", "https://api.postmark app.com"),
            ("newline", "https://api.postmarkapp.com\n"),
            ("quote", "https://api.postmarkapp.com/'"),
            ("no-host", "https://"),
        ]
    ],
    # header names are HTTP tokens
    (
        "scheme-header-name",
        put(("components", "securitySchemes", "serverToken", "name"), "X-Token" + INJECT),
        (
            f"components.securitySchemes.serverToken.name: {'X-Token' + INJECT!r} is not an HTTP "
            "header name (RFC 9110 token characters only)"
        ),
    ),
    (
        "parameter-header-name",
        add_param(EMAIL, HEADER_PARAM),
        (
            "paths./email.post.parameters.0.name: 'X Bad' is not an HTTP header name "
            "(RFC 9110 token characters only)"
        ),
    ),
    # control characters in names
    (
        "property-name",
        put(SEND + ("properties", "To\n"), {"type": "string"}),
        (
            "components.schemas.SendEmailRequest.properties: the name 'To\\n' contains the control "
            "character U+000A"
        ),
    ),
    (
        "schema-name",
        put(("components", "schemas", "Send\x00Request"), {"type": "object"}),
        "components.schemas: the name 'Send\\x00Request' contains the control character U+0000",
    ),
    (
        "operation-id",
        put(EMAIL + ("operationId",), "send_email\u202e"),
        "paths./email.post.operationId: 'send_email\\u202e' contains the control character U+202E",
    ),
    (
        "operation-python-name",
        put(EMAIL + ("x-python-name",), "send\r"),
        "paths./email.post.x-python-name: 'send\\r' contains the control character U+000D",
    ),
    (
        "tag-name",
        put(("tags", 0, "name"), "Email\n"),
        "tags.0.name: 'Email\\n' contains the control character U+000A",
    ),
    (
        "operation-tag",
        put(EMAIL + ("tags",), ["Email\x1b[2J"]),
        "paths./email.post.tags.0: 'Email\\x1b[2J' contains the control character U+001B",
    ),
    (
        "parameter-name",
        put(("components", "parameters", "Count", "name"), "count\x00"),
        "components.parameters.Count.name: 'count\\x00' contains the control character U+0000",
    ),
    (
        "enum-value",
        put(("components", "schemas", "TrackLinks", "enum", 2), "HtmlOnly\n"),
        "components.schemas.TrackLinks.enum.2: 'HtmlOnly\\n' contains the control character U+000A",
    ),
    (
        "info-title",
        put(("info", "title"), 'Postmark"""\nimport os'),
        'info.title: \'Postmark"""\\nimport os\' contains the control character U+000A',
    ),
    (
        "license-name",
        put(("info", "license", "name"), 'MIT"\ndependencies = ["evil"]'),
        (
            'info.license.name: \'MIT"\\ndependencies = ["evil"]\' contains the control character '
            "U+000A"
        ),
    ),
    (
        "version",
        put(("info", "version"), "2026.03.05\n"),
        "info.version: '2026.03.05\\n' contains the control character U+000A",
    ),
    # Python names the generated classes already use, keywords and dunders
    (
        "operation-dunder",
        put(EMAIL + ("x-python-name",), "__init__"),
        "paths./email.post.x-python-name: '__init__' is a dunder name, reserved by Python",
    ),
    (
        "operation-resource-attribute",
        put(EMAIL + ("x-python-name",), "_client"),
        (
            "paths./email.post.x-python-name: '_client' is already used by the generated resource "
            "classes; choose another x-python-name"
        ),
    ),
    (
        "group-close",
        put(("tags", 0, "x-python-name"), "close"),
        (
            "tags.0.x-python-name: 'close' is already used by the generated client classes; "
            "choose another x-python-name"
        ),
    ),
    (
        "group-dunder",
        put(("tags", 0, "x-python-name"), "__class__"),
        "tags.0.x-python-name: '__class__' is a dunder name, reserved by Python",
    ),
    (
        "property-to-dict",
        put(SEND + ("properties", "Subject", "x-python-name"), "to_dict"),
        (
            "components.schemas.SendEmailRequest.properties.Subject: the Python name 'to_dict' is "
            "already used by the generated model classes; set another x-python-name"
        ),
    ),
    (
        "property-extra-by-wire-name",
        put(SEND + ("properties", "Extra"), {"type": "string"}),
        (
            "components.schemas.SendEmailRequest.properties.Extra: the Python name 'extra' is "
            "already used by the generated model classes; set another x-python-name"
        ),
    ),
    (
        "property-field",
        put(SEND + ("properties", "Field"), {"type": "string"}),
        (
            "components.schemas.SendEmailRequest.properties.Field: the Python name 'field' is "
            "already used by the generated model classes; set another x-python-name"
        ),
    ),
    (
        "property-dunder",
        put(SEND + ("properties", "Subject", "x-python-name"), "__init__"),
        (
            "components.schemas.SendEmailRequest.properties.Subject: the Python name '__init__' is "
            "a dunder name, reserved by Python"
        ),
    ),
    (
        "property-keyword",
        put(SEND + ("properties", "Subject", "x-python-name"), "class"),
        (
            "components.schemas.SendEmailRequest.properties.Subject.x-python-name: 'class' is a "
            "Python keyword"
        ),
    ),
    (
        "property-not-an-identifier",
        put(SEND + ("properties", "Subject", "x-python-name"), "sub ject"),
        (
            "components.schemas.SendEmailRequest.properties.Subject.x-python-name: 'sub ject' is not "
            "a valid Python identifier"
        ),
    ),
    (
        "parameter-self",
        put(BOUNCES + ("parameters", 2, "x-python-name"), "self"),
        (
            "paths./bounces.get.parameters.2: the Python name 'self' is already used inside the "
            "generated method; set another x-python-name"
        ),
    ),
    (
        "parameter-models-by-wire-name",
        put(BOUNCES + ("parameters", 2, "name"), "models"),
        (
            "paths./bounces.get.parameters.2: the Python name 'models' is already used inside the "
            "generated method; set another x-python-name"
        ),
    ),
    (
        "parameter-dunder",
        put(BOUNCES + ("parameters", 2, "x-python-name"), "__dict__"),
        (
            "paths./bounces.get.parameters.2: the Python name '__dict__' is a dunder name, reserved "
            "by Python"
        ),
    ),
    (
        "body-field-argument",
        put(SEND + ("properties", "Body"), {"type": "string"}),
        (
            "paths./email.post.requestBody: field 'Body' becomes the argument 'body', which is "
            "already used inside the generated method; set another x-python-name"
        ),
    ),
]


@pytest.mark.parametrize(("name", "mutation", "expected"), CASES, ids=[c[0] for c in CASES])
def test_hostile_names_are_rejected_with_their_location(
    name: str,
    mutation: Callable[[Doc], None],
    expected: str,
    workdir: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    doc = small_doc()
    mutation(doc)
    (workdir / SPEC).write_text(dump(doc), encoding="utf-8")
    code = main(["validate", SPEC])
    captured = capsys.readouterr()
    lines = captured.out.splitlines()
    assert code == 1, captured.out + captured.err
    assert f"{SPEC}: {expected}" in lines, "\n".join(lines)
    # Nothing a maintainer's terminal would interpret: no raw control characters in the report.
    assert not re.search(r"[\x00-\x08\x0b-\x1f\x7f\u202e]", captured.out + captured.err)


def test_the_small_spec_is_clean(workdir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (workdir / SPEC).write_text(dump(small_doc()), encoding="utf-8")
    assert main(["validate", SPEC]) == 0, capsys.readouterr().out


def test_the_real_spec_stays_clean(workdir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (workdir / SPEC).write_bytes(REAL_SPEC.read_bytes())
    assert main(["validate", SPEC]) == 0, capsys.readouterr().out


# -- the reserved lists match the templates they are read from -------------------------------


def _template(name: str) -> str:
    return (TEMPLATES / name).read_text(encoding="utf-8")


def _class_body(text: str, name: str) -> str:
    start = text.index(f"\nclass {name}")
    end = text.find("\nclass ", start + 1)
    return text[start : end if end != -1 else len(text)]


def _members(body: str) -> set[str]:
    """Names a class body defines: methods, annotated attributes, `self.x =` assignments."""
    found = set(re.findall(r"^    (?:async )?def (\w+)", body, re.MULTILINE))
    found |= set(re.findall(r"^    (\w+):", body, re.MULTILINE))
    found |= set(re.findall(r"^        self\.(\w+)(?::[^=]*)? =", body, re.MULTILINE))
    return {name for name in found if not naming.is_dunder(name)}


def test_client_reserved_names_cover_the_client_base_classes() -> None:
    text = _template("static/postmark_client/_base_client.py")
    members = set()
    for cls in ("BaseClient", "SyncAPIClient", "AsyncAPIClient"):
        members |= _members(_class_body(text, cls))
    assert members <= naming.CLIENT_RESERVED, members - naming.CLIENT_RESERVED


def test_resource_reserved_names_cover_the_resource_base_classes() -> None:
    text = _template("static/postmark_client/_base_client.py")
    members = _members(_class_body(text, "SyncResource")) | _members(
        _class_body(text, "AsyncResource")
    )
    assert members <= naming.RESOURCE_RESERVED, members - naming.RESOURCE_RESERVED


def test_model_reserved_names_cover_the_model_template() -> None:
    text = _template("models_module.py.jinja")
    members = set(re.findall(r"^    def (\w+)", text, re.MULTILINE))
    members |= set(re.findall(r"^    (\w+): [^{\n]*=", text, re.MULTILINE))
    assert members <= naming.MODEL_RESERVED, members - naming.MODEL_RESERVED


def test_argument_reserved_names_cover_the_method_bodies() -> None:
    text = _template("resources_group.py.jinja")
    bound = set(re.findall(r"^        (\w+) = ", text, re.MULTILINE))
    bound |= set(
        re.findall(r"^        from \.+[\w.]* import (?:[\w{} .]+ as )?(\w+)$", text, re.MULTILINE)
    )
    assert bound <= naming.ARGUMENT_RESERVED, bound - naming.ARGUMENT_RESERVED
