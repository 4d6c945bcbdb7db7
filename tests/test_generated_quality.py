"""The generated package passes black --check, ruff check and mypy --strict.

Each tool runs as the project's venv has it (`python -m <tool>`), from generated/ so that it reads
generated/pyproject.toml, the configuration a user of the package gets. Each run must also show
that it looked at every module: a tool pointed at the wrong folder would pass vacuously. A broken
module in a scratch copy proves that the same commands do fail. (That generated/ is what the spec
and templates make, `postmark-codegen check` on the repository, is tested in
tests/generator/test_gen_pipeline.py.)
"""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
GENERATED = REPO / "generated"
PACKAGE = "postmark_client"


def run(*args: str, cwd: Path, timeout: float = 300) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        check=False,
        timeout=timeout,
    )


def black(folder: Path, package: str = PACKAGE) -> subprocess.CompletedProcess[str]:
    return run("black", "--check", "--diff", package, cwd=folder)


def ruff(folder: Path, package: str = PACKAGE) -> subprocess.CompletedProcess[str]:
    return run("ruff", "check", "--no-cache", "--output-format", "concise", package, cwd=folder)


def mypy(folder: Path, cache: Path, package: str = PACKAGE) -> subprocess.CompletedProcess[str]:
    return run("mypy", "--strict", "--cache-dir", str(cache), package, cwd=folder)


def modules(folder: Path, package: str = PACKAGE) -> int:
    return len(list((folder / package).rglob("*.py")))


def output(result: subprocess.CompletedProcess[str]) -> str:
    return result.stdout + result.stderr


@pytest.fixture(scope="module")
def mypy_cache(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Kept between runs (mypy checks its cache against the sources), so a rerun takes seconds;
    a fresh folder when pytest runs without its cache (`-p no:cacheprovider`)."""
    cache = getattr(request.config, "cache", None)
    if cache is None:
        return tmp_path_factory.mktemp("mypy-cache")
    return Path(cache.mkdir("generated-mypy"))


def test_generated_package_is_black_formatted() -> None:
    result = black(GENERATED)
    assert result.returncode == 0, output(result)
    checked = re.search(r"(\d+) files? would be left unchanged", result.stderr)
    assert checked and int(checked.group(1)) == modules(GENERATED), result.stderr


def test_generated_package_passes_ruff() -> None:
    result = ruff(GENERATED)
    assert result.returncode == 0, output(result)
    assert "All checks passed!" in result.stdout


def test_generated_package_passes_mypy_strict(mypy_cache: Path) -> None:
    result = mypy(GENERATED, mypy_cache)
    assert result.returncode == 0, output(result)
    assert f"Success: no issues found in {modules(GENERATED)} source files" in result.stdout


def test_the_same_commands_fail_on_a_broken_module(tmp_path: Path) -> None:
    """A scratch package with the generated configuration and one bad module: all three object."""
    (tmp_path / "pyproject.toml").write_text(
        (GENERATED / "pyproject.toml").read_text(encoding="utf-8"), encoding="utf-8"
    )
    package = tmp_path / PACKAGE
    package.mkdir()
    (package / "__init__.py").write_text("", encoding="utf-8")
    (package / "broken.py").write_text(
        "import os\n\n\ndef count(items):\n    return len(items)\n\n\n"
        "def name() -> int:\n    return 'not an int'\n" + "x = {  'badly':1 }\n",
        encoding="utf-8",
    )
    formatted, linted, typed = black(tmp_path), ruff(tmp_path), mypy(tmp_path, tmp_path / "cache")
    assert formatted.returncode == 1 and "would reformat" in formatted.stderr, output(formatted)
    assert linted.returncode == 1 and "F401" in linted.stdout, output(linted)
    assert typed.returncode == 1, output(typed)
    assert "broken.py:4: error: Function is missing a type annotation" in typed.stdout
    assert "broken.py:9: error: Incompatible return value type" in typed.stdout


# ---- the generator: held to the same three tools, with the repository's configuration --------
def test_the_generator_passes_black_ruff_and_mypy_strict(mypy_cache: Path) -> None:
    formatted, linted = black(REPO, "generator"), ruff(REPO, "generator")
    typed = mypy(REPO, mypy_cache / "generator", "generator")
    assert formatted.returncode == 0, output(formatted)
    assert f"{modules(REPO, 'generator')} files would be left unchanged" in formatted.stderr
    assert linted.returncode == 0 and "All checks passed!" in linted.stdout, output(linted)
    assert typed.returncode == 0, output(typed)
    assert f"no issues found in {modules(REPO, 'generator')} source files" in typed.stdout


# ---- static modules: real Python where they stand ---------------------------------------------
STATIC = REPO / "templates" / "static"


def static_modules() -> list[Path]:
    return sorted((STATIC / PACKAGE).rglob("*.py"))


def test_static_modules_are_black_formatted_where_they_stand() -> None:
    result = run(
        "black", "--check", "--config", str(GENERATED / "pyproject.toml"), PACKAGE, cwd=STATIC
    )
    assert result.returncode == 0, output(result)
    checked = re.search(r"(\d+) files? would be left unchanged", result.stderr)
    assert checked and int(checked.group(1)) == len(static_modules()), result.stderr


def test_static_modules_pass_ruff_where_they_stand() -> None:
    result = run(
        "ruff", "check", "--no-cache", "--config", str(GENERATED / "pyproject.toml"),
        "--output-format", "concise", PACKAGE, cwd=STATIC,
    )  # fmt: skip
    assert result.returncode == 0, output(result)
    assert "All checks passed!" in result.stdout


def test_static_modules_are_copied_unchanged_so_mypy_on_generated_covers_them() -> None:
    """mypy needs the spec-shaped modules beside them, so it runs on generated/ (above); the
    copies there must be these files to the byte (under the two-line copy header) for that to
    speak for them."""
    assert static_modules(), "templates/static holds no Python module"
    for source in static_modules():
        rel = source.relative_to(STATIC).as_posix()
        copy = GENERATED / rel
        header = (
            f"# Copied by postmark-codegen from templates/static/{rel};\n"
            "# edit it there and regenerate, not here.\n"
        ).encode()
        assert copy.read_bytes() == header + source.read_bytes(), f"{copy} differs from {source}"


def test_only_generated_files_say_they_are_generated() -> None:
    """A hand-written static module does not claim to come from the spec; its copy says where
    to edit it instead."""
    claims = [
        source
        for source in static_modules()
        if "Do not edit" in source.read_text(encoding="utf-8")
        or "Generated by postmark-codegen" in source.read_text(encoding="utf-8")
    ]
    assert claims == []
    copies = [GENERATED / source.relative_to(STATIC) for source in static_modules()]
    assert all(
        copy.read_text(encoding="utf-8").startswith("# Copied by postmark-codegen from templates/")
        for copy in copies
    )
    assert not [
        line
        for source in static_modules()
        for line in source.read_text(encoding="utf-8").splitlines()
        if "{%" in line or "{{ api" in line
    ], "static modules must hold no template syntax"
