"""(1) `postmark-codegen generate` vs openapi-python-client on the same spec, wall time.

Both run as the command a developer types, in a fresh interpreter, each with its own formatter
(ours: black in-process; openapi-python-client: its default ruff post-hooks, found on PATH in the
bench venv). A first run of each is discarded (bytecode caches). Ours is timed three ways:
- cold: into an empty folder, no cache: every file goes through black (the worst case);
- fresh clone: no cache, into a copy of the committed generated/, whose manifest lets the
  generator reuse the files black already formatted (a fresh clone, a CI runner, `check`);
- warm: into an empty folder with a cache filled by an earlier run (a developer's re-run).
"""

from __future__ import annotations

import shutil
import sys
import tempfile
import time
from pathlib import Path

from harness import REPO, Results, Row, bench_env, fmt_time, median, run_timed, spread

SPEC = REPO / "spec" / "postmark.yaml"
GENERATED = REPO / "generated"  # the committed output: what a fresh clone has
TIMEOUT = 300.0
_TOOL_CACHES = shutil.ignore_patterns("__pycache__", ".mypy_cache", ".ruff_cache", ".pytest_cache")


def _ours(out: Path) -> list[str]:
    return [sys.executable, "-m", "generator", "generate", "--spec", str(SPEC), "--out", str(out)]


def _theirs(out: Path) -> list[str]:
    tool = Path(sys.executable).parent / "openapi-python-client"
    return [str(tool), "generate", "--path", str(SPEC), "--output-path", str(out), "--meta", "none"]


def _count_py(folder: Path) -> int:
    return sum(1 for _ in folder.rglob("*.py"))


def _theirs_coverage(out: Path) -> str:
    """What openapi-python-client made of the spec: endpoint modules, models, what it skipped."""
    import yaml

    spec = yaml.safe_load(SPEC.read_text(encoding="utf-8"))
    operations = sum(
        1
        for item in spec["paths"].values()
        for method in item
        if method in {"get", "put", "post", "delete", "patch"}
    )
    endpoints = [p for p in (out / "api").rglob("*.py") if p.name != "__init__.py"]
    models = [p for p in (out / "models").glob("*.py") if p.name != "__init__.py"]
    webhooks = len(spec.get("webhooks", {}))
    return (
        f"openapi-python-client: {len(endpoints)} endpoint modules for {operations} operations, "
        f"{len(models)} model modules; the {webhooks} OpenAPI 3.1 `webhooks` are not generated "
        f"(it has no webhook support)"
    )


def run(results: Results, *, runs: int, budget: float) -> None:
    with tempfile.TemporaryDirectory(prefix="bench-generate-") as tmp:
        root = Path(tmp)
        # Ours keeps black's output in a cache keyed by content. Cold (cache off) is the fair
        # match for openapi-python-client, which has none; warm (a private cache, filled by the
        # warm-up run) is a developer's re-run after an edit that leaves most files unchanged.
        # Fresh clone: cache off too, but the output folder starts as a copy of the committed
        # generated/ (copied before the clock starts), as in a fresh clone or on a CI runner.
        runs_of = {
            "cold": (_ours, bench_env(POSTMARK_CODEGEN_CACHE="off")),
            "clone": (_ours, bench_env(POSTMARK_CODEGEN_CACHE="off")),
            "warm": (_ours, bench_env(POSTMARK_CODEGEN_CACHE=str(root / "format-cache"))),
            "theirs": (_theirs, bench_env()),
        }
        prepare = {"clone": _copy_committed}
        samples: dict[str, list[float]] = {name: [] for name in runs_of}
        output: dict[str, str] = {}
        try:
            for name, (command, env) in runs_of.items():  # warm-up, discarded
                prepare.get(name, _nothing)(root / f"warm-{name}")
                _, output[name] = run_timed(
                    command(root / f"warm-{name}"), cwd=REPO, env=env, timeout=TIMEOUT
                )
        except Exception as exc:  # noqa: BLE001 - reported; the other sections still run
            results.note(f"generate: not measured: {exc}")
            return
        files = {name: _count_py(root / f"warm-{name}") for name in runs_of}
        results.note(_theirs_coverage(root / "warm-theirs") + _warnings(output["theirs"]))
        names = list(runs_of)
        deadline = time.monotonic() + budget
        for index in range(runs):
            if index >= 2 and time.monotonic() > deadline:
                break
            shift = index % len(names)
            for name in names[shift:] + names[:shift]:
                command, env = runs_of[name]
                out = root / f"{name}-{index}"
                prepare.get(name, _nothing)(out)
                elapsed, _ = run_timed(command(out), cwd=REPO, env=env, timeout=TIMEOUT)
                samples[name].append(elapsed)
    figures = {name: median(values) for name, values in samples.items()}
    theirs = figures["theirs"]
    results.add(
        Row("generate", "openapi-python-client generate", theirs, "s",
            note=f"{files['theirs']} .py files, ruff post-hooks; {spread(samples['theirs'])}",
            samples=len(samples["theirs"]))
    )  # fmt: skip
    labels = {
        "cold": ("postmark-codegen generate (ours), cold", "empty folder, no cache"),
        "clone": (
            "postmark-codegen generate (ours), fresh clone",
            "no cache, into a copy of generated/; " + _clone_verdict(output["clone"]),
        ),
        "warm": (
            "postmark-codegen generate (ours), warm cache",
            "empty folder, format cache and validation verdict from an earlier run",
        ),
    }
    for name, (label, how) in labels.items():
        results.add(
            Row("generate", label, figures[name], "s", ratio=figures[name] / theirs,
                target=1.0,
                note=f"{files[name]} .py files, black in-process; {how}; {spread(samples[name])}",
                samples=len(samples[name]))
        )  # fmt: skip
    print(
        f"  generate: ours cold {fmt_time(figures['cold'])}, fresh clone "
        f"{fmt_time(figures['clone'])}, warm {fmt_time(figures['warm'])}, "
        f"openapi-python-client {fmt_time(theirs)}"
    )


def _nothing(out: Path) -> None:
    pass


def _copy_committed(out: Path) -> None:
    shutil.copytree(GENERATED, out, ignore=_TOOL_CACHES)


def _clone_verdict(text: str) -> str:
    """Whether the committed generated/ was current (else the clone figure includes black)."""
    if "up to date" in text:
        return "generated/ was up to date, so black ran on nothing"
    return "generated/ was NOT up to date: changed files went through black"


def _warnings(text: str) -> str:
    """openapi-python-client's own warnings about the spec, if it printed any."""
    if "Warning" not in text and "Error" not in text:
        return "; it printed no warnings"
    lines = [line for line in text.splitlines() if line.strip()][:12]
    return "; its warnings:\n    " + "\n    ".join(lines)
