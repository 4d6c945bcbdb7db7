"""A pytest plugin: when the environment variable CI is set, a skipped test or module fails.

A skip hides a test that never ran; locally it is reported (-ra), in CI it must not pass unseen.
Expected failures (xfail) are not skips and stay as they are.
"""

from __future__ import annotations

import os
from collections.abc import Generator, Mapping
from typing import Any

import pytest

OFF = ("", "0", "false", "no")


def in_ci(environ: Mapping[str, str] = os.environ) -> bool:
    """CI=true (GitHub Actions and most CI services set it); CI=0, CI=false or unset is local."""
    return environ.get("CI", "").strip().lower() not in OFF


def _fail_a_skip(report: pytest.TestReport | pytest.CollectReport) -> None:
    if not report.skipped or hasattr(report, "wasxfail") or not in_ci():
        return
    longrepr: Any = report.longrepr
    reason = longrepr[2] if isinstance(longrepr, tuple) and len(longrepr) == 3 else str(longrepr)
    report.outcome = "failed"
    report.longrepr = (
        f"skipped in CI, where every test must run: {reason.removeprefix('Skipped: ')}"
    )


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport() -> Generator[None, Any, None]:
    outcome = yield
    _fail_a_skip(outcome.get_result())


@pytest.hookimpl(hookwrapper=True)
def pytest_make_collect_report() -> Generator[None, Any, None]:
    outcome = yield
    _fail_a_skip(outcome.get_result())
