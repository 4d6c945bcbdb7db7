"""`postmark-codegen validate`: check the spec against OpenAPI 3.1 and against spec/CONVENTIONS.md.

Every problem is reported in one run, each naming the file and a dotted location
(`paths./email.post.x-postmark-paging.items`), because a maintainer fixes them with the YAML open.
The project's rules are small functions listed in RULES, in the order they run.
"""

from __future__ import annotations

import datetime
import hashlib
import keyword
import re
import sys
import unicodedata
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from functools import cache, cached_property
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import quote

import yaml

from generator import naming, reading
from generator.loader import Spec, SpecLoadError, dotted, iter_refs, load_spec
from generator.prose import SCHEMA_KEYWORDS, SCHEMA_LIST, SCHEMA_MAP, SCHEMA_ONE
from generator.reading import PAGING_KEYS, REACH_KEYS, RESOURCE_KEYS

if TYPE_CHECKING:
    from jsonschema import Draft202012Validator
    from jsonschema.exceptions import ValidationError
    from referencing import Registry

# jsonschema and referencing are imported where they are used: they take a tenth of a second to
# import, and `generate` after an edit of descriptions runs only rules that need neither.

HTTP_METHODS = ("get", "put", "post", "delete", "options", "head", "patch", "trace")
TOKENS = ("server", "account")
ACCESS = ("read", "write")
RETRY = ("safe", "unsafe")
ACTS_ON = (
    "email", "template", "bounce", "message", "open", "click", "suppression", "stat", "server",
    "domain", "signature",
)  # fmt: skip
LIMIT_UNITS = ("bytes", "items", "addresses", "templates")
LIMIT_SCOPES = ("message", "request", "server")
ERROR_RESPONSES = ("401", "422", "429", "500", "503")
JSON = "application/json"

SNAKE_CASE = re.compile(r"^[a-z][a-z0-9]*(_[a-z0-9]+)*$")
KEBAB_CASE = re.compile(r"^[a-z][a-z0-9]*(-[a-z0-9]+)*$")
PASCAL_CASE = re.compile(r"^[A-Z][A-Za-z0-9]*$")
RELEASE_DATE = re.compile(r"^\d{4}-\d{2}(-\d{2})?$")
PATH_TEMPLATE_PARAM = re.compile(r"\{([^{}]*)\}")
# Unicode categories no name may contain: controls (NUL, newline, ESC), invisible format characters
# (U+202E reverses text on screen), lone surrogates, and the line and paragraph separators.
CONTROL_CATEGORIES = frozenset({"Cc", "Cf", "Cs", "Zl", "Zp"})
# servers[].url: an absolute https URL of a host, an optional port and a plain path.
_LABEL = r"[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?"
SERVER_URL = re.compile(
    rf"https://{_LABEL}(?:\.{_LABEL})*(?::[0-9]{{1,5}})?(?:/[A-Za-z0-9._~%!$&*+,;=:@-]*)*"
)
# An HTTP field name is a token (RFC 9110, section 5.6.2).
HTTP_TOKEN = re.compile(r"[!#$%&'*+.^_`|~0-9A-Za-z-]+")
# libyaml when available: composing the spec a second time (for duplicate keys) must stay cheap.
COMPOSER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


@cache
def meta_validator() -> Draft202012Validator:
    """OpenAPI 3.1 schemas are JSON Schema 2020-12 (the bundled meta-schema: no network access)."""
    from jsonschema import Draft202012Validator

    return Draft202012Validator(Draft202012Validator.META_SCHEMA)


def __getattr__(name: str) -> Any:
    if name == "META_VALIDATOR":  # the name it had when it was made on import
        return meta_validator()
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


@dataclass(frozen=True)
class Problem:
    """One thing wrong with the spec, located as a maintainer finds it in the YAML."""

    file: str
    location: str
    message: str

    def __str__(self) -> str:
        if not self.location:
            return _printable(f"{self.file}: {self.message}")
        return _printable(f"{self.file}: {self.location}: {self.message}")


def _control_character(text: str) -> str | None:
    """The first control character of a name (C0/C1, format such as U+202E, separators)."""
    for char in text:
        if unicodedata.category(char) in CONTROL_CATEGORIES:
            return char
    return None


def _printable(text: str) -> str:
    """A report line a terminal shows as written: control characters appear as escapes."""
    if _control_character(text) is None:
        return text
    return "".join(
        (
            char.encode("unicode_escape").decode("ascii")
            if unicodedata.category(char) in CONTROL_CATEGORIES
            else char
        )
        for char in text
    )


# A node's address: the file it is written in and the key path inside that file.
Address = tuple[Path, tuple[Any, ...]]


@dataclass
class Operation:
    path: str
    method: str
    node: dict[str, Any]
    file: Path
    parts: tuple[Any, ...]


class Checker:
    """What the rules share: the spec, its operations, `$ref` following that never raises."""

    def __init__(self, spec: Spec):
        self.spec = spec
        self.root = spec.root
        self.root_file = spec.path.resolve()

    # -- locations ------------------------------------------------------------------------------

    def display(self, file: Path) -> str:
        if file == self.root_file:
            return self.spec.display_path
        try:
            return str(file.relative_to(Path.cwd()))
        except ValueError:
            return str(file)

    def problem(self, file: Path, location: str | tuple[Any, ...], message: str) -> Problem:
        if isinstance(location, tuple):
            location = dotted(location)
        return Problem(self.display(file), location, message)

    def at(self, location: str | tuple[Any, ...], message: str) -> Problem:
        """A problem in the root document."""
        return self.problem(self.root_file, location, message)

    def on(self, op: Operation, *more: Any, message: str) -> Problem:
        """A problem at a key path under an operation."""
        return self.problem(op.file, op.parts + more, message)

    # -- references -----------------------------------------------------------------------------

    def follow(
        self, node: Any, file: Path, parts: tuple[Any, ...]
    ) -> tuple[Any, Path, tuple[Any, ...]] | None:
        """Follow `$ref`s from a node; None when one does not resolve (the refs rule reports it)."""
        seen: set[str] = set()
        while isinstance(node, dict) and isinstance(node.get("$ref"), str):
            ref = node["$ref"]
            if ref in seen:
                return None
            seen.add(ref)
            try:
                node, file, pointer = self.spec.resolve_ref(ref, file)
            except (KeyError, SpecLoadError):
                return None
            parts = tuple(pointer)
        return node, file, parts

    def deref(self, node: Any, file: Path | None = None) -> Any:
        found = self.follow(node, file or self.root_file, ())
        return found[0] if found else None

    # -- the document's parts -------------------------------------------------------------------

    @cached_property
    def operations(self) -> list[Operation]:
        found = []
        for path, item in mapping(self.root.get("paths")).items():
            target = self.follow(item, self.root_file, ("paths", path))
            if target is None or not isinstance(target[0], dict):
                continue
            node, file, parts = target
            for method in HTTP_METHODS:
                if isinstance(node.get(method), dict):
                    found.append(
                        Operation(str(path), method, node[method], file, parts + (method,))
                    )
        return found

    @cached_property
    def tags(self) -> dict[str, dict[str, Any]]:
        return {
            tag["name"]: tag
            for tag in sequence(self.root.get("tags"))
            if isinstance(tag, dict) and isinstance(tag.get("name"), str)
        }

    @cached_property
    def security_schemes(self) -> dict[str, Any]:
        return mapping(mapping(self.root.get("components")).get("securitySchemes"))

    @cached_property
    def webhooks(self) -> dict[str, Any]:
        return mapping(self.root.get("webhooks"))

    def parameters(self, op: Operation) -> list[tuple[dict[str, Any], tuple[Any, ...]]]:
        """The operation's parameters (path-level ones first), dereferenced, with their locations."""
        found = []
        item = self.deref({"$ref": _pointer_ref(op.parts[:-1])}, op.file) if op.parts else None
        sources = [
            (mapping(item).get("parameters"), op.parts[:-1]),
            (op.node.get("parameters"), op.parts),
        ]
        for params, base in sources:
            for index, param in enumerate(sequence(params)):
                target = self.deref(param, op.file)
                if isinstance(target, dict):
                    found.append((target, base + ("parameters", index)))
        return found

    def query_parameter(self, op: Operation, name: Any) -> dict[str, Any] | None:
        for param, _ in self.parameters(op):
            if param.get("name") == name and param.get("in") == "query":
                return param
        return None

    def json_schema_of(self, holder: Any, file: Path) -> Any:
        """The dereferenced JSON schema of a request body or response."""
        content = mapping(mapping(self.deref(holder, file)).get("content"))
        return self.deref(mapping(content.get(JSON)).get("schema"), file)

    def properties(self, schema: Any) -> dict[str, Any]:
        """A schema's properties, including those of `allOf` members."""
        schema = mapping(self.deref(schema))
        props = dict(mapping(schema.get("properties")))
        for member in sequence(schema.get("allOf")):
            props.update(self.properties(member))
        return props

    @cached_property
    def schema_walk(self) -> _SchemaWalker:
        walker = _SchemaWalker(self)
        walker.walk_document()
        return walker

    # -- schema validation of examples -----------------------------------------------------------

    @cached_property
    def registry(self) -> Registry:
        from referencing import Registry, Resource
        from referencing.exceptions import NoSuchResource
        from referencing.jsonschema import DRAFT202012

        def retrieve(uri: str) -> Resource:
            try:  # only files in the spec's folder; never the network (see Spec.document_at)
                contents = self.spec.document_at(uri)
            except (KeyError, SpecLoadError) as exc:
                raise NoSuchResource(ref=uri) from exc  # type: ignore[call-arg]
            return Resource.from_contents(contents, default_specification=DRAFT202012)

        root = Resource.from_contents(self.root, default_specification=DRAFT202012)
        registry: Registry = Registry(retrieve=retrieve)  # type: ignore[call-arg]
        registry = registry.with_resource(self.root_file.as_uri(), root)
        return registry

    def schema_errors(self, value: Any, schema_at: Address) -> list[ValidationError]:
        """Validate a value against the schema written at an address (JSON Schema 2020-12)."""
        from jsonschema import Draft202012Validator

        file, parts = schema_at
        ref = file.as_uri() + "#" + "".join("/" + _escape(part) for part in parts)
        validator = Draft202012Validator(
            {"$ref": ref},
            registry=self.registry,
            format_checker=Draft202012Validator.FORMAT_CHECKER,
        )
        return sorted(validator.iter_errors(value), key=lambda e: [str(p) for p in e.absolute_path])


def mapping(value: Any) -> dict[Any, Any]:
    return value if isinstance(value, dict) else {}


def sequence(value: Any) -> list[Any]:
    return value if isinstance(value, list) else []


def _escape(part: Any) -> str:
    return quote(str(part).replace("~", "~0").replace("/", "~1"), safe="~")


def _pointer_ref(parts: tuple[Any, ...]) -> str:
    return "#" + "".join("/" + _escape(part) for part in parts)


def _schema_type(schema: Any) -> set[str]:
    kind = mapping(schema).get("type")
    return set(kind) if isinstance(kind, list) else {kind} if isinstance(kind, str) else set()


def _named_schema(ref: Any) -> bool:
    """A `$ref` to a named schema, the form the generator turns into a model class."""
    return isinstance(ref, str) and bool(re.match(r"^#/components/schemas/[^/]+$", ref))


def _is_identifier(name: Any) -> bool:
    return isinstance(name, str) and name.isidentifier() and not keyword.iskeyword(name)


def _describe(value: Any) -> str:
    if isinstance(value, dict):
        return "the object"
    return "the array" if isinstance(value, list) else "the value"


def error_message(error: ValidationError) -> str:
    """A one-line jsonschema message: a long instance repr is replaced by a word for it."""
    message = error.message
    shown = repr(error.instance)
    if len(shown) > 60 and message.startswith(shown):
        message = _describe(error.instance) + message[len(shown) :]
    message = " ".join(message.split())
    return message if len(message) <= 300 else message[:297] + "..."


def most_relevant(error: ValidationError) -> ValidationError:
    """For anyOf/oneOf failures, the error inside the branch that came closest."""
    from jsonschema.exceptions import best_match

    try:
        best: ValidationError = best_match([error])
        return best
    except Exception:  # noqa: BLE001 - errors rebuilt without their type checker cannot be ranked
        return error


# ---------------------------------------------------------------------------------------------
# The rules. Each takes the Checker and yields Problems; RULES at the bottom lists them in order.
# ---------------------------------------------------------------------------------------------


def check_openapi_document(c: Checker) -> Iterator[Problem]:
    """openapi-spec-validator: the document is valid OpenAPI 3.1 (meta-schema, then its keyword checks)."""
    from openapi_spec_validator import OpenAPIV31SpecValidator
    from openapi_spec_validator.schemas import schema_v31
    from openapi_spec_validator.schemas.backend.jsonschema import create_validator
    from openapi_spec_validator.validation.exceptions import (
        DuplicateOperationIDError,
        ParameterDuplicateError,
        UnresolvableParameterError,
    )

    # Our own rules report these with a location; the library's versions carry none.
    located_elsewhere = (
        DuplicateOperationIDError,
        ParameterDuplicateError,
        UnresolvableParameterError,
    )
    # The pure-Python backend keeps each error's path and context (jsonschema-rs would flatten them).
    document = _with_string_keys(c.root)  # an unquoted `200:` is an int key; check_keys reports it
    meta_errors = list(create_validator(dict(schema_v31)).iter_errors(document))
    for error in meta_errors:
        best = most_relevant(error)
        yield c.at(tuple(best.absolute_path), error_message(best))

    class LocalOnly(OpenAPIV31SpecValidator):
        # Its resolver retrieves every URI through these handlers and falls back to urlopen for a
        # scheme it has none for: claim every scheme, and serve only the spec's own files.
        resolver_handlers = _LocalHandlers(c.spec)  # type: ignore[assignment]

    try:
        validator = LocalOnly(document, base_uri=c.root_file.as_uri())
        for error in validator.root_validator(validator.schema_path):
            if not isinstance(error, located_elsewhere) and not _reported_by_schema_walk(error):
                yield c.at("", error_message(error))  # the library knows no location for these
    except Exception as exc:  # noqa: BLE001 - a malformed document stops the library
        if not meta_errors and not any(True for _ in _ref_problems(c)):
            yield c.at("", f"openapi-spec-validator stopped: {type(exc).__name__}: {exc}")


class _LocalHandlers(dict[str, Callable[[str], Any]]):
    """jsonschema-path's resolver handlers, one for every URI scheme: the spec's files or nothing.

    Its retriever looks a URI's scheme up here and calls urlopen for schemes it finds no handler
    for, so this mapping claims them all; the one handler reads through the Spec (its alias
    budget and folder checks included) and refuses everything else without a network call.
    """

    def __init__(self, spec: Spec):
        super().__init__()
        self.spec = spec

    def __contains__(self, scheme: object) -> bool:
        return True

    def __getitem__(self, scheme: str) -> Callable[[str], Any]:
        return self.retrieve

    def get(self, scheme: str, default: Any = None) -> Callable[[str], Any]:
        return self.retrieve

    def retrieve(self, uri: str) -> Any:
        try:
            return _with_string_keys(self.spec.document_at(uri))
        except (KeyError, SpecLoadError) as exc:
            raise LookupError(f"$ref {uri!r} is not retrieved: {exc}") from None


def _with_string_keys(node: Any) -> Any:
    if isinstance(node, dict):
        return {str(key): _with_string_keys(value) for key, value in node.items()}
    if isinstance(node, list):
        return [_with_string_keys(item) for item in node]
    return node


def check_keys(c: Checker) -> Iterator[Problem]:
    """Every mapping key is a string: unquoted, YAML reads `200:` as a number and `2025-06-01:` as a date."""
    yield from _non_string_keys(c, c.root, ())


def _non_string_keys(c: Checker, node: Any, parts: tuple[Any, ...]) -> Iterator[Problem]:
    if isinstance(node, dict):
        for key, value in node.items():
            if not isinstance(key, str):
                yield c.at(parts + (key,), f"the key {key} must be a string: quote it ('{key}')")
            yield from _non_string_keys(c, value, parts + (key,))
    elif isinstance(node, list):
        for index, item in enumerate(node):
            yield from _non_string_keys(c, item, parts + (index,))


def _reported_by_schema_walk(error: ValidationError) -> bool:
    """A keyword error the schema walk reports with its location: an invalid schema or default."""
    from openapi_spec_validator.validation.exceptions import OpenAPIValidationError

    if not isinstance(error, OpenAPIValidationError):
        return True  # a `default` that does not fit its schema comes as a plain jsonschema error
    meta_error = isinstance(error.validator, str)  # rebuilt from a schema's meta-schema check
    return meta_error or error.message.startswith("Duplicate tag name")


def check_duplicate_keys(c: Checker) -> Iterator[Problem]:
    """YAML silently keeps the last of two equal keys; a second `post:` would hide the first."""
    for _ in _ref_problems(c):  # loads every file a $ref reaches into spec.documents
        pass
    for file in [c.root_file] + [f for f in c.spec.documents if f != c.root_file]:
        if file in c.spec.unique_keys:  # the loader saw no key twice: still the same bytes?
            try:
                if hashlib.sha256(file.read_bytes()).hexdigest() == c.spec.unique_keys[file]:
                    continue
            except OSError:
                pass
        try:
            tree = yaml.compose(file.read_text(encoding="utf-8"), Loader=COMPOSER)
        except (OSError, yaml.YAMLError):
            continue
        yield from _duplicates_in(c, file, tree, ())


def _duplicates_in(c: Checker, file: Path, node: Any, parts: tuple[Any, ...]) -> Iterator[Problem]:
    if isinstance(node, yaml.MappingNode):
        first_line: dict[Any, int] = {}
        for key, value in node.value:
            name = key.value
            if name in first_line and name != "<<":
                yield c.problem(
                    file, parts + (name,),
                    f"duplicate key {name!r} at line {key.start_mark.line + 1} "
                    f"(first at line {first_line[name]}); YAML keeps only the last",
                )  # fmt: skip
            first_line.setdefault(name, key.start_mark.line + 1)
            yield from _duplicates_in(c, file, value, parts + (name,))
    elif isinstance(node, yaml.SequenceNode):
        for index, item in enumerate(node.value):
            yield from _duplicates_in(c, file, item, parts + (index,))


def check_refs(c: Checker) -> Iterator[Problem]:
    """Every `$ref`, in the root document and in every file a `$ref` reaches, resolves."""
    yield from _ref_problems(c)


def _ref_problems(c: Checker) -> Iterator[Problem]:
    pending, seen = [c.root_file], {c.root_file}
    while pending:
        file = pending.pop(0)
        document = c.spec.documents.get(file, c.root if file == c.root_file else None)
        for parts, ref in iter_refs(document):
            try:
                _, target, _ = c.spec.resolve_ref(ref, file)
            except KeyError as exc:
                reason = exc.args[0] if exc.args else "does not resolve"
                yield c.problem(file, parts, f"$ref {ref!r} {reason}")
                continue
            except SpecLoadError as exc:
                yield c.problem(file, parts, f"$ref {ref!r} points to an unreadable file: {exc}")
                continue
            if target not in seen:
                seen.add(target)
                pending.append(target)


# Schema keywords whose schemas apply to the very value their schema applies to: a `$ref` chain
# through them that comes back never reaches a value of its own.
IN_PLACE_ONE = ("not", "if", "then", "else")
IN_PLACE_LIST = ("allOf", "anyOf", "oneOf")


def check_ref_cycles(c: Checker) -> Iterator[Problem]:
    """No chain of `$ref`s (through allOf, anyOf, oneOf, not, if/then/else) comes back to itself
    or runs longer than MAX_REF_CHAIN links: the validators follow one recursion per link."""
    for _ in _ref_problems(c):  # loads every file a $ref reaches into spec.documents
        pass
    chains = _RefChains(c)
    for file, document in list(c.spec.documents.items()):
        for parts, _ in iter_refs(document):
            chains.visit((file, tuple(parts)))
    yield from chains.problems


# The most `$ref` links a chain may have (the real spec's longest has 2): each costs the JSON
# Schema validators several levels of Python recursion, and 300 exhaust them.
MAX_REF_CHAIN = 64


class _RefChains:
    """A depth-first walk of the `$ref` graph: its cycles, and the longest chain from each node."""

    def __init__(self, c: Checker):
        self.c = c
        self.length: dict[Address, int] = {}  # the most $ref links a chain from here has
        self.next: dict[Address, Address] = {}  # where that chain goes on
        self.cycles: set[frozenset[Address]] = set()
        self.on_long_chain: set[Address] = set()
        self.problems: list[Problem] = []

    def visit(self, start: Address) -> None:
        if start not in self.length:
            self.walk(start)
        if self.length[start] > MAX_REF_CHAIN and start not in self.on_long_chain:
            chain = [start]
            while chain[-1] in self.next:
                chain.append(self.next[chain[-1]])
            self.on_long_chain.update(chain)
            self.problems.append(self.long_chain_problem(chain))

    def walk(self, start: Address) -> None:
        # Each frame: the node, its steps not yet taken, the step being followed, its best.
        frames: list[list[Any]] = [[start, iter(_in_place_steps(self.c, start)), None, 0]]
        on_path = {start}
        while frames:
            frame = frames[-1]
            step = next(frame[1], None)
            if step is None:
                frames.pop()
                on_path.discard(frame[0])
                self.length[frame[0]] = frame[3]
                if frames:
                    self.improve(frames[-1], frame[0], frames[-1][2][1])
                continue
            target, is_ref = step
            if target in on_path:
                self.cycle([f[0] for f in frames[[f[0] for f in frames].index(target) :]])
            elif target in self.length:
                self.improve(frame, target, is_ref)
            else:
                frame[2] = step
                frames.append([target, iter(_in_place_steps(self.c, target)), None, 0])
                on_path.add(target)

    def improve(self, frame: list[Any], target: Address, is_ref: bool) -> None:
        length = self.length[target] + int(is_ref)
        if length > frame[3]:
            frame[3] = length
            self.next[frame[0]] = target

    def cycle(self, path: list[Address]) -> None:
        cycle = [at for at in path if _holds_ref(self.c, at)]
        if frozenset(cycle) not in self.cycles:
            self.cycles.add(frozenset(cycle))
            self.problems.append(_cycle_problem(self.c, cycle))

    def long_chain_problem(self, chain: list[Address]) -> Problem:
        holders = [_chain_name(self.c, at) for at in chain if _holds_ref(self.c, at)]
        shown = holders if len(holders) <= 6 else [*holders[:3], "...", *holders[-2:]]
        file, parts = chain[0]
        return self.c.problem(
            file, parts,
            f"$ref {_node_ref(self.c, chain[0])!r} begins a chain of {len(holders)} $refs (allOf, "
            f"anyOf, oneOf, not, if, then and else count too), more than the {MAX_REF_CHAIN} the "
            f"validators can follow: {' -> '.join(shown)}",
        )  # fmt: skip


def _in_place_steps(c: Checker, at: Address) -> list[tuple[Address, bool]]:
    """Where a node leads without moving to another value: (address, whether it is a $ref)."""
    file, parts = at
    node: Any = c.spec.documents.get(file)
    for part in parts:
        node = node[part] if isinstance(node, (dict, list)) else None
    if not isinstance(node, dict):
        return []
    steps: list[tuple[Address, bool]] = []
    if isinstance(node.get("$ref"), str):
        try:
            _, target, pointer = c.spec.resolve_ref(node["$ref"], file)
            steps.append(((target, tuple(pointer)), True))
        except (KeyError, SpecLoadError):
            pass  # the refs rule reports it
    steps += [((file, parts + (key,)), False) for key in IN_PLACE_ONE if key in node]
    for key in IN_PLACE_LIST:
        steps += [((file, parts + (key, i)), False) for i in range(len(sequence(node.get(key))))]
    return steps


def _holds_ref(c: Checker, at: Address) -> bool:
    return any(is_ref for _, is_ref in _in_place_steps(c, at))


def _cycle_problem(c: Checker, cycle: list[Address]) -> Problem:
    cycle = min(cycle[i:] + cycle[:i] for i in range(len(cycle)))  # a stable first holder
    file, parts = cycle[0]
    chain = " -> ".join(_chain_name(c, at) for at in cycle + cycle[:1])
    in_place = any(key in IN_PLACE_ONE + IN_PLACE_LIST for _, at in cycle for key in at)
    why = (
        " (allOf, anyOf, oneOf, not, if, then and else apply to the same value)" if in_place else ""
    )
    ref = _node_ref(c, cycle[0])
    return c.problem(
        file, parts, f"$ref {ref!r} is circular: {chain}; following it never ends{why}"
    )


def _chain_name(c: Checker, at: Address) -> str:
    where = dotted(at[1]) or "the document"
    return where if at[0] == c.root_file else f"{where} in {c.display(at[0])}"


def _node_ref(c: Checker, at: Address) -> Any:
    node: Any = c.spec.documents.get(at[0])
    for part in at[1]:
        node = node[part]
    return node.get("$ref")


def check_patterns(c: Checker) -> Iterator[Problem]:
    """Every `pattern` (and patternProperties key) is a regular expression that cannot backtrack
    catastrophically (generator/patterns.py says which)."""
    walker = _PatternWalker(c)
    walker.walk_document()
    yield from walker.problems


def check_schema_keywords(c: Checker) -> Iterator[Problem]:
    """Every key of a schema is a keyword of JSON Schema 2020-12 or of OpenAPI's Schema Object,
    or an `x-` extension. JSON Schema ignores unknown keys, so a misspelt keyword, or a YAML
    flow mapping cut at an unquoted comma, would otherwise pass and print half a description."""
    walker = _KeywordWalker(c)
    walker.walk_document()
    yield from walker.problems


def check_operation_ids(c: Checker) -> Iterator[Problem]:
    """operationId: present, snake_case, unique."""
    first: dict[str, Operation] = {}
    for op in c.operations:
        op_id = op.node.get("operationId")
        if op_id is None:
            yield c.on(op, message="operationId is missing")
        elif not isinstance(op_id, str) or not SNAKE_CASE.match(op_id):
            yield c.on(op, "operationId", message=f"{op_id!r} is not snake_case")
        elif op_id in first:
            other = dotted(first[op_id].parts)
            yield c.on(op, "operationId", message=f"{op_id!r} is also the operationId of {other}")
        else:
            first[op_id] = op


def check_operation_tag(c: Checker) -> Iterator[Problem]:
    """Every operation has exactly one tag, declared in the top-level `tags`."""
    for op in c.operations:
        tags = op.node.get("tags")
        if not isinstance(tags, list) or len(tags) != 1:
            count = len(tags) if isinstance(tags, list) else 0
            yield c.on(
                op, "tags", message=f"an operation has exactly one tag (its group), found {count}"
            )
        elif tags[0] not in c.tags:
            yield c.on(
                op, "tags", 0, message=f"tag {tags[0]!r} is not declared in the top-level tags"
            )


def check_tag_declarations(c: Checker) -> Iterator[Problem]:
    """Each tag: a description, a unique Python name, a token."""
    first: dict[str, int] = {}
    names: dict[Any, int] = {}
    for index, tag in enumerate(sequence(c.root.get("tags"))):
        tag = mapping(tag)
        if tag.get("name") in names:
            yield c.at(
                ("tags", index, "name"),
                f"{tag['name']!r} is also the name of tags.{names[tag['name']]}",
            )
        names.setdefault(tag.get("name"), index)
        name = reading.group_name(tag)
        if not tag.get("description"):
            yield c.at(("tags", index), f"tag {tag.get('name')!r} has no description")
        if name is None:
            yield c.at(("tags", index), f"tag {tag.get('name')!r} has no x-python-name")
        elif not _is_identifier(name):
            yield c.at(
                ("tags", index, "x-python-name"), f"{name!r} is not a valid Python identifier"
            )
        elif name in first:
            yield c.at(
                ("tags", index, "x-python-name"),
                f"{name!r} is also the Python name of tags.{first[name]}",
            )
        else:
            first[name] = index
        if reading.token(tag) not in TOKENS:
            yield _enum_problem(
                c, c.root_file, ("tags", index), reading.TOKEN, reading.token(tag), TOKENS
            )


def check_security_schemes(c: Checker) -> Iterator[Problem]:
    """Each security scheme says which Postmark token it carries."""
    for name, scheme in c.security_schemes.items():
        if reading.token(scheme) not in TOKENS:
            at = ("components", "securitySchemes", name)
            yield _enum_problem(c, c.root_file, at, reading.TOKEN, reading.token(scheme), TOKENS)


def check_operation_security(c: Checker) -> Iterator[Problem]:
    """`security` names one declared scheme, with its tag's token (or the operation's x-postmark-token)."""
    for op in c.operations:
        security = op.node.get("security")
        names = (
            [n for req in sequence(security) for n in mapping(req)]
            if isinstance(security, list)
            else []
        )
        if len(names) != 1 or len(sequence(security)) != 1:
            yield c.on(
                op, "security", message=f"must name exactly one security scheme, found {len(names)}"
            )
            continue
        scheme = names[0]
        if scheme not in c.security_schemes:
            yield c.on(op, "security", message=f"{scheme!r} is not a declared security scheme")
            continue
        tag_name = reading.the_tag(op.node)
        needed = reading.token(c.tags.get(tag_name) if tag_name is not None else None)
        given = reading.token(c.security_schemes[scheme])
        own = reading.token(op.node)  # an operation may need the other token than its tag
        if own is not None and own not in TOKENS:
            yield _enum_problem(c, op.file, op.parts, reading.TOKEN, own, TOKENS)
            continue
        if own is not None:
            wanted, why = own, f"the operation's x-postmark-token is {own}"
        else:
            wanted, why = needed, f"tag {tag_name!r} needs the {needed} token"
        if wanted in TOKENS and given in TOKENS and given != wanted:
            yield c.on(op, "security", message=f"{scheme!r} carries the {given} token but {why}")


def check_path_parameters(c: Checker) -> Iterator[Problem]:
    """Every `{name}` of the path template is declared `in: path`, and every path parameter is used."""
    for op in c.operations:
        in_template = PATH_TEMPLATE_PARAM.findall(op.path)
        seen: set[tuple[Any, Any]] = set()
        declared = []
        for param, location in c.parameters(op):
            key = (param.get("name"), param.get("in"))
            if key in seen and location[: len(op.parts)] == op.parts:
                yield c.problem(
                    op.file, location, f"parameter {key[0]!r} ({key[1]}) is declared twice"
                )
            seen.add(key)
            if key[1] == "path":
                declared.append(key[0])
                if key[0] not in in_template:
                    yield c.problem(
                        op.file,
                        location,
                        f"path parameter {key[0]!r} is not in the path template {op.path}",
                    )
        for name in in_template:
            if name not in declared:
                yield c.on(
                    op,
                    "parameters",
                    message=f"path parameter {{{name}}} of {op.path} is not declared",
                )


def check_schemas(c: Checker) -> Iterator[Problem]:
    """Every schema is valid JSON Schema 2020-12 (the dialect of OpenAPI 3.1)."""
    yield from c.schema_walk.schema_problems


def check_examples(c: Checker) -> Iterator[Problem]:
    """Every example and default validates against its schema: parameters, bodies, responses, webhooks, schemas."""
    yield from c.schema_walk.example_problems


class _SchemaWalker:
    """Visits each schema and example where it is written (once, however many `$ref`s reach it)."""

    def __init__(self, c: Checker):
        self.c = c
        self.seen: set[tuple[Path, tuple[Any, ...]]] = set()
        self.schema_problems: list[Problem] = []
        self.example_problems: list[Problem] = []
        # With a broken $ref, schemas fail in ways that only repeat the refs rule's report.
        self.refs_broken = any(True for _ in _ref_problems(c))

    def walk_document(self) -> None:
        c = self.c
        components = mapping(c.root.get("components"))
        for name in mapping(components.get("parameters")):
            self.parameter(c.root_file, ("components", "parameters", name))
        for kind in ("requestBodies", "responses"):
            for name in mapping(components.get(kind)):
                self.body(c.root_file, ("components", kind, name))
        for name in mapping(components.get("schemas")):
            self.schema(c.root_file, ("components", "schemas", name))
        for section in ("paths", "webhooks"):
            for key in mapping(c.root.get(section)):
                self.path_item(c.root_file, (section, key))

    def resolve(
        self, file: Path, parts: tuple[Any, ...]
    ) -> tuple[Any, Path, tuple[Any, ...]] | None:
        """The node at an address, `$ref`s followed; None when already walked or unresolvable."""
        found = self.c.follow({"$ref": _pointer_ref(parts)}, file, ())
        if found is None or (found[1], found[2]) in self.seen:
            return None
        self.seen.add((found[1], found[2]))
        return found

    def path_item(self, file: Path, parts: tuple[Any, ...]) -> None:
        found = self.resolve(file, parts)
        if found is None or not isinstance(found[0], dict):
            return
        item, file, parts = found
        for index, _ in enumerate(sequence(item.get("parameters"))):
            self.parameter(file, parts + ("parameters", index))
        for method in HTTP_METHODS:
            op = item.get(method)
            if not isinstance(op, dict):
                continue
            for index, _ in enumerate(sequence(op.get("parameters"))):
                self.parameter(file, parts + (method, "parameters", index))
            if "requestBody" in op:
                self.body(file, parts + (method, "requestBody"))
            for status in mapping(op.get("responses")):
                self.body(file, parts + (method, "responses", status))

    def parameter(self, file: Path, parts: tuple[Any, ...]) -> None:
        found = self.resolve(file, parts)
        if found is None or not isinstance(found[0], dict):
            return
        param, file, parts = found
        if "schema" in param:
            self.schema(file, parts + ("schema",))
            self.examples_of(param, file, (file, parts + ("schema",)), dotted(parts))

    def body(self, file: Path, parts: tuple[Any, ...]) -> None:
        """A request body or a response: the examples of each of its media types."""
        found = self.resolve(file, parts)
        if found is None or not isinstance(found[0], dict):
            return
        holder, file, parts = found
        for media, content in mapping(holder.get("content")).items():
            content_parts = parts + ("content", media)
            if not isinstance(content, dict) or "schema" not in content:
                continue
            self.schema(file, content_parts + ("schema",))
            where = dotted(parts) if media == JSON else dotted(content_parts)
            self.examples_of(content, file, (file, content_parts + ("schema",)), where)

    def schema(self, file: Path, parts: tuple[Any, ...], nested: bool = False) -> None:
        """A schema and every schema inside it: meta-schema check, `example`, `examples`, `default`."""
        found = self.resolve(file, parts)
        if found is None:
            return
        followed_a_ref = (found[1], found[2]) != (file, parts)
        if not nested or followed_a_ref:  # the meta-schema check of a parent stops at $refs
            self.meta_check(*found)
        if not isinstance(found[0], dict):
            return
        schema, file, parts = found
        self.values(schema, file, parts)
        for key in SCHEMA_ONE:
            if isinstance(schema.get(key), dict):
                self.schema(file, parts + (key,), nested=True)
        for key in SCHEMA_MAP:
            for name in mapping(schema.get(key)):
                self.schema(file, parts + (key, name), nested=True)
        for key in SCHEMA_LIST:
            for index, _ in enumerate(sequence(schema.get(key))):
                self.schema(file, parts + (key, index), nested=True)

    def values(self, schema: dict[str, Any], file: Path, parts: tuple[Any, ...]) -> None:
        """A schema's own `default`, `example` and `examples`, checked against it."""
        where = dotted(parts)
        if "default" in schema:
            self.check(schema["default"], (file, parts), file, f"{where} default")
        if "example" in schema:
            self.check(schema["example"], (file, parts), file, f"{where} example")
        for index, value in enumerate(sequence(schema.get("examples"))):
            self.check(value, (file, parts), file, f"{where} examples.{index}")

    def meta_check(self, schema: Any, file: Path, parts: tuple[Any, ...]) -> None:
        for error in meta_validator().iter_errors(schema):
            best = most_relevant(error)
            self.schema_problems.append(
                self.c.problem(file, parts + tuple(best.absolute_path), error_message(best))
            )

    def examples_of(
        self, holder: dict[str, Any], file: Path, schema_at: Address, where: str
    ) -> None:
        """`example` and the named `examples` of a parameter or a media type."""
        if "example" in holder:
            self.check(holder["example"], schema_at, file, f"{where} example")
        for name, example in mapping(holder.get("examples")).items():
            target = self.c.deref(example, file)
            if isinstance(target, dict) and "value" in target:
                self.check(target["value"], schema_at, file, f"{where} examples.{name}")

    def check(self, value: Any, schema_at: Address, file: Path, where: str) -> None:
        from referencing.exceptions import Unresolvable

        try:
            errors = self.c.schema_errors(value, schema_at)
        except Unresolvable:  # a broken $ref: the refs rule names it
            return
        except Exception as exc:  # noqa: BLE001 - an invalid schema: meta_check says why
            if not self.refs_broken and not self.schema_problems:
                reason = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
                self.example_problems.append(
                    self.c.problem(file, where, f"cannot be checked: {reason}")
                )
            return
        for error in errors:
            best = most_relevant(error)
            path = dotted(tuple(best.absolute_path))
            self.example_problems.append(
                self.c.problem(file, f"{where}.{path}" if path else where, error_message(best))
            )


class _PatternWalker(_SchemaWalker):
    """The same walk over every schema, reading only its regular expressions: nothing is
    matched against a pattern before every pattern is known to be safe."""

    def __init__(self, c: Checker):
        super().__init__(c)
        self.problems: list[Problem] = []

    def meta_check(self, schema: Any, file: Path, parts: tuple[Any, ...]) -> None:
        pass

    def examples_of(
        self, holder: dict[str, Any], file: Path, schema_at: Address, where: str
    ) -> None:
        pass

    def values(self, schema: dict[str, Any], file: Path, parts: tuple[Any, ...]) -> None:
        from generator.patterns import backtracking_problem

        found = [(parts + ("pattern",), schema.get("pattern"))]
        found += [
            (parts + ("patternProperties", key), key)
            for key in mapping(schema.get("patternProperties"))
        ]
        for at, pattern in found:
            reason = backtracking_problem(pattern) if isinstance(pattern, str) else None
            if reason is not None:
                self.problems.append(self.c.problem(file, at, f"the pattern {pattern!r} {reason}"))


class _KeywordWalker(_PatternWalker):
    """The same walk over every schema, reading only its keys."""

    def values(self, schema: dict[str, Any], file: Path, parts: tuple[Any, ...]) -> None:
        for key, value in schema.items():
            if not isinstance(key, str) or key in SCHEMA_KEYWORDS or key.startswith("x-"):
                continue
            hint = (
                " (in a one-line `{...}` mapping an unquoted comma ends a value: quote it)"
                if value is None
                else ""
            )
            self.problems.append(
                self.c.problem(file, parts + (key,), f"{key!r} is not a schema keyword{hint}")
            )


def _enum_problem(
    c: Checker, file: Path, at: tuple[Any, ...], key: str, value: Any, allowed: tuple[str, ...]
) -> Problem:
    """The extension `key` (of the node at `at`, read as `value`) is missing or not one of
    `allowed`."""
    if len(allowed) <= 3:
        choices = " or ".join(repr(a) for a in allowed)
    else:
        choices = f"one of {', '.join(allowed)}"
    if value is None:
        return c.problem(file, at, f"{key} is missing (must be {choices})")
    return c.problem(file, at + (key,), f"{value!r} is not {choices}")


def extension_enum(key: str, allowed: tuple[str, ...]) -> Callable[[Checker], Iterator[Problem]]:
    """A rule: every operation has the extension `key`, holding one of `allowed`."""

    def rule(c: Checker) -> Iterator[Problem]:
        for op in c.operations:
            found = reading.value(op.node, key)
            if found not in allowed:
                yield _enum_problem(c, op.file, op.parts, key, found, allowed)

    rule.__doc__ = f"{key} is {' or '.join(allowed)}."
    rule.__name__ = f"check_{key.replace('-', '_')}"
    return rule


def check_webhook_event(c: Checker) -> Iterator[Problem]:
    """x-postmark-webhook-event names a key of the `webhooks` section."""
    for op in c.operations:
        event = reading.webhook_event(op.node)
        if event is not None and (not isinstance(event, str) or event not in c.webhooks):
            known = ", ".join(c.webhooks) or "none"
            yield c.on(
                op,
                "x-postmark-webhook-event",
                message=f"{event!r} is not a webhook event (webhooks: {known})",
            )


def check_paging(c: Checker) -> Iterator[Problem]:
    """x-postmark-paging agrees with the parameters and response fields it names."""
    for op in c.operations:
        paging = reading.paging(op.node)
        if paging is None:
            if c.query_parameter(op, "count") and c.query_parameter(op, "offset"):
                yield c.on(op, message="has count and offset parameters but no x-postmark-paging")
            continue
        if not isinstance(paging, dict):
            yield c.on(
                op, "x-postmark-paging", message="must be a mapping of " + ", ".join(PAGING_KEYS)
            )
            continue
        for key in PAGING_KEYS:
            if key not in paging:
                yield c.on(op, "x-postmark-paging", message=f"{key!r} is missing")
        yield from _paging_parameters(c, op, paging)
        yield from _paging_fields(c, op, paging)


def _paging_parameters(c: Checker, op: Operation, paging: dict[str, Any]) -> Iterator[Problem]:
    for key in ("count", "offset"):
        if key in paging and c.query_parameter(op, paging[key]) is None:
            yield c.on(
                op, "x-postmark-paging", key,
                message=f"names query parameter {paging[key]!r}, which the operation does not have",
            )  # fmt: skip
    count = c.query_parameter(op, paging.get("count"))
    if count is not None and "max-count" in paging:
        maximum = mapping(c.deref(count.get("schema"))).get("maximum")
        if paging["max-count"] != maximum:
            yield c.on(
                op, "x-postmark-paging", "max-count",
                message=f"{paging['max-count']!r} differs from the maximum of parameter {paging['count']!r} ({maximum!r})",
            )  # fmt: skip
    reachable = paging.get("max-reachable")
    if "max-reachable" in paging and (
        not isinstance(reachable, int) or isinstance(reachable, bool) or reachable < 1
    ):
        yield c.on(
            op,
            "x-postmark-paging",
            "max-reachable",
            message=f"{reachable!r} is not a positive integer",
        )


def _paging_fields(c: Checker, op: Operation, paging: dict[str, Any]) -> Iterator[Problem]:
    schema = c.json_schema_of(mapping(op.node.get("responses")).get("200"), op.file)
    if schema is None:  # no 200 response schema: the success-response rule reports it
        return
    fields = c.properties(schema)
    for key, kind in (("items", "array"), ("total", "integer")):
        if key not in paging:
            continue
        name = paging[key]
        if name not in fields:
            yield c.on(
                op,
                "x-postmark-paging",
                key,
                message=f"{name!r} is not a field of the 200 response schema",
            )
        elif kind not in _schema_type(c.deref(fields[name])):
            yield c.on(
                op,
                "x-postmark-paging",
                key,
                message=f"field {name!r} of the 200 response is not an {kind}",
            )


def check_limits(c: Checker) -> Iterator[Problem]:
    """x-postmark-limits: known units and scopes, named fields exist, `items` limits match maxItems."""
    for op in c.operations:
        limits = reading.limits(op.node)
        if limits is None:
            continue
        if not isinstance(limits, list):
            yield c.on(op, "x-postmark-limits", message="must be a list of limits")
            continue
        names: set[Any] = set()
        body = c.json_schema_of(op.node.get("requestBody"), op.file)
        for index, limit in enumerate(limits):
            at = ("x-postmark-limits", index)
            if not isinstance(limit, dict):
                yield c.on(op, *at, message="must be a mapping with name, max, unit, scope")
                continue
            name = limit.get("name")
            if not isinstance(name, str) or not KEBAB_CASE.match(name):
                yield c.on(op, *at, "name", message=f"{name!r} is not a kebab-case name")
            elif name in names:
                yield c.on(op, *at, "name", message=f"{name!r} is used twice in this operation")
            names.add(name)
            yield from _limit_values(c, op, at, limit)
            yield from _limit_field(c, op, at, limit, body)


def _limit_values(
    c: Checker, op: Operation, at: tuple[Any, ...], limit: dict[str, Any]
) -> Iterator[Problem]:
    maximum = limit.get("max")
    if not isinstance(maximum, int) or isinstance(maximum, bool) or maximum < 1:
        yield c.on(op, *at, "max", message=f"{maximum!r} is not a positive integer")
    for key, allowed in (("unit", LIMIT_UNITS), ("scope", LIMIT_SCOPES)):
        if limit.get(key) not in allowed:
            yield c.on(
                op, *at, key, message=f"{limit.get(key)!r} is not one of {', '.join(allowed)}"
            )
    if limit.get("unit") == "addresses" and not limit.get("field"):
        yield c.on(op, *at, message="an addresses limit names the field holding the recipients")


def _limit_field(
    c: Checker, op: Operation, at: tuple[Any, ...], limit: dict[str, Any], body: Any
) -> Iterator[Problem]:
    field_name = limit.get("field") or None
    if body is None:  # no body at all, or one whose $ref is broken (the refs rule says so)
        if "requestBody" not in op.node and (field_name or limit.get("unit") == "items"):
            yield c.on(op, *at, message="applies to the request body, but the operation has none")
        return
    if field_name is None:
        target = body
    else:
        target = _find_field(c, body, field_name)
        if target is None:
            yield c.on(
                op,
                *at,
                "field",
                message=f"{field_name!r} is not a field of the request body schema",
            )
            return
    if limit.get("unit") == "items" and limit.get("scope") != "server":
        target = mapping(c.deref(target))
        where = at + (("field",) if field_name else ())
        what = f"field {field_name!r}" if field_name else "the request body"
        if "array" not in _schema_type(target):
            yield c.on(
                op, *where, message=f"{what} is not an array, so an items limit cannot apply"
            )
        elif target.get("maxItems") != limit.get("max"):
            yield c.on(
                op, *where,
                message=f"maxItems of {what} is {target.get('maxItems')!r}, the limit says {limit.get('max')!r}",
            )  # fmt: skip


def _find_field(c: Checker, body: Any, name: str) -> Any:
    """A field of the body, of each message of an array body, or of each message of an array field."""
    body = c.deref(body)
    candidates = [body, mapping(body).get("items")]
    candidates += [mapping(c.deref(field)).get("items") for field in c.properties(body).values()]
    for schema in candidates:
        fields = c.properties(schema)
        if name in fields:
            return fields[name]
    return None


def check_batch(c: Checker) -> Iterator[Problem]:
    """x-postmark-batch is `true`, on an operation with an items limit and a bytes limit to split by."""
    for op in c.operations:
        flag = reading.batch(op.node)
        if flag is None:
            continue
        if not reading.is_batch(op.node):
            yield c.on(op, "x-postmark-batch", message=f"{flag!r} is not true")
            continue
        units = {mapping(limit).get("unit") for limit in sequence(reading.limits(op.node))}
        for unit in ("items", "bytes"):
            if unit not in units:
                yield c.on(
                    op,
                    "x-postmark-batch",
                    message=f"a batch operation needs a limit with unit {unit!r}",
                )


_STREAM_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_-]*$")


def check_default_stream(c: Checker) -> Iterator[Problem]:
    """x-postmark-default-stream is on every sending operation (write on email) and only there,
    and is a stream ID."""
    key = reading.DEFAULT_STREAM
    for op in c.operations:
        sends = reading.access(op.node) == "write" and reading.acts_on(op.node) == "email"
        stream = reading.default_stream(op.node)
        if stream is None:
            if sends:
                yield c.on(op, message=f"a sending operation needs {key} (the stream it lands on)")
            continue
        if not sends:
            yield c.on(op, key, message="only a sending operation (write on email) has a stream")
        elif not isinstance(stream, str) or not _STREAM_ID.match(stream):
            yield c.on(op, key, message=f"{stream!r} is not a message stream ID")


def check_reaches(c: Checker) -> Iterator[Problem]:
    """x-postmark-reaches: each entry names another group, `read` or `write`, and optionally
    top-level request body fields; a read operation writes nowhere."""
    groups = [
        name for tag in c.tags.values() if isinstance(name := reading.group_name(tag), str) and name
    ]
    for op in c.operations:
        entries = reading.reaches_value(op.node)
        if entries is None:
            continue
        if not isinstance(entries, list) or not entries:
            yield c.on(
                op,
                "x-postmark-reaches",
                message="must be a non-empty list of {group, access, fields?}",
            )
            continue
        tag_name = reading.the_tag(op.node)
        own = reading.group_name(mapping(c.tags.get(tag_name) if tag_name is not None else None))
        seen: set[str] = set()
        for index, entry in enumerate(entries):
            at = ("x-postmark-reaches", index)
            if not isinstance(entry, dict):
                yield c.on(
                    op, *at, message="must be a mapping with group, access and optional fields"
                )
                continue
            for key in entry:
                if key not in REACH_KEYS:
                    yield c.on(
                        op, *at, message=f"unknown key {key!r} (keys: {', '.join(REACH_KEYS)})"
                    )
            group = entry.get("group")
            if not isinstance(group, str) or group not in groups:
                yield c.on(
                    op, *at, "group",
                    message=f"{group!r} is not a group (one of {', '.join(groups)})",
                )  # fmt: skip
            elif group == own:
                yield c.on(op, *at, "group", message=f"{group!r} is the operation's own group")
            elif group in seen:
                yield c.on(op, *at, "group", message=f"{group!r} is named twice")
            else:
                seen.add(group)
            access = entry.get("access")
            if access not in ACCESS:
                yield _enum_problem(c, op.file, op.parts + at, "access", access, ACCESS)
            elif access == "write" and reading.access(op.node) == "read":
                yield c.on(op, *at, "access", message="a read operation writes no other group")
            if "fields" in entry:
                yield from _reach_fields(c, op, at, entry["fields"])


def _reach_fields(c: Checker, op: Operation, at: tuple[Any, ...], fields: Any) -> Iterator[Problem]:
    """The fields of a field-level mark: distinct top-level fields of the request body."""
    if not isinstance(fields, list) or not fields:
        yield c.on(op, *at, "fields", message="must be a non-empty list of request body fields")
        return
    body = c.json_schema_of(op.node.get("requestBody"), op.file)
    known = c.properties(body) if body is not None else {}
    for index, name in enumerate(fields):
        if not isinstance(name, str) or name not in known:
            yield c.on(
                op, *at, "fields", index,
                message=f"{name!r} is not a top-level field of the request body schema",
            )  # fmt: skip
        elif fields.index(name) != index:
            yield c.on(op, *at, "fields", index, message=f"{name!r} is listed twice")


def check_idempotency(c: Checker) -> Iterator[Problem]:
    """x-postmark-idempotency names a Metadata field of the body (or of each message) and a
    search operation with an x-postmark-query-prefix parameter; the prefix is on an object."""
    searches = {
        op.node.get("operationId"): op
        for op in c.operations
        if any(
            reading.query_prefix(c.deref(param)) is not None
            for param in sequence(op.node.get("parameters"))
        )
    }
    for op in c.operations:
        raw = reading.idempotency(op.node)
        if raw is None:
            continue
        if not isinstance(raw, dict) or not isinstance(raw.get("metadata"), str):
            yield c.on(op, "x-postmark-idempotency", message="needs metadata: the Metadata field")
            continue
        body = c.json_schema_of(op.node.get("requestBody"), op.file)
        name = raw["metadata"].rpartition(".")[2]
        if body is None or _find_field(c, body, name) is None:
            yield c.on(
                op, "x-postmark-idempotency", "metadata",
                message=f"{raw['metadata']!r} is not a field of the request body schema",
            )  # fmt: skip
        search = raw.get("search")
        if search is not None and search not in searches:
            yield c.on(
                op, "x-postmark-idempotency", "search",
                message=f"{search!r} is not an operation with an x-postmark-query-prefix parameter",
            )  # fmt: skip
    for op in searches.values():
        for index, param in enumerate(sequence(op.node.get("parameters"))):
            param = mapping(c.deref(param))
            prefix = reading.query_prefix(param)
            if prefix is None:
                continue
            schema = mapping(c.deref(param.get("schema")))
            if not isinstance(prefix, str) or not prefix or param.get("in") != "query":
                yield c.on(
                    op, "parameters", index, "x-postmark-query-prefix",
                    message="must be a non-empty string on a query parameter",
                )  # fmt: skip
            elif "object" not in _schema_type(schema):
                yield c.on(
                    op, "parameters", index, "x-postmark-query-prefix",
                    message="needs an object schema (its entries are sent as <prefix><key>)",
                )  # fmt: skip


def check_python_names(c: Checker) -> Iterator[Problem]:
    """x-python-name of operations: present, a non-keyword identifier, unique within the group."""
    first: dict[tuple[Any, str], Operation] = {}
    for op in c.operations:
        name = reading.method_name(op.node)
        group = reading.the_tag(op.node)
        if name is None:
            yield c.on(op, message="x-python-name (the method name in its group) is missing")
        elif not _is_identifier(name):
            yield c.on(op, "x-python-name", message=f"{name!r} is not a valid Python identifier")
        elif (group, name) in first:
            other = dotted(first[(group, name)].parts)
            yield c.on(
                op,
                "x-python-name",
                message=f"{name!r} is also the Python name of {other} in group {group!r}",
            )
        else:
            first[(group, name)] = op
    for param, location in _all_parameters(c):
        name = reading.python_name(param)
        if name is not None and not _is_identifier(name):
            yield c.at(location + ("x-python-name",), f"{name!r} is not a valid Python identifier")


def _all_parameters(c: Checker) -> Iterator[tuple[dict[str, Any], tuple[Any, ...]]]:
    for name, param in mapping(mapping(c.root.get("components")).get("parameters")).items():
        if isinstance(param, dict):
            yield param, ("components", "parameters", name)
    for op in c.operations:
        for index, param in enumerate(sequence(op.node.get("parameters"))):
            if isinstance(param, dict) and "$ref" not in param and op.file == c.root_file:
                yield param, op.parts + ("parameters", index)


def check_servers(c: Checker) -> Iterator[Problem]:
    """Every servers[].url is an absolute https:// URL: it becomes the client's default base URL."""
    holders: list[tuple[Any, tuple[Any, ...]]] = [(c.root, ())]
    for path, item in mapping(c.root.get("paths")).items():
        holders.append((item, ("paths", path)))
        for method in HTTP_METHODS:
            holders.append((mapping(item).get(method), ("paths", path, method)))
    for holder, parts in holders:
        for index, server in enumerate(sequence(mapping(holder).get("servers"))):
            url = mapping(server).get("url")
            if not isinstance(url, str) or not SERVER_URL.fullmatch(url):
                yield c.at(
                    parts + ("servers", index, "url"),
                    f"{url!r} is not an absolute https:// URL "
                    "(https://host[:port][/path]; no quotes, spaces, query or control characters)",
                )


def check_header_names(c: Checker) -> Iterator[Problem]:
    """The header names of apiKey security schemes and of header parameters are HTTP tokens."""
    for name, scheme in c.security_schemes.items():
        scheme = mapping(scheme)
        if scheme.get("in") == "header" and "name" in scheme:
            yield from _header_name(c, c.root_file, ("components", "securitySchemes", name), scheme)
    for name, param in mapping(mapping(c.root.get("components")).get("parameters")).items():
        if isinstance(param, dict) and param.get("in") == "header":
            yield from _header_name(c, c.root_file, ("components", "parameters", name), param)
    for op in c.operations:
        for param, location in c.parameters(op):
            if param.get("in") == "header":
                yield from _header_name(c, op.file, location, param)


def _header_name(
    c: Checker, file: Path, parts: tuple[Any, ...], holder: dict[str, Any]
) -> Iterator[Problem]:
    name = holder.get("name")
    if not isinstance(name, str) or not HTTP_TOKEN.fullmatch(name):
        yield c.problem(
            file,
            parts + ("name",),
            f"{name!r} is not an HTTP header name (RFC 9110 token characters only)",
        )


# Keys whose string value is a name; list keys whose string items are names. Example data is not
# names, and descriptions may hold newlines: neither is checked here.
_NAME_VALUES = frozenset(
    {"operationId", "x-python-name", "name", "propertyName", "x-postmark-record-type",
     "x-postmark-webhook-event"}
)  # fmt: skip
_NAME_LISTS = frozenset({"tags", "enum", "required"})
_DATA_KEYS = frozenset({"example", "examples", "default", "const"})


def check_control_characters(c: Checker) -> Iterator[Problem]:
    """No name holds a control character: keys, operationIds, Python names, tags, parameter
    names, enum values, info.title, info.version and the license name."""
    for _ in _ref_problems(c):  # loads every file a $ref reaches into spec.documents
        pass
    info = mapping(c.root.get("info"))
    for key in ("title", "version"):
        yield from _control_in_value(c, c.root_file, ("info", key), info.get(key))
    for file in [c.root_file] + [f for f in c.spec.documents if f != c.root_file]:
        yield from _control_in_names(c, file, c.spec.documents.get(file, c.root), ())


def _control_in_value(
    c: Checker, file: Path, parts: tuple[Any, ...], value: Any
) -> Iterator[Problem]:
    char = _control_character(value) if isinstance(value, str) else None
    if char is not None:
        yield c.problem(file, parts, f"{value!r} contains the control character U+{ord(char):04X}")


def _control_in_names(
    c: Checker, file: Path, node: Any, parts: tuple[Any, ...]
) -> Iterator[Problem]:
    if isinstance(node, dict):
        for key, value in node.items():
            char = _control_character(key) if isinstance(key, str) else None
            if char is not None:
                yield c.problem(
                    file, parts,
                    f"the name {key!r} contains the control character U+{ord(char):04X}",
                )  # fmt: skip
                continue
            if key in _DATA_KEYS:
                continue
            if key in _NAME_VALUES:
                yield from _control_in_value(c, file, parts + (key,), value)
            elif key in _NAME_LISTS and isinstance(value, list):
                for index, item in enumerate(value):
                    yield from _control_in_value(c, file, parts + (key, index), item)
            yield from _control_in_names(c, file, value, parts + (key,))
    elif isinstance(node, list):
        for index, item in enumerate(node):
            yield from _control_in_names(c, file, item, parts + (index,))


def check_reserved_names(c: Checker) -> Iterator[Problem]:
    """Python names are no dunders and no names the generated classes use themselves
    (naming.MODEL_RESERVED, RESOURCE_RESERVED, CLIENT_RESERVED, ARGUMENT_RESERVED)."""
    for op in c.operations:
        yield from _reserved(
            c, op.file, op.parts + ("x-python-name",), reading.method_name(op.node),
            naming.RESOURCE_RESERVED, "is already used by the generated resource classes; "
            "choose another x-python-name",
        )  # fmt: skip
    for index, tag in enumerate(sequence(c.root.get("tags"))):
        yield from _reserved(
            c, c.root_file, ("tags", index, "x-python-name"), reading.group_name(mapping(tag)),
            naming.CLIENT_RESERVED, "is already used by the generated client classes; "
            "choose another x-python-name",
        )  # fmt: skip
    yield from _property_names(c)
    yield from _argument_names(c)


def _reserved(
    c: Checker, file: Path, parts: tuple[Any, ...], name: Any, reserved: frozenset[str], why: str
) -> Iterator[Problem]:
    if not isinstance(name, str):
        return
    if naming.is_dunder(name):
        yield c.problem(file, parts, f"{name!r} is a dunder name, reserved by Python")
    elif name in reserved:
        yield c.problem(file, parts, f"{name!r} {why}")


def _python_name(
    c: Checker, file: Path, parts: tuple[Any, ...], wire: Any, holder: dict[str, Any]
) -> tuple[str | None, list[Problem]]:
    """The Python name build gives a property or parameter, or the problems that stop it."""
    if not isinstance(wire, str):
        return None, []
    try:
        return reading.python_name_of(wire, holder), []
    except reading.NameProblem as exc:
        where = parts + ("x-python-name",) if exc.at_override else parts
        return None, [c.problem(file, where, exc.message)]


def _property_names(c: Checker) -> Iterator[Problem]:
    for file in [c.root_file] + [f for f in c.spec.documents if f != c.root_file]:
        for parts, props in _properties_in(c.spec.documents.get(file, c.root), ()):
            for wire, prop in props.items():
                where = parts + ("properties", wire)
                name, problems = _python_name(c, file, where, wire, mapping(prop))
                yield from problems
                if name is None:
                    continue
                if naming.is_dunder(name):
                    yield c.problem(
                        file,
                        where,
                        f"the Python name {name!r} is a dunder name, reserved by Python",
                    )
                elif name in naming.MODEL_RESERVED:
                    yield c.problem(
                        file, where,
                        f"the Python name {name!r} is already used by the generated model classes; "
                        "set another x-python-name",
                    )  # fmt: skip


def _properties_in(
    node: Any, parts: tuple[Any, ...]
) -> Iterator[tuple[tuple[Any, ...], dict[Any, Any]]]:
    """Every `properties` mapping of a document (example data skipped), with its holder's path."""
    if isinstance(node, dict):
        if isinstance(node.get("properties"), dict):
            yield parts, node["properties"]
        for key, value in node.items():
            if key not in _DATA_KEYS:
                yield from _properties_in(value, parts + (key,))
    elif isinstance(node, list):
        for index, item in enumerate(node):
            yield from _properties_in(item, parts + (index,))


def _argument_names(c: Checker) -> Iterator[Problem]:
    """Path and query parameters, and the fields of an object request body, become arguments."""
    why = "is already used inside the generated method; set another x-python-name"
    for op in c.operations:
        for param, location in c.parameters(op):
            if param.get("in") not in ("path", "query"):
                continue
            name, problems = _python_name(c, op.file, location, param.get("name"), param)
            if reading.python_name(param) is None:  # check_python_names reports a bad x-python-name
                yield from problems
            if name is None:
                continue
            if naming.is_dunder(name):
                yield c.problem(
                    op.file,
                    location,
                    f"the Python name {name!r} is a dunder name, reserved by Python",
                )
            elif name in naming.ARGUMENT_RESERVED:
                yield c.problem(op.file, location, f"the Python name {name!r} {why}")
        body = c.json_schema_of(op.node.get("requestBody"), op.file)
        if reading.is_batch(op.node) or (
            "object" not in _schema_type(body) and "properties" not in mapping(body)
        ):
            continue  # a batch or an array body is the one argument `messages`
        for wire, prop in c.properties(body).items():
            try:
                name = reading.python_name_of(str(wire), mapping(prop))
            except reading.NameProblem:
                continue  # _property_names reports it where the field is written
            if name in naming.ARGUMENT_RESERVED:
                yield c.on(
                    op, "requestBody",
                    message=f"field {wire!r} becomes the argument {name!r}, which {why}",
                )  # fmt: skip


def check_success_response(c: Checker) -> Iterator[Problem]:
    """Every operation answers 200 with a named JSON schema and an example."""
    for op in c.operations:
        responses = mapping(op.node.get("responses"))
        if "200" not in responses:
            if 200 not in responses:  # an unquoted 200: check_keys reports it
                yield c.on(op, "responses", message="has no 200 response")
            continue
        content = mapping(mapping(c.deref(responses["200"], op.file)).get("content")).get(JSON)
        if not isinstance(content, dict) or "schema" not in content:
            yield c.on(op, "responses", "200", message=f"has no {JSON} schema")
            continue
        if not _named_schema(mapping(content["schema"]).get("$ref")):
            yield c.on(
                op,
                "responses",
                "200",
                message="schema must be a $ref to a named schema in components/schemas",
            )
        if "example" not in content and not content.get("examples"):
            yield c.on(op, "responses", "200", message="has no example")


def check_error_responses(c: Checker) -> Iterator[Problem]:
    """Every operation declares the shared error responses 401, 422, 429, 500 and 503."""
    for op in c.operations:
        responses = mapping(op.node.get("responses"))
        missing = [s for s in ERROR_RESPONSES if s not in responses and int(s) not in responses]
        if missing:
            yield c.on(
                op, "responses", message=f"missing the shared error responses {', '.join(missing)}"
            )


def check_request_body(c: Checker) -> Iterator[Problem]:
    """A request body is `required: true` and a `$ref` to a named schema."""
    for op in c.operations:
        if "requestBody" not in op.node:
            continue
        body = mapping(c.deref(op.node["requestBody"], op.file))
        if body.get("required") is not True:
            yield c.on(op, "requestBody", message="must say required: true")
        schema = mapping(mapping(mapping(body.get("content")).get(JSON)).get("schema"))
        if not _named_schema(schema.get("$ref")):
            yield c.on(
                op,
                "requestBody",
                message="schema must be a $ref to a named schema in components/schemas",
            )


SECRET_LOOKING = re.compile(r"token|password|secret", re.IGNORECASE)


def check_secrets(c: Checker) -> Iterator[Problem]:
    """x-postmark-secret is a boolean; a property named like a token, password or secret says
    whether it is one (a secret is kept out of the model's repr)."""
    schemas = mapping(mapping(c.root.get("components")).get("schemas"))
    for name, schema in schemas.items():
        yield from _secret_problems(c, schema, ("components", "schemas", name))


def _secret_problems(c: Checker, node: Any, parts: tuple[Any, ...]) -> Iterator[Problem]:
    if isinstance(node, list):
        for index, item in enumerate(node):
            yield from _secret_problems(c, item, parts + (index,))
        return
    if not isinstance(node, dict):
        return
    for key, value in node.items():
        if key in ("example", "examples", "enum", "const", "default"):
            continue
        if key == "properties" and isinstance(value, dict):
            for prop, sub in value.items():
                at = parts + ("properties", prop)
                flag = reading.secret(sub)
                if flag is not None:
                    if not isinstance(flag, bool):
                        yield c.at(
                            at + ("x-postmark-secret",),
                            f"must be true or false, got {flag!r}",
                        )
                elif isinstance(prop, str) and SECRET_LOOKING.search(prop):
                    yield c.at(
                        at,
                        f"{prop!r} looks like a secret: mark it x-postmark-secret: true (kept out "
                        "of reprs), or false if it is not one",
                    )
                yield from _secret_problems(c, sub, at)
        else:
            yield from _secret_problems(c, value, parts + (key,))


def check_webhooks(c: Checker) -> Iterator[Problem]:
    """Each webhook: a `post` with a named payload schema, an example, and its RecordType."""
    payload = mapping(
        mapping(mapping(c.root.get("components")).get("schemas")).get("WebhookPayload")
    )
    one_of = {mapping(member).get("$ref") for member in sequence(payload.get("oneOf"))}
    for event, item in c.webhooks.items():
        post = mapping(c.deref(item)).get("post")
        if not isinstance(post, dict):
            yield c.at(("webhooks", event), "a webhook is a post (Postmark POSTs the payload)")
            continue
        content = mapping(
            mapping(mapping(c.deref(post.get("requestBody"))).get("content")).get(JSON)
        )
        ref = mapping(content.get("schema")).get("$ref")
        at = ("webhooks", event, "post")
        if not _named_schema(ref):
            yield c.at(
                at + ("requestBody",),
                "schema must be a $ref to a named schema in components/schemas",
            )
        elif ref not in one_of:
            yield c.at(
                at + ("requestBody",),
                f"{ref} is not one of components.schemas.WebhookPayload.oneOf",
            )
        if "example" not in content and not content.get("examples"):
            yield c.at(at + ("requestBody",), "has no example")
        record_type = reading.record_type(post)
        if record_type != event:
            yield c.at(
                at,
                f"x-postmark-record-type is {record_type!r}, must be the webhook's key {event!r}",
            )
    if c.webhooks and mapping(payload.get("discriminator")).get("propertyName") != "RecordType":
        yield c.at(
            ("components", "schemas", "WebhookPayload"),
            "needs discriminator: {propertyName: RecordType}",
        )


def check_error_codes(c: Checker) -> Iterator[Problem]:
    """components.x-postmark-error-codes: unique codes and PascalCase names, each with a meaning."""
    at = ("components", "x-postmark-error-codes")
    codes = reading.error_codes(c.root.get("components"))
    if codes is None:
        return
    if not isinstance(codes, list):
        yield c.at(at, "must be a list of {code, name, meaning, verified}")
        return
    first: dict[tuple[str, Any], int] = {}
    for index, entry in enumerate(codes):
        entry = mapping(entry)
        code, name = entry.get("code"), entry.get("name")
        if not isinstance(code, int) or isinstance(code, bool):
            yield c.at(at + (index, "code"), f"{code!r} is not an integer")
        if not isinstance(name, str) or not PASCAL_CASE.match(name):
            yield c.at(at + (index, "name"), f"{name!r} is not a PascalCase name")
        for key, value in (("code", code), ("name", name)):
            if value is not None and (key, value) in first:
                yield c.at(
                    at + (index, key), f"{value!r} is also the {key} of entry {first[(key, value)]}"
                )
            first.setdefault((key, value), index)
        if not isinstance(entry.get("meaning"), str) or not entry.get("meaning"):
            yield c.at(at + (index,), "meaning is missing")
        if not isinstance(entry.get("verified"), bool):
            yield c.at(at + (index,), "verified must be true or false")


def check_release_notes(c: Checker) -> Iterator[Problem]:
    """x-postmark-release-notes: dated oldest first; info.version is the newest date with dots."""
    notes = reading.release_notes(c.root)
    if not isinstance(notes, list) or not notes:
        yield c.at(
            "x-postmark-release-notes", "must list the dated release notes the spec reflects"
        )
        return
    dates: list[str] = []
    dates_valid = True
    op_ids = {op.node.get("operationId") for op in c.operations}
    for index, note in enumerate(notes):
        note = mapping(note)
        at = ("x-postmark-release-notes", index)
        date = note.get("date")
        if isinstance(date, datetime.date):
            yield c.at(
                at + ("date",),
                f"{date} must be quoted ('{date}'): unquoted, YAML reads it as a date",
            )
            dates_valid = False
            continue
        if not isinstance(date, str) or not RELEASE_DATE.match(date):
            yield c.at(at + ("date",), f"{date!r} is not a 'YYYY-MM' or 'YYYY-MM-DD' date")
            dates_valid = False
            continue
        if dates and date < dates[-1]:
            yield c.at(
                at + ("date",), f"{date} comes after {dates[-1]}; list release notes oldest first"
            )
        dates.append(date)
        for position, op_id in enumerate(sequence(note.get("operations"))):
            if op_id not in op_ids:
                yield c.at(at + ("operations", position), f"{op_id!r} is not an operationId")
    newest = max(dates, default=None)
    version = mapping(c.root.get("info")).get("version")
    # A non-string version is an OpenAPI error already; a bad date leaves "newest" unknown.
    if newest and dates_valid and isinstance(version, str) and version != newest.replace("-", "."):
        yield c.at(
            ("info", "version"),
            f"{version!r} must be the newest release note's date with dots: {newest.replace('-', '.')!r}",
        )


RESOURCE_ACTIONS = ("create", "list", "get", "edit", "delete", "archive", "unarchive")


def check_resource(c: Checker) -> Iterator[Problem]:
    """x-postmark-resource: enough for a generic fake to store, list, read, edit and delete records.

    `collection` (snake_case) and `action` always; `id` is the record's id field, found in the
    records the operation returns; `id-param` is the path parameter holding the id (exactly on the
    actions on one record); `list` is the 200 response field holding the records (list only);
    `filters` maps a query parameter to the record field it must equal (list only). Operations of
    one collection agree on `id`, and each action appears once per collection.
    """
    seen: dict[tuple[Any, Any], Operation] = {}
    ids: dict[Any, tuple[Any, Operation]] = {}
    for op in c.operations:
        res = reading.resource_value(op.node)
        if res is None:
            continue
        at = ("x-postmark-resource",)
        if not isinstance(res, dict):
            yield c.on(op, *at, message="must be a mapping of " + ", ".join(RESOURCE_KEYS))
            continue
        for key in res:
            if key not in RESOURCE_KEYS:
                yield c.on(
                    op, *at, key, message=f"{key!r} is not one of {', '.join(RESOURCE_KEYS)}"
                )
        collection, action, id_field = res.get("collection"), res.get("action"), res.get("id")
        if not isinstance(collection, str) or not SNAKE_CASE.match(collection):
            yield c.on(op, *at, "collection", message=f"{collection!r} is not a snake_case name")
        if action not in RESOURCE_ACTIONS:
            yield _enum_problem(c, op.file, op.parts + at, "action", action, RESOURCE_ACTIONS)
            continue
        if not isinstance(id_field, str) or not id_field:
            yield c.on(op, *at, message="id (the record's id field) is missing")
            continue
        if (collection, action) in seen:
            other = dotted(seen[(collection, action)].parts)
            yield c.on(op, *at, "action", message=f"{collection}.{action} is also {other}")
        seen.setdefault((collection, action), op)
        if collection in ids and ids[collection][0] != id_field:
            other = dotted(ids[collection][1].parts)
            yield c.on(op, *at, "id", message=f"{id_field!r} differs from the id of {other}")
        ids.setdefault(collection, (id_field, op))
        # id-param: a path parameter, exactly where one record is named by the path.
        paths = {p.get("name") for p, _ in c.parameters(op) if p.get("in") == "path"}
        one_record = action not in ("create", "list")
        if one_record and res.get("id-param") not in paths:
            yield c.on(
                op,
                *at,
                message=f"id-param must name the path parameter holding the id, one of {sorted(map(str, paths))}",
            )
        elif not one_record and "id-param" in res:
            yield c.on(op, *at, "id-param", message=f"a {action} names no record: drop id-param")
        # list and filters only on list; the records (the 200 body, or its list items) hold `id`.
        schema = c.json_schema_of(mapping(op.node.get("responses")).get("200"), op.file)
        fields = c.properties(schema) if schema is not None else {}
        for key in ("list", "filters"):
            if action != "list" and key in res:
                yield c.on(op, *at, key, message=f"only a list has {key}")
        record: Any = None
        if action == "list":
            name = res.get("list")
            if name not in fields:
                yield c.on(
                    op, *at, "list", message=f"{name!r} is not a field of the 200 response schema"
                )
            elif "array" not in _schema_type(c.deref(fields[name])):
                yield c.on(
                    op, *at, "list", message=f"field {name!r} of the 200 response is not an array"
                )
            else:
                record = mapping(c.deref(fields[name])).get("items")
            for param, field_name in mapping(res.get("filters")).items():
                if c.query_parameter(op, param) is None:
                    yield c.on(
                        op, *at, "filters", param, message=f"{param!r} is not a query parameter"
                    )
                if record is not None and field_name not in c.properties(record):
                    yield c.on(
                        op,
                        *at,
                        "filters",
                        param,
                        message=f"{field_name!r} is not a field of the records",
                    )
        elif action in ("create", "get", "edit", "unarchive"):
            record = schema
        if record is not None and id_field not in c.properties(record):
            yield c.on(
                op,
                *at,
                "id",
                message=f"{id_field!r} is not a field of the records this operation returns",
            )


Rule = Callable[[Checker], Iterable[Problem]]

# The rules, in the order they run. openapi-spec-validator comes first; each later rule tolerates
# a document the earlier ones found broken, so one run reports everything.
RULES: list[Rule] = [
    check_openapi_document,
    check_duplicate_keys,
    check_keys,
    check_refs,
    check_operation_ids,
    check_operation_tag,
    check_tag_declarations,
    check_security_schemes,
    check_operation_security,
    check_path_parameters,
    check_success_response,
    check_error_responses,
    check_request_body,
    check_schemas,
    check_schema_keywords,
    check_examples,
    extension_enum(reading.ACCESS, ACCESS),
    extension_enum(reading.RETRY, RETRY),
    extension_enum(reading.ACTS_ON, ACTS_ON),
    check_webhook_event,
    check_paging,
    check_limits,
    check_batch,
    check_default_stream,
    check_reaches,
    check_idempotency,
    check_python_names,
    check_servers,
    check_header_names,
    check_control_characters,
    check_reserved_names,
    check_secrets,
    check_webhooks,
    check_error_codes,
    check_release_notes,
    check_resource,
]


# What a structure digest (generator/prose.py) cannot see, so they run on every spec whose
# structure validated cleanly before: the YAML text (a duplicate key is gone once loaded) and the
# rules that read the text of a description or summary (a tag's description must be there).
TEXT_RULES: list[Rule] = [check_duplicate_keys, check_tag_declarations]


# The rules that run before all others, which run only when these find nothing: the validators
# would follow a circular $ref until Python's recursion limit, and match examples against a
# pattern that backtracks for hours.
GATE_RULES: list[Rule] = [check_ref_cycles, check_patterns]


def validate_spec(spec: Spec) -> list[Problem]:
    """Run every rule; return all problems, without duplicates, in rule order."""
    return _run(spec, GATE_RULES, RULES)


def validate_texts(spec: Spec) -> list[Problem]:
    """Run TEXT_RULES only: enough for a spec whose structure is known to be valid."""
    return _run(spec, TEXT_RULES)


def _run(spec: Spec, *stages: list[Rule]) -> list[Problem]:
    """Run the stages' rules in order; a stage that finds a problem is the last one run."""
    checker = Checker(spec)
    problems: list[Problem] = []
    for rules in stages:
        for rule in rules:
            try:
                found = list(rule(checker))
            except Exception as exc:  # noqa: BLE001 - never a traceback for bad input
                found = [
                    checker.at(
                        "", f"rule {rule.__name__} could not finish: {type(exc).__name__}: {exc}"
                    )
                ]
            problems.extend(p for p in found if p not in problems)
        if problems:
            break
    return problems


def summary(spec: Spec) -> str:
    """`40 operations in 9 groups (20 read, 20 write), 2 security schemes, 7 webhook events`."""
    checker = Checker(spec)
    ops = checker.operations
    reads = sum(reading.access(op.node) == "read" for op in ops)
    writes = sum(reading.access(op.node) == "write" for op in ops)
    return (
        f"{_count(len(ops), 'operation')} in {_count(len(checker.tags), 'group')} "
        f"({reads} read, {writes} write), {_count(len(checker.security_schemes), 'security scheme')}, "
        f"{_count(len(checker.webhooks), 'webhook event')}"
    )


def _count(n: int, noun: str) -> str:
    return f"{n} {noun}" if n == 1 else f"{n} {noun}s"


def run(path: str | Path) -> int:
    """Validate the spec at `path`; print problems or the summary. Exit 0 clean, 1 problems, 2 unreadable."""
    try:
        spec = load_spec(path)
    except SpecLoadError as exc:
        print(f"{exc}", file=sys.stderr)
        print("cannot validate: the spec is unreadable", file=sys.stderr)
        return 2
    problems = validate_spec(spec)
    for problem in problems:
        print(problem)
    if problems:
        print(f"{_count(len(problems), 'problem')} in {spec.display_path}")
        return 1
    print(f"{summary(spec)}: OK")
    return 0
