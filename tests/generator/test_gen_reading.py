"""validate and build read a Python name through one reader, so they refuse the same names."""

from __future__ import annotations

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
