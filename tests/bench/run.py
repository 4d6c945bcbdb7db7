"""Benchmarks of postmark-codegen and postmark_client, side by side with their alternatives.

    python tests/bench/run.py [--quick] [--only generate,import,calls,paging,access,gateway] [--profile]
                              [--package DIR] [--write-readme]

On first use it makes its own venv (tests/bench/.bench/venv) with requirements.txt and the
generator's dependencies from pyproject.toml, then re-runs itself there; generated/ (or the
folder given with --package) is put on PYTHONPATH, so it measures the package as it is in the
tree. Every figure comes with a ratio against a baseline measured in the same run; targets are
printed next to them. All traffic goes to a server of its own on 127.0.0.1, which stops by
itself. See README.md beside this file.
"""

from __future__ import annotations

import argparse
import hashlib
import os
import platform
import subprocess
import sys
import time
from datetime import UTC, datetime
from importlib import metadata
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
REPO = HERE.parents[1]
VENV = HERE / ".bench" / "venv"
STAMP = VENV / ".installed"
README = HERE / "README.md"
SECTIONS = ("generate", "import", "calls", "paging", "access", "gateway")
START, END = "<!-- bench:figures:start -->", "<!-- bench:figures:end -->"


# --- bootstrap: the bench venv --------------------------------------------------------------


def _venv_python() -> Path:
    return VENV / ("Scripts/python.exe" if os.name == "nt" else "bin/python")


def _wanted() -> list[str]:
    """Everything the bench venv must hold: requirements.txt plus the generator's dependencies."""
    import tomllib

    lines = (HERE / "requirements.txt").read_text(encoding="utf-8").splitlines()
    wanted = [line.strip() for line in lines if line.strip() and not line.startswith("#")]
    project = tomllib.loads((REPO / "pyproject.toml").read_text(encoding="utf-8"))
    return wanted + list(project["project"]["dependencies"])


def ensure_venv() -> None:
    """Make or update the bench venv when its requirements changed, then re-run inside it."""
    wanted = _wanted()
    digest = hashlib.sha256("\n".join(wanted).encode()).hexdigest()
    if not _venv_python().exists():
        print(f"bench: creating {VENV.relative_to(REPO)}", flush=True)
        subprocess.run([sys.executable, "-m", "venv", str(VENV)], check=True, timeout=300)
    if not STAMP.exists() or STAMP.read_text() != digest:
        print(f"bench: installing {', '.join(wanted)}", flush=True)
        pip = [
            str(_venv_python()),
            "-m",
            "pip",
            "install",
            "--quiet",
            "--disable-pip-version-check",
        ]
        subprocess.run([*pip, *wanted], check=True, timeout=1200)
        STAMP.write_text(digest)
    python = str(_venv_python())
    env = dict(os.environ, POSTMARK_BENCH_IN_VENV="1")
    os.execve(python, [python, str(Path(__file__).resolve()), *sys.argv[1:]], env)


# --- the run --------------------------------------------------------------------------------


def _settings(quick: bool) -> dict[str, dict[str, Any]]:
    if quick:
        return {
            "generate": {"runs": 3, "budget": 60},
            "import": {"runs": 12, "budget": 30},
            "calls": {"rounds": 10, "budget": 15},
            "access": {"rounds": 10, "budget": 15},
            "gateway": {"rounds": 10, "budget": 20, "sends": 400},
        }
    return {
        "generate": {"runs": 7, "budget": 240},
        "import": {"runs": 40, "budget": 120},
        "calls": {"rounds": 40, "budget": 60},
        "access": {"rounds": 40, "budget": 60},
        "gateway": {"rounds": 40, "budget": 60, "sends": 1000},
    }


def _version(distribution: str) -> str:
    try:
        return metadata.version(distribution)
    except metadata.PackageNotFoundError:
        return "not installed"


def _ours_status() -> str:
    done = subprocess.run(
        [sys.executable, "-c", "import postmark_client, sys; sys.stdout.write(postmark_client.__file__)"],
        env=_child_env(), capture_output=True, text=True, timeout=60, check=False,
    )  # fmt: skip
    if done.returncode != 0:
        last = (done.stderr.strip().splitlines() or ["no output"])[-1]
        return f"NOT importable ({last})"
    return f"importable from {Path(done.stdout).parent}"


def _child_env() -> dict[str, str]:
    from harness import bench_env

    return bench_env()


def environment() -> list[str]:
    cpu = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    load = (
        ", ".join(f"{value:.2f}" for value in os.getloadavg()) if hasattr(os, "getloadavg") else "?"
    )
    return [
        f"when: {datetime.now(UTC):%Y-%m-%d %H:%M} UTC",
        (
            f"machine: {cpu}, {os.cpu_count()} cores, load average {load}; "
            f"Python {platform.python_version()} ({platform.python_implementation()})"
        ),
        (
            f"versions: httpx {_version('httpx')}, openapi-python-client "
            f"{_version('openapi-python-client')}, postmark-python {_version('postmark-python')}, "
            f"postmarker {_version('postmarker')}, ruff {_version('ruff')}"
        ),
        f"postmark_client: {_ours_status()}",
    ]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawTextHelpFormatter
    )
    parser.add_argument(
        "--quick", action="store_true", help="fewer runs and rounds (about 5 minutes)"
    )
    parser.add_argument(
        "--only", default=",".join(SECTIONS), help=f"comma-separated subset of {SECTIONS}"
    )
    parser.add_argument(
        "--profile", action="store_true", help="profile generate and calls even when on target"
    )
    parser.add_argument(
        "--package", metavar="DIR", help="folder holding the postmark_client to measure"
    )
    parser.add_argument(
        "--write-readme", action="store_true", help=f"put the figures into {README.name}"
    )
    args = parser.parse_args(argv)
    only = [name.strip() for name in args.only.split(",") if name.strip()]
    unknown = sorted(set(only) - set(SECTIONS))
    if unknown:
        parser.error(
            f"--only: unknown section(s) {', '.join(unknown)}; choose from {', '.join(SECTIONS)}"
        )

    import bench_access
    import bench_calls
    import bench_gateway
    import bench_generate
    import bench_import
    import bench_paging
    import bench_profile
    from harness import Results, loopback_server
    from report import render_console, render_markdown, write_readme

    settings = _settings(args.quick)
    header = environment()
    print("\n".join(header), flush=True)
    results = Results()
    started = time.monotonic()
    if "generate" in only:
        print("measuring generate ...", flush=True)
        bench_generate.run(results, **settings["generate"])
        if args.profile or any(miss.startswith("generate") for miss in results.missed):
            print("profiling generate ...", flush=True)
            try:
                results.note(bench_profile.profile_generate())
            except Exception as exc:  # noqa: BLE001 - the figures still get printed
                results.note(f"profile of generate: not run: {type(exc).__name__}: {exc}")
    if "import" in only:
        print("measuring import ...", flush=True)
        bench_import.run(results, **settings["import"])
    if {"calls", "paging"} & set(only):
        with loopback_server() as url:
            if "calls" in only:
                print(f"measuring calls against {url} ...", flush=True)
                bench_calls.run(results, url=url, **settings["calls"])
            if "paging" in only:
                print("measuring paging ...", flush=True)
                bench_paging.run(results, url=url)
            missed = [op for op, key in (("send", "email.send"), ("page", "search_outbound"))
                      if args.profile or any(key in miss for miss in results.missed)]  # fmt: skip
            if missed and "calls" in only:
                print(f"profiling {', '.join(missed)} ...", flush=True)
                try:
                    results.note(bench_profile.profile(url, missed))
                except Exception as exc:  # noqa: BLE001 - the figures still get printed
                    results.note(f"profile: not run: {type(exc).__name__}: {exc}")
    if "access" in only:
        print("measuring access (policy check + audit row) ...", flush=True)
        bench_access.run(results, **settings["access"])
    if "gateway" in only:
        with loopback_server() as url:
            print(f"measuring postmark-gateway in front of {url} ...", flush=True)
            bench_gateway.run(results, url, **settings["gateway"])
    elapsed = time.monotonic() - started
    command = "python tests/bench/run.py" + (" --quick" if args.quick else "")
    print()
    print(render_console(results))
    markdown = render_markdown(results, header, command, elapsed)
    (HERE / ".bench").mkdir(exist_ok=True)
    (HERE / ".bench" / "latest.md").write_text(markdown, encoding="utf-8")
    print(
        f"\n(took {elapsed:.0f} s; markdown in {(HERE / '.bench' / 'latest.md').relative_to(REPO)})"
    )
    if args.write_readme:
        write_readme(README, markdown, START, END)
        print(f"figures written to {README.relative_to(REPO)}")
    return 0


def _package_from_argv() -> None:
    """Honour --package before anything imports postmark_client (the harness reads it)."""
    for index, arg in enumerate(sys.argv):
        value = arg.split("=", 1)[1] if arg.startswith("--package=") else None
        if arg == "--package" and index + 1 < len(sys.argv):
            value = sys.argv[index + 1]
        if value:
            os.environ["POSTMARK_BENCH_PACKAGE_DIR"] = str(Path(value).resolve())


if __name__ == "__main__":
    if os.environ.get("POSTMARK_BENCH_IN_VENV") != "1":
        ensure_venv()  # does not return: re-runs this file in the bench venv
    _package_from_argv()
    sys.path.insert(0, str(HERE))
    from harness import PACKAGE_DIR

    sys.path.insert(0, str(PACKAGE_DIR))
    sys.exit(main())
