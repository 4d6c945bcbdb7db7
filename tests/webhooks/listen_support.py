"""`postmark webhooks listen` as a subprocess on a free loopback port, for the webhook tests."""

from __future__ import annotations

import re
import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

from cli_support import LineReader, command_prefix, subprocess_env


@dataclass
class Listening:
    process: subprocess.Popen[str]
    url: str
    port: int
    events: LineReader
    log: LineReader


@contextmanager
def listening(*options: str) -> Iterator[Listening]:
    """Start the listener with `options`, wait for its banner, and stop it afterwards."""
    process = subprocess.Popen(
        [*command_prefix(), "webhooks", "listen", "--port", "0", *options],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        encoding="utf-8",
        env=subprocess_env({}),
    )
    assert process.stdout is not None and process.stderr is not None
    log = LineReader(process.stderr)
    try:
        banner = log.line_matching(lambda line: "listening" in line)
        match = re.search(r"(http://127\.0\.0\.1:(\d+)/)", banner)
        assert match, banner
        yield Listening(
            process, match.group(1), int(match.group(2)), LineReader(process.stdout), log
        )
    finally:
        process.terminate()
        process.wait(timeout=30)
