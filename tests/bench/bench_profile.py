"""Where the time goes when ours misses a per-call target: ours and raw httpx under cProfile.

Both make the same calls against the same server; self time is summed by area (a module of
postmark_client, httpx, httpcore, h11, json, another stdlib module) and divided by the number of
calls, so the difference column is what ours adds per call and where. C functions are charged
to the Python area that called them (json's scanner to json, `isinstance` to its caller); time
is measured as this thread's CPU time, so waiting for the server and other processes on a busy
machine do not count. cProfile inflates Python-heavy code: read the shares and the differences,
not the absolute microseconds. When
pyinstrument is installed, its call tree of ours is written next to the results.
"""

from __future__ import annotations

import cProfile
import pstats
import time
from collections import defaultdict
from pathlib import Path
from typing import Any

import clients
from harness import HERE, REPO

CALLS = {"send": 300, "page": 10}
OUT = HERE / ".bench"
_IO = ("_socket.socket", "select.", "poll", "'recv", "'send", "sendall", "selectors")

Func = tuple[str, int, str]


def _area(func: Func) -> str:
    """The area a function's self time is charged to; "" for a C function (charged to its caller)."""
    filename, _line, name = func
    if filename == "~":
        if any(io in name for io in _IO):
            return "socket calls"
        return ""
    path = filename.replace("\\", "/")
    if "/postmark_client/" in path:
        return "postmark_client/" + path.rsplit("/postmark_client/", 1)[1]
    if "/site-packages/" in path:
        return path.split("/site-packages/", 1)[1].split("/", 1)[0].removesuffix(".py")
    if path.startswith(str(REPO / "generator")):
        return "generator/" + path.rsplit("/", 1)[-1]
    if "/tests/bench/" in path:
        return "benchmark harness"
    if path.startswith("<frozen"):
        return "import machinery"
    module = path.rsplit("/", 1)[-1].removesuffix(".py")
    parent = path.rsplit("/", 2)[-2] if path.count("/") >= 2 else ""
    if module == "__init__":
        module = parent
    if parent in ("json", "email", "http", "urllib", "logging", "asyncio", "concurrent"):
        return f"stdlib {parent}"
    return f"stdlib {module}"


def _by_area(stats: pstats.Stats) -> dict[str, float]:
    """Self seconds per area; a C function's time goes to the area of its caller."""
    raw: dict[Func, Any] = stats.stats  # type: ignore[attr-defined]
    totals: dict[str, float] = defaultdict(float)
    for func, (_cc, _nc, self_time, _cum, callers) in raw.items():
        area = _area(func)
        if area:
            totals[area] += self_time
            continue
        # A builtin: split its self time among its callers by how much each one caused.
        caused = {caller: entry[2] for caller, entry in callers.items()}
        whole = sum(caused.values()) or 1.0
        for caller, part in caused.items():
            totals[_area(caller) or "builtins"] += self_time * part / whole
    return totals


def _profile(batch: Any, calls: int) -> pstats.Stats:
    # Thread CPU time: neither the wait for the server nor other processes on a busy machine.
    profiler = cProfile.Profile(time.thread_time)
    profiler.enable()
    batch(calls)
    profiler.disable()
    return pstats.Stats(profiler)


def _top_functions(stats: pstats.Stats, calls: int, top: int = 12) -> list[str]:
    raw: dict[Func, Any] = stats.stats  # type: ignore[attr-defined]
    ours = [
        (func, entry)
        for func, entry in raw.items()
        if "/postmark_client/" in func[0].replace("\\", "/")
    ]
    ours.sort(key=lambda item: -item[1][2])
    lines = []
    for (filename, line, name), (_cc, ncalls, self_time, cumulative, _callers) in ours[:top]:
        short = filename.replace("\\", "/").rsplit("/postmark_client/", 1)[1]
        lines.append(
            f"      {self_time / calls * 1e6:8.1f} µs self {cumulative / calls * 1e6:8.1f} µs cum "
            f"{ncalls / calls:7.1f} calls  {short}:{line} {name}"
        )
    return lines


def _pyinstrument(batch: Any, calls: int, operation: str) -> str:
    try:
        from pyinstrument import Profiler
    except ImportError:
        return ""
    profiler = Profiler(interval=0.0002)
    profiler.start()
    batch(calls)
    profiler.stop()
    OUT.mkdir(exist_ok=True)
    path = OUT / f"pyinstrument-{operation}.txt"
    path.write_text(profiler.output_text(unicode=True, color=False, show_all=False))
    return f"    pyinstrument call tree of ours: {path.relative_to(HERE.parents[1])}"


def _median_seconds(call: Any, reps: int, *, collect: bool) -> float:
    """Median wall seconds of `call` over reps, with the cyclic GC on (as in real use) or off."""
    import gc
    import statistics

    times = []
    was_enabled = gc.isenabled()
    try:
        for _ in range(reps):
            gc.collect()
            if not collect:
                gc.disable()
            start = time.perf_counter()
            call()
            times.append(time.perf_counter() - start)
            gc.enable()
    finally:
        if not was_enabled:
            gc.disable()
    return statistics.median(times)


def page_anatomy(url: str, reps: int = 15) -> str:
    """The typed page's extra cost without a profiler: json.loads vs from_dict on the same body.

    Timed directly on the canned 500-message body, so these figures carry no profiler overhead;
    with the GC on and off, because parsing allocates thousands of containers and the cyclic GC
    runs in the middle of it (charged to whatever code is running, parser or models).
    """
    import json

    import canned
    from postmark_client import ServerClient

    body = canned.search_page(0, 500)
    with ServerClient(token=clients.TOKEN, base_url=url) as client:
        page = client.messages.search_outbound(count=clients.PAGE_COUNT, offset=0)
    response_model = type(page.response)
    item_model = type(page.items[0])
    data = json.loads(body)
    messages = data[next(key for key, value in data.items() if isinstance(value, list))]
    lines = [
        f"anatomy of one 500-item page ({len(body) / 1024:.0f} KiB of JSON), median of {reps}:"
    ]
    for collect in (True, False):
        loads = _median_seconds(lambda: json.loads(body), reps, collect=collect)
        typed = _median_seconds(lambda: response_model.from_dict(data), reps, collect=collect)
        lines.append(
            f"    GC {'on ' if collect else 'off'}: json.loads {loads * 1e3:6.2f} ms, "
            f"{response_model.__name__}.from_dict {typed * 1e3:6.2f} ms "
            f"({typed / loads:.2f}x json.loads; {typed / len(messages) * 1e6:.1f} µs per "
            f"{item_model.__name__})"
        )
    return "\n".join(lines)


def profile(url: str, operations: list[str]) -> str:
    """A report of where ours spends more than raw httpx, for each operation given."""
    ours = clients.build(clients.ours, url)
    raw = clients.build(clients.raw_httpx, url)
    lines = []
    try:
        for operation in operations:
            calls = CALLS[operation]
            ours_batch, raw_batch = getattr(ours, operation), getattr(raw, operation)
            ours_batch(3)
            raw_batch(3)
            ours_stats, raw_stats = _profile(ours_batch, calls), _profile(raw_batch, calls)
            ours_areas, raw_areas = _by_area(ours_stats), _by_area(raw_stats)
            total_ours = sum(ours_areas.values()) / calls * 1e6
            total_raw = sum(raw_areas.values()) / calls * 1e6
            lines.append(
                f"profile of {operation} ({calls} calls each; CPU µs per call under cProfile; "
                f"ours {total_ours:.0f}, raw httpx {total_raw:.0f}):"
            )
            lines.append(f"    {'area':44} {'ours':>9} {'raw':>9} {'ours-raw':>9}")
            areas = sorted(
                set(ours_areas) | set(raw_areas),
                key=lambda area: -(ours_areas.get(area, 0) - raw_areas.get(area, 0)),
            )
            for area in areas:
                mine, theirs = ours_areas.get(area, 0) / calls, raw_areas.get(area, 0) / calls
                if max(mine, theirs) * 1e6 < 1:
                    continue
                lines.append(
                    f"    {area:44} {mine * 1e6:9.1f} {theirs * 1e6:9.1f} "
                    f"{(mine - theirs) * 1e6:+9.1f}"
                )
            lines.append("    top postmark_client functions by self time (per call):")
            lines.extend(_top_functions(ours_stats, calls))
            if operation == "page":
                lines.append(page_anatomy(url))
            tree = _pyinstrument(ours_batch, calls, operation)
            if tree:
                lines.append(tree)
    finally:
        ours.close()
        raw.close()
    return "\n".join(lines)


# `python -m generator generate ...` with a timer around each stage of the pipeline. cProfile is
# no use here: it slows the pure-Python validators (jsonschema, referencing) about tenfold and
# cannot see inside the `ruff format` process (Rust) that formats every rendered module at once.
_TIMED_GENERATE = """
import importlib, json, runpy, sys, time
out_file, sys.argv = sys.argv[1], sys.argv[2:]
STAGES = {
    "load the YAML (loader.load_spec)": ("generator.pipeline", "load_spec"),
    "validate (validate.validate_spec)": ("generator.validate", "validate_spec"),
    "build the model (build.build_api)": ("generator.pipeline", "build_api"),
    "render the templates (render.render_text)": ("generator.render", "render_text"),
    "format with ruff (render.format_many)": ("generator.render", "format_many"),
}
spent = {stage: [0.0, 0.0] for stage in STAGES}
missing = []

def timed(stage, function):
    def wrapper(*args, **kwargs):
        wall, cpu = time.perf_counter(), time.process_time()
        try:
            return function(*args, **kwargs)
        finally:
            spent[stage][0] += time.perf_counter() - wall
            spent[stage][1] += time.process_time() - cpu
    return wrapper

for stage, (module_name, name) in STAGES.items():
    try:
        module = importlib.import_module(module_name)
        setattr(module, name, timed(stage, getattr(module, name)))
    except (ImportError, AttributeError):
        missing.append(stage)
try:
    runpy.run_module("generator", run_name="__main__", alter_sys=True)
except SystemExit as exc:
    if exc.code:
        raise
with open(out_file, "w") as handle:
    json.dump({"spent": spent, "missing": missing}, handle)
"""


def profile_generate() -> str:
    """Where `postmark-codegen generate` spends its time, stage by stage, cold format cache."""
    import json
    import subprocess
    import sys
    import tempfile

    from harness import bench_env

    with tempfile.TemporaryDirectory(prefix="bench-profile-generate-") as tmp:
        timings = Path(tmp) / "stages.json"
        argv = ["generator", "generate", "--spec", str(REPO / "spec" / "postmark.yaml"),
                "--out", str(Path(tmp) / "out")]  # fmt: skip
        env = bench_env(POSTMARK_CODEGEN_CACHE="off")
        wall = time.perf_counter()
        subprocess.run(
            [sys.executable, "-c", _TIMED_GENERATE, str(timings), *argv],
            cwd=REPO, env=env, capture_output=True, check=True, timeout=600,
        )  # fmt: skip
        whole = time.perf_counter() - wall
        found = json.loads(timings.read_text())
    lines = [
        (
            f"stages of generate (one cold run, format cache off; {whole:.2f} s wall for the"
            " process; CPU is this process only, not the ruff process it starts):"
        ),
        f"    {'stage':48} {'wall':>8} {'share':>6} {'CPU':>8}",
    ]
    accounted = 0.0
    for stage, (wall_s, cpu_s) in found["spent"].items():
        if stage in found["missing"]:
            lines.append(f"    {stage:48} {'(not found in the generator)':>24}")
            continue
        accounted += wall_s
        lines.append(f"    {stage:48} {wall_s:7.2f}s {wall_s / whole * 100:5.1f}% {cpu_s:7.2f}s")
    rest = whole - accounted
    lines.append(
        f"    {'interpreter start, imports, writing, other':48} {rest:7.2f}s "
        f"{rest / whole * 100:5.1f}%"
    )
    return "\n".join(lines)
