"""(1) `postmark-codegen generate` vs openapi-python-client on the same spec, wall time.

Both run as the command a developer types, in a fresh interpreter, each with its own formatter
(ours: one `ruff format` run over every rendered module that needs it, black's style, ruff pinned
in pyproject.toml; openapi-python-client: its default ruff post-hooks, both found on PATH in the
bench venv). A first run of each is discarded (bytecode caches). Ours is timed four ways:
- cold: into an empty folder, no cache: every rendered module goes through ruff (the worst case);
- fresh clone: no cache, into a copy of the committed generated/, whose manifest lets the
  generator reuse the files already formatted (a fresh clone, a CI runner, `check`);
- warm: into an empty folder with a cache filled by an earlier run (a developer's re-run);
- one edit, warm: the summary of one operation (`get_bounce`) changed in a copy of the spec, a
  new text every run (so neither the validation verdict nor the formatted files are cached),
  regenerated into the folder of an earlier run with that run's cache. Beside the time, the
  files the run reports as changed: only that operation's group's modules plus the tables that
  list every operation may change.
"""

from __future__ import annotations

import re
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
TARGETS = {"cold": 2.0, "warm": 0.3}
"""Ours / openapi-python-client, same run."""
EDIT_LIMIT = 1.0
"""Seconds for a warm regeneration after one operation's description changed."""
EDITED = "get_bounce"
"""The operation whose summary the edit row changes."""
TABLES = (
    ".postmark-codegen-manifest.json",
    "README.md",
    "postmark_client/_operations/__init__.py",
)
"""Files that list every operation: an edit of any operation may change them."""
GROUP_PACKAGES = ("models", "_operations", "_resources", "_async_resources")
"""The subpackages of postmark_client with one module per group (`_<group>.py`)."""


def _ours(out: Path, spec: Path = SPEC) -> list[str]:
    return [sys.executable, "-m", "generator", "generate", "--spec", str(spec), "--out", str(out)]


def _edited_spec(out: Path) -> Path:
    return out.parent / f"{out.name}-spec" / SPEC.name


def _ours_edited(out: Path) -> list[str]:
    return _ours(out, _edited_spec(out))


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
        # Ours keeps ruff's output (and the validation verdict) in a cache keyed by content.
        # Cold (cache off) is the fair match for openapi-python-client, which has none; warm (a
        # private cache, filled by the warm-up run) is a developer's re-run. Fresh clone: cache
        # off too, but the output folder starts as a copy of the committed generated/ (copied
        # before the clock starts), as in a fresh clone or on a CI runner. Edit: the same
        # private cache, the output folder a copy of the warm run's, the spec edited.
        warm_cache = bench_env(POSTMARK_CODEGEN_CACHE=str(root / "format-cache"))
        runs_of = {
            "cold": (_ours, bench_env(POSTMARK_CODEGEN_CACHE="off")),
            "clone": (_ours, bench_env(POSTMARK_CODEGEN_CACHE="off")),
            "warm": (_ours, warm_cache),
            "edit": (_ours_edited, warm_cache),
            "theirs": (_theirs, bench_env()),
        }
        edits = _Edits(base=root / "warm-warm")
        prepare = {"clone": _copy_committed, "edit": edits.prepare}
        samples: dict[str, list[float]] = {name: [] for name in runs_of}
        output: dict[str, str] = {}
        changed: dict[str, set[str]] = {}
        try:
            for name, (command, env) in runs_of.items():  # warm-up, discarded
                out = root / f"warm-{name}"
                prepare.get(name, _nothing)(out)
                _, output[name] = run_timed(command(out), cwd=REPO, env=env, timeout=TIMEOUT)
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
                elapsed, text = run_timed(command(out), cwd=REPO, env=env, timeout=TIMEOUT)
                samples[name].append(elapsed)
                if name == "edit":
                    changed[str(index)] = _changed_files(text, out)
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
                target=TARGETS.get(name),
                note=f"{files[name]} .py files, one ruff format run; {how}; "
                f"{spread(samples[name])}",
                samples=len(samples[name]))
        )  # fmt: skip
    results.add(
        Row("generate", f"ours, warm, after editing the summary of {EDITED}", figures["edit"],
            "s", ratio=figures["edit"] / theirs, limit=EDIT_LIMIT,
            note="a copy of the spec, a new summary every run, regenerated into the folder of "
            f"an earlier run with its cache; {spread(samples['edit'])}",
            samples=len(samples["edit"]))
    )  # fmt: skip
    _report_edit(results, changed)
    print(
        f"  generate: ours cold {fmt_time(figures['cold'])}, fresh clone "
        f"{fmt_time(figures['clone'])}, warm {fmt_time(figures['warm'])}, one edit "
        f"{fmt_time(figures['edit'])}, openapi-python-client {fmt_time(theirs)}"
    )


class _Edits:
    """Each edit run: the warm run's output folder copied, and a spec whose summary is new."""

    def __init__(self, base: Path) -> None:
        self.base = base
        self.count = 0

    def prepare(self, out: Path) -> None:
        self.count += 1
        spec = _edited_spec(out)
        shutil.copytree(SPEC.parent, spec.parent)
        text = SPEC.read_text(encoding="utf-8")
        edited, found = _edit_summary(text, f" (edit {self.count})")
        if not found:
            raise RuntimeError(f"{SPEC.name}: no summary found for operationId {EDITED}")
        spec.write_text(edited, encoding="utf-8")
        shutil.copytree(self.base, out, ignore=_TOOL_CACHES)


def _edit_summary(text: str, suffix: str) -> tuple[str, bool]:
    """The spec with `suffix` appended to the summary of the operation EDITED."""
    pattern = re.compile(
        rf"(operationId: {re.escape(EDITED)}\n(?:[ \t]+(?!summary:)\S.*\n)*?[ \t]+summary: )(.*)"
    )
    edited, found = pattern.subn(lambda m: m.group(1) + m.group(2) + suffix, text, count=1)
    return edited, bool(found)


def _group_of(operation_id: str) -> str:
    """The Python name of the group (tag) an operation belongs to."""
    import yaml

    spec = yaml.safe_load(SPEC.read_text(encoding="utf-8"))
    names = {tag["name"]: tag.get("x-python-name", tag["name"]) for tag in spec.get("tags", [])}
    for item in spec["paths"].values():
        for operation in item.values():
            if isinstance(operation, dict) and operation.get("operationId") == operation_id:
                return str(names[operation["tags"][0]])
    raise KeyError(operation_id)


def _changed_files(text: str, out: Path) -> set[str]:
    """The files `generate` said it added, changed or removed, relative to the output folder."""
    found = set()
    for line in text.splitlines():
        parts = line.split()
        if len(parts) == 2 and parts[0] in ("added", "changed", "removed"):
            path = Path(parts[1])
            found.add(path.relative_to(out).as_posix() if path.is_relative_to(out) else parts[1])
    return found


def _report_edit(results: Results, changed: dict[str, set[str]]) -> None:
    group = _group_of(EDITED)
    allowed = set(TABLES) | {f"postmark_client/{package}/_{group}.py" for package in GROUP_PACKAGES}
    every = sorted(set().union(*changed.values())) if changed else []
    stray = [path for path in every if path not in allowed]
    same = len({frozenset(files) for files in changed.values()}) <= 1
    results.add(
        Row("generate", f"files changed by that edit (group {group})", len(every), "files",
            passed=bool(every) and not stray and same,
            wanted=f"only {group}'s modules + tables",
            note="; ".join(filter(None, [
                ", ".join(every) or "none (the edit did not reach the output)",
                f"outside the group and the tables: {', '.join(stray)}" if stray else "",
                "" if same else "the runs did not change the same files",
            ])))
    )  # fmt: skip


def _nothing(out: Path) -> None:
    pass


def _copy_committed(out: Path) -> None:
    shutil.copytree(GENERATED, out, ignore=_TOOL_CACHES)


def _clone_verdict(text: str) -> str:
    """Whether the committed generated/ was current (else the clone figure includes ruff)."""
    if "up to date" in text:
        return "generated/ was up to date, so ruff formatted nothing"
    return "generated/ was NOT up to date: changed files went through ruff"


def _warnings(text: str) -> str:
    """openapi-python-client's own warnings about the spec, if it printed any."""
    if "Warning" not in text and "Error" not in text:
        return "; it printed no warnings"
    lines = [line for line in text.splitlines() if line.strip()][:12]
    return "; its warnings:\n    " + "\n    ".join(lines)
