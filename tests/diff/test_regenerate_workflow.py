""".github/workflows/regenerate.yml: valid YAML whose steps call real `postmark-codegen` subcommands
with arguments the command line accepts."""

from __future__ import annotations

import shlex
from pathlib import Path
from typing import Any

import pytest
import yaml

from generator.cli import SUBCOMMANDS, build_parser

WORKFLOW = Path(__file__).resolve().parents[2] / ".github" / "workflows" / "regenerate.yml"


@pytest.fixture(scope="module")
def steps() -> list[dict[str, Any]]:
    doc = yaml.safe_load(WORKFLOW.read_text(encoding="utf-8"))
    triggers = doc.get("on", doc.get(True))  # YAML 1.1 reads a bare `on` as true
    assert set(triggers) == {"push", "pull_request"}
    [job] = doc["jobs"].values()
    result: list[dict[str, Any]] = job["steps"]
    return result


def codegen_commands(steps: list[dict[str, Any]]) -> list[tuple[dict[str, Any], list[str]]]:
    """(step, argv after `postmark-codegen`) for every call, shell redirection cut off."""
    calls = []
    for step in steps:
        for line in str(step.get("run", "")).splitlines():
            words = shlex.split(line.split(">>")[0])
            if words and words[0] == "postmark-codegen":
                calls.append((step, words[1:]))
    return calls


def test_checkout_has_full_history_and_python_is_set_up(steps: list[dict[str, Any]]) -> None:
    checkout = next(s for s in steps if str(s.get("uses", "")).startswith("actions/checkout@"))
    assert checkout["with"]["fetch-depth"] == 0
    assert any(str(s.get("uses", "")).startswith("actions/setup-python@") for s in steps)
    assert any("pip install -e" in str(s.get("run", "")) for s in steps)


def test_every_codegen_call_is_a_real_subcommand_with_valid_arguments(
    steps: list[dict[str, Any]],
) -> None:
    calls = codegen_commands(steps)
    names = {sub.name for sub in SUBCOMMANDS}
    assert [argv[0] for _, argv in calls] == ["validate", "check", "diff"]
    for _, argv in calls:
        assert argv[0] in names
        # argparse exits on an unknown subcommand or flag
        build_parser(argv[0]).parse_args([arg.replace("$BASE_REF", "main") for arg in argv])


def test_diff_runs_on_pull_requests_into_the_job_summary(steps: list[dict[str, Any]]) -> None:
    [(step, argv)] = [(s, a) for s, a in codegen_commands(steps) if a[0] == "diff"]
    assert step["if"] == "github.event_name == 'pull_request'"
    assert argv[1] == "git:origin/$BASE_REF"
    assert step["env"]["BASE_REF"] == "${{ github.base_ref }}"
    assert argv[2:] == ["--format", "markdown"]
    assert step["run"].rstrip().endswith('>> "$GITHUB_STEP_SUMMARY"')
