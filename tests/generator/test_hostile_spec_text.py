"""Spec text never becomes code: every text and wire-name field of the model made hostile.

The spec arrives in pull requests and CI imports what it generates. Here the real spec's model
has every free-text field (titles, descriptions, summaries, meanings, release notes) and every
name Postmark puts on the wire (field and parameter names, enum values, RecordTypes, examples)
replaced by strings built to break out of Python string literals, docstrings, comments,
f-strings and TOML. The output must compile, import without running anything, and keep its
pyproject.toml as the template wrote it.
"""

from __future__ import annotations

import dataclasses
import subprocess
import sys
import tomllib
from pathlib import Path
from typing import Any

import pytest
from gen_support import REAL_SPEC

from generator import render
from generator.model import Argument
from generator.pipeline import build_model

CANARY = "pwned"
# Each breaks out of one kind of context if it is pasted in unescaped.
HOSTILE = (
    f'"; import os; os.system("touch {CANARY}") #',
    f"'''; open('{CANARY}', 'w') #",
    f'"""\nopen("{CANARY}", "w")\n"""',
    f"{{open('{CANARY}','w')}}",
    f'\\"\nopen("{CANARY}", "w")\n#',
    f'x"\ndependencies = ["evilpkg @ http://127.0.0.1/{CANARY}"]\n[x]\ny = "',
    "\x00nul \x1b[31m \x7f del \r cr \u2028 ls",
    '"',
    "\\",
    '""""',
)
# Free text, and the names Postmark uses on the wire: what a spec author may write freely.
TEXT_FIELDS = frozenset(
    {"title", "summary", "description", "meaning", "changes", "tag", "key", "date"}
)
WIRE_FIELDS = frozenset(
    {"wire", "values", "items", "total", "narrow_by", "field", "batch_field", "discriminator",
     "detect_by", "record_type", "require_any_of", "value", "webhook_event"}
)  # fmt: skip
EXAMPLE_FIELDS = frozenset({"example", "sample", "default"})


class Poisoner:
    """Replaces strings consistently: the same wire name gets the same hostile name everywhere,
    so the model stays coherent (paging still names a field of its page)."""

    def __init__(self) -> None:
        self.wire: dict[str, str] = {}
        self.count = 0

    def text(self) -> str:
        self.count += 1
        return HOSTILE[self.count % len(HOSTILE)] + f" #{self.count}"

    def wire_name(self, name: str) -> str:
        if name not in self.wire:
            self.wire[name] = name + HOSTILE[len(self.wire) % len(HOSTILE)]
        return self.wire[name]

    def value(self, value: Any, kind: str) -> Any:
        if isinstance(value, str):
            return self.wire_name(value) if kind == "wire" else self.text()
        if isinstance(value, list):
            return [self.value(item, kind) for item in value]
        if isinstance(value, dict):
            return {self.value(k, "wire"): self.value(v, kind) for k, v in value.items()}
        return value

    def walk(self, node: Any, seen: set[int]) -> None:
        if id(node) in seen:
            return
        seen.add(id(node))
        if isinstance(node, list):
            for item in node:
                self.walk(item, seen)
            return
        if not dataclasses.is_dataclass(node):
            return
        for f in dataclasses.fields(node):
            value = getattr(node, f.name)
            if f.name in TEXT_FIELDS and isinstance(value, (str, list)):
                setattr(node, f.name, self.value(value, "text"))
            elif f.name in WIRE_FIELDS and isinstance(value, (str, list)):
                setattr(node, f.name, self.value(value, "wire"))
            elif f.name in EXAMPLE_FIELDS and not isinstance(node, Argument):
                # (An Argument's default is Python source that build wrote with repr().)
                setattr(node, f.name, self.value(value, "text"))
            else:
                self.walk(value, seen)


@pytest.fixture(scope="module")
def hostile_tree(tmp_path_factory: pytest.TempPathFactory) -> Path:
    api = build_model(REAL_SPEC)
    poisoner = Poisoner()
    poisoner.walk(api, set())
    api.title = HOSTILE[5] + HOSTILE[2]  # TOML and docstring escapes at once
    api.license = HOSTILE[5]
    assert poisoner.count > 500 and len(poisoner.wire) > 300  # the walk reached the whole model
    out = tmp_path_factory.mktemp("hostile") / "generated"
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("POSTMARK_CODEGEN_CACHE", "off")
        files = render.render_files(api)
    for relative, data in files.items():
        target = out / relative
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(data)
    return out


def test_every_python_file_compiles(hostile_tree: Path) -> None:
    sources = sorted(hostile_tree.rglob("*.py"))
    assert len(sources) > 40
    for source in sources:
        compile(source.read_bytes(), str(source), "exec")


def test_importing_every_module_runs_no_spec_text(hostile_tree: Path, tmp_path: Path) -> None:
    script = (
        "import importlib, pkgutil, postmark_client\n"
        "names = [m.name for m in pkgutil.walk_packages(postmark_client.__path__, 'postmark_client.')]\n"
        "for name in names:\n"
        "    importlib.import_module(name)\n"
        "from postmark_client import models\n"
        "for name in models.__all__:\n"
        "    getattr(models, name)\n"
        "print(len(names))\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", script],
        cwd=tmp_path,
        env={"PYTHONPATH": str(hostile_tree), "PATH": "/usr/bin:/bin"},
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    assert int(done.stdout.split()[-1]) > 40
    assert not list(tmp_path.rglob(f"*{CANARY}*")), "spec text ran as code"
    assert not list(hostile_tree.rglob(f"{CANARY}")), "spec text ran as code"


def test_pyproject_keeps_the_templates_shape(hostile_tree: Path) -> None:
    document = tomllib.loads((hostile_tree / "pyproject.toml").read_text(encoding="utf-8"))
    project = document["project"]
    assert project["dependencies"] == ["httpx>=0.27,<1", "msgspec>=0.18"]
    assert project["name"] == "postmark-client"
    assert HOSTILE[5] in project["description"] and project["license"] == HOSTILE[5]
    assert set(document) == {"build-system", "project", "tool"}
