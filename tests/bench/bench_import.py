"""(3) `python -c "import postmark_client"` vs `python -c "import httpx"`, fresh interpreters.

Each statement runs in a new interpreter, many times, in rotating order; the figure is the
median wall time of the whole process, as the target is stated. Two more lines keep the figure
honest: the bare interpreter (`pass`), so the import's own share can be seen, and
`from postmark_client import ServerClient`, since a lazily loading package pays on first use.
When a ratio misses its target, `-X importtime` names the modules that cost the difference.
"""

from __future__ import annotations

import statistics
import subprocess
import sys
import time
from pathlib import Path

from harness import PACKAGE_DIR, REPO, Results, Row, bench_env, fmt_time, median, spread

TARGET = 1.2
STATEMENTS = {
    "bare": "pass",
    "httpx": "import httpx",
    "ours": "import postmark_client",
    "ours_client": "from postmark_client import ServerClient",
}
LABELS = {
    "bare": "python -c 'pass' (interpreter alone)",
    "httpx": "python -c 'import httpx'",
    "ours": "python -c 'import postmark_client' (ours)",
    "ours_client": "python -c 'from postmark_client import ServerClient' (ours)",
}


def _once(statement: str, env: dict[str, str]) -> float:
    start = time.perf_counter()
    subprocess.run(
        [sys.executable, "-c", statement], cwd=REPO, env=env, check=True, timeout=60,
        capture_output=True,
    )  # fmt: skip
    return time.perf_counter() - start


def run(results: Results, *, runs: int, budget: float) -> None:
    env = bench_env()
    # As pip does on install: the package imports from bytecode, like httpx does.
    subprocess.run(
        [sys.executable, "-m", "compileall", "-q", str(PACKAGE_DIR / "postmark_client")],
        env=env, capture_output=True, timeout=120, check=False,
    )  # fmt: skip
    try:
        for statement in STATEMENTS.values():  # warm-up: bytecode caches, page cache
            _once(statement, env)
    except subprocess.CalledProcessError as exc:
        reason = (exc.stderr or b"").decode(errors="replace").strip().splitlines()[-1:]
        results.note(f"import: not measured: {exc.cmd[-1]!r} failed: {' '.join(reason)}")
        return
    samples: dict[str, list[float]] = {name: [] for name in STATEMENTS}
    names = list(STATEMENTS)
    deadline = time.monotonic() + budget
    for index in range(runs):
        if index >= 5 and time.monotonic() > deadline:
            break
        shift = index % len(names)
        for name in names[shift:] + names[:shift]:
            samples[name].append(_once(STATEMENTS[name], env))
    figures = {name: median(values) for name, values in samples.items()}
    bare, httpx_time = figures["bare"], figures["httpx"]
    for name in names:
        value = figures[name]
        ratio = value / httpx_time if name.startswith("ours") else None
        note = spread(samples[name])
        if name.startswith("ours"):
            own = (value - bare) / (httpx_time - bare) if httpx_time > bare else float("nan")
            note = f"import cost above bare interpreter: {own:.2f}x httpx's; {note}"
        results.add(
            Row("import", LABELS[name], value, "s", ratio=ratio,
                target=TARGET if ratio is not None else None, note=note, samples=len(samples[name]))
        )  # fmt: skip
    print(
        f"  import: httpx {fmt_time(httpx_time)}, postmark_client {fmt_time(figures['ours'])}, "
        f"ServerClient {fmt_time(figures['ours_client'])}"
    )
    worst = max(figures["ours"], figures["ours_client"]) / httpx_time
    if worst > TARGET:
        results.note(offenders(env))


_ONE_MODULE = """
import importlib, sys, time
import httpx
started = time.perf_counter()
importlib.import_module(sys.argv[1])
sys.stdout.write(repr(time.perf_counter() - started))
"""


def _module_cost(module: str, env: dict[str, str], runs: int) -> float:
    """Median seconds to import `module` in a fresh interpreter that has already imported httpx."""
    costs = []
    for _ in range(runs):
        done = subprocess.run(
            [sys.executable, "-c", _ONE_MODULE, module],
            cwd=REPO, env=env, capture_output=True, text=True, check=True, timeout=60,
        )  # fmt: skip
        costs.append(float(done.stdout))
    return statistics.median(costs)


def offenders(env: dict[str, str], runs: int = 3) -> str:
    """What each postmark_client module costs to import on top of httpx (with what it pulls in).

    `-X importtime` cannot say: the package loads its submodules through importlib (PEP 562
    lazy names, `from . import models`), which it does not instrument, so their time shows up
    as the self time of whichever module asked first. Timing each module alone in a fresh
    interpreter can: a module's figure includes the submodules it imports that were not yet
    loaded, so compare a module with what it imports.
    """
    package = PACKAGE_DIR / "postmark_client"
    modules = sorted(
        f"postmark_client.{path.stem}"
        for path in package.glob("*.py")
        if path.stem not in ("__init__", "__main__")
    )
    costs = {module: _module_cost(module, env, runs) for module in modules}
    imported = _imports_of(package)
    lines = [
        (
            "import offenders: each postmark_client module imported alone after `import httpx` "
            f"(fresh interpreter, median of {runs}; includes the package modules it imports):"
        )
    ]
    for module, cost in sorted(costs.items(), key=lambda item: -item[1]):
        pulls = ", ".join(imported.get(module.rsplit(".", 1)[1], [])) or "-"
        lines.append(f"    {cost * 1000:8.1f} ms  {module:36} imports: {pulls}")
    return "\n".join(lines)


def _imports_of(package: Path) -> dict[str, list[str]]:
    """The package modules each module imports at module level (`from . import x`, `from .x`)."""
    import ast

    found: dict[str, list[str]] = {}
    for path in package.glob("*.py"):
        names: set[str] = set()
        for node in ast.parse(path.read_text(encoding="utf-8")).body:
            if isinstance(node, ast.ImportFrom) and node.level == 1:
                if node.module:
                    names.add(node.module)
                else:
                    names.update(alias.name for alias in node.names)
        found[path.stem] = sorted(names)
    return found
