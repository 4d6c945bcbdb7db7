"""`postmark-codegen diff` as a command: formats, exit codes, error messages, and `git:REF` sources."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest
from diff_support import REAL_SPEC, Doc, mini, mutated, schemas, write

from generator.cli import main
from generator.diff import KINDS

CHANGE_KEYS = {"kind", "scope", "breaking", "location", "python", "before", "after", "message"}


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(["diff", *argv])
    out, err = capsys.readouterr()
    return code, out, err


def optional_tag(doc: Doc) -> None:
    schemas(doc)["SendEmailRequest"]["properties"]["Tag"] = {"type": "string"}


def no_subject(doc: Doc) -> None:
    del schemas(doc)["SendEmailRequest"]["properties"]["Subject"]


@pytest.fixture
def pair(tmp_path: Path) -> dict[str, str]:
    """Spec files: the fixture, a non-breaking edit of it and a breaking one."""
    return {
        "old": str(write(mini(), tmp_path / "old.yaml")),
        "additive": str(write(mutated(optional_tag), tmp_path / "additive.yaml")),
        "breaking": str(write(mutated(no_subject), tmp_path / "breaking.yaml")),
    }


# ---- the spec against itself -------------------------------------------------------------------


def test_real_spec_against_itself_reports_nothing(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = run(
        capsys, str(REAL_SPEC), str(REAL_SPEC), "--format", "json", "--fail-on-breaking"
    )
    assert code == 0, err
    report = json.loads(out)
    assert report["changes"] == []
    assert report["summary"] == {"breaking": 0, "non_breaking": 0}


def test_text_output_of_no_changes(
    capsys: pytest.CaptureFixture[str], pair: dict[str, str]
) -> None:
    code, out, _ = run(capsys, pair["old"], pair["old"])
    assert code == 0
    assert out.splitlines()[-1] == "no changes"


# ---- the JSON shape ------------------------------------------------------------------------------


def test_json_shape_is_stable(capsys: pytest.CaptureFixture[str], pair: dict[str, str]) -> None:
    code, out, _ = run(capsys, pair["old"], pair["breaking"], "--format", "json")
    assert code == 0
    report = json.loads(out)
    assert list(report) == ["schema_version", "old", "new", "changes", "summary"]
    assert report["schema_version"] == 1
    assert report["old"] == {"source": pair["old"], "revision": None, "version": "2025.06"}
    assert report["new"] == {"source": pair["breaking"], "revision": None, "version": "2025.06"}
    assert list(report["summary"]) == ["breaking", "non_breaking"]
    assert report["changes"], "removing a request field is a change"
    for change in report["changes"]:
        assert set(change) == CHANGE_KEYS
        assert KINDS[change["kind"]] == change["scope"]
        assert isinstance(change["breaking"], bool)
        assert isinstance(change["location"], str) and change["location"]
        assert change["python"] is None or isinstance(change["python"], str)
    breaking = [c for c in report["changes"] if c["breaking"]]
    assert report["summary"] == {
        "breaking": len(breaking),
        "non_breaking": len(report["changes"]) - len(breaking),
    }
    removed = next(c for c in report["changes"] if c["kind"] == "request-field-removed")
    assert removed == {
        "kind": "request-field-removed",
        "scope": "api",
        "breaking": True,
        "location": "components.schemas.SendEmailRequest.properties.Subject",
        "python": "models.SendEmailRequest.subject",
        "before": "Subject",
        "after": None,
        "message": "request field Subject removed from SendEmailRequest",
    }


def test_changes_are_sorted_and_output_is_deterministic(
    capsys: pytest.CaptureFixture[str], pair: dict[str, str]
) -> None:
    _, first, _ = run(capsys, pair["old"], pair["breaking"], "--format", "json")
    _, second, _ = run(capsys, pair["old"], pair["breaking"], "--format", "json")
    assert first == second
    changes = json.loads(first)["changes"]
    scopes = ["api", "python", "agents"]
    keys = [
        (scopes.index(c["scope"]), not c["breaking"], c["location"], c["kind"]) for c in changes
    ]
    assert keys == sorted(keys)
    assert {c["scope"] for c in changes} == {"api", "python", "agents"}


# ---- exit codes ----------------------------------------------------------------------------------


def test_fail_on_breaking_exits_1_only_when_something_breaks(
    capsys: pytest.CaptureFixture[str], pair: dict[str, str]
) -> None:
    assert run(capsys, pair["old"], pair["breaking"])[0] == 0
    code, out, err = run(capsys, pair["old"], pair["breaking"], "--fail-on-breaking")
    assert code == 1
    assert "BREAKING" in out and "breaking change" in err
    code, out, _ = run(capsys, pair["old"], pair["additive"], "--fail-on-breaking")
    assert code == 0
    assert "request-field-added" in out and "BREAKING" not in out


def test_missing_spec_exits_2_with_a_message(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    code, out, err = run(capsys, str(tmp_path / "nope.yaml"), str(REAL_SPEC))
    assert code == 2 and out == ""
    assert err.strip() == f"postmark-codegen diff: {tmp_path / 'nope.yaml'}: no such spec file"


def test_yaml_error_exits_2_naming_the_line(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    broken = tmp_path / "broken.yaml"
    broken.write_text("openapi: 3.1.0\ninfo: {title: x\n", encoding="utf-8")
    code, _, err = run(capsys, str(broken), str(REAL_SPEC))
    assert code == 2
    assert err.startswith(f"postmark-codegen diff: {broken}: YAML syntax error")
    assert "line 3" in err and "Traceback" not in err


def test_unbuildable_spec_exits_2(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    doc = mini()
    doc["paths"]["/email"]["post"]["tags"] = ["Nope"]
    spec = write(doc, tmp_path / "bad.yaml")
    code, _, err = run(capsys, str(spec), str(REAL_SPEC))
    assert code == 2
    assert f"{spec}: cannot build the model: paths./email.post.tags:" in err


def test_unknown_format_is_a_usage_error(
    capsys: pytest.CaptureFixture[str], pair: dict[str, str]
) -> None:
    code, _, err = run(capsys, pair["old"], pair["old"], "--format", "xml")
    assert code == 2
    assert "invalid choice: 'xml'" in err


# ---- markdown and text ---------------------------------------------------------------------------


def test_markdown_renders_a_table_per_scope(
    capsys: pytest.CaptureFixture[str], pair: dict[str, str]
) -> None:
    code, out, _ = run(capsys, pair["old"], pair["breaking"], "--format", "markdown")
    assert code == 0
    lines = out.splitlines()
    assert lines[0] == "## Spec diff"
    assert "### API (what Postmark accepts and returns)" in lines
    assert "### Python package (postmark_client)" in lines
    header = "| | Change | Details | Where | Python |"
    assert lines.count(header) == 3
    assert lines[lines.index(header) + 1] == "| --- | --- | --- | --- | --- |"
    row = next(line for line in lines if "request-field-removed" in line)
    assert row == (
        "| **breaking** | request-field-removed | request field Subject removed from SendEmailRequest "
        "| `components.schemas.SendEmailRequest.properties.Subject` | `models.SendEmailRequest.subject` |"
    )
    assert all(
        line.count(" | ") >= 4 for line in lines if line.startswith("| ") and "---" not in line
    )


def test_markdown_escapes_pipes(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    """A type such as `str | None` inside a cell must not split the table row."""
    old = mini()
    new = mutated(
        lambda d: schemas(d)["SendEmailResponse"]["properties"].update(
            Message={"type": ["string", "null"]}
        )
    )
    code, out, _ = run(capsys, str(write(old, tmp_path / "a.yaml")), str(write(new, tmp_path / "b.yaml")),
                       "--format", "markdown")  # fmt: skip
    assert code == 0
    row = next(
        line for line in out.splitlines() if line.startswith("| **breaking** | field-optional")
    )
    assert "(str \\| None)" in row
    assert row.replace("\\|", "").count("|") == 6


def test_markdown_of_no_changes(capsys: pytest.CaptureFixture[str], pair: dict[str, str]) -> None:
    _, out, _ = run(capsys, pair["old"], pair["old"], "--format", "markdown")
    assert out.splitlines()[-1] == "No changes."


# ---- git:REF -----------------------------------------------------------------------------------------


def git(repo: Path, *args: str) -> str:
    result = subprocess.run(
        ["git", "-c", "user.name=Test", "-c", "user.email=test@example.com", "-c", "commit.gpgsign=false", *args],
        cwd=repo, capture_output=True, text=True, check=True,
    )  # fmt: skip
    return result.stdout.strip()


@pytest.fixture
def repo(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A git repository whose spec `$ref`s a second file under spec/, committed once."""
    root = tmp_path / "repo"
    root.mkdir()
    git(root, "init", "-q")
    doc = mini()
    error_schema = schemas(doc)["ErrorResponse"]
    schemas(doc)["ErrorResponse"] = {"$ref": "shared.yaml#/ErrorResponse"}
    write(doc, root / "spec" / "postmark.yaml")
    write({"ErrorResponse": error_schema}, root / "spec" / "shared.yaml")
    git(root, "add", "spec")
    git(root, "commit", "-q", "-m", "spec")
    monkeypatch.chdir(root)
    return root


def test_git_ref_against_the_working_tree(capsys: pytest.CaptureFixture[str], repo: Path) -> None:
    write(mutated(optional_tag), repo / "spec" / "postmark.yaml")
    head = git(repo, "rev-parse", "HEAD")
    code, out, err = run(capsys, "git:HEAD", "--format", "json")
    assert code == 0, err
    report = json.loads(out)
    assert report["old"] == {"source": "git:HEAD", "revision": head, "version": "2025.06"}
    assert report["new"]["source"] == "spec/postmark.yaml"
    assert [c["python"] for c in report["changes"] if c["kind"] == "request-field-added"] == [
        "models.SendEmailRequest.tag"
    ]


def test_git_ref_reads_referenced_files_at_that_revision(
    capsys: pytest.CaptureFixture[str], repo: Path
) -> None:
    """Only spec/shared.yaml changes: seen only if the old side reads it as of the revision."""
    shared = repo / "spec" / "shared.yaml"
    text = shared.read_text(encoding="utf-8")
    write({"ErrorResponse": {**_yaml(text)["ErrorResponse"], "required": ["ErrorCode"]}}, shared)
    code, out, err = run(capsys, "git:HEAD", "--format", "json")
    assert code == 0, err
    changes = json.loads(out)["changes"]
    assert [(c["kind"], c["python"]) for c in changes] == [
        ("field-optional", "models.ErrorResponse.message")
    ]


def test_git_refs_on_both_sides(capsys: pytest.CaptureFixture[str], repo: Path) -> None:
    write(mutated(no_subject), repo / "spec" / "postmark.yaml")
    git(repo, "commit", "-q", "-am", "drop Subject")
    code, out, _ = run(capsys, "git:HEAD~1", "git:HEAD", "--fail-on-breaking")
    assert code == 1
    assert "request-field-removed" in out
    assert run(capsys, "git:HEAD", "git:HEAD")[1].splitlines()[-1] == "no changes"


def test_unknown_git_ref_exits_2(capsys: pytest.CaptureFixture[str], repo: Path) -> None:
    code, out, err = run(capsys, "git:no-such-branch")
    assert (code, out) == (2, "")
    assert (
        err.strip()
        == "postmark-codegen diff: git:no-such-branch: unknown git revision 'no-such-branch'"
    )


def test_git_ref_without_the_spec_exits_2(capsys: pytest.CaptureFixture[str], repo: Path) -> None:
    (repo / "README.md").write_text("x\n", encoding="utf-8")
    git(repo, "add", "README.md")
    git(repo, "rm", "-q", "--cached", "-r", "spec")
    git(repo, "commit", "-q", "-m", "no spec")
    code, _, err = run(capsys, "git:HEAD")
    assert code == 2
    assert "git:HEAD: spec/postmark.yaml does not exist at HEAD" in err


def test_git_ref_outside_a_repository_exits_2(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    outside = tmp_path / "plain"
    outside.mkdir()
    monkeypatch.chdir(outside)
    monkeypatch.setenv("GIT_CEILING_DIRECTORIES", str(tmp_path))
    code, _, err = run(capsys, "git:HEAD")
    assert code == 2
    assert "is not inside a git repository" in err


def _yaml(text: str) -> Doc:
    import yaml

    result: Doc = yaml.safe_load(text)
    return result
