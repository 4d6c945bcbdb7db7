"""What a run may skip: black for files the output folder's manifest vouches for, and validation of
a spec that validated cleanly before. Each test proves both sides: the skip happens when nothing
changed, and does not when the file, the template, the spec or the tools changed."""

from __future__ import annotations

import hashlib
import json
import shutil
from collections.abc import Callable, Iterator
from importlib import metadata
from pathlib import Path

import pytest
from gen_support import SMALL_OUTPUTS, SMALL_SPEC, TEMPLATES, build_small, small_files

from generator import cache, pipeline, render
from generator.pipeline import GenerationError, build_model, check, generate, read_tree

MANIFEST = render.MANIFEST
PYTHON_FILES = sorted(o.path for o in small_files() if o.is_python and not o.static)
MODELS = "postmark_client/models/_bounces.py"
CLIENT = "postmark_client/client.py"


@pytest.fixture(scope="module")
def format_cache(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("format-cache")


@pytest.fixture(scope="module")
def pristine(tmp_path_factory: pytest.TempPathFactory, format_cache: Path) -> Path:
    """SMALL_SPEC generated once, manifest included; tests work on copies of it."""
    out = tmp_path_factory.mktemp("pristine") / "generated"
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("POSTMARK_CODEGEN_CACHE", str(format_cache))
        assert generate(SMALL_SPEC, out, outputs=SMALL_OUTPUTS) == 0
    return out


@pytest.fixture
def out(pristine: Path, tmp_path: Path) -> Path:
    """A copy of the generated folder elsewhere: what a fresh clone has."""
    copy = tmp_path / "clone" / "generated"
    shutil.copytree(pristine, copy)
    return copy


@pytest.fixture
def formatted(monkeypatch: pytest.MonkeyPatch, format_cache: Path) -> Iterator[list[str]]:
    """The paths handed to black (through format_many), i.e. those not reused from the folder.

    The format cache filled by `pristine` stays on, so what is handed over is formatted fast;
    which paths are handed over does not depend on that cache.
    """
    monkeypatch.setenv("POSTMARK_CODEGEN_CACHE", str(format_cache))
    seen: list[str] = []
    real = render.format_many

    def recording(sources: dict[str, str]) -> dict[str, tuple[str | None, str | None]]:
        seen.extend(sources)
        return real(sources)

    monkeypatch.setattr(render, "format_many", recording)
    yield seen


def manifest(folder: Path) -> dict[str, dict[str, str]]:
    files: dict[str, dict[str, str]] = json.loads((folder / MANIFEST).read_text())["files"]
    return files


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


# ---- the manifest ------------------------------------------------------------------------------


def test_manifest_records_each_python_file_before_and_after_black(pristine: Path) -> None:
    entries = manifest(pristine)
    assert sorted(entries) == PYTHON_FILES  # README, pyproject and static files are not black's
    env, api = render.environment(), build_small()
    for output in small_files():
        if output.is_python and not output.static:
            entry = entries[output.path]
            assert entry["formatted"] == sha256((pristine / output.path).read_bytes())
            source = render.render_text(env, api, output)
            assert entry["source"] == render._cache_key(source)
            assert entry["formatted"] == sha256(render.format_python(source).encode())


def test_manifest_is_deterministic_text_without_paths_or_times(pristine: Path) -> None:
    text = (pristine / MANIFEST).read_text()
    assert text == json.dumps(json.loads(text), indent=2, sort_keys=True) + "\n"
    assert str(pristine.parent) not in text and "/tmp" not in text
    assert set(json.loads(text)) == {"about", "files", "formatter"}
    assert render.manifest_bytes(render.read_manifest(pristine)) == text.encode()


def test_source_hash_covers_formatter_version_and_options(monkeypatch: pytest.MonkeyPatch) -> None:
    before = render._cache_key("x = 1\n")
    monkeypatch.setattr(render, "formatter_version", lambda: "0.0.test")
    upgraded = render._cache_key("x = 1\n")
    monkeypatch.setattr(render, "FORMATTER_ARGS", (*render.FORMATTER_ARGS[:-1], "py312"))
    assert len({before, upgraded, render._cache_key("x = 1\n")}) == 3


# ---- reuse: a fresh clone, cold -----------------------------------------------------------------


def test_fresh_clone_is_neither_formatted_nor_rewritten(
    out: Path, pristine: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """No format cache at all (a CI runner): the formatter is not needed, so it must not run."""
    monkeypatch.setenv("POSTMARK_CODEGEN_CACHE", "off")

    def no_formatter(sources: dict[str, str]) -> dict[str, str]:
        raise AssertionError(f"the formatter ran on files the manifest vouches for: {sources}")

    monkeypatch.setattr(render, "_run_formatter", no_formatter)
    mtimes = {p: p.stat().st_mtime_ns for p in out.rglob("*") if p.is_file()}
    capsys.readouterr()
    assert generate(SMALL_SPEC, out, outputs=SMALL_OUTPUTS) == 0
    assert "up to date" in capsys.readouterr().out
    assert {p: p.stat().st_mtime_ns for p in out.rglob("*") if p.is_file()} == mtimes
    assert check(SMALL_SPEC, out, outputs=SMALL_OUTPUTS) == 0
    assert "up to date" in capsys.readouterr().out


def test_check_reuses_from_the_folder_it_compares(out: Path, formatted: list[str]) -> None:
    assert check(SMALL_SPEC, out, outputs=SMALL_OUTPUTS) == 0
    assert formatted == []
    (out / MANIFEST).unlink()  # without the manifest, nothing can be vouched for
    assert check(SMALL_SPEC, out, outputs=SMALL_OUTPUTS) == 1
    assert sorted(formatted) == PYTHON_FILES


# ---- what must not be reused ----------------------------------------------------------------------


def test_hand_edit_is_formatted_again_and_check_reports_it(
    out: Path, pristine: Path, formatted: list[str], capsys: pytest.CaptureFixture[str]
) -> None:
    models = out / MODELS
    original = models.read_text()
    assert '"""' in original
    # Black-clean on purpose: the edit is caught by its hash, not by black disagreeing with it.
    edited = original.replace('"""', '"""EDITED BY HAND. ', 1)
    models.write_text(edited)
    capsys.readouterr()
    assert check(SMALL_SPEC, out, outputs=SMALL_OUTPUTS) == 1
    report = capsys.readouterr().out
    assert formatted == [MODELS]
    assert "EDITED BY HAND" in report and f"/{MODELS}" in report
    assert "is stale: 0 added, 1 changed, 0 removed" in report  # the manifest is still right
    assert models.read_text() == edited  # check never writes

    formatted.clear()
    assert generate(SMALL_SPEC, out, outputs=SMALL_OUTPUTS) == 0
    assert formatted == [MODELS]
    assert read_tree(out) == read_tree(pristine)


def test_manifest_entry_is_trusted_only_for_its_source(
    out: Path, formatted: list[str], capsys: pytest.CaptureFixture[str]
) -> None:
    """A manifest entry is only trusted for the source it was written for."""
    entries = json.loads((out / MANIFEST).read_text())
    entries["files"][MODELS]["source"] = "0" * 64
    (out / MANIFEST).write_text(json.dumps(entries, indent=2, sort_keys=True) + "\n")
    capsys.readouterr()
    assert check(SMALL_SPEC, out, outputs=SMALL_OUTPUTS) == 1
    assert formatted == [MODELS]
    report = capsys.readouterr().out
    assert "is stale: 0 added, 1 changed, 0 removed" in report and f"/{MANIFEST}" in report


@pytest.mark.parametrize(
    "damage",
    ["not json", '{"files": []}', '{"files": {"postmark_client/models/_bounces.py": 1}}', ""],
)
def test_unreadable_manifest_means_format_everything(
    out: Path, pristine: Path, formatted: list[str], damage: str
) -> None:
    (out / MANIFEST).write_text(damage)
    assert check(SMALL_SPEC, out, outputs=SMALL_OUTPUTS) == 1  # the manifest itself differs
    assert sorted(formatted) == PYTHON_FILES
    assert generate(SMALL_SPEC, out, outputs=SMALL_OUTPUTS) == 0
    assert read_tree(out) == read_tree(pristine)


def test_template_edit_reformats_only_what_it_renders(
    out: Path, pristine: Path, tmp_path: Path, formatted: list[str]
) -> None:
    templates = tmp_path / "templates"
    shutil.copytree(TEMPLATES, templates)
    client = templates / "client.py.jinja"
    text = client.read_text()
    assert "each reaching only what its token can" in text
    client.write_text(text.replace("each reaching only what its token can", "TEMPLATE EDIT"))
    assert generate(SMALL_SPEC, out, outputs=SMALL_OUTPUTS, templates=templates) == 0
    assert formatted == [CLIENT]
    assert "TEMPLATE EDIT" in (out / CLIENT).read_text()
    before, after = manifest(pristine), manifest(out)
    assert after[CLIENT]["source"] != before[CLIENT]["source"]
    assert {p: e for p, e in after.items() if p != CLIENT} == {
        p: e for p, e in before.items() if p != CLIENT
    }
    formatted.clear()
    assert check(SMALL_SPEC, out, outputs=SMALL_OUTPUTS, templates=templates) == 0
    assert formatted == []


def test_spec_edit_reformats_only_what_it_changes(
    out: Path, tmp_path: Path, formatted: list[str]
) -> None:
    spec = tmp_path / "edited.yaml"
    text = SMALL_SPEC.read_text()
    assert "summary: Get one bounce." in text
    spec.write_text(
        text.replace("summary: Get one bounce.", "summary: Fetch one bounce by its ID.")
    )
    assert generate(spec, out, outputs=SMALL_OUTPUTS) == 0
    assert sorted(formatted) == [
        "postmark_client/_async_resources/_bounces.py",
        "postmark_client/_operations/_bounces.py",
        "postmark_client/_resources/_bounces.py",
    ]


def test_formatter_upgrade_reformats_everything(
    out: Path, formatted: list[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(render, "formatter_version", lambda: "99.0.test")
    assert check(SMALL_SPEC, out, outputs=SMALL_OUTPUTS) == 1  # the manifest names the version
    assert sorted(formatted) == PYTHON_FILES


# ---- the format cache: sealed entries ----------------------------------------------------------


@pytest.mark.parametrize(
    "damage",
    [
        lambda seal, body, other: f"{seal}\ndef broken(:\n",  # edited by hand, seal kept
        lambda seal, body, other: other,  # another key's entry copied over this one
        lambda seal, body, other: "def broken(:\n",  # no seal (an older layout), bad Python
        lambda seal, body, other: seal[:10],  # cut short
    ],
    ids=["edited body", "foreign entry", "no seal", "truncated"],
)
def test_a_damaged_or_foreign_format_cache_entry_never_reaches_the_output(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, damage: Callable[[str, str, str], str]
) -> None:
    monkeypatch.setenv("POSTMARK_CODEGEN_CACHE", str(tmp_path / "cache"))
    assert generate(SMALL_SPEC, tmp_path / "first", outputs=SMALL_OUTPUTS) == 0
    entries = sorted((tmp_path / "cache" / cache.FORMATTED).iterdir())
    assert len(entries) == len(PYTHON_FILES)
    texts = [entry.read_text(encoding="utf-8") for entry in entries]
    for index, entry in enumerate(entries):
        seal, body = texts[index].split("\n", 1)
        entry.write_text(damage(seal, body, texts[index - 1]), encoding="utf-8")
    assert generate(SMALL_SPEC, tmp_path / "second", outputs=SMALL_OUTPUTS) == 0
    assert read_tree(tmp_path / "second") == read_tree(tmp_path / "first")
    # Formatted afresh, and stored sealed again.
    assert [entry.read_text(encoding="utf-8") for entry in entries] == texts


def test_a_changed_spec_byte_misses_the_format_cache_for_what_it_changes(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("POSTMARK_CODEGEN_CACHE", str(tmp_path / "cache"))
    spec = tmp_path / "postmark.yaml"
    shutil.copyfile(SMALL_SPEC, spec)
    assert generate(spec, tmp_path / "first", outputs=SMALL_OUTPUTS) == 0
    text = spec.read_text()
    assert text.count("summary: Get one bounce.") == 1
    spec.write_text(text.replace("summary: Get one bounce.", "summary: Get one bounce!"))
    handed: list[str] = []
    real = render._run_formatter

    def recording(sources: dict[str, str]) -> dict[str, str]:
        handed.extend(sources)
        return real(sources)

    monkeypatch.setattr(render, "_run_formatter", recording)
    assert generate(spec, tmp_path / "second", outputs=SMALL_OUTPUTS) == 0
    second = read_tree(tmp_path / "second")
    changes = pipeline.compare(second, read_tree(tmp_path / "first"))
    assert handed and sorted(handed) == [p for p in changes.changed if p.endswith(".py")]
    monkeypatch.setenv("POSTMARK_CODEGEN_CACHE", "off")
    assert generate(spec, tmp_path / "fresh", outputs=SMALL_OUTPUTS) == 0
    assert second == read_tree(tmp_path / "fresh")


# ---- static modules: a clean compile is remembered by content ----------------------------------

STATIC_MODULE = "static/postmark_client/batch.py"


def test_a_static_module_is_compiled_once_per_content(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("POSTMARK_CODEGEN_CACHE", str(tmp_path / "cache"))
    templates = tmp_path / "templates"
    shutil.copytree(TEMPLATES, templates, ignore=shutil.ignore_patterns("__pycache__"))

    def run(name: str) -> int:
        return generate(SMALL_SPEC, tmp_path / name, outputs=SMALL_OUTPUTS, templates=templates)

    assert run("first") == 0
    static = [o for o in SMALL_OUTPUTS if o.static and o.is_python]
    digests = {sha256((templates / o.template).read_bytes()) for o in static}
    assert {p.name for p in (tmp_path / "cache" / cache.COMPILED).iterdir()} == digests
    compiled: list[str | bytes] = []
    real = render.syntax_error

    def recording(source: str | bytes) -> str | None:
        compiled.append(source)
        return real(source)

    monkeypatch.setattr(render, "syntax_error", recording)
    assert run("second") == 0
    assert compiled == []
    # A changed module is compiled again, so its syntax error is refused though the verdict on its
    # earlier text is kept; so is a hand-made verdict for the broken text (it has no valid seal).
    broken = b"def broken(:\n    pass\n"
    (templates / STATIC_MODULE).write_bytes(broken)
    (tmp_path / "cache" / cache.COMPILED / sha256(broken)).write_bytes(b"\n")
    capsys.readouterr()
    assert run("third") == 2
    assert "batch.py" in capsys.readouterr().err and compiled == [broken]
    assert not (tmp_path / "third").exists()


# ---- compiled templates ---------------------------------------------------------------------------


def test_compiled_templates_are_cached_and_a_damaged_cache_is_harmless(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    api, output = build_small(), next(o for o in SMALL_OUTPUTS if o.path == CLIENT)
    monkeypatch.setenv("POSTMARK_CODEGEN_CACHE", "off")
    expected = render.render_text(render.environment(), api, output)
    monkeypatch.setenv("POSTMARK_CODEGEN_CACHE", str(tmp_path / "cache"))
    assert render.render_text(render.environment(), api, output) == expected
    entries = list((tmp_path / "cache" / "templates").iterdir())
    assert entries
    for entry in entries:
        entry.write_bytes(entry.read_bytes()[:20] + b"damaged")
    assert render.render_text(render.environment(), api, output) == expected
    (tmp_path / "file").write_text("not a folder")
    monkeypatch.setenv("POSTMARK_CODEGEN_CACHE", str(tmp_path / "file"))
    assert render.render_text(render.environment(), api, output) == expected


# ---- the remembered validation verdict ---------------------------------------------------------


@pytest.fixture
def validations(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> list[Path]:
    """Calls of the real validator (by spec path), with a private cache folder."""
    import generator.validate

    monkeypatch.setenv("POSTMARK_CODEGEN_CACHE", str(tmp_path / "cache"))
    calls: list[Path] = []
    real = generator.validate.validate_spec

    def counting(spec: pipeline.Spec) -> list[object]:
        calls.append(spec.path)
        return list(real(spec))

    monkeypatch.setattr(generator.validate, "validate_spec", counting)
    return calls


@pytest.fixture
def split_spec(tmp_path: Path) -> Path:
    """SMALL_SPEC with one schema moved into a second file, reached by `$ref`."""
    folder = tmp_path / "spec"
    folder.mkdir()
    text = SMALL_SPEC.read_text()
    local = "TrackLinks: {$ref: '#/components/schemas/TrackLinks'}"
    assert text.count(local) == 1
    (folder / "postmark.yaml").write_text(text.replace(local, local.replace("#", "extra.yaml#")))
    (folder / "extra.yaml").write_text(
        "components:\n  schemas:\n    TrackLinks:\n      type: string\n"
        "      enum: [None, HtmlAndText]\n"
    )
    return folder / "postmark.yaml"


def test_clean_verdict_is_remembered_until_the_spec_changes(
    validations: list[Path], tmp_path: Path
) -> None:
    spec = tmp_path / "postmark.yaml"
    shutil.copyfile(SMALL_SPEC, spec)
    build_model(spec)
    build_model(spec)
    assert len(validations) == 1
    # An edit of prose only runs the text rules (see test_gen_prose_verdict.py); this one is not.
    spec.write_text(spec.read_text().replace("{ID: 42, Type", "{ID: 43, Type"))
    build_model(spec)
    assert len(validations) == 2
    build_model(spec)
    assert len(validations) == 2


def test_file_reached_by_ref_is_part_of_the_verdict(
    validations: list[Path], split_spec: Path
) -> None:
    build_model(split_spec)
    build_model(split_spec)
    assert len(validations) == 1
    extra = split_spec.parent / "extra.yaml"
    extra.write_text(extra.read_text().replace("type: string", "type: strnig"))
    with pytest.raises(GenerationError, match=r"extra\.yaml: .*TrackLinks\.type"):
        build_model(split_spec)
    with pytest.raises(GenerationError, match=r"TrackLinks\.type"):  # problems: never remembered
        build_model(split_spec)
    assert len(validations) == 3


def test_file_changed_during_validation_is_not_remembered(
    validations: list[Path], split_spec: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import generator.validate

    counting = generator.validate.validate_spec
    extra = split_spec.parent / "extra.yaml"

    def edit_while_validating(spec: pipeline.Spec) -> list[object]:
        found = counting(spec)
        extra.write_text(extra.read_text().replace("HtmlAndText]", "HtmlAndText, Other]"))
        return found

    monkeypatch.setattr(generator.validate, "validate_spec", edit_while_validating)
    build_model(split_spec)
    monkeypatch.setattr(generator.validate, "validate_spec", counting)
    build_model(split_spec)  # the edited file was never validated: it must be now
    assert len(validations) == 2


def test_verdict_depends_on_the_validator_versions(
    validations: list[Path], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    spec = tmp_path / "postmark.yaml"
    shutil.copyfile(SMALL_SPEC, spec)
    build_model(spec)
    real: Callable[[str], str] = metadata.version
    monkeypatch.setattr(
        metadata,
        "version",
        lambda name: "999.0" if name == "openapi-spec-validator" else real(name),
    )
    build_model(spec)
    assert len(validations) == 2


def test_no_cache_means_validation_every_time(
    validations: list[Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("POSTMARK_CODEGEN_CACHE", "off")
    build_model(SMALL_SPEC)
    build_model(SMALL_SPEC)
    assert len(validations) == 2
