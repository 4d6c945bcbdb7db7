"""What every benchmark section shares: the loopback server, interleaved timing, and results.

Timing is interleaved: each round runs a batch of every contender, in a rotating order, so that
a slow moment of the machine (another process, a frequency change) falls on all of them alike.
Every loop is bounded twice: by a number of rounds and by a time budget.
"""

from __future__ import annotations

import contextlib
import gc
import os
import select
import statistics
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

HERE = Path(__file__).resolve().parent
REPO = HERE.parents[1]
PACKAGE_DIR = Path(os.environ.get("POSTMARK_BENCH_PACKAGE_DIR") or REPO / "generated")
"""The folder holding the postmark_client measured (run.py --package)."""


@dataclass
class Row:
    """One line of the results table.

    A target is a ratio (`target`: ratio <= target), an absolute value (`limit`: value <=
    limit, in the row's unit) or a check the section makes itself (`passed`).
    """

    section: str
    name: str
    value: float | None
    unit: str
    ratio: float | None = None
    target: float | None = None
    note: str = ""
    samples: int = 0
    limit: float | None = None
    passed: bool | None = None
    wanted: str = ""
    """How the target reads when `passed` decides it (e.g. "only bounces' files")."""

    @property
    def verdict(self) -> str:
        if self.passed is not None:
            ok = self.passed
        elif self.limit is not None and self.value is not None:
            ok = self.value <= self.limit
        elif self.ratio is not None and self.target is not None:
            ok = self.ratio <= self.target
        else:
            return ""
        return "ok" if ok else "MISSED"


@dataclass
class Results:
    rows: list[Row] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    missed: list[str] = field(default_factory=list)

    def add(self, row: Row) -> Row:
        self.rows.append(row)
        if row.verdict == "MISSED":
            self.missed.append(f"{row.section}: {row.name}")
        return row

    def note(self, text: str) -> None:
        self.notes.append(text)


@contextlib.contextmanager
def loopback_server(lifetime: float = 1800.0) -> Iterator[str]:
    """Start loopback_server.py in its own process; yield its base URL; stop it on exit."""
    process = subprocess.Popen(
        [sys.executable, str(HERE / "loopback_server.py"), "--lifetime", str(lifetime)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        cwd=HERE,
    )
    try:
        assert process.stdout is not None
        ready, _, _ = select.select([process.stdout], [], [], 60)
        line = process.stdout.readline().decode() if ready else ""
        if not line.startswith("PORT "):
            raise RuntimeError(f"the loopback server did not start (said {line!r})")
        yield f"http://127.0.0.1:{int(line.split()[1])}"
    finally:
        if process.stdin is not None:
            process.stdin.close()  # the server's cue to stop
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=10)


Batch = Callable[[int], object]
"""Runs the measured call n times."""


@dataclass
class Samples:
    """Per-call seconds of one contender, one value per round: wall clock and this process's CPU.

    CPU time leaves out the server and other processes, so it stays steady on a busy machine;
    wall time is what a caller waits and what the targets are stated in.
    """

    wall: list[float] = field(default_factory=list)
    cpu: list[float] = field(default_factory=list)


def interleaved(
    contenders: dict[str, Batch],
    *,
    rounds: int,
    per_round: int,
    budget: float,
    min_rounds: int = 3,
) -> dict[str, Samples]:
    """Seconds per call of each contender, one sample per round; bounded by rounds and budget."""
    samples = {name: Samples() for name in contenders}
    names = list(contenders)
    deadline = time.monotonic() + budget
    for round_no in range(rounds):
        if round_no >= min_rounds and time.monotonic() > deadline:
            break
        shift = round_no % len(names)
        for name in names[shift:] + names[:shift]:
            gc.collect()
            cpu, wall = time.process_time(), time.perf_counter()
            contenders[name](per_round)
            samples[name].wall.append((time.perf_counter() - wall) / per_round)
            samples[name].cpu.append((time.process_time() - cpu) / per_round)
    return samples


def median(values: list[float]) -> float:
    return statistics.median(values)


def spread(values: list[float]) -> str:
    """The interquartile range relative to the median, to show how steady a figure is."""
    if len(values) < 4:
        return ""
    q1, _, q3 = statistics.quantiles(values, n=4)
    return f"IQR ±{(q3 - q1) / 2 / statistics.median(values) * 100:.0f}%"


def run_timed(
    argv: list[str], *, cwd: Path, env: dict[str, str], timeout: float
) -> tuple[float, str]:
    """Wall seconds and output of one subprocess run; raises with its output when it fails."""
    start = time.perf_counter()
    done = subprocess.run(
        argv, cwd=cwd, env=env, capture_output=True, timeout=timeout, text=True, check=False
    )
    elapsed = time.perf_counter() - start
    if done.returncode != 0:
        tail = (done.stdout + done.stderr).strip().splitlines()[-15:]
        raise RuntimeError(f"{' '.join(argv)} exited {done.returncode}:\n" + "\n".join(tail))
    return elapsed, done.stdout + done.stderr


def bench_env(**extra: str) -> dict[str, str]:
    """The environment for child interpreters: the bench venv first on PATH, postmark_client importable."""
    env = dict(os.environ)
    env["PATH"] = os.pathsep.join([str(Path(sys.executable).parent), env.get("PATH", "")])
    env["PYTHONPATH"] = str(PACKAGE_DIR)
    env.pop("PYTHONSTARTUP", None)
    # Installed packages import from bytecode; a session that forbids writing it would time the
    # compiler instead (postmark_client and the generator would compile on every run, httpx not).
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    env.update(extra)
    return env


def fmt_time(seconds: float | None) -> str:
    if seconds is None:
        return "n/a"
    if seconds >= 1:
        return f"{seconds:.2f} s"
    if seconds >= 1e-3:
        return f"{seconds * 1e3:.2f} ms"
    return f"{seconds * 1e6:.0f} µs"


def fmt_bytes(size: float) -> str:
    return f"{size / (1024 * 1024):.2f} MiB" if size >= 1024 * 1024 else f"{size / 1024:.0f} KiB"
