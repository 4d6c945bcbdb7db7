"""`generate` and `check`: spec -> validate -> model -> render -> write (or compare).

Everything is rendered and formatted in memory before anything is written. `generate` then writes
the new tree into a temporary folder beside the output and swaps it in, so a failure at any step
leaves the output folder as it was, and files that are no longer generated disappear. `check`
regenerates into a temporary folder and compares it with the output folder.

Both read the output folder first: files its manifest vouches for as the formatted output of the same
text are not formatted again (see render.MANIFEST), which spares a fresh clone or a CI runner
most of the run. A spec that validated cleanly is remembered by the hash of its files and of the
validators (see _validate), so re-runs do not validate the same spec again.

Exit codes: 0 success (check: up to date); 1 check found the output stale; 2 nothing could be
generated (unreadable or invalid spec, template error).
"""

from __future__ import annotations

import argparse
import difflib
import hashlib
import json
import os
import shutil
import sys
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import TypedDict, Unpack

import yaml

from generator import fake_coverage
from generator.build import BuildError, build_api
from generator.cache import cache_dir, write_atomic
from generator.loader import RefError, Spec, SpecLoadError, load_spec
from generator.model import Api
from generator.render import (
    OUTPUTS,
    FormatterError,
    Output,
    RenderError,
    render_files,
    templates_dir,
)

_YAML_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
DEFAULT_SPEC = "spec/postmark.yaml"
DEFAULT_OUT = "generated"
# Tool caches that may sit in the output folder: neither compared nor reported.
IGNORED_NAMES = frozenset(
    {"__pycache__", ".mypy_cache", ".ruff_cache", ".pytest_cache", ".DS_Store"}
)
EXIT_OK, EXIT_STALE, EXIT_FAILED = 0, 1, 2


class GenerationError(Exception):
    """Nothing was generated; the message says why (each line one problem)."""


@dataclass
class Changes:
    """How a freshly rendered tree differs from what is on disk, by relative path."""

    added: list[str] = field(default_factory=list)
    changed: list[str] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)

    @property
    def stale(self) -> bool:
        return bool(self.added or self.changed or self.removed)

    def counts(self) -> str:
        return (
            f"{len(self.added)} added, {len(self.changed)} changed, {len(self.removed)} removed, "
            f"{len(self.unchanged)} unchanged"
        )


# ---- stages ----------------------------------------------------------------------------------


def _validate(spec: Spec, root_digest: str | None = None) -> list[str]:
    """Every problem `postmark-codegen validate` finds: nothing is generated from a bad spec.

    A clean verdict is remembered in the cache folder (validation is about 3 s of every run) under
    a key made of the root file's hash, the validators' versions and the generator's own source;
    it also lists every file the validation read, with its hash, and is used only while all of
    them are unchanged. Only clean verdicts are kept, so problems are always found afresh.

    Beside it goes a verdict for the spec's structure, keyed by the hash of the spec with the text
    of its descriptions and summaries blanked (generator/prose.py): after an edit of such texts
    only, the rules that read texts (validate.TEXT_RULES) are run, not the whole validation. When
    they find a problem, the whole validation runs, so the problems listed are what `validate`
    lists.
    """
    cache = cache_dir()
    if cache is None or root_digest is None:
        return _problems(spec)
    environment = _environment()
    verdict = cache / "validated" / f"{_verdict_key(root_digest, environment)}.json"
    if _still_valid(verdict, spec.path):
        return []
    from generator import validate  # only now: the validators take a tenth of a second to import
    from generator.prose import structure_digest

    structure = structure_digest(spec)
    shape = None
    if structure is not None:
        shape = cache / "validated" / f"{_verdict_key(structure, environment, shape=True)}.json"
        if _same_structure(shape, structure) and not validate.validate_texts(spec):
            _remember_valid(verdict, spec, root_digest)
            return []
    problems = _problems(spec)
    if not problems and _remember_valid(verdict, spec, root_digest) and shape is not None:
        _write_verdict(shape, {"structure": structure})
    return problems


def _problems(spec: Spec) -> list[str]:
    """The whole validation, every rule."""
    from generator.validate import validate_spec

    return [str(problem) for problem in validate_spec(spec)]


# The distributions whose code decides a verdict: the validators, what they parse and resolve
# with, and the optional format checkers jsonschema uses when they are installed.
_VALIDATOR_DISTRIBUTIONS = (
    "openapi-spec-validator", "openapi-schema-validator", "jsonschema", "jsonschema-path",
    "jsonschema-specifications", "referencing", "rpds-py", "pathable", "PyYAML", "pydantic",
    "pydantic-settings", "lazy-object-proxy", "fqdn", "idna", "isoduration", "jsonpointer",
    "rfc3339-validator", "rfc3986-validator", "rfc3987", "rfc3987-syntax", "uri-template",
    "webcolors",
)  # fmt: skip


def _file_digest(path: Path) -> str | None:
    try:
        return hashlib.sha256(path.read_bytes()).hexdigest()
    except OSError:
        return None


def _environment() -> str:
    """Python's and the validators' versions, the generator's source: what else a verdict needs."""
    from importlib import metadata

    lines = [sys.version]
    for name in _VALIDATOR_DISTRIBUTIONS:
        try:
            version = metadata.version(name)
        except metadata.PackageNotFoundError:
            version = "-"
        lines.append(f"{name} {version}")
    for source in sorted(Path(__file__).parent.glob("*.py")):
        lines.append(f"{source.name} {_file_digest(source)}")
    return "\n".join(lines) + "\n"


def _verdict_key(digest: str, environment: str | None = None, *, shape: bool = False) -> str:
    """The root file's hash (or, with shape, the spec's structure digest) and the environment."""
    kind = "structure" if shape else "validated"
    environment = _environment() if environment is None else environment
    return hashlib.sha256(f"{kind} v1\n{digest}\n{environment}".encode()).hexdigest()


def _same_structure(shape: Path, structure: str | None) -> bool:
    try:
        return bool(json.loads(shape.read_text(encoding="utf-8"))["structure"] == structure)
    except (OSError, ValueError, KeyError, TypeError):
        return False


def _still_valid(verdict: Path, spec_path: Path) -> bool:
    """True when the remembered verdict exists and every file it lists hashes as it did then."""
    try:
        files = json.loads(verdict.read_text(encoding="utf-8"))["files"]
    except (OSError, ValueError, KeyError, TypeError):
        return False
    if not isinstance(files, dict) or "." not in files:
        return False
    base = spec_path.resolve().parent
    for relative, expected in files.items():
        current = spec_path if relative == "." else base / relative
        if _file_digest(current) != expected:
            return False
    return True


def _remember_valid(verdict: Path, spec: Spec, root_digest: str) -> bool:
    """Best effort, like the format cache: written whole, then renamed into place.

    Nothing is remembered when a file changed while it was validated: the root's hash must still
    be the one taken before loading, and every other file must still parse to what was validated.
    Returns whether the spec's files were unchanged.
    """
    root = spec.path.resolve()
    files = {".": root_digest}
    for document, content in spec.documents.items():  # every file a `$ref` reached
        if document == root:
            continue
        try:
            data = document.read_bytes()
            if yaml.load(data, Loader=_YAML_LOADER) != content:  # a safe loader
                return False
        except (OSError, yaml.YAMLError):
            return False
        files[os.path.relpath(document, root.parent)] = hashlib.sha256(data).hexdigest()
    if _file_digest(spec.path) != root_digest:
        return False
    _write_verdict(verdict, {"files": files})
    return True


def _write_verdict(verdict: Path, content: dict[str, object]) -> None:
    write_atomic(verdict, json.dumps(content, sort_keys=True).encode("utf-8"))


def build_model(spec_path: str | Path) -> Api:
    """Load, validate and build; raises GenerationError with every problem found."""
    # Hashed before loading: a verdict is remembered only when the file still has this hash
    # after validation, so a spec saved in the middle of a run is validated again next time.
    root_digest = _file_digest(Path(spec_path))
    try:
        spec = load_spec(spec_path)
    except SpecLoadError as exc:
        raise GenerationError(str(exc)) from None
    problems = _validate(spec, root_digest)
    if problems:
        noun = "problem" if len(problems) == 1 else "problems"
        raise GenerationError(
            "\n".join(problems + [f"{len(problems)} {noun} in {spec.display_path}"])
        )
    try:
        return build_api(spec)
    except (BuildError, RefError) as exc:
        raise GenerationError(f"{spec.display_path}: {exc}") from None
    except KeyError as exc:  # a $ref the loader could not follow
        raise GenerationError(f"{spec.display_path}: {exc.args[0] if exc.args else exc}") from None


def _check_fake_coverage(
    api: Api, spec_path: str | Path, outputs: tuple[Output, ...], templates: Path
) -> None:
    """When the fake Postmark is among the outputs, every operation of the spec needs its
    behaviour there (see generator/fake_coverage.py); raises GenerationError naming each gap."""
    if fake_coverage.HANDLERS.as_posix() not in {o.template for o in outputs}:
        return
    try:
        problems = fake_coverage.coverage_problems(api, templates)
    except fake_coverage.StaticSourceError as exc:
        raise GenerationError(str(exc)) from None
    if problems:
        where = _display(Path(spec_path))
        raise GenerationError("\n".join(f"{where}: {problem}" for problem in problems))


def render_tree(
    spec_path: str | Path,
    outputs: tuple[Output, ...] = OUTPUTS,
    templates: Path | None = None,
    previous: Path | None = None,
) -> dict[str, bytes]:
    """The whole generated tree in memory: relative path -> bytes.

    `previous` is the output folder as it is now: files its manifest vouches for are reused
    instead of being formatted again (read only; nothing there is written).
    """
    api = build_model(spec_path)
    _check_fake_coverage(api, spec_path, outputs, templates or templates_dir())
    try:
        return render_files(api, outputs, templates, previous)
    except (RenderError, FormatterError) as exc:
        raise GenerationError(str(exc)) from None


# ---- the tree on disk --------------------------------------------------------------------------


def read_tree(root: Path) -> dict[str, bytes]:
    """Every file under `root` (tool caches skipped), keyed by POSIX relative path, sorted."""
    files: dict[str, bytes] = {}
    if not root.is_dir():
        return files
    for dirpath, dirnames, filenames in os.walk(root):
        dirnames[:] = sorted(d for d in dirnames if d not in IGNORED_NAMES)
        for name in sorted(filenames):
            if name in IGNORED_NAMES:
                continue
            path = Path(dirpath) / name
            files[path.relative_to(root).as_posix()] = path.read_bytes()
    return dict(sorted(files.items()))


def compare(new: dict[str, bytes], old: dict[str, bytes]) -> Changes:
    changes = Changes()
    for path in sorted(set(new) | set(old)):
        if path not in old:
            changes.added.append(path)
        elif path not in new:
            changes.removed.append(path)
        elif new[path] != old[path]:
            changes.changed.append(path)
        else:
            changes.unchanged.append(path)
    return changes


def _write_files(files: dict[str, bytes], root: Path) -> None:
    for rel, data in files.items():
        target = root / rel
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(data)


def write_tree(files: dict[str, bytes], out: Path) -> None:
    """Replace `out` with exactly `files`: written beside it first, then swapped in by renames.

    If anything fails before the swap, `out` is untouched; the swap itself is two renames, and
    a failed second rename puts the old folder back.
    """
    parent = out.absolute().parent
    parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{out.name}.new-", dir=parent))
    try:
        _write_files(files, staging)
        # mkdtemp makes a private folder; give the new tree the mode the old one had.
        mode = out.stat().st_mode & 0o7777 if out.is_dir() else _default_dir_mode()
        os.chmod(staging, mode)
        if out.exists():
            retired = parent / staging.name.replace(".new-", ".old-", 1)
            os.rename(out, retired)
            try:
                os.rename(staging, out)
            except BaseException:
                os.rename(retired, out)
                raise
            shutil.rmtree(retired, ignore_errors=True)
        else:
            os.rename(staging, out)
    finally:
        if staging.exists():
            shutil.rmtree(staging, ignore_errors=True)


def _default_dir_mode() -> int:
    umask = os.umask(0)
    os.umask(umask)
    return 0o777 & ~umask


def _display(path: Path) -> str:
    """The output folder as the user named it, relative to the working directory when inside it."""
    try:
        return path.absolute().relative_to(Path.cwd()).as_posix() or "."
    except ValueError:
        return path.as_posix()


def unified_diff(new: dict[str, bytes], old: dict[str, bytes], changes: Changes, label: str) -> str:
    """A unified diff from what is on disk (a/) to what generate would write (b/)."""
    chunks: list[str] = []
    for path in sorted(changes.added + changes.changed + changes.removed):
        before = (
            old[path].decode("utf-8", errors="replace").splitlines(keepends=True)
            if path in old
            else []
        )
        after = (
            new[path].decode("utf-8", errors="replace").splitlines(keepends=True)
            if path in new
            else []
        )
        where = f"{label}/{path}".lstrip("/")
        from_file = f"a/{where}" if path in old else "/dev/null"
        to_file = f"b/{where}" if path in new else "/dev/null"
        for line in difflib.unified_diff(before, after, from_file, to_file):
            chunks.append(
                line if line.endswith("\n") else line + "\n\\ No newline at end of file\n"
            )
    return "".join(chunks)


# ---- commands ----------------------------------------------------------------------------------


def _paths(args: argparse.Namespace) -> tuple[str, Path]:
    """--spec and --out, or the project's spec/postmark.yaml and generated/ when not given
    (found from any folder inside the project)."""
    from generator.cli import project_path

    spec = getattr(args, "spec", None) or project_path(DEFAULT_SPEC)
    return str(spec), Path(getattr(args, "out", None) or project_path(DEFAULT_OUT))


def _fail(exc: Exception) -> int:
    print(str(exc), file=sys.stderr)
    print("nothing was generated", file=sys.stderr)
    return EXIT_FAILED


def main_generate(args: argparse.Namespace) -> int:
    """`postmark-codegen generate`: regenerate --out from --spec and print what changed."""
    spec_path, out = _paths(args)
    return generate(spec_path, out)


def main_check(args: argparse.Namespace) -> int:
    """`postmark-codegen check`: exit 0 when --out is what generate would write, else 1 and a diff."""
    spec_path, out = _paths(args)
    return check(spec_path, out)


class TreeOptions(TypedDict, total=False):
    """What `generate` and `check` render the spec with, when not the defaults: which outputs
    (OUTPUTS), from which templates folder (the package's)."""

    outputs: tuple[Output, ...]
    templates: Path | None


def generate(spec_path: str | Path, out: Path, **options: Unpack[TreeOptions]) -> int:
    """Write `out` from the spec (only what changed) and print what changed; the exit code."""
    label = _display(out)
    if out.exists() and not out.is_dir():
        print(f"{label} exists and is not a folder", file=sys.stderr)
        return EXIT_FAILED
    try:
        files = render_tree(spec_path, previous=out, **options)
    except GenerationError as exc:
        return _fail(exc)
    changes = compare(files, read_tree(out))
    if changes.stale or not out.is_dir():
        try:
            write_tree(files, out)
        except OSError as exc:
            print(f"cannot write {label}: {exc}", file=sys.stderr)
            return EXIT_FAILED
    for kind, paths in (
        ("added", changes.added),
        ("changed", changes.changed),
        ("removed", changes.removed),
    ):
        for path in paths:
            print(f"  {kind:<8} {label}/{path}")
    print(
        f"{label}: {changes.counts()}"
        if changes.stale
        else f"{label}: up to date ({len(files)} files)"
    )
    return EXIT_OK


def check(spec_path: str | Path, out: Path, **options: Unpack[TreeOptions]) -> int:
    """Compare `out` with what `generate` would write; 0 when the same, else 1 and a diff."""
    label = _display(out)
    try:
        # The folder compared against is also where formatted files are reused from: a file
        # edited by hand no longer matches its manifest entry, so it is formatted afresh and the
        # edit shows in the diff.
        files = render_tree(spec_path, previous=out, **options)
    except GenerationError as exc:
        return _fail(exc)
    with tempfile.TemporaryDirectory(prefix="postmark-codegen-check-") as scratch:
        fresh = Path(scratch) / "generated"
        write_tree(files, fresh)
        new = read_tree(fresh)
    if not out.is_dir():
        print(f"{label} does not exist ({len(new)} files would be generated)")
        print(f"run: {_generate_command(str(spec_path), label)}")
        return EXIT_STALE
    old = read_tree(out)
    changes = compare(new, old)
    if not changes.stale:
        print(f"{label}: up to date ({len(new)} files)")
        return EXIT_OK
    sys.stdout.write(unified_diff(new, old, changes, label))
    print(f"{label} is stale: {changes.counts()}")
    print(f"run: {_generate_command(str(spec_path), label)}")
    return EXIT_STALE


def _generate_command(spec_path: str, label: str) -> str:
    command = "postmark-codegen generate"
    if spec_path != DEFAULT_SPEC:
        command += f" --spec {spec_path}"
    if label != DEFAULT_OUT:
        command += f" --out {label}"
    return command
