"""validate and build read a Python name through one reader, so they refuse the same names."""

from __future__ import annotations

import ast
from pathlib import Path
from typing import Any

import pytest
import yaml
from gen_support import SMALL_SPEC

from generator.build import BuildError, build_api
from generator.loader import load_spec
from generator.validate import validate_spec

WHERE = "components.schemas.Bounce.properties.From.x-python-name"


def _spec_with_from_named(tmp_path: Path, override: Any) -> Path:
    doc = yaml.safe_load(SMALL_SPEC.read_text())
    doc["components"]["schemas"]["Bounce"]["properties"]["From"]["x-python-name"] = override
    path = tmp_path / "spec.yaml"
    path.write_text(yaml.safe_dump(doc, sort_keys=False))
    return path


@pytest.mark.parametrize(
    ("override", "message"),
    [("class", "'class' is a Python keyword"), ("2x", "'2x' is not a valid Python identifier")],
)
def test_build_refuses_the_name_validate_refuses(
    tmp_path: Path, override: str, message: str
) -> None:
    spec = load_spec(_spec_with_from_named(tmp_path, override))
    found = [(p.location, p.message) for p in validate_spec(spec)]
    assert (WHERE, message) in found
    with pytest.raises(BuildError) as info:
        build_api(spec)
    assert (info.value.location, info.value.message) == (WHERE, message)


def _small_spec(tmp_path: Path, edit: Any) -> Path:
    doc = yaml.safe_load(SMALL_SPEC.read_text())
    edit(doc)
    path = tmp_path / "spec.yaml"
    path.write_text(yaml.safe_dump(doc, sort_keys=False))
    return path


def test_record_type_is_read_from_the_webhook_post_only(tmp_path: Path) -> None:
    """spec/CONVENTIONS.md puts x-postmark-record-type on the webhook's post; on the payload
    schema it is not read by validate, nor by build."""

    def move_to_schema(doc: dict[str, Any]) -> None:
        record_type = doc["webhooks"]["Delivery"]["post"].pop("x-postmark-record-type")
        doc["components"]["schemas"]["DeliveryWebhook"]["x-postmark-record-type"] = record_type

    spec = load_spec(_small_spec(tmp_path, move_to_schema))
    message = "x-postmark-record-type is None, must be the webhook's key 'Delivery'"
    assert ("webhooks.Delivery.post", message) in [
        (p.location, p.message) for p in validate_spec(spec)
    ]
    with pytest.raises(BuildError) as info:
        build_api(spec)
    assert info.value.location == "webhooks.Delivery.post"
    assert "x-postmark-record-type is None" in info.value.message


def test_a_method_name_is_unique_per_group_whatever_the_token(tmp_path: Path) -> None:
    """Two operations of one tag share `postmark bounces get` and the MCP tool `bounces_get`
    even when one needs the account token, so validate and build both refuse the second."""

    def second_get(doc: dict[str, Any]) -> None:
        delete = doc["paths"]["/senders/{signatureid}"]["delete"]
        delete.update({"tags": ["Bounces"], "x-python-name": "get", "x-postmark-token": "account"})

    spec = load_spec(_small_spec(tmp_path, second_get))
    where = "paths./senders/{signatureid}.delete.x-python-name"
    assert where in [p.location for p in validate_spec(spec)]
    with pytest.raises(BuildError) as info:
        build_api(spec)
    assert info.value.location == where
    assert info.value.message == "'get' is already a method of group 'bounces'"


GENERATOR = Path(__file__).resolve().parents[2] / "generator"


def _extension_reads(source: str) -> list[tuple[int, str]]:
    """Each `node.get("x-...")`, `node["x-..."]` and `"x-..." in node` of a module."""
    found = []
    for node in ast.walk(ast.parse(source)):
        key: object = None
        if (
            isinstance(node, ast.Call)
            and isinstance(node.func, ast.Attribute)
            and node.func.attr in ("get", "pop", "setdefault")
            and node.args
            and isinstance(node.args[0], ast.Constant)
        ):
            key = node.args[0].value
        elif isinstance(node, ast.Subscript) and isinstance(node.slice, ast.Constant):
            key = node.slice.value
        elif isinstance(node, ast.Compare) and isinstance(node.left, ast.Constant):
            key = node.left.value
        if isinstance(key, str) and key.startswith("x-"):
            found.append((node.lineno, key))
    return found


def test_every_extension_is_read_in_reading_py_only() -> None:
    """validate and build (and every other generator module) read an `x-` key through one
    reader in generator/reading.py, so adding an extension touches one reader."""
    reads = {
        path.name: _extension_reads(path.read_text())
        for path in sorted(GENERATOR.glob("*.py"))
        if path.name != "reading.py"
    }
    assert {name: found for name, found in reads.items() if found} == {}
    assert _extension_reads('node.get("x-postmark-paging")') == [(1, "x-postmark-paging")]
