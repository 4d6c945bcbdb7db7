"""Model -> file contents: Jinja templates rendered and formatted in memory.

Nothing here writes to `generated/`: `render_files` returns every output as bytes, so the pipeline
can write them all at once or compare them. One template per emitted file kind, listed in OUTPUTS;
a template rendered twice (sync and async resources) gets per-output context. Besides the
outputs, `render_files` emits MANIFEST, which lets a later run reuse files black already
formatted (it may read the previous output folder for that, never write it).
"""

from __future__ import annotations

import hashlib
import json
import os
import textwrap
from collections.abc import Mapping
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from types import MappingProxyType
from typing import Any

import black
import jinja2

from generator import naming
from generator.model import Api

PACKAGE = "postmark_client"
LINE_LENGTH = 100
BLACK_MODE = black.Mode(
    line_length=LINE_LENGTH,
    target_versions={black.TargetVersion.PY311},
    string_normalization=True,
    magic_trailing_comma=True,
)


@dataclass(frozen=True)
class Output:
    """One emitted file: the template, the path inside the output folder, extra context."""

    template: str
    path: str
    context: Mapping[str, Any] = field(default_factory=lambda: MappingProxyType({}))

    @property
    def is_python(self) -> bool:
        return self.path.endswith(".py")


def _output(template: str, path: str, **context: Any) -> Output:
    return Output(template, path, MappingProxyType(context))


# Template -> generated file. Paths are relative to the output folder (`generated/`).
OUTPUTS: tuple[Output, ...] = (
    _output("pyproject.toml.jinja", "pyproject.toml"),
    _output("readme.md.jinja", "README.md"),
    _output("changelog.md.jinja", "CHANGELOG.md"),
    _output("package_init.py.jinja", f"{PACKAGE}/__init__.py"),
    _output("py.typed.jinja", f"{PACKAGE}/py.typed"),
    _output("meta.py.jinja", f"{PACKAGE}/_meta.py"),
    _output("operations.py.jinja", f"{PACKAGE}/_operations.py"),
    _output("serde.py.jinja", f"{PACKAGE}/_serde.py"),
    _output("models.py.jinja", f"{PACKAGE}/models.py"),
    _output("errors.py.jinja", f"{PACKAGE}/errors.py"),
    _output("base_client.py.jinja", f"{PACKAGE}/_base_client.py"),
    _output("pagination.py.jinja", f"{PACKAGE}/pagination.py"),
    _output("batch.py.jinja", f"{PACKAGE}/batch.py"),
    _output("resources.py.jinja", f"{PACKAGE}/_resources.py", is_async=False),
    _output("resources.py.jinja", f"{PACKAGE}/_async_resources.py", is_async=True),
    _output("client.py.jinja", f"{PACKAGE}/client.py"),
    _output("webhooks.py.jinja", f"{PACKAGE}/webhooks.py"),
    _output("cli.py.jinja", f"{PACKAGE}/cli.py"),
    _output("main.py.jinja", f"{PACKAGE}/__main__.py"),
    # postmark_client.testing: the fake Postmark, example data, factories, the pytest plugin.
    _output("testing_init.py.jinja", f"{PACKAGE}/testing/__init__.py"),
    _output("testing_state.py.jinja", f"{PACKAGE}/testing/_state.py"),
    _output("testing_wire.py.jinja", f"{PACKAGE}/testing/_wire.py"),
    _output("testing_mustache.py.jinja", f"{PACKAGE}/testing/_mustache.py"),
    _output("testing_faults.py.jinja", f"{PACKAGE}/testing/_faults.py"),
    _output("testing_webhooks.py.jinja", f"{PACKAGE}/testing/_webhooks.py"),
    _output("testing_world.py.jinja", f"{PACKAGE}/testing/_world.py"),
    _output("testing_handlers.py.jinja", f"{PACKAGE}/testing/_handlers.py"),
    _output("testing_fake.py.jinja", f"{PACKAGE}/testing/_fake.py"),
    _output("testing_demo.py.jinja", f"{PACKAGE}/testing/_demo.py"),
    _output("testing_server.py.jinja", f"{PACKAGE}/testing/_server.py"),
    _output("testing_transcript.py.jinja", f"{PACKAGE}/testing/_transcript.py"),
    _output("testing_examples.py.jinja", f"{PACKAGE}/testing/examples.py"),
    _output("testing_factories.py.jinja", f"{PACKAGE}/testing/factories.py"),
    _output("testing_plugin.py.jinja", f"{PACKAGE}/testing/plugin.py"),
)


class RenderError(Exception):
    """A template failed to render, or rendered Python that black cannot parse."""

    def __init__(self, output: Output, message: str):
        self.output = output
        super().__init__(f"{output.template} -> {output.path}: {message}")


def templates_dir() -> Path:
    """`generator/templates` inside a wheel (force-included), else the repository's `templates/`."""
    packaged = Path(__file__).parent / "templates"
    if packaged.is_dir():
        return packaged
    return Path(__file__).resolve().parent.parent / "templates"


# ---- filters: presentation helpers only; decisions live in the model -----------------------


def pyrepr(value: Any) -> str:
    """A Python literal for a value from the spec (strings, numbers, booleans, None, lists, dicts)."""
    if isinstance(value, tuple):
        value = list(value)
    return repr(value)


def pytuple(values: Any) -> str:
    """A tuple literal: `("a", "b")`, `("a",)`, `()`."""
    items = [pyrepr(v) for v in values]
    if len(items) == 1:
        return f"({items[0]},)"
    return "(" + ", ".join(items) + ")"


def docstring(text: Any) -> str:
    """Text safe inside a triple-quoted docstring (backslashes and quotes escaped)."""
    result = str(text or "").replace("\\", "\\\\").replace('"""', '\\"\\"\\"')
    if result.endswith('"'):
        result = result[:-1] + '\\"'
    return result


def wrap(text: Any, width: int = LINE_LENGTH - 8, indent: str = "") -> str:
    """Re-flow prose into lines of at most `width` characters, keeping blank-line paragraphs.

    The first line is not indented (it continues the template's text); later lines get `indent`.
    """
    lines: list[str] = []
    for index, paragraph in enumerate(str(text or "").strip().split("\n\n")):
        if index:
            lines.append("")
        flowed = " ".join(paragraph.split())
        lines.extend(
            textwrap.wrap(flowed, width=width, break_long_words=False, break_on_hyphens=False)
        )
    return "\n".join(lines[:1] + [(indent + line) if line else "" for line in lines[1:]])


def isort_key(name: str) -> tuple[int, str]:
    """The order isort (and ruff's I001 and RUF022) keeps names in: CONSTANTS, Classes, others."""
    if name.isupper() and len(name) > 1:
        category = 0
    elif name[:1].isupper():
        category = 1
    else:
        category = 2
    return category, name


def isort(names: Any) -> list[str]:
    return sorted(names, key=isort_key)


def isort_imports(names: Any) -> list[str]:
    """The names of one `from ... import`, as isort (ruff's I001) keeps them: within a category
    case-insensitively (`Messages` before `MessageStreams`), unlike `__all__` (RUF022)."""
    return sorted(names, key=lambda name: (isort_key(name)[0], name.lower(), name))


def to_json(value: Any, indent: int | None = None) -> str:
    """JSON text (also a valid Python string literal for strings); unlike Jinja's, not HTML-escaped."""
    return json.dumps(value, ensure_ascii=False, indent=indent)


class _TemplateCache(jinja2.FileSystemBytecodeCache):
    """Compiled templates in the cache folder (compiling them is most of rendering's time).

    Jinja keys each entry by the template's source and its own and Python's versions; a cache
    that cannot be read or written only costs speed, never a failed run.
    """

    def load_bytecode(self, bucket: jinja2.bccache.Bucket) -> None:
        try:
            super().load_bytecode(bucket)
        except Exception:  # noqa: BLE001 - a damaged entry: compile the template afresh
            bucket.reset()

    def dump_bytecode(self, bucket: jinja2.bccache.Bucket) -> None:
        try:
            super().dump_bytecode(bucket)
        except OSError:
            pass


def _template_cache() -> jinja2.BytecodeCache | None:
    directory = cache_dir()
    if directory is None:
        return None
    try:
        (directory / "templates").mkdir(parents=True, exist_ok=True)
    except OSError:
        return None
    return _TemplateCache(str(directory / "templates"))


def environment(directory: Path | None = None) -> jinja2.Environment:
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(str(directory or templates_dir())),
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
        autoescape=False,
        bytecode_cache=_template_cache(),
    )
    env.filters["pyrepr"] = pyrepr
    env.filters["pytuple"] = pytuple
    env.filters["docstring"] = docstring
    env.filters["wrap"] = wrap
    env.filters["tojson"] = to_json
    env.filters["isort"] = isort
    env.filters["isort_imports"] = isort_imports
    env.filters["snake"] = naming.snake_case
    env.filters["constant"] = naming.constant_name
    return env


def format_python(source: str) -> str:
    return black.format_str(source, mode=BLACK_MODE)


def cache_dir() -> Path | None:
    """`$POSTMARK_CODEGEN_CACHE`, else `$XDG_CACHE_HOME/postmark-codegen` (or ~/.cache); `off` disables.

    Holds black's output by content hash, compiled templates and clean spec-validation
    verdicts; deleting it only costs speed.
    """
    setting = os.environ.get("POSTMARK_CODEGEN_CACHE")
    if setting == "off":
        return None
    if setting:
        return Path(setting)
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return Path(base) / "postmark-codegen"


# ---- formatting many files: cached by content, in parallel ---------------------------------
# black is most of the generator's run time. Its output depends only on its input, its version
# and the mode, so results are cached under a content hash (a regenerate after a small spec edit
# reformats only what changed), and what is not cached is formatted on all CPUs at once.

_PARALLEL_THRESHOLD = 60_000  # characters of unformatted Python worth starting worker processes for


def _cache_key(source: str) -> str:
    """The hash of a file's text before black, with black's version and mode: what black's
    output depends on. Keys the format cache and the manifest's `source` entries."""
    digest = hashlib.sha256()
    digest.update(f"black {black.__version__} {BLACK_MODE!r}\n".encode())
    digest.update(source.encode("utf-8"))
    return digest.hexdigest()


def _cache_read(directory: Path | None, key: str) -> str | None:
    if directory is None:
        return None
    try:
        return (directory / f"{key}.py").read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError):
        return None


def _cache_write(directory: Path | None, key: str, formatted: str) -> None:
    """Best effort: an unwritable cache only costs speed. Written whole, then renamed into place."""
    if directory is None:
        return
    try:
        directory.mkdir(parents=True, exist_ok=True)
        temporary = directory / f".{key}.{os.getpid()}.tmp"
        temporary.write_text(formatted, encoding="utf-8")
        os.replace(temporary, directory / f"{key}.py")
    except OSError:
        pass


def _format_job(source: str) -> tuple[str | None, str | None]:
    """Worker: (formatted, None), or (None, error message) when black cannot parse the source."""
    try:
        return format_python(source), None
    except black.InvalidInput as exc:
        return None, str(exc)


def format_many(sources: dict[str, str]) -> dict[str, tuple[str | None, str | None]]:
    """Format every source; per key (formatted, None) or (None, black's error)."""
    cache = cache_dir()
    results: dict[str, tuple[str | None, str | None]] = {}
    pending: dict[str, str] = {}
    for key, source in sources.items():
        cached = _cache_read(cache, _cache_key(source))
        if cached is not None:
            results[key] = (cached, None)
        else:
            pending[key] = source
    workers = min(os.cpu_count() or 1, len(pending))
    if workers > 1 and sum(len(s) for s in pending.values()) > _PARALLEL_THRESHOLD:
        # Largest first, so the long files do not end up last on one worker.
        order = sorted(pending, key=lambda k: -len(pending[k]))
        with ProcessPoolExecutor(max_workers=workers) as pool:
            futures = {key: pool.submit(_format_job, pending[key]) for key in order}
            done = {key: future.result() for key, future in futures.items()}
    else:
        done = {key: _format_job(source) for key, source in pending.items()}
    for key, (formatted, error) in done.items():
        if formatted is not None:
            _cache_write(cache, _cache_key(pending[key]), formatted)
        results[key] = (formatted, error)
    return results


def _tidy_text(text: str) -> str:
    """Non-Python outputs: no trailing spaces, exactly one final newline (none for empty files)."""
    lines = [line.rstrip() for line in text.strip("\n").split("\n")]
    body = "\n".join(lines).strip("\n")
    return body + "\n" if body else ""


def render_text(env: jinja2.Environment, api: Api, output: Output) -> str:
    """One template rendered (not yet formatted); errors name the template and the output."""
    context = {"api": api, "package": PACKAGE, "output_path": output.path, **output.context}
    try:
        return env.get_template(output.template).render(context)
    except jinja2.TemplateNotFound as exc:
        raise RenderError(output, f"template not found: {exc.name}") from None
    except jinja2.TemplateSyntaxError as exc:
        raise RenderError(
            output, f"template syntax error at line {exc.lineno}: {exc.message}"
        ) from None
    except jinja2.UndefinedError as exc:
        raise RenderError(output, f"undefined in template: {exc.message}") from None
    # Any other failure inside a template must still name the template, not end in a traceback.
    except Exception as exc:  # noqa: BLE001
        raise RenderError(output, f"{type(exc).__name__}: {exc}") from None


def _invalid_input_context(message: str, source: str) -> str:
    """black's message plus the offending rendered line, so the template line can be found."""
    try:
        line_number = int(message.split(":")[1])
        line = source.splitlines()[line_number - 1]
        return f"{message}\n    {line.strip()}"
    except (IndexError, ValueError):
        return message


# ---- the manifest: black's output reused from the output folder -------------------------------
# A fresh clone or a CI runner has no format cache, yet the committed output folder already holds
# black's output. The manifest records, per Python file, the hash of its text before black
# (`source`, as _cache_key) and of the bytes written (`formatted`). A file whose rendered text
# hashes to its `source` and whose bytes on disk hash to its `formatted` is what black made of
# that text, so it is taken as it is. A hand edit changes the bytes (the file is formatted again,
# and `check` reports the edit); a template, spec or black change changes `source`.

MANIFEST = ".postmark-codegen-manifest.json"


@dataclass(frozen=True)
class ManifestEntry:
    source: str
    formatted: str


def _sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def manifest_bytes(entries: Mapping[str, ManifestEntry]) -> bytes:
    """The manifest as written: sorted, no timestamps, no absolute paths."""
    document = {
        "about": (
            "Written by postmark-codegen generate; lets generate and check skip black for files "
            "that are already its output. Not to be edited; check compares it like any file."
        ),
        "formatter": f"black {black.__version__}",
        "files": {
            path: {"source": entry.source, "formatted": entry.formatted}
            for path, entry in sorted(entries.items())
        },
    }
    return (json.dumps(document, indent=2, sort_keys=True) + "\n").encode("utf-8")


def read_manifest(folder: Path) -> dict[str, ManifestEntry]:
    """The manifest in an output folder; empty when it is missing or not one we wrote."""
    try:
        document = json.loads((folder / MANIFEST).read_bytes())
        files = document["files"]
        return {
            path: ManifestEntry(entry["source"], entry["formatted"])
            for path, entry in files.items()
            if isinstance(entry.get("source"), str) and isinstance(entry.get("formatted"), str)
        }
    except (OSError, ValueError, KeyError, TypeError, AttributeError):
        return {}


def _already_formatted(
    sources: Mapping[str, str], previous: Path | None
) -> dict[str, tuple[str | None, str | None]]:
    """The files in `previous` that its manifest vouches for as black's output of `sources`."""
    if previous is None:
        return {}
    manifest = read_manifest(previous)
    found: dict[str, tuple[str | None, str | None]] = {}
    for path, source in sources.items():
        entry = manifest.get(path)
        if entry is None or entry.source != _cache_key(source):
            continue
        try:
            data = (previous / path).read_bytes()
            if _sha256(data) == entry.formatted:
                found[path] = (data.decode("utf-8"), None)
        except (OSError, UnicodeDecodeError):
            continue
    return found


def _finish(
    env: jinja2.Environment,
    api: Api,
    outputs: tuple[Output, ...],
    previous: Path | None = None,
) -> tuple[dict[str, bytes], dict[str, ManifestEntry]]:
    """Every output rendered and formatted, and the manifest entries of the Python ones."""
    texts = {output.path: render_text(env, api, output) for output in outputs}
    by_path = {output.path: output for output in outputs}
    sources = {path: text for path, text in texts.items() if by_path[path].is_python}
    formatted = _already_formatted(sources, previous)
    formatted.update(format_many({p: t for p, t in sources.items() if p not in formatted}))
    files: dict[str, bytes] = {}
    entries: dict[str, ManifestEntry] = {}
    for path, text in texts.items():
        if path in formatted:
            result, error = formatted[path]
            if result is None:
                context = _invalid_input_context(error or "", text)
                raise RenderError(by_path[path], f"rendered Python does not parse: {context}")
            files[path] = result.encode("utf-8")
            entries[path] = ManifestEntry(_cache_key(text), _sha256(files[path]))
        else:
            files[path] = _tidy_text(text).encode("utf-8")
    return files, entries


def render_output(env: jinja2.Environment, api: Api, output: Output) -> bytes:
    """One output rendered and formatted, as it is written."""
    return _finish(env, api, (output,))[0][output.path]


def render_files(
    api: Api,
    outputs: tuple[Output, ...] = OUTPUTS,
    directory: Path | None = None,
    previous: Path | None = None,
) -> dict[str, bytes]:
    """Every output rendered and formatted, plus MANIFEST, keyed by path in the output folder.

    `previous` is the output folder as it is (for `check`, the folder it compares against):
    files its manifest vouches for are taken from it instead of being formatted again.
    """
    files, entries = _finish(environment(directory), api, outputs, previous)
    if entries:
        files[MANIFEST] = manifest_bytes(entries)
    return dict(sorted(files.items()))
