"""Make the generated package importable even when it is not installed into the venv."""

from __future__ import annotations

import sys
from pathlib import Path

try:
    import postmark_client  # noqa: F401
except ImportError:
    sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "generated"))

import pytest

TWO_AGENTS = """\
audit = "audit.sqlite"

[agents.support-bot]
messages = "read"
bounces = "full"
suppressions = "read"

[agents.onboarding-mailer]
email = "full"
templates = "read"
recipients = ["*@example.com"]
sends_per_hour = 100
"""


@pytest.fixture
def policy_file(tmp_path: Path) -> Path:
    path = tmp_path / "agents.toml"
    path.write_text(TWO_AGENTS, encoding="utf-8")
    return path
