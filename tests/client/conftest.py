"""Make the generated package importable even when it is not installed into the venv."""

from __future__ import annotations

import sys
from pathlib import Path

try:
    import postmark_client  # noqa: F401
except ImportError:
    sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "generated"))
