"""The `postmark-codegen` command (also `python -m generator`).

Subcommands are entries in SUBCOMMANDS: a name, a help line, a function adding its arguments and a
function running it. Adding one (say `diff`) is one entry plus those two functions, or a module with
`add_arguments(parser)` and `run(args)` registered through `from_module`. Heavy modules are imported
only when their subcommand is invoked, so `validate` works even while the generator is broken.
"""

from __future__ import annotations

import argparse
import importlib
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

DEFAULT_SPEC = "spec/postmark.yaml"
DEFAULT_OUT = "generated"


def project_root(start: Path | None = None) -> Path | None:
    """The nearest folder at or above `start` (default: the working folder) that holds
    pyproject.toml and spec/: the project, wherever inside it the command runs."""
    here = (start or Path.cwd()).resolve()
    for folder in (here, *here.parents):
        if (folder / "pyproject.toml").is_file() and (folder / "spec").is_dir():
            return folder
    return None


def project_path(relative: str, start: Path | None = None) -> str:
    """`relative` inside the project: as given at the project's top (or outside any project),
    else the path from the project root found above the working folder."""
    here = (start or Path.cwd()).resolve()
    root = project_root(here)
    if root is None or root == here:
        return relative
    return str(root / relative)


@dataclass(frozen=True)
class Subcommand:
    name: str
    help: str
    add_arguments: Callable[[argparse.ArgumentParser], None]
    run: Callable[[argparse.Namespace], int]

    @classmethod
    def from_module(cls, name: str, module: str, help: str) -> Subcommand:
        """A subcommand whose module defines `add_arguments(parser)` and `run(args) -> int`."""
        return cls(
            name,
            help,
            lambda parser: importlib.import_module(module).add_arguments(parser),
            lambda args: int(importlib.import_module(module).run(args)),
        )


def _validate_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "spec", nargs="?", default=None, metavar="SPEC",
        help=f"the OpenAPI document to check (default: the project's {DEFAULT_SPEC})",
    )  # fmt: skip


def _run_validate(args: argparse.Namespace) -> int:
    from generator.validate import run

    return run(args.spec or project_path(DEFAULT_SPEC))


def _spec_and_out_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--spec", default=None, help=f"the spec to read (default: the project's {DEFAULT_SPEC})"
    )
    parser.add_argument(
        "--out",
        default=None,
        help=f"the generated package's folder (default: the project's {DEFAULT_OUT})",
    )


def _pipeline(function: str) -> Callable[[argparse.Namespace], int]:
    """Run `generator.pipeline.<function>(args)`, importing the pipeline only when needed."""

    def run(args: argparse.Namespace) -> int:
        pipeline = importlib.import_module("generator.pipeline")
        return int(getattr(pipeline, function)(args))

    return run


SUBCOMMANDS: list[Subcommand] = [
    Subcommand(
        "validate", "check the spec against OpenAPI 3.1 and spec/CONVENTIONS.md",
        _validate_arguments, _run_validate,
    ),
    Subcommand(
        "generate", "validate the spec and write the client package into --out",
        _spec_and_out_arguments, _pipeline("main_generate"),
    ),
    Subcommand(
        "check", "regenerate into a temporary folder; fail with a diff when --out is stale",
        _spec_and_out_arguments, _pipeline("main_check"),
    ),
    Subcommand.from_module(
        "diff", "generator.diff",
        "compare two specs (files or git:REF): API changes and the effect on postmark_client, breaking or not",
    ),
]  # fmt: skip


def build_parser(selected: str | None = None) -> argparse.ArgumentParser:
    """The command-line parser; only the `selected` subcommand gets its arguments (and imports)."""
    parser = argparse.ArgumentParser(
        prog="postmark-codegen",
        description="Validate the Postmark OpenAPI document and generate its Python client from it.",
    )
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for sub in SUBCOMMANDS:
        sub_parser = commands.add_parser(sub.name, help=sub.help, description=sub.help)
        if sub.name == selected:
            sub.add_arguments(sub_parser)
        sub_parser.set_defaults(run=sub.run)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Parse the command line and run one subcommand; returns the exit status."""
    argv = list(sys.argv[1:] if argv is None else argv)
    # The first word that is not an option names the subcommand (the top level has only -h).
    parser = build_parser(next((word for word in argv if not word.startswith("-")), None))
    try:
        args = parser.parse_args(argv)
    except SystemExit as exc:  # --help (0) or a usage error (2): argparse has printed why
        return exc.code if isinstance(exc.code, int) else 2
    return int(args.run(args))
