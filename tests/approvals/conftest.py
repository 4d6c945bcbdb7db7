"""Fixtures of the approval tests: the gateway tests' fake and real PostgreSQL, a clock, and
an audit store of each kind (a SQLite file, a PostgreSQL database)."""

from __future__ import annotations

import importlib.util
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

GATEWAY_TESTS = Path(__file__).resolve().parent.parent / "gateway"
sys.path.insert(0, str(GATEWAY_TESTS))
_spec = importlib.util.spec_from_file_location("gateway_conftest", GATEWAY_TESTS / "conftest.py")
assert _spec is not None and _spec.loader is not None
_gateway = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(_gateway)

from approvals_support import Clock
from postmark_client._store import AuditStore, open_store

fake = _gateway.fake
postgres = _gateway.postgres


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture(params=["sqlite", "postgresql"])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[AuditStore]:
    """An audit store of each kind."""
    if request.param == "sqlite":
        where: Any = tmp_path / "audit.sqlite"
    else:
        where = request.getfixturevalue("postgres").database()
    opened = open_store(where)
    try:
        yield opened
    finally:
        opened.close()
