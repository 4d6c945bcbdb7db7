"""Load the spec from YAML and resolve `$ref`s, remembering where every node came from.

Errors name a file and a location (line and column for YAML syntax, a dotted spec path for
references), because a maintainer reading them has the YAML open, not a traceback.
"""

from __future__ import annotations

import hashlib
import os
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import unquote, urlsplit

import yaml

# libyaml's parser is about three times faster on the full spec; the pure-Python one is the fallback.
# The C loader where PyYAML was built with libyaml (typed as the Python one: the same interface).
if TYPE_CHECKING:
    _Loader = yaml.SafeLoader
else:
    _Loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


class SpecLoadError(Exception):
    """The spec cannot be read at all: missing file, YAML syntax error, or not a mapping."""

    def __init__(
        self, file: str, message: str, line: int | None = None, column: int | None = None
    ) -> None:
        self.file = file
        self.line = line
        self.column = column
        self.message = message
        where = file if line is None else f"{file}:{line}:{column}"
        super().__init__(f"{where}: {message}")


# What every refused `$ref` message ends with.
REF_RULE = "a $ref may only be a '#/...' fragment or a relative path to a file in the spec's folder"


class RefError(Exception):
    """A `$ref` that does not resolve; `location` is the dotted path of the node holding it."""

    def __init__(self, file: str, location: str, ref: str, reason: str):
        self.file = file
        self.location = location
        self.ref = ref
        super().__init__(f"{file}: {location}: $ref {ref!r} {reason}")


# A spec may use YAML anchors and aliases, but what they expand to is bounded: PyYAML shares an
# aliased node, yet everything that walks the document (validation, `$ref` search, the build) sees
# each alias as a full copy, so ten aliases of ten aliases of ... ("billion laughs") would run for
# minutes and gigabytes. The budget is the number of nodes aliases may add, counted on the event
# stream before anything is built; the real spec uses no aliases at all.
ALIAS_NODE_BUDGET = 10_000
# The largest spec file read, and the most all of a spec's files may hold together, checked before
# anything is parsed: validation time grows with the size (the real spec is about 0.33 MiB).
MAX_FILE_BYTES = 2 * 1024 * 1024
MAX_SPEC_BYTES = 4 * 1024 * 1024
# The deepest a document may nest mappings and lists (the real spec nests 13 levels): the JSON
# Schema and OpenAPI validators recurse once per level and more, and give up near 200.
MAX_DEPTH = 64
# Only a document with an anchor (`&name` after a space, a flow indicator or at a line start) can
# hold an alias; every other document skips the alias check (and its second parse).
_ANCHOR = re.compile(r"(?:^|[\s\[{,])&[^\s\[\]{},]")
# What YAML 1.1 forbids anywhere in a stream: C0 controls other than tab, newline and carriage
# return, DEL, C1 controls other than NEL, surrogates, and U+FFFE/U+FFFF.
_NOT_PRINTABLE = re.compile(
    "[^\x09\x0a\x0d\x20-\x7e\x85\xa0-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]"
)


def _display(path: Path) -> str:
    """A path as a maintainer types it: relative to the working folder when under it."""
    if not path.is_absolute():
        return str(path)
    try:
        return str(path.relative_to(Path.cwd()))
    except ValueError:
        return str(path)


def _line_column(text: str, index: int) -> tuple[int, int]:
    line = text.count("\n", 0, index) + 1
    return line, index - (text.rfind("\n", 0, index) + 1) + 1


def _decode(path: Path, data: bytes) -> str:
    """The file as text; a byte that is not UTF-8, or a character YAML forbids, is located."""
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        prefix = data[: exc.start].decode("utf-8", errors="replace")
        line, column = _line_column(prefix, len(prefix))
        raise SpecLoadError(
            _display(path),
            f"not UTF-8 text: byte 0x{data[exc.start]:02x} cannot be decoded",
            line,
            column,
        ) from None
    bad = _NOT_PRINTABLE.search(text)
    if bad is not None:
        line, column = _line_column(text, bad.start())
        raise SpecLoadError(
            _display(path),
            f"YAML error: the control character U+{ord(bad.group()):04X} is not allowed in YAML",
            line,
            column,
        )
    return text


def _mebibytes(size: int) -> str:
    return f"{size:,} bytes ({size / (1024 * 1024):.1f} MiB)"


def _read_bytes(path: Path, budget: int) -> bytes:
    """The file's bytes, refused over MAX_FILE_BYTES or over the `budget` left for the spec.

    Reads at most one byte past the limit, so a huge file (or a device) is never read whole.
    """
    limit = min(MAX_FILE_BYTES, budget)
    try:
        with path.open("rb") as stream:
            data = stream.read(limit + 1)
    except OSError as exc:
        raise SpecLoadError(str(path), f"cannot read file: {exc.strerror or exc}") from None
    if len(data) <= limit:
        return data
    try:
        size = path.stat().st_size
    except OSError:
        size = len(data)
    if size > MAX_FILE_BYTES:
        message = f"a spec file may be at most {_mebibytes(MAX_FILE_BYTES)}"
    else:
        together = MAX_SPEC_BYTES - budget + size
        message = (
            f"with it the spec's files come to {_mebibytes(together)}, and together they may be "
            f"at most {_mebibytes(MAX_SPEC_BYTES)}"
        )
    raise SpecLoadError(_display(path), f"the file is {_mebibytes(size)}: too large; {message}")


def _check_depth(path: Path, document: Any) -> None:
    """Refuse a document nesting mappings and lists deeper than MAX_DEPTH, naming where."""
    stack: list[tuple[Any, tuple[Any, ...]]] = [(document, ())]
    while stack:
        node, parts = stack.pop()
        if isinstance(node, dict):
            children = list(node.items())
        elif isinstance(node, list):
            children = list(enumerate(node))
        else:
            continue
        if len(parts) == MAX_DEPTH and children:
            raise SpecLoadError(
                _display(path),
                f"{_abridged(parts)}: nested deeper than {MAX_DEPTH} levels, the most a spec "
                "may nest; name the inner schemas in components/schemas and $ref them",
            )
        stack.extend((value, parts + (key,)) for key, value in children)


def _abridged(parts: tuple[Any, ...]) -> str:
    """A long dotted location with its middle left out: where it starts and where it ended."""
    if len(parts) <= 12:
        return dotted(parts)
    return f"{dotted(parts[:8])}. ... .{dotted(parts[-3:])}"


def _check_aliases(path: Path, text: str) -> None:
    """Refuse aliases that would expand beyond ALIAS_NODE_BUDGET nodes, or into themselves.

    Works on the parser's events (libyaml when available), so a billion-laughs document is refused
    after reading its few hundred events, long before anything is expanded.
    """
    if not _ANCHOR.search(text):
        return
    sizes: dict[str, int] = {}  # anchor -> the number of nodes it stands for
    open_anchors: set[str] = set()
    stack: list[list[Any]] = []  # [nodes so far, anchor] of each open collection
    added = 0
    for event in yaml.parse(text, Loader=_Loader):
        if isinstance(event, yaml.AliasEvent):
            mark = event.start_mark
            line, column = (mark.line + 1, mark.column + 1) if mark is not None else (None, None)
            where = (_display(path), line, column)
            if event.anchor in open_anchors:
                raise SpecLoadError(
                    where[0], f"the alias *{event.anchor} is recursive (inside &{event.anchor})",
                    *where[1:],
                )  # fmt: skip
            size = sizes.get(event.anchor or "", 1)  # an undefined alias: the composer reports it
            added += size
            if added > ALIAS_NODE_BUDGET:
                raise SpecLoadError(
                    where[0],
                    f"YAML aliases expand to more than {ALIAS_NODE_BUDGET:,} nodes at *{event.anchor}; "
                    "write the content out instead of nesting aliases",
                    *where[1:],
                )
            if stack:
                stack[-1][0] += size
        elif isinstance(event, (yaml.SequenceStartEvent, yaml.MappingStartEvent)):
            if event.anchor is not None:
                open_anchors.add(event.anchor)
            stack.append([1, event.anchor])
        elif isinstance(event, (yaml.SequenceEndEvent, yaml.MappingEndEvent)):
            size, anchor = stack.pop()
            if anchor is not None:
                sizes[anchor] = size
                open_anchors.discard(anchor)
            if stack:
                stack[-1][0] += size
        elif isinstance(event, yaml.ScalarEvent):
            if event.anchor is not None:
                sizes[event.anchor] = 1
            if stack:
                stack[-1][0] += 1


class _KeyCountingLoader(_Loader):
    """The safe loader, noting whether a mapping may write a key twice (YAML keeps the last).

    It looks at each mapping as written, before merge keys are applied, comparing keys as the
    validator's duplicate-key rule does (their text); a merge key or a key that is not a scalar
    counts as a possible repeat, so then that rule composes the file and looks itself.
    """

    repeats = False

    def construct_mapping(self, node: Any, deep: bool = False) -> Any:
        if not self.repeats and isinstance(node, yaml.MappingNode):
            seen: set[str] = set()
            for key, _ in node.value:
                if not isinstance(key, yaml.ScalarNode) or key.value == "<<" or key.value in seen:
                    self.repeats = True
                    break
                seen.add(key.value)
        return super().construct_mapping(node, deep=deep)


def _read_yaml(path: Path, budget: int = MAX_SPEC_BYTES) -> tuple[Any, str | None, int]:
    """The file's content, the hash of its bytes when no mapping in it repeats a key, and its
    size; `budget` is how many bytes the spec's files may still hold."""
    data = _read_bytes(path, budget)
    text = _decode(path, data)
    try:
        _check_aliases(path, text)
        loader = _KeyCountingLoader(text)  # a safe loader: C or pure-Python SafeLoader
        try:
            content = loader.get_single_data()
        finally:
            loader.dispose()
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark
        problem = exc.problem or str(exc)
        line = mark.line + 1 if mark else None
        column = mark.column + 1 if mark else None
        raise SpecLoadError(_display(path), f"YAML syntax error: {problem}", line, column) from None
    except yaml.YAMLError as exc:
        raise SpecLoadError(_display(path), f"YAML error: {exc}") from None
    except RecursionError:
        raise SpecLoadError(
            _display(path),
            f"YAML error: the document nests far deeper than {MAX_DEPTH} levels, the most a spec "
            "may nest",
        ) from None
    _check_depth(path, content)
    return content, None if loader.repeats else hashlib.sha256(data).hexdigest(), len(data)


def dotted(parts: tuple[str | int, ...] | list[str | int]) -> str:
    """A location in the form maintainers read in error messages: `paths./email.post.requestBody`."""
    return ".".join(str(p) for p in parts)


@dataclass
class Spec:
    """A loaded spec: the root document plus every other file a `$ref` reached."""

    path: Path
    root: dict[str, Any]
    documents: dict[Path, Any] = field(default_factory=dict)
    # The files whose mappings write no key twice, with the hash of the bytes that were loaded.
    unique_keys: dict[Path, str] = field(default_factory=dict)
    # The bytes of every file read so far, held to MAX_SPEC_BYTES together.
    size: int = 0

    @property
    def display_path(self) -> str:
        try:
            return str(self.path.resolve().relative_to(Path.cwd()))
        except ValueError:
            return str(self.path)

    def resolve_ref(self, ref: str, base: Path | None = None) -> tuple[Any, Path, tuple[str, ...]]:
        """Follow one `$ref`; return the target node, the file it is in and its pointer parts.

        Raises KeyError (with a reason) when the file or the pointer does not exist.
        """
        file_part, _, pointer = ref.partition("#")
        base = base or self.path
        target_file = self._target_file(file_part, base) if file_part else base.resolve()
        if target_file not in self.documents:
            if target_file == self.path.resolve():
                self.documents[target_file] = self.root
            elif not target_file.is_file():
                raise KeyError(f"points to a missing file {file_part!r}")
            else:
                content, unique, size = _read_yaml(target_file, MAX_SPEC_BYTES - self.size)
                self.size += size
                self.documents[target_file] = content
                if unique is not None:
                    self.unique_keys[target_file] = unique
        node: Any = self.documents[target_file]
        parts: list[str] = []
        for raw in pointer.split("/")[1:] if pointer else []:
            key = unquote(raw).replace("~1", "/").replace("~0", "~")
            if isinstance(node, dict) and key in node:
                node = node[key]
            elif isinstance(node, list) and key.isdigit() and int(key) < len(node):
                node = node[int(key)]
            else:
                raise KeyError(f"does not resolve: no {key!r} under #{'/'.join([''] + parts)}")
            parts.append(key)
        return node, target_file, tuple(parts)

    @property
    def folder(self) -> Path:
        """The spec's folder: the only place a `$ref` may lead to."""
        return self.path.resolve().parent

    def _target_file(self, file_part: str, base: Path) -> Path:
        """The file a `$ref`'s path part names, refused (KeyError) unless it is in the spec's folder.

        Nothing is read or fetched before this check: a URL of any scheme (`http:`, `file:`,
        `//host/`), an absolute path, or a path that leaves the folder (`..`, or a symbolic link
        pointing out of it) is refused by its text, and the message names only the reference.
        """
        parsed = urlsplit(file_part)
        if parsed.scheme or parsed.netloc or file_part.startswith("//"):
            raise KeyError(f"is refused: a URL; {REF_RULE}")
        if file_part.startswith(("/", "\\")) or Path(file_part).is_absolute():
            raise KeyError(f"is refused: an absolute path; {REF_RULE}")
        try:
            target = (base.parent / file_part).resolve()
        except (OSError, ValueError, RuntimeError):
            raise KeyError(f"is refused: not a usable file path; {REF_RULE}") from None
        if not target.is_relative_to(self.folder):
            raise KeyError(f"is refused: it leaves the spec's folder; {REF_RULE}")
        return target

    def document_at(self, uri: str) -> Any:
        """The content of a spec file named by a `file:` URI (how JSON Schema resolvers ask).

        The same refusals as a `$ref`: any other scheme, or a file outside the spec's folder, is a
        KeyError, so a validator handed this as its only way to retrieve never leaves the folder.
        """
        parsed = urlsplit(uri)
        if parsed.scheme != "file" or parsed.netloc not in ("", "localhost"):
            raise KeyError(f"is refused: a URL; {REF_RULE}")
        relative = os.path.relpath(unquote(parsed.path), self.folder)
        node, _, _ = self.resolve_ref(Path(relative).as_posix(), self.folder / "_")
        return node

    def deref(
        self, node: Any, base: Path | None = None, _seen: frozenset[str] = frozenset()
    ) -> Any:
        """Return the node a chain of `$ref`s ends at (or the node itself when it is no ref)."""
        while isinstance(node, dict) and isinstance(node.get("$ref"), str):
            ref = node["$ref"]
            if ref in _seen:
                raise KeyError(f"is circular ({' -> '.join(sorted(_seen))})")
            _seen = _seen | {ref}
            node, base, _ = self.resolve_ref(ref, base)
        return node

    @staticmethod
    def ref_name(ref: str) -> str | None:
        """`#/components/schemas/Bounce` -> `Bounce`: the name a `$ref` gives a component."""
        _, _, pointer = ref.partition("#")
        parts = pointer.split("/")
        if len(parts) >= 4 and parts[1] == "components":
            return parts[-1]
        return None


def load_spec(path: str | Path) -> Spec:
    """Read the root document. Raises SpecLoadError when it is unreadable or not a mapping."""
    path = Path(path)
    root, unique, size = _read_yaml(path)
    if not isinstance(root, dict):
        raise SpecLoadError(str(path), "the spec must be a YAML mapping at the top level")
    spec = Spec(path=path, root=root, size=size)
    spec.documents[path.resolve()] = root
    if unique is not None:
        spec.unique_keys[path.resolve()] = unique
    return spec


def iter_refs(
    node: Any, parts: tuple[str | int, ...] = ()
) -> Iterator[tuple[tuple[str | int, ...], str]]:
    """Yield (location parts, ref string) for every `$ref` in a document, depth first, in order."""
    if isinstance(node, dict):
        ref = node.get("$ref")
        if isinstance(ref, str):
            yield parts, ref
        for key, value in node.items():
            yield from iter_refs(value, parts + (key,))
    elif isinstance(node, list):
        for index, value in enumerate(node):
            yield from iter_refs(value, parts + (index,))
