"""The commands beyond the API's operations (`webhooks listen`, `access`, `audit`) reach the
command tree one way: their group in `cli.COMMAND_MODULES`, their `Command` in its `COMMANDS`."""

from __future__ import annotations

import argparse
import importlib

import pytest
from postmark_client import cli
from postmark_client._operations import OPERATIONS


def extra_commands() -> list[cli.Command]:
    found: list[cli.Command] = []
    for group, module in cli.COMMAND_MODULES.items():
        commands = importlib.import_module(module, "postmark_client").COMMANDS
        found += [command for command in commands if command.group == group]
    return found


def group_choices(parser: argparse.ArgumentParser) -> list[str]:
    groups = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    return list(groups.choices)


def test_every_group_is_an_operation_group_or_named_in_command_modules() -> None:
    operation_groups = {cli.kebab(op.group) for op in OPERATIONS.values()}
    assert set(group_choices(cli.build_parser())) == operation_groups | set(cli.COMMAND_MODULES)


def test_help_lists_every_group_of_command_modules(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as done:
        cli.main(["--help"])
    assert done.value.code == 0
    listed = capsys.readouterr().out
    for group in ("webhooks", "access", "audit"):
        assert group in cli.COMMAND_MODULES
        assert f"\n    {group} " in listed


@pytest.mark.parametrize(
    "command", extra_commands(), ids=lambda c: f"{c.group} {c.name}".strip()
)
def test_each_extra_command_has_its_options_and_help(
    command: cli.Command, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as done:
        cli.main([command.group, *([command.name] if command.name else []), "--help"])
    assert done.value.code == 0
    shown = capsys.readouterr().out
    assert " ".join(command.description.split()[:4]) in " ".join(shown.split())
    expected = argparse.ArgumentParser()
    command.configure(expected)
    for option in expected._actions[1:]:  # after its --help
        assert (option.option_strings or [option.metavar])[0] in shown


def test_the_audit_group_is_itself_a_command_with_an_optional_verify(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("POSTMARK_POLICY", raising=False)
    assert cli.main(["audit"]) == cli.EXIT_USAGE
    assert "give --policy FILE (or set $POSTMARK_POLICY)" in capsys.readouterr().err
    assert cli.main(["audit", "verify"]) == cli.EXIT_USAGE
    assert "give --policy FILE or --store URL" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        cli.main(["access"])  # access has no command of its own: an action is required
    assert "<action>" in capsys.readouterr().err
