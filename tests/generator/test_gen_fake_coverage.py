"""The fake Postmark's behaviour is chosen by data: handlers registered per operationId, routed
only when the operation table has the operation, and `generate` refuses a spec with an operation
the fake cannot answer (generator/fake_coverage.py reads the registrations without importing)."""

from __future__ import annotations

import ast
import copy
from functools import lru_cache
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml
from gen_support import REAL_SPEC, TEMPLATES, import_generated

from generator import cache, fake_coverage
from generator.build import build_api
from generator.loader import load_spec
from generator.pipeline import EXIT_FAILED, generate

LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
DUMPER = getattr(yaml, "CSafeDumper", yaml.SafeDumper)
BULK_OPERATIONS = ("send_bulk_email", "get_bulk_email_status")


@lru_cache(maxsize=1)
def _real() -> dict[str, Any]:
    doc: dict[str, Any] = yaml.load(REAL_SPEC.read_text(encoding="utf-8"), Loader=LOADER)
    return doc


def real() -> dict[str, Any]:
    return copy.deepcopy(_real())


def write(doc: dict[str, Any], path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(yaml.dump(doc, Dumper=DUMPER, sort_keys=False), encoding="utf-8")
    return path


def without_bulk() -> dict[str, Any]:
    """The spec as it was before release note 2026-03-05: no Bulk API operations, no note."""
    doc = real()
    for path in list(doc["paths"]):
        for method, operation in list(doc["paths"][path].items()):
            if isinstance(operation, dict) and operation.get("operationId") in BULK_OPERATIONS:
                del doc["paths"][path][method]
        if not any(isinstance(v, dict) and "operationId" in v for v in doc["paths"][path].values()):
            del doc["paths"][path]
    notes = doc["x-postmark-release-notes"]
    doc["x-postmark-release-notes"] = [n for n in notes if n["title"] != "Bulk API"]
    doc["info"]["version"] = doc["x-postmark-release-notes"][-1]["date"].replace("-", ".")
    return doc


def with_unhandled_operation(**extra: Any) -> dict[str, Any]:
    """The real spec plus `POST /email/echo` (send_echo_email), which no fake handler covers."""
    doc = real()
    operation = copy.deepcopy(doc["paths"]["/email"]["post"])
    operation.update(operationId="send_echo_email", **{"x-python-name": "send_echo"}, **extra)
    doc["paths"]["/email/echo"] = {"post": operation}
    return doc


# ---- reading registrations from source --------------------------------------------------------


def test_literal_calls_finds_decorator_registrations_only_with_a_literal() -> None:
    source = (
        "@handles('a')\ndef a(call): ...\n\n"
        '@handles("b")\ndef b(call): ...\n\n'
        "handles(name)\nother('c')\nx.handles('d')\n"
    )
    assert fake_coverage.literal_calls(source, "handles") == ["a", "b"]


def test_literal_calls_reads_every_literal_of_a_call_of_literals_only() -> None:
    source = "handles('a', 'b')\nhandles('c', name)\nschema_keys('X', 'Y', 'Z')\n"
    assert fake_coverage.literal_calls(source, "handles") == ["a", "b"]
    assert fake_coverage.literal_calls(source, "schema_keys") == ["X", "Y", "Z"]


def test_the_static_handlers_cover_every_operation_of_the_spec() -> None:
    api = build_api(load_spec(REAL_SPEC))
    assert fake_coverage.coverage_problems(api, TEMPLATES) == []
    handled = fake_coverage.literal_calls(
        (TEMPLATES / fake_coverage.HANDLERS).read_text(encoding="utf-8"), "handles"
    )
    assert len(handled) == len(set(handled)), "an operationId is registered twice"
    assert set(BULK_OPERATIONS) <= set(handled)


def test_what_the_check_reads_is_remembered_by_text_and_read_again_when_it_changes(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("POSTMARK_CODEGEN_CACHE", str(tmp_path / "cache"))
    api = build_api(load_spec(REAL_SPEC))
    assert fake_coverage.coverage_problems(api, TEMPLATES) == []
    assert len(list((tmp_path / "cache" / cache.LITERALS).iterdir())) == 2  # _handlers, _wire
    parsed: list[str] = []
    real_parse = ast.parse

    def parse(source: str, *args: Any, **kwargs: Any) -> ast.Module:
        parsed.append(source)
        return real_parse(source, *args, **kwargs)

    monkeypatch.setattr(fake_coverage.ast, "parse", parse)
    assert fake_coverage.coverage_problems(api, TEMPLATES) == [] and parsed == []
    handlers = (TEMPLATES / fake_coverage.HANDLERS).read_text(encoding="utf-8")
    assert handlers.count('@handles("send_email")\n') == 1
    changed = handlers.replace('@handles("send_email")\n', '@handles("no_such_operation")\n')
    templates = _templates_with(tmp_path, fake_coverage.HANDLERS, changed)
    [problem] = fake_coverage.coverage_problems(api, templates)
    assert "'send_email' has no handler" in problem and parsed == [changed]
    # An entry edited to claim the handler is there is not believed: the text is parsed again.
    for entry in (tmp_path / "cache" / cache.LITERALS).iterdir():
        seal, _, body = entry.read_text(encoding="utf-8").partition("\n")
        entry.write_text(seal + "\n" + body.replace("no_such_operation", "send_email"))
    assert fake_coverage.coverage_problems(api, templates) == [problem]
    assert parsed == [changed, changed]


def test_an_operation_without_a_handler_is_named_with_its_spec_path(tmp_path: Path) -> None:
    api = build_api(load_spec(write(with_unhandled_operation(), tmp_path / "spec.yaml")))
    [problem] = fake_coverage.coverage_problems(api, TEMPLATES)
    assert problem.startswith("paths./email/echo.post: operation 'send_echo_email' has no handler")
    assert '@handles("send_echo_email")' in problem


def test_an_operation_with_x_postmark_resource_counts_as_covered(tmp_path: Path) -> None:
    resource = {"collection": "echoes", "action": "create", "id": "ID"}
    doc = with_unhandled_operation(**{"x-postmark-resource": resource})
    api = build_api(load_spec(write(doc, tmp_path / "spec.yaml")))
    assert api.operations[-1].resource == {
        **resource, "id_param": None, "list": None, "filters": []
    }  # fmt: skip
    assert fake_coverage.coverage_problems(api, TEMPLATES) == []


def test_generate_refuses_an_operation_the_fake_cannot_answer(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    spec = write(with_unhandled_operation(), tmp_path / "spec" / "postmark.yaml")
    out = tmp_path / "out"
    assert generate(spec, out) == EXIT_FAILED
    assert not out.exists()
    err = capsys.readouterr().err
    assert "send_echo_email" in err and "paths./email/echo.post" in err, err
    assert str(spec) in err or "postmark.yaml" in err
    assert "nothing was generated" in err


# ---- a spec without the Bulk API yields a fake without it --------------------------------------


def test_a_spec_without_the_bulk_api_yields_a_working_fake_without_it(tmp_path: Path) -> None:
    spec = write(without_bulk(), tmp_path / "spec" / "postmark.yaml")
    out = tmp_path / "generated"
    assert generate(spec, out) == 0
    package = import_generated(out, "postmark_client_nobulk")
    operations = __import__("postmark_client_nobulk._operations", fromlist=["OPERATIONS"])
    assert not set(BULK_OPERATIONS) & set(operations.OPERATIONS)
    testing = __import__("postmark_client_nobulk.testing", fromlist=["FakePostmark"])
    wire = __import__("postmark_client_nobulk.testing._wire", fromlist=["route"])
    assert wire.route("POST", "/email/bulk").op is None
    assert package.__name__ == "postmark_client_nobulk"

    fake = testing.FakePostmark()
    headers = {"X-Postmark-Server-Token": fake.server_token, "Accept": "application/json"}
    with httpx.Client(transport=fake.transport(), base_url="https://api.postmarkapp.com") as http:
        bulk = http.post(
            "/email/bulk",
            headers=headers,
            json={"From": "a@example.com", "Subject": "Hi", "TextBody": "Hi", "Messages": []},
        )
        assert bulk.status_code == 404, bulk.text
        assert http.get("/email/bulk/abc", headers=headers).status_code == 404
        sent = http.post(
            "/email",
            headers=headers,
            json={
                "From": "a@example.com",
                "To": "b@example.com",
                "Subject": "Hi",
                "TextBody": "Hi",
            },
        )
        assert sent.status_code == 200, sent.text
        assert sent.json()["ErrorCode"] == 0
        assert sent.json()["To"] == "b@example.com"


# ---- a broken static module fails generate, located, and nothing is written --------------------


def _templates_with(tmp_path: Path, relative: Path, text: str) -> Path:
    import shutil

    templates = tmp_path / "templates"
    shutil.copytree(TEMPLATES, templates)
    (templates / relative).write_text(text, encoding="utf-8")
    return templates


@pytest.mark.parametrize(
    "relative",
    [fake_coverage.HANDLERS, Path("static") / "postmark_client" / "batch.py"],
    ids=["handlers (read by the coverage check)", "any static module"],
)
def test_a_static_module_that_does_not_compile_is_refused_with_its_place(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], relative: Path
) -> None:
    templates = _templates_with(tmp_path, relative, "def broken(:\n    pass\n")
    out = tmp_path / "out"
    assert generate(REAL_SPEC, out, templates=templates) == EXIT_FAILED
    assert not out.exists()
    err = capsys.readouterr().err
    assert relative.name in err and "line 1" in err and "Traceback" not in err, err
    assert "nothing was generated" in err


def test_a_schema_the_fakes_answers_are_shaped_by_must_be_in_the_spec(tmp_path: Path) -> None:
    wire = (TEMPLATES / fake_coverage.WIRE).read_text(encoding="utf-8")
    assert '    "ClickEvent",\n)' in wire
    wire = wire.replace('    "ClickEvent",\n)', '    "ClickEvent",\n    "NoSuchAnswer",\n)')
    templates = _templates_with(tmp_path, fake_coverage.WIRE, wire)
    api = build_api(load_spec(REAL_SPEC))
    [problem] = fake_coverage.coverage_problems(api, templates)
    assert "NoSuchAnswer" in problem and "(schema_keys('NoSuchAnswer'))" in problem, problem
