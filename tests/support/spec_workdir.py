"""A working directory holding spec/postmark.yaml, for the tests that run `validate` on one
hostile spec per case: every located line then starts with `spec/postmark.yaml`."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import yaml

from generator.cli import main

SPEC = "spec/postmark.yaml"
DUMPER = getattr(yaml, "CSafeDumper", yaml.SafeDumper)


def enter_workdir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Make `tmp_path` (with an empty spec/) the working directory, the spec cache off."""
    (tmp_path / "spec").mkdir()
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("POSTMARK_CODEGEN_CACHE", "off")
    return tmp_path


def write_spec(
    workdir: Path, doc: dict[str, Any] | str | bytes, name: str = SPEC, *, as_json: bool = False
) -> Path:
    """Write `doc` as it is, or a dict as YAML (as JSON with `as_json`: JSON is YAML too, and
    its writer does not recurse into deep documents as PyYAML's does)."""
    path = workdir / name
    path.parent.mkdir(parents=True, exist_ok=True)
    if isinstance(doc, dict):
        doc = json.dumps(doc) if as_json else yaml.dump(doc, Dumper=DUMPER, allow_unicode=True)
    path.write_bytes(doc if isinstance(doc, bytes) else doc.encode("utf-8"))
    return path


def run_validate(capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    """`validate spec/postmark.yaml`: its exit code, standard output and standard error."""
    code = main(["validate", SPEC])
    captured = capsys.readouterr()
    return code, captured.out, captured.err
