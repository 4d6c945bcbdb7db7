"""The duplicate-key rule composes a file only when the loader saw a key that may repeat.

The loader notes, while it builds each mapping, whether any may write a key twice; the rule
trusts that only for the very bytes that were loaded. Whatever the shortcut, the rule's answer
must be the one composing the file gives.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from generator.loader import load_spec
from generator.validate import Checker, check_duplicate_keys

CASES = {
    "none": "openapi: 3.1.0\ninfo: {title: t, version: '1'}\npaths: {}\n",
    "top level": "openapi: 3.1.0\ninfo: {title: t}\ninfo: {title: u}\n",
    "nested": "a:\n  b: 1\n  c: 2\n  b: 3\n",
    "int and string": "responses:\n  200: {}\n  '200': {}\n",
    "in a merged mapping": "a:\n  <<: {x: 1, x: 2}\n  y: 3\n",
    "overridden by a merge": "base: &b {x: 1}\na:\n  <<: *b\n  x: 2\n",
    "behind an alias": "base: &b {x: 1, x: 2}\na: *b\n",
    "two merge keys": "a: &a {x: 1}\nb: &b {y: 1}\nc:\n  <<: *a\n  <<: *b\n",
    "in a set": "s: !!set {a, b, a}\n",
    "in a list": "l:\n  - {a: 1, a: 2}\n  - {b: 1}\n",
    "quoted and plain": "a:\n  x: 1\n  'x': 2\n",
}


def problems(path: Path, *, shortcut: bool) -> list[str]:
    spec = load_spec(path)
    if not shortcut:
        spec.unique_keys.clear()
    return [str(problem) for problem in check_duplicate_keys(Checker(spec))]


@pytest.mark.parametrize("text", CASES.values(), ids=list(CASES))
def test_the_shortcut_answers_as_composing_does(text: str, tmp_path: Path) -> None:
    path = tmp_path / "spec.yaml"
    path.write_text(text, encoding="utf-8")
    assert problems(path, shortcut=True) == problems(path, shortcut=False)


@pytest.mark.parametrize(
    ("name", "unique"),
    [("none", True), ("nested", False), ("in a merged mapping", False), ("in a list", False)],
)
def test_the_loader_vouches_only_for_files_without_repeats(
    name: str, unique: bool, tmp_path: Path
) -> None:
    path = tmp_path / "spec.yaml"
    path.write_text(CASES[name], encoding="utf-8")
    spec = load_spec(path)
    assert (path.resolve() in spec.unique_keys) is unique


def test_the_real_spec_is_vouched_for() -> None:
    spec = load_spec(Path("spec/postmark.yaml"))
    assert Path("spec/postmark.yaml").resolve() in spec.unique_keys
    assert not list(check_duplicate_keys(Checker(spec)))


def test_a_file_changed_after_loading_is_composed_again(tmp_path: Path) -> None:
    path = tmp_path / "spec.yaml"
    path.write_text(CASES["none"], encoding="utf-8")
    spec = load_spec(path)
    path.write_text(CASES["top level"], encoding="utf-8")
    found = [str(problem) for problem in check_duplicate_keys(Checker(spec))]
    assert len(found) == 1 and "duplicate key 'info'" in found[0]
