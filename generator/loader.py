"""Load the spec from YAML and resolve `$ref`s, remembering where every node came from.

Errors name a file and a location (line and column for YAML syntax, a dotted spec path for
references), because a maintainer reading them has the YAML open, not a traceback.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import unquote

import yaml

# libyaml's parser is about three times faster on the full spec; the pure-Python one is the fallback.
_Loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


class SpecLoadError(Exception):
    """The spec cannot be read at all: missing file, YAML syntax error, or not a mapping."""

    def __init__(self, file: str, message: str, line: int | None = None, column: int | None = None):
        self.file = file
        self.line = line
        self.column = column
        self.message = message
        where = file if line is None else f"{file}:{line}:{column}"
        super().__init__(f"{where}: {message}")


class RefError(Exception):
    """A `$ref` that does not resolve; `location` is the dotted path of the node holding it."""

    def __init__(self, file: str, location: str, ref: str, reason: str):
        self.file = file
        self.location = location
        self.ref = ref
        super().__init__(f"{file}: {location}: $ref {ref!r} {reason}")


def _read_yaml(path: Path) -> Any:
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise SpecLoadError(str(path), f"cannot read file: {exc.strerror or exc}") from None
    try:
        return yaml.load(text, Loader=_Loader)  # a safe loader: C or pure-Python SafeLoader
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark
        problem = exc.problem or str(exc)
        line = mark.line + 1 if mark else None
        column = mark.column + 1 if mark else None
        raise SpecLoadError(str(path), f"YAML syntax error: {problem}", line, column) from None
    except yaml.YAMLError as exc:
        raise SpecLoadError(str(path), f"YAML error: {exc}") from None


def dotted(parts: tuple[str | int, ...] | list[str | int]) -> str:
    """A location in the form maintainers read in error messages: `paths./email.post.requestBody`."""
    return ".".join(str(p) for p in parts)


@dataclass
class Spec:
    """A loaded spec: the root document plus every other file a `$ref` reached."""

    path: Path
    root: dict[str, Any]
    documents: dict[Path, Any] = field(default_factory=dict)

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
        target_file = (base.parent / file_part).resolve() if file_part else base.resolve()
        if target_file not in self.documents:
            if target_file == self.path.resolve():
                self.documents[target_file] = self.root
            elif not target_file.is_file():
                raise KeyError(f"points to a missing file {file_part!r}")
            else:
                self.documents[target_file] = _read_yaml(target_file)
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
    root = _read_yaml(path)
    if not isinstance(root, dict):
        raise SpecLoadError(str(path), "the spec must be a YAML mapping at the top level")
    spec = Spec(path=path, root=root)
    spec.documents[path.resolve()] = root
    return spec


def iter_refs(node: Any, parts: tuple[str | int, ...] = ()):
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
