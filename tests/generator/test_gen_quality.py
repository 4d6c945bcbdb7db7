"""The committed generated package passes black --check, ruff check and mypy --strict."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from gen_support import GENERATED


def run_tool(*args: str, cwd: Path = GENERATED) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", *args], cwd=cwd, capture_output=True, text=True, check=False
    )


# Caches go to a temporary folder: generated/ holds only what the generator writes.
COMMANDS = {
    "black": lambda cache: ("black", "--check", "."),
    "ruff": lambda cache: ("ruff", "check", "--no-cache", "."),
    "mypy": lambda cache: ("mypy", "--strict", "--cache-dir", str(cache), "postmark_client"),
}


@pytest.mark.parametrize("tool", sorted(COMMANDS))
def test_generated_package_passes(tool: str, tmp_path: Path) -> None:
    command = COMMANDS[tool](tmp_path / "cache")
    done = run_tool(*command)
    assert (
        done.returncode == 0
    ), f"{' '.join(command)} in generated/:\n{done.stdout[-4000:]}{done.stderr[-2000:]}"
