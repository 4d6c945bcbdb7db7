"""Shared helpers of the generator tests: the fixture spec, its outputs, importing what it generates."""

from __future__ import annotations

import importlib
import shutil
import sys
from pathlib import Path
from types import ModuleType

from generator.build import build_api
from generator.loader import load_spec
from generator.model import Api
from generator.render import OUTPUTS, Output, expand_outputs

ROOT = Path(__file__).resolve().parents[2]
SMALL_SPEC = ROOT / "tests" / "fixtures" / "gen_small.yaml"
REAL_SPEC = ROOT / "spec" / "postmark.yaml"
TEMPLATES = ROOT / "templates"
GENERATED = ROOT / "generated"

# The outputs every spec can have. The CLI and the fake Postmark (postmark_client.testing) are
# written for Postmark's own operations, so a small fixture spec does not render them.
SPEC_AGNOSTIC_TEMPLATES = frozenset(
    {
        "pyproject.toml.jinja",
        "readme.md.jinja",
        "package_init.py.jinja",
        "spec.py.jinja",
        "operations_init.py.jinja",
        "operations_group.py.jinja",
        "models_init.py.jinja",
        "models_module.py.jinja",
        "errors.py.jinja",
        "resources_group.py.jinja",
        "static/postmark_client/_resources/__init__.py",
        "static/postmark_client/_async_resources/__init__.py",
        "client.py.jinja",
        "static/postmark_client/py.typed",
        "static/postmark_client/_meta.py",
        "static/postmark_client/_serde.py",
        "static/postmark_client/_base_client.py",
        "static/postmark_client/_idempotency.py",
        "static/postmark_client/_exceptions.py",
        "static/postmark_client/pagination.py",
        "static/postmark_client/batch.py",
        "static/postmark_client/rules.py",
    }
)
SMALL_OUTPUTS: tuple[Output, ...] = tuple(
    o for o in OUTPUTS if o.template in SPEC_AGNOSTIC_TEMPLATES
)


def build_small() -> Api:
    return build_api(load_spec(SMALL_SPEC))


def small_files() -> list[Output]:
    """SMALL_OUTPUTS with each per-group or per-module output expanded into its files."""
    return list(expand_outputs(build_small(), SMALL_OUTPUTS))


def import_generated(generated: Path, name: str) -> ModuleType:
    """Import `generated/postmark_client` under another name, so it cannot clash with the real
    package other tests import (the package only uses relative imports)."""
    target = generated.parent / "importable" / name
    if target.exists():
        shutil.rmtree(target)
    shutil.copytree(generated / "postmark_client", target)
    sys.path.insert(0, str(target.parent))
    try:
        importlib.invalidate_caches()
        return importlib.import_module(name)
    finally:
        sys.path.remove(str(target.parent))
