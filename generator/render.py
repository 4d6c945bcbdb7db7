"""Model -> file contents: Jinja templates rendered and formatted in memory.

Nothing here writes to `generated/`: `render_files` returns every output as bytes, so the pipeline
can write them all at once or compare them. One template per emitted file kind, listed in OUTPUTS;
a template rendered twice (sync and async resources) gets per-output context. Besides the
outputs, `render_files` emits MANIFEST, which lets a later run reuse files already
formatted (it may read the previous output folder for that, never write it).
"""

from __future__ import annotations

import hashlib
import json
import re
import subprocess
import tempfile
import textwrap
from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import cache as once
from pathlib import Path
from types import MappingProxyType
from typing import TYPE_CHECKING, Any

from generator import cache, mcp_schema, naming, schemas
from generator.literals import pyrepr, pytuple
from generator.model import SIGNATURE_LINE_LENGTH, Api

if TYPE_CHECKING:  # jinja2 is imported where templates are rendered: `validate` needs none
    import jinja2

PACKAGE = "postmark_client"
LINE_LENGTH = SIGNATURE_LINE_LENGTH  # one number: signatures are laid out for it


STATIC = "static"
"""The folder of `templates/` holding real Python files, copied into the output unchanged."""


@dataclass(frozen=True)
class Output:
    """One emitted file: the template, the path inside the output folder, extra context.

    A static output's template is a file under `templates/static/`, copied as it is: no Jinja,
    no formatter (it is kept black-, ruff- and mypy-clean where it stands).
    """

    template: str
    path: str
    context: Mapping[str, Any] = field(default_factory=lambda: MappingProxyType({}))
    static: bool = False
    # Rendered once per item of this `Api` list (`model_modules`, `groups`), with the item as
    # `module`; `path` names it with `{name}` (the item's name) or `{file}` (its module file).
    each: str | None = None

    @property
    def is_python(self) -> bool:
        return self.path.endswith(".py")


def _output(template: str, path: str, **context: Any) -> Output:
    return Output(template, path, MappingProxyType(context))


def _each(template: str, path: str, items: str, **context: Any) -> Output:
    return Output(template, path, MappingProxyType(context), each=items)


def expand_outputs(api: Api, outputs: tuple[Output, ...]) -> tuple[Output, ...]:
    """Every `each` output as one concrete output per item of its list, in the list's order."""
    expanded: list[Output] = []
    for output in outputs:
        if output.each is None:
            expanded.append(output)
            continue
        for item in getattr(api, output.each):
            path = output.path.format(name=item.name, file=getattr(item, "file", item.name))
            context = {**output.context, "module": item}
            expanded.append(Output(output.template, path, MappingProxyType(context)))
    return tuple(expanded)


def _static_outputs(directory: Path) -> tuple[Output, ...]:
    """Every file under `templates/static/`, at the same relative path in the output folder."""
    root = directory / STATIC
    found = sorted(
        rel.as_posix()
        for rel in (path.relative_to(root) for path in root.rglob("*") if path.is_file())
        # Tool caches (__pycache__, .ruff_cache, .mypy_cache) are not part of the package.
        if not any(part == "__pycache__" or part.startswith(".") for part in rel.parts)
    )
    return tuple(Output(f"{STATIC}/{rel}", rel, static=True) for rel in found)


# Template -> generated file. Paths are relative to the output folder (`generated/`).
RENDERED: tuple[Output, ...] = (
    _output("pyproject.toml.jinja", "pyproject.toml"),
    _output("readme.md.jinja", "README.md"),
    _output("changelog.md.jinja", "CHANGELOG.md"),
    _output("package_init.py.jinja", f"{PACKAGE}/__init__.py"),
    _output("spec.py.jinja", f"{PACKAGE}/_spec.py"),
    _output("operations_init.py.jinja", f"{PACKAGE}/_operations/__init__.py"),
    _each("operations_group.py.jinja", f"{PACKAGE}/_operations/_{{file}}.py", "groups"),
    _output("models_init.py.jinja", f"{PACKAGE}/models/__init__.py"),
    _each("models_module.py.jinja", f"{PACKAGE}/models/{{file}}.py", "model_modules"),
    _output("errors.py.jinja", f"{PACKAGE}/errors.py"),
    _each(
        "resources_group.py.jinja", f"{PACKAGE}/_resources/_{{file}}.py", "groups", is_async=False
    ),
    _each(
        "resources_group.py.jinja",
        f"{PACKAGE}/_async_resources/_{{file}}.py",
        "groups",
        is_async=True,
    ),
    _output("client.py.jinja", f"{PACKAGE}/client.py"),
    _output("webhooks.py.jinja", f"{PACKAGE}/webhooks.py"),
    _output("schemas.py.jinja", f"{PACKAGE}/_schemas.py"),
    _output("mcp_tools.py.jinja", f"{PACKAGE}/mcp/_tools.py"),
    # postmark_client.testing: the fake Postmark, example data, factories, the pytest plugin.
    _output("testing_examples.py.jinja", f"{PACKAGE}/testing/examples.py"),
    _output("testing_factories.py.jinja", f"{PACKAGE}/testing/factories.py"),
)


class RenderError(Exception):
    """A template failed to render, or rendered Python that does not compile."""

    def __init__(self, output: Output, message: str):
        self.output = output
        super().__init__(f"{output.template} -> {output.path}: {message}")


def templates_dir() -> Path:
    """`generator/templates` inside a wheel (force-included), else the repository's `templates/`."""
    packaged = Path(__file__).parent / "templates"
    if packaged.is_dir():
        return packaged
    return Path(__file__).resolve().parent.parent / "templates"


# Static files last: the whole package, rendered and copied.
OUTPUTS: tuple[Output, ...] = RENDERED + _static_outputs(templates_dir())


# ---- filters: presentation helpers only; decisions live in the model -----------------------


def _escape_char(char: str) -> str:
    """A control character or lone surrogate as the escape Python reads back as that character."""
    code = ord(char)
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"


def docstring(text: Any) -> str:
    """Text safe inside a triple-quoted docstring, whatever it holds.

    Backslashes are doubled; a quote is escaped where it touches another quote or an end of the
    text, so no run of quotes can close the docstring wherever the text is placed; control
    characters (but newline and tab) and lone surrogates become escapes.
    """
    source = str(text or "")
    parts: list[str] = []
    last = len(source) - 1
    for index, char in enumerate(source):
        if char == "\\":
            parts.append("\\\\")
        elif char == '"' and (
            index in (0, last) or source[index - 1] == '"' or source[index + 1] == '"'
        ):
            parts.append('\\"')
        elif char not in "\n\t" and (
            char < " " or "\x7f" <= char < "\xa0" or "\ud800" <= char < "\ue000"
        ):
            parts.append(_escape_char(char))
        else:
            parts.append(char)
    return "".join(parts)


def toml_string(value: Any) -> str:
    """A TOML basic string (quoted): quotes, backslashes and every control character escaped."""
    parts = ['"']
    for char in str(value):
        if char in '"\\':
            parts.append("\\" + char)
        elif "\ud800" <= char < "\ue000":  # a lone surrogate is no Unicode scalar value
            parts.append("\\ufffd")
        elif char < " " or char == "\x7f":
            parts.append(f"\\u{ord(char):04x}")
        else:
            parts.append(char)
    parts.append('"')
    return "".join(parts)


def wrap(text: Any, width: int = LINE_LENGTH - 8, indent: str = "") -> str:
    """Re-flow prose into lines of at most `width` characters, keeping blank-line paragraphs.

    The first line is not indented (it continues the template's text); later lines get `indent`.
    """
    lines: list[str] = []
    width = max(width, 20)  # a long name before the text must not leave no room for it
    for index, paragraph in enumerate(str(text or "").strip().split("\n\n")):
        if index:
            lines.append("")
        flowed = " ".join(paragraph.split())
        lines.extend(
            textwrap.wrap(flowed, width=width, break_long_words=False, break_on_hyphens=False)
        )
    return "\n".join(lines[:1] + [(indent + line) if line else "" for line in lines[1:]])


# Characters that are Markdown anywhere in a line: emphasis (`_` only where it can open or close
# one, so `message_streams` stays as written), code, links, tables, strikethrough, math; `<`, `>`
# and `&` become entities so no HTML (or entity) is ever formed.
_MARKDOWN_INLINE = re.compile(r"[\\`*\[\]|~$#]|(?<!\w)_|_(?!\w)|([<>&])")
_ENTITIES = {"<": "&lt;", ">": "&gt;", "&": "&amp;"}
# What makes a line a block of its own when it starts it: a list item (`-`, `+`, `1.`, `1)`) or
# a line of `=` or `-` under a paragraph (a heading or a rule).
_MARKDOWN_LINE_START = re.compile(r"^(\s*\d{0,9})([-+.)])(?=\s|$)|^(\s*)([-=])(?=[-=\s]*$)")


def _markdown_line(line: str) -> str:
    escaped = _MARKDOWN_INLINE.sub(
        lambda m: _ENTITIES[m.group(1)] if m.group(1) else "\\" + m.group(), line
    )
    return _MARKDOWN_LINE_START.sub(
        lambda m: f"{m.group(1)}\\{m.group(2)}" if m.group(2) else f"{m.group(3)}\\{m.group(4)}",
        escaped,
    )


def markdown(text: Any, width: int | None = None, indent: str = "") -> str:
    """Spec text as Markdown that shows exactly that text: one line, or wrapped as `wrap` does.

    Markup characters are escaped, HTML is not formed, line breaks become spaces (or the wrap's),
    and a line that would start a list, quote or heading has its first character escaped.
    """
    source = "".join(
        "\ufffd" if (char < " " and char not in "\n\t") or _unprintable(char) else char
        for char in str(text or "")
    )
    if width is None:
        lines = [" ".join(source.split())]
    else:
        lines = wrap(source, width=width, indent=indent).split("\n")
    return "\n".join(_markdown_line(line) for line in lines)


def _unprintable(char: str) -> bool:
    """DEL and the C1 controls, or a lone surrogate (which no UTF-8 file can hold)."""
    return "\x7f" <= char < "\xa0" or "\ud800" <= char < "\ue000"


def markdown_code(text: Any) -> str:
    """Spec text as a Markdown code span: fenced by more backticks than any run inside it."""
    source = " ".join(str(text or "").split())
    runs = [len(run) for run in re.findall(r"`+", source)]
    fence = "`" * (max(runs, default=0) + 1)
    padded = f" {source} " if source.startswith("`") or source.endswith("`") else source
    return f"{fence}{padded}{fence}"


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


@once
def _template_cache_class() -> type[jinja2.FileSystemBytecodeCache]:
    import jinja2

    class TemplateCache(jinja2.FileSystemBytecodeCache):
        """Compiled templates in the cache folder (compiling them is most of rendering's time).

        Jinja keys each entry by the template's source and its own and Python's versions; a
        cache that cannot be read or written only costs speed, never a failed run.
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

    return TemplateCache


def _template_cache() -> jinja2.BytecodeCache | None:
    directory = cache.cache_dir()
    if directory is None:
        return None
    try:
        (directory / "templates").mkdir(parents=True, exist_ok=True)
    except OSError:
        return None
    return _template_cache_class()(str(directory / "templates"))


def environment(directory: Path | None = None) -> jinja2.Environment:
    import jinja2

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
    env.filters["toml"] = toml_string
    env.filters["markdown"] = markdown
    env.filters["markdown_code"] = markdown_code
    env.filters["wrap"] = wrap
    env.filters["tojson"] = to_json
    env.filters["isort"] = isort
    env.filters["isort_imports"] = isort_imports
    env.filters["snake"] = naming.snake_case
    env.filters["constant"] = naming.constant_name
    env.filters["object_schemas"] = schemas.object_schemas
    env.filters["parameter_schemas"] = schemas.parameter_schemas
    env.filters["python_names"] = schemas.python_names
    env.filters["mcp_body_model"] = mcp_schema.body_model
    return env


# ---- formatting many files: cached by content, in one formatter run ---------------------------
# Formatting was most of the generator's run time while it was black in-process (about 10 s for
# the package). `ruff format` gives black's style (tests/test_generated_quality.py runs black
# --check on the output) in a fraction of a second for the whole package: every file that is not
# already known is written to a scratch folder and formatted by one run. Its output depends only
# on its input, its version and the options, so results are also cached under a content hash.

FORMATTER_ARGS: tuple[str, ...] = (
    "format", "--isolated", "--no-cache", "--line-length", str(LINE_LENGTH),
    "--target-version", "py311",
)  # fmt: skip


@once
def formatter_version() -> str:
    """ruff's version, part of every format cache key and of the manifest; looked up on first
    use, so a command that formats nothing does not import importlib.metadata."""
    from importlib import metadata

    try:
        return metadata.version("ruff")
    except metadata.PackageNotFoundError:
        return "missing"


class FormatterError(Exception):
    """The formatter could not be run, or failed on code that compiles."""


def _cache_key(source: str) -> str:
    """The hash of a file's text before formatting, with the formatter's version and options:
    what its output depends on. Keys the format cache and the manifest's `source` entries."""
    digest = hashlib.sha256()
    digest.update(f"ruff {formatter_version()} {' '.join(FORMATTER_ARGS)}\n".encode())
    digest.update(source.encode("utf-8"))
    return digest.hexdigest()


def _cache_read(key: str) -> str | None:
    """The formatter's output stored under `key`; stored only for a text that compiled."""
    body = cache.read(cache.FORMATTED, key)
    try:
        return None if body is None else body.decode("utf-8")
    except UnicodeDecodeError:
        return None


def syntax_error(source: str | bytes) -> str | None:
    """Why `source` is not valid Python (`line N: message`), or None. Nothing rendered is ever
    written, nor handed to the formatter, unless it compiles."""
    try:
        compile(source, "<rendered>", "exec", dont_inherit=True)
    except SyntaxError as exc:
        return f"line {exc.lineno}: {exc.msg}" if exc.lineno else exc.msg
    except ValueError as exc:  # a NUL character
        return f"line 1: {exc}"
    return None


def _static_syntax_error(source: bytes) -> str | None:
    """syntax_error of a static module, remembered by its bytes' hash once it compiled: the
    static modules are the same run after run, and compiling them is a fifth of a warm run."""
    key = _sha256(source)
    if cache.read(cache.COMPILED, key) == b"":
        return None
    error = syntax_error(source)
    if error is None:
        cache.write(cache.COMPILED, key, b"")
    return error


def _ruff() -> str:
    from ruff.__main__ import find_ruff_bin  # type: ignore[import-untyped]

    return str(find_ruff_bin())


def _run_formatter(sources: dict[str, str]) -> dict[str, str]:
    """Every source formatted by one `ruff format` run over a scratch folder."""
    with tempfile.TemporaryDirectory(prefix="postmark-codegen-format-") as scratch:
        names = {key: Path(scratch) / f"f{index}.py" for index, key in enumerate(sources)}
        for key, path in names.items():
            path.write_text(sources[key], encoding="utf-8")
        try:
            done = subprocess.run(
                [_ruff(), *FORMATTER_ARGS, scratch], capture_output=True, text=True, check=False
            )
        except (OSError, ImportError) as exc:
            raise FormatterError(f"cannot run ruff format: {exc}") from None
        if done.returncode != 0:
            raise FormatterError(f"ruff format failed: {done.stderr.strip()[:2000]}")
        return {key: path.read_text(encoding="utf-8") for key, path in names.items()}


def format_many(sources: dict[str, str]) -> dict[str, tuple[str | None, str | None]]:
    """Format every source; per key (formatted, None), or (None, why it does not compile).

    The format cache is looked up first: an entry is stored only for a text that compiled, and
    is sealed (generator/cache.py), so a hit needs no compile; a miss is compiled, then formatted.
    """
    results: dict[str, tuple[str | None, str | None]] = {}
    pending: dict[str, str] = {}
    for key, source in sources.items():
        cached = _cache_read(_cache_key(source))
        if cached is not None:
            results[key] = (cached, None)
            continue
        error = syntax_error(source)
        if error is not None:
            results[key] = (None, error)
        else:
            pending[key] = source
    if pending:
        for key, formatted in _run_formatter(pending).items():
            cache.write(cache.FORMATTED, _cache_key(pending[key]), formatted.encode("utf-8"))
            results[key] = (formatted, None)
    return results


def format_python(source: str) -> str:
    """One source formatted as generate formats it; ValueError when it does not compile."""
    formatted, error = format_many({"source": source})["source"]
    if formatted is None:
        raise ValueError(error)
    return formatted


def _tidy_text(text: str) -> str:
    """Non-Python outputs: no trailing spaces, exactly one final newline (none for empty files)."""
    lines = [line.rstrip() for line in text.strip("\n").split("\n")]
    body = "\n".join(lines).strip("\n")
    return body + "\n" if body else ""


def render_text(env: jinja2.Environment, api: Api, output: Output) -> str:
    """One template rendered (not yet formatted); errors name the template and the output."""
    import jinja2

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
    """The message (`line N: ...`) plus the offending rendered line, to find it in the template."""
    try:
        line_number = int(message.split(":")[0].split()[-1])
        line = source.splitlines()[line_number - 1]
        return f"{message}\n    {line.strip()}"
    except (IndexError, ValueError):
        return message


# ---- the manifest: formatted output reused from the output folder ----------------------------
# A fresh clone or a CI runner has no format cache, yet the committed output folder already holds
# the formatter's output. The manifest records, per Python file, the hash of its text before
# (`source`, as _cache_key) and of the bytes written (`formatted`). A file whose rendered text
# formatting and whose bytes on disk hash to its `formatted` is what the formatter made of
# that text, so it is taken as it is. A hand edit changes the bytes (the file is formatted again,
# and `check` reports the edit); a template, spec or formatter change changes `source`.

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
            "Written by postmark-codegen generate; lets generate and check skip formatting files "
            "that are already its output. Not to be edited; check compares it like any file."
        ),
        "formatter": f"ruff {formatter_version()}",
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
    """The files in `previous` that its manifest vouches for as the formatted `sources`."""
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


def static_header(output: Output) -> bytes:
    """The comment a static Python module's copy starts with: the copy is not the file to edit.

    A comment, not docstring text, so the module's docstring stays its own and the copy stays
    black-, ruff- and mypy-clean; the source under `templates/static/` carries no such line.
    """
    return (
        f"# Copied by postmark-codegen from templates/{output.template};\n"
        "# edit it there and regenerate, not here.\n"
    ).encode()


def read_static(directory: Path, output: Output) -> bytes:
    """A static file's bytes; a missing one names the template and the output."""
    try:
        return (directory / output.template).read_bytes()
    except OSError as exc:
        raise RenderError(output, f"cannot read the static file: {exc.strerror}") from None


def _finish(
    env: jinja2.Environment,
    directory: Path,
    api: Api,
    outputs: tuple[Output, ...],
    previous: Path | None = None,
) -> tuple[dict[str, bytes], dict[str, ManifestEntry]]:
    """Every output rendered and formatted, and the manifest entries of the Python ones.

    Static outputs are copied from `directory` as they are, so they need no manifest entry.
    """
    files: dict[str, bytes] = {}
    entries: dict[str, ManifestEntry] = {}
    outputs = expand_outputs(api, outputs)
    rendered = tuple(output for output in outputs if not output.static)
    for output in outputs:
        if output.static:
            source = read_static(directory, output)
            # Copied as they are, but never written unless they compile (a typo in the fake's
            # handlers must fail generate, not the package's first import); the error's line
            # is the source's, so it is checked before the header goes on.
            error = _static_syntax_error(source) if output.is_python else None
            if error is not None:
                raise RenderError(output, f"the static module does not compile: {error}")
            files[output.path] = static_header(output) + source if output.is_python else source
    texts = {output.path: render_text(env, api, output) for output in rendered}
    by_path = {output.path: output for output in rendered}
    sources = {path: text for path, text in texts.items() if by_path[path].is_python}
    formatted = _already_formatted(sources, previous)
    formatted.update(format_many({p: t for p, t in sources.items() if p not in formatted}))
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
    return _finish(env, templates_dir(), api, (output,))[0][output.path]


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
    directory = directory or templates_dir()
    files, entries = _finish(environment(directory), directory, api, outputs, previous)
    if entries:
        files[MANIFEST] = manifest_bytes(entries)
    return dict(sorted(files.items()))
