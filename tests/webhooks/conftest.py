"""Webhook tests run against the generated package (installed, or from generated/)."""

from __future__ import annotations

import sys
from pathlib import Path

try:
    import postmark_client  # noqa: F401
except ImportError:
    sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "generated"))

# The CLI helpers (subprocess runner, line reader) are shared with tests/cli.
sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "cli"))
