"""(3) Importing postmark_client and its first call vs `python -c "import httpx"`, fresh interpreters.

Each statement runs in a new interpreter, many times, in rotating order; the figure is the
median wall time of the whole process, as the target is stated. The package loads its
submodules lazily, so `import postmark_client` alone says little: the target row is a first
call, a statement that imports the package, builds a ServerClient on an httpx MockTransport
(nothing leaves the process) and makes one `email.send` call, so every module that call needs
is loaded and timed. The bare interpreter (`pass`) is shown so the imports' own share can be
seen. When the target is missed, each module the first call loads is timed alone on top of httpx.
"""

from __future__ import annotations

import statistics
import subprocess
import sys
import time
from pathlib import Path

import canned
from harness import PACKAGE_DIR, REPO, Results, Row, bench_env, fmt_time, median, spread

TARGET = 1.3
FIRST_CALL = f"""
import httpx
import postmark_client

def answer(request):
    return httpx.Response(200, content={canned.send_response()!r})

client = postmark_client.ServerClient("bench-token", transport=httpx.MockTransport(answer))
client.email.send(from_="a@example.com", to="b@example.com", subject="Hi", text_body="Hello")
"""
STATEMENTS = {
    "bare": "pass",
    "httpx": "import httpx",
    "ours": "import postmark_client",
    "first_call": FIRST_CALL,
}
LABELS = {
    "bare": "python -c 'pass' (interpreter alone)",
    "httpx": "python -c 'import httpx'",
    "ours": "python -c 'import postmark_client' (ours, lazy)",
    "first_call": "import postmark_client + first email.send, MockTransport (ours)",
}
TARGETS = {"first_call": TARGET}


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
    ours = ("ours", "first_call")
    for name in names:
        value = figures[name]
        ratio = value / httpx_time if name in ours else None
        note = spread(samples[name])
        if name in ours:
            own = (value - bare) / (httpx_time - bare) if httpx_time > bare else float("nan")
            note = f"cost above bare interpreter: {own:.2f}x httpx's; {note}"
        results.add(
            Row("import", LABELS[name], value, "s", ratio=ratio, target=TARGETS.get(name),
                note=note, samples=len(samples[name]))
        )  # fmt: skip
    print(
        f"  import: httpx {fmt_time(httpx_time)}, postmark_client {fmt_time(figures['ours'])}, "
        f"first call {fmt_time(figures['first_call'])}"
    )
    if figures["first_call"] / httpx_time > TARGET:
        results.note(offenders(env))


_ONE_MODULE = """
import importlib, sys, time
import httpx
started = time.perf_counter()
importlib.import_module(sys.argv[1])
sys.stdout.write(repr(time.perf_counter() - started))
"""

_LOADED = f"""{FIRST_CALL}
import sys
sys.stdout.write(" ".join(sorted(name for name in sys.modules if name.startswith("postmark_client"))))
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
    """What each module of postmark_client the first call loads costs on top of httpx.

    `-X importtime` cannot say: the package loads its submodules through importlib (PEP 562
    lazy names, `import_module`), which it does not instrument, so their time shows up as the
    self time of whichever module asked first. Timing each module alone in a fresh interpreter
    can: a module's figure includes the package modules it imports that were not yet loaded,
    so compare a module with what it imports.
    """
    done = subprocess.run(
        [sys.executable, "-c", _LOADED], cwd=REPO, env=env, capture_output=True, text=True,
        check=True, timeout=60,
    )  # fmt: skip
    modules = done.stdout.split()
    costs = {module: _module_cost(module, env, runs) for module in modules}
    imported = _imports_of(PACKAGE_DIR)
    lines = [
        (
            f"import offenders: the {len(modules)} postmark_client modules the first call loads, "
            f"each imported alone after `import httpx` (fresh interpreter, median of {runs}; "
            "includes the package modules it imports):"
        )
    ]
    for module, cost in sorted(costs.items(), key=lambda item: -item[1]):
        pulls = ", ".join(imported.get(module, [])) or "-"
        lines.append(f"    {cost * 1000:8.1f} ms  {module:44} imports: {pulls}")
    return "\n".join(lines)


def _imports_of(root: Path) -> dict[str, list[str]]:
    """The package modules each postmark_client module imports at module level."""
    import ast

    found: dict[str, list[str]] = {}
    for path in (root / "postmark_client").rglob("*.py"):
        parts = list(path.relative_to(root).with_suffix("").parts)
        package = parts[:-1]  # a module's package; for an __init__.py, itself
        module = ".".join(parts if parts[-1] != "__init__" else parts[:-1])
        names: set[str] = set()
        for node in ast.parse(path.read_text(encoding="utf-8")).body:
            if isinstance(node, ast.ImportFrom) and node.level:
                base = package[: len(package) - node.level + 1]
                if node.module:
                    names.add(".".join([*base, node.module]))
                else:
                    names.update(".".join([*base, alias.name]) for alias in node.names)
        found[module] = sorted(name.removeprefix("postmark_client.") for name in names)
    return found
