"""generate and check: determinism, atomic writes, change reports, diffs, refusal of bad specs."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from gen_support import (
    GENERATED,
    REAL_SPEC,
    ROOT,
    SMALL_OUTPUTS,
    SMALL_SPEC,
    SPEC_AGNOSTIC_TEMPLATES,
    TEMPLATES,
    small_files,
)

from generator import pipeline, render
from generator.cache import FORMATTED
from generator.cli import main as cli_main
from generator.pipeline import check, generate, read_tree, render_tree


@pytest.fixture
def out(tmp_path: Path) -> Path:
    return tmp_path / "work" / "generated"


@pytest.fixture
def templates(tmp_path: Path) -> Path:
    """A copy of templates/ that a test may break."""
    copy = tmp_path / "templates"
    shutil.copytree(TEMPLATES, copy)
    return copy


# What generate writes for SMALL_OUTPUTS: the outputs and the manifest of black's output.
SMALL_TREE = sorted({o.path for o in small_files()} | {render.MANIFEST})


def run_generate(out: Path, spec: Path = SMALL_SPEC, templates: Path | None = None) -> int:
    return generate(spec, out, outputs=SMALL_OUTPUTS, templates=templates)


def run_check(out: Path, spec: Path = SMALL_SPEC, templates: Path | None = None) -> int:
    return check(spec, out, outputs=SMALL_OUTPUTS, templates=templates)


def snapshot(root: Path) -> dict[str, tuple[bytes, int]]:
    """Every file with its bytes and modification time (to prove nothing was rewritten)."""
    return {
        path.relative_to(root).as_posix(): (path.read_bytes(), path.stat().st_mtime_ns)
        for path in sorted(root.rglob("*"))
        if path.is_file()
    }


def leftovers(out: Path) -> list[str]:
    return sorted(p.name for p in out.parent.iterdir() if p.name.startswith(f".{out.name}."))


# ---- determinism ---------------------------------------------------------------------------------


def test_rendering_twice_gives_identical_bytes() -> None:
    first = render_tree(SMALL_SPEC, SMALL_OUTPUTS)
    second = render_tree(SMALL_SPEC, SMALL_OUTPUTS)
    assert first == second
    assert sorted(first) == SMALL_TREE


def test_output_does_not_depend_on_hash_seed_cache_or_location(tmp_path: Path) -> None:
    """Two processes with different hash seeds, one without the format cache, in different
    folders: byte-identical trees with no trace of where they were made."""
    templates = sorted(SPEC_AGNOSTIC_TEMPLATES)
    script = (
        "import sys; from pathlib import Path\n"
        "from generator.pipeline import generate\n"
        "from generator.render import OUTPUTS\n"
        f"outputs = tuple(o for o in OUTPUTS if o.template in {templates!r})\n"
        "sys.exit(generate(Path(sys.argv[1]), Path(sys.argv[2]), outputs=outputs))\n"
    )
    trees = []
    for seed, cache in (("1", str(tmp_path / "cache")), ("2", "off")):
        out = tmp_path / f"run{seed}" / "generated"
        env = {**os.environ, "PYTHONHASHSEED": seed, "POSTMARK_CODEGEN_CACHE": cache}
        done = subprocess.run(
            [sys.executable, "-c", script, str(SMALL_SPEC), str(out)],
            cwd=ROOT,
            env=env,
            capture_output=True,
            text=True,
            check=False,
        )
        assert done.returncode == 0, done.stderr
        trees.append(read_tree(out))
    assert trees[0] == trees[1]
    for data in trees[0].values():
        assert str(tmp_path).encode() not in data
        assert str(ROOT).encode() not in data


def test_jinja2_and_importlib_metadata_are_imported_only_when_used() -> None:
    """`validate` and the build read the templates folder through render, which renders and
    formats nothing for them."""
    script = (
        "import sys\n"
        "import generator.naming, generator.render\n"
        "generator.naming.CLIENT_RESERVED\n"
        "assert not {'jinja2', 'importlib.metadata'} & set(sys.modules), 'imported'\n"
        "generator.render._cache_key('x = 1\\n')\n"
        "assert 'importlib.metadata' in sys.modules and 'jinja2' not in sys.modules\n"
        "generator.render.environment()\n"
        "assert 'jinja2' in sys.modules\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", script], cwd=ROOT, capture_output=True, text=True, check=False
    )
    assert done.returncode == 0, done.stderr


# ---- generate ----------------------------------------------------------------------------------


def test_generate_writes_the_tree_and_reports_changes(
    out: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert run_generate(out) == 0
    report = capsys.readouterr().out
    assert f"{len(SMALL_TREE)} added, 0 changed, 0 removed, 0 unchanged" in report
    assert "added" in report and "postmark_client/models/__init__.py" in report
    assert sorted(read_tree(out)) == SMALL_TREE

    before = snapshot(out)
    assert run_generate(out) == 0
    assert "up to date" in capsys.readouterr().out
    assert snapshot(out) == before  # nothing rewritten when nothing changed


def test_generate_removes_files_no_longer_generated(
    out: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert run_generate(out) == 0
    (out / "postmark_client" / "stale.py").write_text("x = 1\n")
    (out / "postmark_client" / "models" / "__init__.py").write_text("# edited by hand\n")
    (out / "postmark_client" / "__pycache__").mkdir()
    (out / "postmark_client" / "__pycache__" / "models.cpython-311.pyc").write_bytes(b"\0")
    capsys.readouterr()
    assert run_generate(out) == 0
    report = capsys.readouterr().out
    assert "removed" in report and "postmark_client/stale.py" in report
    assert "changed" in report and "postmark_client/models/__init__.py" in report
    assert "0 added, 1 changed, 1 removed" in report
    assert not (out / "postmark_client" / "stale.py").exists()
    assert (out / "postmark_client" / "models" / "__init__.py").read_text() != "# edited by hand\n"
    assert leftovers(out) == []


def test_generated_folder_keeps_ordinary_permissions(out: Path) -> None:
    assert run_generate(out) == 0
    assert out.stat().st_mode & 0o077 != 0  # not the private 0700 of a temporary folder


# ---- atomic: a failure leaves the output untouched ---------------------------------------------


def test_undefined_name_in_a_template_leaves_output_untouched(
    out: Path, templates: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert run_generate(out) == 0
    before = snapshot(out)
    resources = templates / "resources_group.py.jinja"
    resources.write_text(resources.read_text() + "\n{{ api.no_such_attribute }}\n")
    capsys.readouterr()
    assert run_generate(out, templates=templates) == 2
    error = capsys.readouterr().err
    assert "resources_group.py.jinja -> postmark_client/_resources/_email.py" in error
    assert "no_such_attribute" in error
    assert "nothing was generated" in error
    assert snapshot(out) == before
    assert leftovers(out) == []


def test_template_producing_invalid_python_leaves_output_untouched(
    out: Path, templates: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert run_generate(out) == 0
    before = snapshot(out)
    models = templates / "models_init.py.jinja"
    models.write_text(models.read_text() + "\ndef broken(:\n")
    capsys.readouterr()
    assert run_generate(out, templates=templates) == 2
    error = capsys.readouterr().err
    assert (
        "models_init.py.jinja -> postmark_client/models/__init__.py: rendered Python does not parse"
        in error
    )
    assert "def broken(:" in error  # the offending line, to find it in the template
    assert snapshot(out) == before


def test_failure_while_writing_leaves_output_untouched(
    out: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert run_generate(out) == 0
    (out / "postmark_client" / "models" / "__init__.py").write_text("# stale\n")
    before = snapshot(out)
    real_write = pipeline._write_files

    def fail_half_way(files: dict[str, bytes], root: Path) -> None:
        real_write(dict(list(files.items())[:3]), root)
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(pipeline, "_write_files", fail_half_way)
    assert run_generate(out) == 2
    assert snapshot(out) == before
    assert leftovers(out) == []


def test_first_generation_creates_missing_folders(tmp_path: Path) -> None:
    out = tmp_path / "a" / "b" / "generated"
    assert run_generate(out) == 0
    assert (out / "postmark_client" / "py.typed").exists()


def test_output_path_that_is_a_file_is_refused(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "generated"
    out.write_text("not a folder")
    assert run_generate(out) == 2
    assert "is not a folder" in capsys.readouterr().err
    assert out.read_text() == "not a folder"


# ---- a spec the generator must refuse ----------------------------------------------------------


def test_invalid_spec_is_refused_with_its_problems(
    out: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    doc = yaml.safe_load(SMALL_SPEC.read_text())
    del doc["paths"]["/email"]["post"]["operationId"]
    spec = tmp_path / "bad.yaml"
    spec.write_text(yaml.safe_dump(doc, sort_keys=False))
    assert run_generate(out, spec=spec) == 2
    error = capsys.readouterr().err
    assert "paths./email.post" in error and "operationId" in error
    assert "nothing was generated" in error
    assert not out.exists()


def test_unreadable_spec_is_refused(
    out: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    spec = tmp_path / "broken.yaml"
    spec.write_text("openapi: 3.1.0\npaths: {\n")
    assert run_generate(out, spec=spec) == 2
    assert "YAML syntax error" in capsys.readouterr().err
    assert not out.exists()


# ---- check ---------------------------------------------------------------------------------------


def test_check_passes_on_a_fresh_generation(out: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert run_generate(out) == 0
    capsys.readouterr()
    assert run_check(out) == 0
    assert "up to date" in capsys.readouterr().out


def test_check_fails_with_a_diff_after_a_template_edit(
    out: Path, templates: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert run_generate(out) == 0
    before = snapshot(out)
    client = templates / "client.py.jinja"
    client.write_text(
        client.read_text().replace("each reaching only what its token can", "EDITED LINE")
    )
    capsys.readouterr()
    assert run_check(out, templates=templates) == 1
    report = capsys.readouterr().out
    label = pipeline._display(out)
    assert f"--- a/{label.lstrip('/')}/postmark_client/client.py" in report
    assert f"+++ b/{label.lstrip('/')}/postmark_client/client.py" in report
    assert '+"""The clients: one per kind of Postmark token, EDITED LINE.' in report
    assert (
        '-"""The clients: one per kind of Postmark token, each reaching only what its token can.'
        in report
    )
    assert "models/" not in report  # only what changed
    assert f"run: postmark-codegen generate --spec {SMALL_SPEC} --out {label}" in report
    assert snapshot(out) == before  # check never writes


def test_check_fails_with_a_diff_after_a_spec_edit(
    out: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert run_generate(out) == 0
    text = SMALL_SPEC.read_text().replace(
        "summary: Get one bounce.", "summary: Fetch one bounce by its ID."
    )
    spec = tmp_path / "edited.yaml"
    spec.write_text(text)
    capsys.readouterr()
    assert run_check(out, spec=spec) == 1
    report = capsys.readouterr().out
    label = pipeline._display(out)
    assert '+        """Fetch one bounce by its ID.' in report
    assert '-        """Get one bounce.' in report
    assert (
        "postmark_client/_operations/_bounces.py" in report
        and "postmark_client/_async_resources/_bounces.py" in report
    )
    # The group's records, both of its resources, and the manifest: nothing of other groups.
    assert "is stale: 0 added, 4 changed, 0 removed" in report
    assert f"b/{label.lstrip('/')}/{render.MANIFEST}" in report


def test_check_reports_missing_and_extra_files(
    out: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert run_generate(out) == 0
    (out / "postmark_client" / "py.typed").unlink()
    (out / "notes.txt").write_text("hand-written\n")
    capsys.readouterr()
    assert run_check(out) == 1
    report = capsys.readouterr().out
    label = pipeline._display(out)
    assert f"--- a/{label.lstrip('/')}/notes.txt\n+++ /dev/null" in report
    assert "1 added, 0 changed, 1 removed" in report


def test_check_without_an_output_folder_says_so(
    out: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert run_check(out) == 1
    report = capsys.readouterr().out
    assert f"does not exist ({len(SMALL_TREE)} files would be generated)" in report
    assert "run: postmark-codegen generate" in report
    assert not out.exists()


def test_check_on_an_invalid_spec_fails_without_a_diff(
    out: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    spec = tmp_path / "broken.yaml"
    spec.write_text("openapi: [\n")
    assert run_check(out, spec=spec) == 2
    captured = capsys.readouterr()
    assert "nothing was generated" in captured.err and "---" not in captured.out


# ---- the format cache ----------------------------------------------------------------------------


def _refuse(*args: object) -> object:
    raise AssertionError(f"called on a cache hit: {args!r:.200}")


def test_format_cache_holds_formatted_files_sealed_and_a_hit_is_not_compiled(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    source = "x = {  'a':1 }\n"
    monkeypatch.setenv("POSTMARK_CODEGEN_CACHE", str(tmp_path / "cache"))
    assert render.format_many({"m.py": source}) == {"m.py": ('x = {"a": 1}\n', None)}
    [entry] = list((tmp_path / "cache" / FORMATTED).iterdir())
    assert entry.name == render._cache_key(source)
    seal, body = entry.read_text().split("\n", 1)
    assert body == 'x = {"a": 1}\n' and len(seal) == 64
    # Stored only after the text compiled, so a hit is neither compiled nor formatted again.
    with monkeypatch.context() as patch:
        patch.setattr(render, "syntax_error", _refuse)
        patch.setattr(render, "_run_formatter", _refuse)
        assert render.format_many({"m.py": source}) == {"m.py": ('x = {"a": 1}\n', None)}
    monkeypatch.setenv("POSTMARK_CODEGEN_CACHE", "off")
    with monkeypatch.context() as patch:
        patch.setattr(render, "_run_formatter", lambda sources: {k: "fresh\n" for k in sources})
        assert render.format_many({"m.py": source})["m.py"][0] == "fresh\n"


def test_a_changed_text_misses_the_format_cache(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("POSTMARK_CODEGEN_CACHE", str(tmp_path / "cache"))
    render.format_many({"m.py": "x = 1\n"})
    result = render.format_many({"m.py": "x = 1 +\n"})
    assert result["m.py"][0] is None and "line 1" in (result["m.py"][1] or "")
    assert render.format_many({"m.py": "x  = 2\n"}) == {"m.py": ("x = 2\n", None)}


def test_format_errors_are_returned_per_file(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("POSTMARK_CODEGEN_CACHE", "off")
    result = render.format_many({"ok.py": "a=1\n", "bad.py": "def (:\n"})
    assert result["ok.py"] == ("a = 1\n", None)
    assert result["bad.py"][0] is None and "line 1: invalid syntax" in (result["bad.py"][1] or "")


# ---- the command line, on the repository itself -------------------------------------------------


def test_cli_check_passes_on_the_repository(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.chdir(ROOT)
    assert cli_main(["check"]) == 0, capsys.readouterr().out[-3000:]
    assert "generated: up to date" in capsys.readouterr().out


@pytest.mark.parametrize("inside", ["templates", "generated/postmark_client/testing"])
def test_cli_finds_the_spec_and_output_from_a_folder_inside_the_project(
    inside: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.chdir(ROOT / inside)
    assert cli_main(["validate"]) == 0, capsys.readouterr()
    assert "OK" in capsys.readouterr().out
    assert cli_main(["check"]) == 0, capsys.readouterr().out[-3000:]
    assert "up to date" in capsys.readouterr().out


def test_project_paths_walk_up_only_to_a_project(tmp_path: Path) -> None:
    from generator.cli import project_path, project_root

    assert project_root(ROOT / "templates" / "static") == ROOT
    assert project_path("spec/postmark.yaml", ROOT) == "spec/postmark.yaml"  # at the top: as is
    assert project_path("generated", ROOT / "tests") == str(ROOT / "generated")
    assert project_root(tmp_path) is None
    assert project_path("spec/postmark.yaml", tmp_path) == "spec/postmark.yaml"


def test_cli_check_fails_after_editing_a_copy_of_the_spec(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.chdir(ROOT)
    text = REAL_SPEC.read_text()
    assert "summary: Get a bounce" in text
    spec = tmp_path / "postmark.yaml"
    spec.write_text(text.replace("summary: Get a bounce", "summary: Get one bounce, edited"))
    before = read_tree(GENERATED)
    assert cli_main(["check", "--spec", str(spec)]) == 1
    report = capsys.readouterr().out
    assert "--- a/generated/postmark_client/_resources/_bounces.py" in report
    assert "Get one bounce, edited" in report
    assert f"run: postmark-codegen generate --spec {spec}" in report
    assert read_tree(GENERATED) == before


def test_a_spec_without_what_the_fake_needs_is_refused_by_name(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """The fake Postmark's templates read Postmark's own schemas; another spec gets a clear error."""
    mini = Path(__file__).resolve().parents[1] / "fixtures" / "mini.yaml"
    out = tmp_path / "out"
    assert generate(mini, out) == pipeline.EXIT_FAILED
    err = capsys.readouterr().err
    assert "the spec defines no model 'OutboundMessage', which this template needs" in err
    assert "Traceback" not in err
    assert not out.exists()
