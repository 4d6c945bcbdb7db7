"""`x-postmark-reaches` from the spec into the model and the generated operation table."""

from __future__ import annotations

import importlib
from pathlib import Path
from typing import Any

import pytest
import yaml
from gen_support import SMALL_OUTPUTS, SMALL_SPEC, import_generated

from generator import render
from generator.build import BuildError, build_api
from generator.loader import load_spec
from generator.model import Api, Reach

MARKS = [
    {"group": "bounces", "access": "read", "fields": ["Cc", "Bcc"]},
    {"group": "sender_signatures", "access": "write"},
]


def build_with(tmp_path: Path, marks: Any) -> Api:
    doc = yaml.safe_load(SMALL_SPEC.read_text(encoding="utf-8"))
    doc["paths"]["/email"]["post"]["x-postmark-reaches"] = marks
    path = tmp_path / "spec.yaml"
    path.write_text(yaml.safe_dump(doc, sort_keys=False), encoding="utf-8")
    return build_api(load_spec(path))


def test_marks_reach_the_model_and_the_operation_table(tmp_path: Path) -> None:
    api = build_with(tmp_path, MARKS)
    send = next(op for op in api.operations if op.id == "send_email")
    assert send.reaches == [
        Reach("bounces", "read", ["Cc", "Bcc"]),
        Reach("sender_signatures", "write", []),
    ]
    assert all(not op.reaches for op in api.operations if op.id != "send_email")
    out = tmp_path / "generated"
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("POSTMARK_CODEGEN_CACHE", "off")
        files = render.render_files(api, SMALL_OUTPUTS)
    for relative, data in files.items():
        (out / relative).parent.mkdir(parents=True, exist_ok=True)
        (out / relative).write_bytes(data)
    import_generated(out, "reaches_pkg")
    operations = importlib.import_module("reaches_pkg._operations").OPERATIONS
    assert [(r.group, r.access, r.fields) for r in operations["send_email"].reaches] == [
        ("bounces", "read", ("Cc", "Bcc")),
        ("sender_signatures", "write", ()),
    ]
    assert operations["list_bounces"].reaches == ()


def test_a_mark_that_is_not_a_list_is_refused_by_build(tmp_path: Path) -> None:
    with pytest.raises(BuildError) as caught:
        build_with(tmp_path, "bounces")
    assert str(caught.value).startswith("paths./email.post.x-postmark-reaches")
