"""The verdict that survives prose edits (generator/prose.py, pipeline._validate).

A spec whose structure (everything but the text of its descriptions and summaries) validated
cleanly before is checked by validate.TEXT_RULES only. Each test proves a side of that: prose is
blanked only where OpenAPI defines prose, a structural change after a prose edit is validated in
full, whatever only the text rules see is still caught, and the cache key covers what it must.
Throughout, the answer must be the one a full validation gives (`validate` with no cache).
"""

from __future__ import annotations

import shutil
from collections.abc import Callable
from importlib import metadata
from pathlib import Path

import pytest
from gen_support import SMALL_SPEC

from generator import pipeline
from generator.loader import Spec, load_spec
from generator.pipeline import GenerationError, build_model
from generator.prose import BLANK, structure_digest

TEXT = SMALL_SPEC.read_text(encoding="utf-8")


def edited(text: str, *replacements: tuple[str, str]) -> str:
    for old, new in replacements:
        assert text.count(old) == 1, old
        text = text.replace(old, new)
    return text


def digest_of(text: str, tmp_path: Path, name: str = "spec.yaml") -> str | None:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return structure_digest(load_spec(path))


def digest(root: dict[str, object]) -> str | None:
    return structure_digest(Spec(path=Path("spec.yaml"), root=root))


# ---- what is prose ------------------------------------------------------------------------------

RESPONSE = (
    "          content:\n            application/json:\n"
    "              schema: {$ref: '#/components/schemas/Bounce'}\n              example: {ID: 42"
)
PROSE_EDITS = {
    "operation summary": ("summary: Get one bounce.", "summary: Get a single bounce."),
    "operation description": (
        "summary: Get one bounce.\n      description: Read-only.",
        "summary: Get one bounce.\n      description: Only reads, twice.",
    ),
    "parameter description": ("description: The bounce ID.", "description: Its ID."),
    "response description": (
        "description: The bounce.\n" + RESPONSE,
        "description: That bounce.\n" + RESPONSE,
    ),
    "tag description": ("description: Read bounces.", "description: Bounces, read."),
}


@pytest.mark.parametrize("edit", PROSE_EDITS.values(), ids=list(PROSE_EDITS))
def test_prose_edits_keep_the_structure(edit: tuple[str, str], tmp_path: Path) -> None:
    before = digest_of(TEXT, tmp_path, "before.yaml")
    assert before is not None
    assert digest_of(edited(TEXT, edit), tmp_path) == before


def test_the_real_spec_has_a_structure_digest() -> None:
    assert structure_digest(load_spec(Path("spec/postmark.yaml"))) is not None


def _schema_spec(schema: object, **more: object) -> dict[str, object]:
    return {
        "openapi": "3.1.0",
        "info": {"title": "t", "version": "1", "description": "About."},
        "paths": {},
        "components": {"schemas": {"Thing": schema}},
        **more,
    }


@pytest.mark.parametrize(
    ("before", "after"),
    [
        # A property literally named `description` or `summary` is a schema, not prose.
        (
            {"type": "object", "properties": {"description": {"type": "string"}}},
            {"type": "object", "properties": {"description": {"type": "integer"}}},
        ),
        ({"properties": {"summary": "a"}}, {"properties": {"summary": "b"}}),
        # Example data, defaults, consts and enums are data.
        ({"example": {"description": "a"}}, {"example": {"description": "b"}}),
        ({"examples": [{"summary": "a"}]}, {"examples": [{"summary": "b"}]}),
        ({"default": {"description": "a"}}, {"default": {"description": "b"}}),
        ({"const": {"description": "a"}}, {"const": {"description": "b"}}),
        # A discriminator mapping's values are references; extensions are the project's data.
        (
            {"discriminator": {"propertyName": "t", "mapping": {"description": "#/a"}}},
            {"discriminator": {"propertyName": "t", "mapping": {"description": "#/b"}}},
        ),
        ({"x-note": {"description": "a"}}, {"x-note": {"description": "b"}}),
        # Whether a text is there at all, and its type, are structure.
        ({"description": ""}, {"description": "now there is one"}),
        ({"description": "text"}, {"description": 5}),
        ({"description": "text"}, {"description": ["text"]}),
        # The title is not blanked.
        ({"title": "a"}, {"title": "b"}),
    ],
)
def test_what_is_not_prose_stays_in_the_digest(before: object, after: object) -> None:
    first, second = digest(_schema_spec(before)), digest(_schema_spec(after))
    assert first is not None and second is not None
    assert first != second


def test_schema_and_nested_schema_descriptions_are_prose() -> None:
    def thing(text: str) -> dict[str, object]:
        return {
            "type": "object",
            "description": text,
            "properties": {"description": {"type": "string", "description": text}},
            "items": {"anyOf": [{"description": text}]},
        }

    assert digest(_schema_spec(thing("one"))) == digest(_schema_spec(thing("two")))


def test_components_and_extension_keys_of_a_map_are_kept_whole() -> None:
    def spec(text: str) -> dict[str, object]:
        return _schema_spec(
            {"type": "string"},
            paths={"x-draft": {"get": {"summary": text}}},
        )

    assert digest(spec("one")) != digest(spec("two"))


@pytest.mark.parametrize(
    "more",
    [
        # A `$ref` in example data: a validator that follows it would read the texts as data.
        {"default": {"$ref": "#/info"}},
        # A schema `$ref` to something that is not a schema.
        {"$ref": "#/info"},
        # References that resolve differently from a plain pointer.
        {"$id": "https://example.test/thing"},
        {"$ref": "other.yaml#/Thing"},
        {"$ref": "#/components/schemas/Th%69ng"},
        {"$schema": "https://json-schema.org/draft/2019-09/schema"},
    ],
)
def test_a_spec_the_walk_cannot_vouch_for_has_no_digest(more: dict[str, object]) -> None:
    assert digest(_schema_spec({"type": "object", **more})) is None


def test_a_reference_to_another_kind_of_object_has_no_digest() -> None:
    spec = _schema_spec({"type": "string"})
    spec["paths"] = {
        "/a": {"get": {"parameters": [{"$ref": "#/components/schemas/Thing"}], "responses": {}}}
    }
    assert digest(spec) is None
    spec["components"]["parameters"] = {"P": {"name": "p", "in": "query"}}  # type: ignore[index]
    spec["paths"]["/a"]["get"]["parameters"] = [{"$ref": "#/components/parameters/P"}]  # type: ignore[index]
    assert digest(spec) is not None


def test_blanking_never_touches_the_spec() -> None:
    spec = _schema_spec({"description": "kept"})
    assert digest(spec) is not None
    assert spec["components"]["schemas"]["Thing"]["description"] == "kept"  # type: ignore[index]
    assert spec["info"]["description"] == "About."  # type: ignore[index]
    assert BLANK not in repr(spec)


# ---- the pipeline -------------------------------------------------------------------------------


@pytest.fixture
def runs(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> list[str]:
    """Which validation each build ran ("full" or "texts"), with a private cache folder."""
    import generator.validate

    monkeypatch.setenv("POSTMARK_CODEGEN_CACHE", str(tmp_path / "cache"))
    calls: list[str] = []
    full, texts = generator.validate.validate_spec, generator.validate.validate_texts

    def counting(name: str, real: Callable[[Spec], list[object]]) -> Callable[[Spec], list[object]]:
        def run(spec: Spec) -> list[object]:
            calls.append(name)
            return list(real(spec))

        return run

    monkeypatch.setattr(generator.validate, "validate_spec", counting("full", full))
    monkeypatch.setattr(generator.validate, "validate_texts", counting("texts", texts))
    return calls


@pytest.fixture
def spec(tmp_path: Path) -> Path:
    path = tmp_path / "postmark.yaml"
    shutil.copyfile(SMALL_SPEC, path)
    return path


def uncached(path: Path, monkeypatch: pytest.MonkeyPatch) -> str | None:
    """The full validation's answer: None when clean, else the error message."""
    with monkeypatch.context() as patch:
        patch.setenv("POSTMARK_CODEGEN_CACHE", "off")
        try:
            build_model(path)
        except GenerationError as exc:
            return str(exc)
    return None


def outcome(path: Path) -> str | None:
    try:
        build_model(path)
    except GenerationError as exc:
        return str(exc)
    return None


def test_a_prose_edit_runs_only_the_text_rules(runs: list[str], spec: Path) -> None:
    build_model(spec)
    assert runs == ["full"]
    spec.write_text(edited(TEXT, PROSE_EDITS["operation summary"]))
    api = build_model(spec)
    assert runs == ["full", "texts"]
    assert "Get a single bounce." in repr(api)
    build_model(spec)  # and now the exact verdict holds
    assert runs == ["full", "texts"]
    spec.write_text(edited(TEXT, PROSE_EDITS["tag description"]))
    build_model(spec)
    assert runs == ["full", "texts", "texts"]


def test_a_structural_edit_after_a_prose_edit_is_validated_in_full(
    runs: list[str], spec: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    build_model(spec)
    spec.write_text(edited(TEXT, PROSE_EDITS["operation summary"]))
    build_model(spec)
    spec.write_text(
        edited(
            TEXT,
            PROSE_EDITS["operation summary"],
            (
                "format: int64, minimum: 1}\n      responses",
                "format: int64, minimum: x}\n      responses",
            ),
        )
    )
    with pytest.raises(GenerationError, match="minimum") as raised:
        build_model(spec)
    assert runs == ["full", "texts", "full"]
    assert str(raised.value) == uncached(spec, monkeypatch)


@pytest.mark.parametrize(
    ("edit", "validations"),
    [
        # A second `summary:` line: loading keeps the last, the structure digest cannot see it,
        # the text rules do.
        (
            ("summary: Get one bounce.", "summary: Get one bounce.\n      summary: Get a bounce."),
            ["full", "texts", "full"],
        ),
        # The tag rule asks whether there is a description: emptiness is structure.
        (("description: Read bounces.", "description: ''"), ["full", "full"]),
    ],
    ids=["duplicate summary key", "tag without description"],
)
def test_what_only_the_text_rules_see_is_caught_with_every_problem(
    edit: tuple[str, str],
    validations: list[str],
    runs: list[str],
    spec: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    build_model(spec)
    spec.write_text(edited(TEXT, edit))
    message = outcome(spec)
    assert message is not None
    assert runs == validations  # the problems listed are the full validation's
    assert message == uncached(spec, monkeypatch)


def test_a_control_character_in_a_prose_edit_is_refused(
    runs: list[str], spec: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    build_model(spec)
    spec.write_text(edited(TEXT, ("summary: Get one bounce.", "summary: Get one\x1b[31m bounce.")))
    with pytest.raises(GenerationError, match="control character U\\+001B"):
        build_model(spec)
    assert runs == ["full"]  # refused when loading, before any validation


@pytest.mark.parametrize(
    "edit",
    [
        PROSE_EDITS["operation summary"],
        ("summary: Get one bounce.", 'summary: "Get one \\e[31m\\u202e bounce."'),
        ("summary: Get one bounce.", "summary: 5"),
        ("summary: Get one bounce.", "summary: [Get, one]"),
        (
            "summary: Get one bounce.\n      description: Read-only.",
            "summary: Get one bounce.\n      description: |\n        Two\n        lines.",
        ),
        ("description: The bounce ID.", "description: ''"),
        ("description: Send email. Sends real mail.", "description: null"),
        (
            "format: int64, minimum: 1}\n      responses",
            "format: int64, minimum: 1, description: 3}\n      responses",
        ),
        ("Inactive: true}", "Inactive: true, description: no}"),
    ],
)
def test_the_answer_is_always_the_full_validations(
    edit: tuple[str, str], runs: list[str], spec: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    build_model(spec)
    spec.write_text(edited(TEXT, edit))
    assert outcome(spec) == uncached(spec, monkeypatch)
    assert outcome(spec) == uncached(spec, monkeypatch)  # and again, from whatever was cached


def test_problems_are_never_remembered_as_a_structure(runs: list[str], spec: Path) -> None:
    broken = edited(
        TEXT,
        (
            "format: int64, minimum: 1}\n      responses",
            "format: int64, minimum: x}\n      responses",
        ),
    )
    spec.write_text(broken)
    with pytest.raises(GenerationError):
        build_model(spec)
    spec.write_text(edited(broken, PROSE_EDITS["operation summary"]))
    with pytest.raises(GenerationError, match="minimum"):
        build_model(spec)
    assert runs == ["full", "full"]


def test_the_structure_verdict_depends_on_the_validator_versions(
    runs: list[str], spec: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    build_model(spec)
    real: Callable[[str], str] = metadata.version
    monkeypatch.setattr(
        metadata, "version", lambda name: "999.0" if name == "jsonschema" else real(name)
    )
    spec.write_text(edited(TEXT, PROSE_EDITS["operation summary"]))
    build_model(spec)
    assert runs == ["full", "full"]


def test_a_damaged_structure_verdict_means_full_validation(
    runs: list[str], spec: Path, tmp_path: Path
) -> None:
    build_model(spec)
    for verdict in (tmp_path / "cache" / "validated").glob("*.json"):
        if "structure" in verdict.read_text():
            verdict.write_text('{"structure": "something else"}')
    spec.write_text(edited(TEXT, PROSE_EDITS["operation summary"]))
    build_model(spec)
    assert runs == ["full", "full"]


def test_no_cache_means_full_validation(
    runs: list[str], spec: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("POSTMARK_CODEGEN_CACHE", "off")
    build_model(spec)
    spec.write_text(edited(TEXT, PROSE_EDITS["operation summary"]))
    build_model(spec)
    assert runs == ["full", "full"]


def test_a_spec_in_several_files_is_validated_in_full_after_a_prose_edit(
    runs: list[str], tmp_path: Path
) -> None:
    folder = tmp_path / "split"
    folder.mkdir()
    local = "TrackLinks: {$ref: '#/components/schemas/TrackLinks'}"
    (folder / "postmark.yaml").write_text(edited(TEXT, (local, local.replace("#", "extra.yaml#"))))
    (folder / "extra.yaml").write_text(
        "components:\n  schemas:\n    TrackLinks:\n      type: string\n"
        "      enum: [None, HtmlAndText]\n"
    )
    build_model(folder / "postmark.yaml")
    text = (folder / "postmark.yaml").read_text()
    (folder / "postmark.yaml").write_text(edited(text, PROSE_EDITS["operation summary"]))
    build_model(folder / "postmark.yaml")
    assert runs == ["full", "full"]
    assert pipeline.cache_dir() is not None
