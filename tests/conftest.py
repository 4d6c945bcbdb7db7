"""For every test folder: in CI (the environment variable CI is set) a skipped test fails."""

from __future__ import annotations

from support.ci_skips import pytest_make_collect_report, pytest_runtest_makereport

__all__ = ["pytest_make_collect_report", "pytest_runtest_makereport"]
