"""In CI (CI=true) a skipped test or module fails; locally it is reported as skipped."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from support.ci_skips import in_ci

TESTS = Path(__file__).resolve().parent
SKIPPING = """\
import pytest

def test_passes():
    pass

def test_skips():
    pytest.skip("a reason")

@pytest.mark.skipif(True, reason="a marker")
def test_is_marked():
    pass

@pytest.mark.xfail(reason="known", strict=True)
def test_fails_as_expected():
    assert False
"""
SKIPPED_MODULE = 'import pytest\n\npytest.importorskip("no_such_module_here")\n'


def run_pytest(folder: Path, ci: str | None) -> subprocess.CompletedProcess[str]:
    (folder / "test_skipping.py").write_text(SKIPPING, encoding="utf-8")
    (folder / "test_skipped_module.py").write_text(SKIPPED_MODULE, encoding="utf-8")
    env = {k: v for k, v in os.environ.items() if k != "CI"}
    env["PYTHONPATH"] = str(TESTS)
    env["PYTEST_DISABLE_PLUGIN_AUTOLOAD"] = "1"  # only the plugin under test: a quicker start
    if ci is not None:
        env["CI"] = ci
    args = ["-p", "support.ci_skips", "-p", "no:cacheprovider", "-q", "-rA"]
    return subprocess.run(
        [sys.executable, "-m", "pytest", *args, "--continue-on-collection-errors"],
        cwd=folder, env=env, capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip


def test_in_ci_every_skip_fails(tmp_path: Path) -> None:
    result = run_pytest(tmp_path, "true")
    assert result.returncode == 1, result.stdout
    lines = result.stdout.splitlines()
    for name, reason in [
        ("test_skipping.py::test_skips", "a reason"),
        ("test_skipping.py::test_is_marked", "a marker"),
        ("test_skipped_module.py", "could not import 'no_such_module_here'"),
    ]:
        assert any(
            name in line and f"skipped in CI, where every test must run: {reason}" in line
            for line in lines
        ), result.stdout
    assert "XFAIL test_skipping.py::test_fails_as_expected" in result.stdout
    assert "PASSED test_skipping.py::test_passes" in result.stdout
    assert " skipped" not in lines[-1], lines[-1]


def test_outside_ci_a_skip_is_reported_as_skipped(tmp_path: Path) -> None:
    result = run_pytest(tmp_path, None)
    assert result.returncode == 0, result.stdout
    assert "1 passed, 3 skipped, 1 xfailed" in result.stdout.splitlines()[-1]
    assert "skipped in CI" not in result.stdout


@pytest.mark.parametrize(
    ("value", "expected"),
    [("true", True), ("1", True), ("yes", True), ("", False), ("false", False), ("0", False)],
)
def test_what_counts_as_ci(value: str, expected: bool) -> None:
    assert in_ci({"CI": value}) is expected
    assert in_ci({}) is False
