"""Spec pairs for the diff tests: tests/fixtures/mini.yaml, mutated, written to a temporary folder."""

from __future__ import annotations

import copy
from collections.abc import Callable
from functools import lru_cache
from pathlib import Path
from typing import Any

import yaml

from generator.diff import Change, Report, diff

TESTS = Path(__file__).resolve().parents[1]
REPO = TESTS.parent
MINI = TESTS / "fixtures" / "mini.yaml"
REAL_SPEC = REPO / "spec" / "postmark.yaml"

Doc = dict[str, Any]
Mutation = Callable[[Doc], None]
# libyaml when available: the real spec is big enough for the pure-Python parser to be slow.
LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
DUMPER = getattr(yaml, "CSafeDumper", yaml.SafeDumper)


def mini() -> Doc:
    doc: Doc = yaml.load(MINI.read_text(encoding="utf-8"), Loader=LOADER)
    return doc


def write(doc: Doc, path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(
        yaml.dump(doc, Dumper=DUMPER, sort_keys=False, allow_unicode=True), encoding="utf-8"
    )
    return path


def mutated(mutation: Mutation, base: Doc | None = None) -> Doc:
    doc = copy.deepcopy(base if base is not None else mini())
    mutation(doc)
    return doc


def compare(tmp_path: Path, old: Doc, new: Doc) -> Report:
    """Write both specs and diff them, as `postmark-codegen diff old.yaml new.yaml` does."""
    old_path = write(old, tmp_path / "old" / "postmark.yaml")
    new_path = write(new, tmp_path / "new" / "postmark.yaml")
    return diff(str(old_path), str(new_path))


@lru_cache(maxsize=1)
def _real() -> Doc:
    doc: Doc = yaml.load(REAL_SPEC.read_text(encoding="utf-8"), Loader=LOADER)
    return doc


def real() -> Doc:
    """A fresh copy of spec/postmark.yaml, parsed once per session."""
    return copy.deepcopy(_real())


def compare_with_real(tmp_path: Path, new: Doc) -> Report:
    """spec/postmark.yaml itself (not a rewritten copy) -> `new`."""
    return diff(str(REAL_SPEC), str(write(new, tmp_path / "new" / "postmark.yaml")))


def of_kind(report: Report, kind: str) -> list[Change]:
    return [c for c in report.changes if c.kind == kind]


def schemas(doc: Doc) -> Doc:
    result: Doc = doc["components"]["schemas"]
    return result


def operation(doc: Doc, path: str, method: str) -> Doc:
    result: Doc = doc["paths"][path][method]
    return result


def rename_schema(doc: Doc, old: str, new: str) -> None:
    """Rename a component schema and every `$ref` to it."""
    items = schemas(doc)
    doc["components"]["schemas"] = {(new if k == old else k): v for k, v in items.items()}
    target, replacement = f"#/components/schemas/{old}", f"#/components/schemas/{new}"

    def walk(node: Any) -> None:
        if isinstance(node, dict):
            for key, value in node.items():
                if key == "$ref" and value == target:
                    node[key] = replacement
                else:
                    walk(value)
        elif isinstance(node, list):
            for value in node:
                walk(value)

    walk(doc)
