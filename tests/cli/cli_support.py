"""Running the generated `postmark` command as a real subprocess, and reading its output.

The command is the venv's `postmark` console script when it belongs to the package these tests
import, else `python -m postmark_client` with that package on PYTHONPATH: either way the
subprocess runs the same generated code as the test process.
"""

from __future__ import annotations

import functools
import json
import os
import queue
import shutil
import subprocess
import sys
import tempfile
import threading
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

import postmark_client

# Obviously fake tokens, unlike the fake's defaults, so that a leak is unmistakable.
SERVER_TOKEN = "canary-server-token-4f1d-not-real"
ACCOUNT_TOKEN = "canary-account-token-9b2e-not-real"
TOKENS = (SERVER_TOKEN, ACCOUNT_TOKEN)

# The environment variables the CLI reads; scrubbed so a developer's real ones never leak in.
CLI_ENV = ("POSTMARK_SERVER_TOKEN", "POSTMARK_ACCOUNT_TOKEN", "POSTMARK_API_URL")
TIMEOUT = 60


def package_root() -> Path:
    """The folder holding the imported `postmark_client` package."""
    return Path(postmark_client.__file__).resolve().parent.parent


def command_prefix() -> list[str]:
    """The `postmark` script of this interpreter's environment, or `python -m postmark_client`."""
    return list(_command_prefix())


@functools.cache  # asking a subprocess which package the script runs costs a tenth of a second
def _command_prefix() -> tuple[str, ...]:
    script = shutil.which("postmark", path=str(Path(sys.executable).parent))
    if script is not None:
        check = subprocess.run(
            [sys.executable, "-c", "import postmark_client, sys; print(postmark_client.__file__)"],
            check=False,
            capture_output=True,
            text=True,
            env=subprocess_env({}),
            timeout=TIMEOUT,
        )
        if Path(check.stdout.strip()).resolve() == Path(postmark_client.__file__).resolve():
            return (script,)
    return (sys.executable, "-m", "postmark_client")


# Compiled modules of the subprocesses go here (not into the repository), so that each run does
# not compile the generated package again when PYTHONDONTWRITEBYTECODE is set.
PYCACHE = Path(tempfile.gettempdir()) / f"postmark-cli-tests-pycache-{os.getuid()}"


def subprocess_env(extra: Mapping[str, str]) -> dict[str, str]:
    env = {key: value for key, value in os.environ.items() if key not in CLI_ENV}
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    env["PYTHONPYCACHEPREFIX"] = str(PYCACHE)
    env["PYTHONPATH"] = os.pathsep.join(
        [str(package_root()), *filter(None, [os.environ.get("PYTHONPATH")])]
    )
    env["PYTHONIOENCODING"] = "utf-8"
    env.update(extra)
    return env


@dataclass
class Result:
    """What one run of the command did."""

    args: Sequence[str]
    code: int
    stdout: str
    stderr: str

    def json(self) -> Any:
        assert self.stdout.strip(), f"no output from {self.args}; stderr: {self.stderr}"
        return json.loads(self.stdout)

    def __str__(self) -> str:
        return (
            f"postmark {' '.join(self.args)} -> exit {self.code}\n"
            f"stdout: {self.stdout[:2000]}\nstderr: {self.stderr[:2000]}"
        )


@dataclass
class CLI:
    """The `postmark` command pointed at one fake Postmark, with tokens in its environment.

    Every run checks that no token appears in anything the command printed.
    """

    base_url: str | None
    env: dict[str, str] = field(default_factory=dict)
    prefix: list[str] = field(default_factory=command_prefix)
    runs: list[Result] = field(default_factory=list)

    def environment(self, tokens: bool = True) -> dict[str, str]:
        extra = dict(self.env)
        if self.base_url is not None:
            extra["POSTMARK_API_URL"] = self.base_url
        if tokens:
            extra["POSTMARK_SERVER_TOKEN"] = SERVER_TOKEN
            extra["POSTMARK_ACCOUNT_TOKEN"] = ACCOUNT_TOKEN
        return subprocess_env(extra)

    def run(
        self,
        *args: str,
        input: str | None = None,
        tokens: bool = True,
        expect: int | None = 0,
        shows_tokens: bool = False,
    ) -> Result:
        """Run `postmark *args`; `expect` is the exit code it must give (None: any).

        `shows_tokens` is for `--show-tokens` runs, whose answers may list server tokens.
        """
        completed = subprocess.run(
            [*self.prefix, *args],
            check=False,
            input=input,
            capture_output=True,
            text=True,
            encoding="utf-8",
            env=self.environment(tokens),
            timeout=TIMEOUT,
        )
        result = Result(args, completed.returncode, completed.stdout, completed.stderr)
        return self._checked(result, expect, shows_tokens)

    def _checked(self, result: Result, expect: int | None, shows_tokens: bool) -> Result:
        """Record a run; no token in its output, and the exit code `expect` (None: any)."""
        self.runs.append(result)
        for token in TOKENS:
            assert token not in result.stderr, f"token leaked: {result}"
            assert shows_tokens or token not in result.stdout, f"token leaked: {result}"
        if expect is not None:
            assert result.code == expect, str(result)
        return result

    def json(self, *args: str, input: str | None = None) -> Any:
        """Run a command that must succeed and return its JSON output."""
        return self.run(*args, input=input).json()


class LineReader:
    """Reads a subprocess's stream line by line in a thread, so a test can wait for a line
    with a deadline instead of sleeping."""

    def __init__(self, stream: IO[str]) -> None:
        self._lines: queue.Queue[str | None] = queue.Queue()
        self.seen: list[str] = []
        self._thread = threading.Thread(target=self._pump, args=(stream,), daemon=True)
        self._thread.start()

    def _pump(self, stream: IO[str]) -> None:
        for line in stream:
            self._lines.put(line)
        self._lines.put(None)

    def next_line(self, timeout: float = 20.0) -> str:
        try:
            line = self._lines.get(timeout=timeout)
        except queue.Empty:
            raise AssertionError(f"no line within {timeout} s; seen so far: {self.seen}") from None
        if line is None:
            raise AssertionError(f"the stream closed; seen: {self.seen}")
        self.seen.append(line)
        return line

    def line_matching(self, predicate: Any, timeout: float = 20.0) -> str:
        while True:
            line = self.next_line(timeout)
            if predicate(line):
                return line


def items_of(data: Any, key: str) -> list[Any]:
    value = data[key]
    assert isinstance(value, list)
    return value


def all_outputs(runs: Iterable[Result]) -> str:
    return "\n".join(run.stdout + run.stderr for run in runs)


@dataclass
class InProcessCLI(CLI):
    """`postmark` run in this process (`postmark_client.cli.main`), still over HTTP to the fake
    and with the same checks as `CLI`: for long scenarios where a subprocess per command would
    cost a second each. The environment holds only what `CLI.environment` gives the command."""

    def run(
        self,
        *args: str,
        input: str | None = None,
        tokens: bool = True,
        expect: int | None = 0,
        shows_tokens: bool = False,
    ) -> Result:
        import contextlib
        import io
        from unittest import mock

        from postmark_client import cli as cli_module

        out, err = io.StringIO(), io.StringIO()
        env = {k: v for k, v in self.environment(tokens).items() if k in (*CLI_ENV, "PATH")}
        stdin = io.StringIO(input or "")
        with (
            mock.patch.dict(os.environ, env, clear=False),
            mock.patch.object(sys, "stdin", stdin),
            contextlib.redirect_stdout(out),
            contextlib.redirect_stderr(err),
        ):
            for name in CLI_ENV:
                if name not in env:
                    os.environ.pop(name, None)
            try:
                code = cli_module.main(list(args))
            except SystemExit as exc:
                code = exc.code if isinstance(exc.code, int) else 1
        return self._checked(
            Result(args, code, out.getvalue(), err.getvalue()), expect, shows_tokens
        )
