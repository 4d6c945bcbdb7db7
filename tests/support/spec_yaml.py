"""spec/postmark.yaml parsed once per test process, with libyaml when available.

The pure-Python parser takes over half a second for the spec, and a dozen test modules read it.
"""

from __future__ import annotations

import copy
from functools import cache
from pathlib import Path
from typing import Any

import yaml

SPEC_PATH = Path(__file__).resolve().parents[2] / "spec" / "postmark.yaml"
LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


@cache
def _parsed(path: Path) -> dict[str, Any]:
    loaded: dict[str, Any] = yaml.load(path.read_text(encoding="utf-8"), Loader=LOADER)
    return loaded


def spec_doc(path: Path = SPEC_PATH) -> dict[str, Any]:
    """The spec as parsed: a fresh copy, so the caller may change it."""
    return copy.deepcopy(_parsed(path))
