# Copied by postmark-codegen from templates/static/postmark_client/testing/_wire.py;
# edit it there and regenerate, not here.
"""How the fake Postmark reads a request, from the spec: which operation a method and path are,
which token header it needs, and whether its path, query and body fit the spec.

The tables it reads are generated from the spec (`_schemas.py`, the operation table and
`_spec.py`), so a spec change reaches the fake with the client.
Checks return `Problem`s; the handlers decide which Postmark ErrorCode a problem becomes.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any, Final
from urllib.parse import unquote, urlsplit

from .._meta import Operation, Param
from .._operations import OPERATIONS
from ..rules import is_address
from ._schema_types import V
from ._schemas import ENUMS, MODEL_KEYS, SCHEMAS
from ._state import Rejected


def _needed(table: Mapping[str, tuple[str, ...]], kind: str, name: str) -> tuple[str, ...]:
    """The fake is written for Postmark's schemas: a spec without one it names fails at import,
    naming it."""
    if name not in table:
        raise LookupError(
            f"the fake Postmark needs the {kind} {name!r} (components.schemas.{name}), "
            "which the spec this package was generated from does not have"
        )
    return table[name]


def model_keys(name: str) -> tuple[str, ...]:
    """The wire names of schema `name`'s fields, in spec order."""
    return _needed(MODEL_KEYS, "schema", name)


def schema_keys(*names: str) -> dict[str, tuple[str, ...]]:
    """The wire names of the fields of each schema of `names`, by schema name."""
    return {name: model_keys(name) for name in names}


def enum_values(name: str) -> tuple[str, ...]:
    """The values of the spec's enum `name`."""
    return _needed(ENUMS, "enum", name)


# The field names of the answers the fake shapes, by schema (a search answers these fields of
# each record, details answer all); read at import, so a spec without one fails at once.
KEYS: Final = schema_keys(
    "OutboundMessage",
    "Bounce",
    "TemplateSummary",
    "DomainListItem",
    "SenderSignatureListItem",
    "DKIMRotationResponse",
    "UpsertTemplateResponse",
    "InboundMessage",
    "SendEmailResponse",
    "OpenEvent",
    "ClickEvent",
)
BOUNCE_TYPES: Final = enum_values("BounceType")
SERVER_COLORS: Final = enum_values("ServerColor")


def answer_in_shape(
    keys: Iterable[str], facts: Mapping[str, Any], request: Mapping[str, Any]
) -> dict[str, Any]:
    """An answer with the response schema's fields (`keys`, in spec order): each from `facts`
    (what the fake decided), else echoed from the request's field of that name when it was
    given, so a field a spec edit adds to an answer (a send's Tag) is answered after
    regenerating. Fields with neither are left out, and so are facts the schema does not name."""
    answer: dict[str, Any] = {}
    for key in keys:
        if key in facts:
            answer[key] = facts[key]
        elif request.get(key) is not None:
            answer[key] = request[key]
    return answer


def _body_kind(op: Operation) -> tuple[str, str]:
    if op.body_is_array:
        assert op.body_item_schema is not None, op.id
        return "array", op.body_item_schema
    assert op.body_schema is not None, op.id
    return "object", op.body_schema


# Each operation's body: "object" or "array", and the schema of the object (or of the items).
BODIES: Final[dict[str, tuple[str, str]]] = {
    op.id: _body_kind(op) for op in OPERATIONS.values() if op.body_schema is not None
}


@dataclass(frozen=True, slots=True)
class Problem:
    """Why a request does not fit the spec: `kind` (required, unknown, type, enum, format,
    max_length, min_length, pattern, max_items, min_items, minimum, maximum, any_of), the
    field's wire path (`Headers[0].Name`) and a sentence for the error message."""

    kind: str
    field: str
    message: str

    @property
    def name(self) -> str:
        """The top-level field's name (`Headers` for `Headers[0].Name`)."""
        return re.split(r"[.\[]", self.field, maxsplit=1)[0]


# ---- routing -----------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Route:
    op: Operation
    pattern: re.Pattern[str]


def _route(op: Operation) -> Route:
    parts = []
    for segment in op.path.strip("/").split("/"):
        match = re.fullmatch(r"\{([^}]+)\}", segment)
        parts.append(f"(?P<{match.group(1)}>[^/]+)" if match else re.escape(segment))
    # Postmark matches paths case-insensitively and tolerates a trailing slash.
    return Route(op, re.compile("^/" + "/".join(parts) + "/?$", re.IGNORECASE))


# Literal paths first, so `/templates/validate` is never read as a template ID.
ROUTES: Final[tuple[Route, ...]] = tuple(
    _route(op) for op in sorted(OPERATIONS.values(), key=lambda op: op.path.count("{"))
)


@dataclass(frozen=True, slots=True)
class RouteMatch:
    """The operation of a method and path (None when there is none) with the raw path values;
    `path_known` tells an unknown path (404) from a known path with another method (405)."""

    op: Operation | None
    values: dict[str, str]
    path_known: bool


def route(method: str, path: str) -> RouteMatch:
    path_known = False
    for candidate in ROUTES:
        match = candidate.pattern.match(path)
        if match is None:
            continue
        path_known = True
        if candidate.op.method == method.upper():
            return RouteMatch(
                candidate.op, {k: unquote(v) for k, v in match.groupdict().items()}, True
            )
    return RouteMatch(None, {}, path_known)


# ---- parameters --------------------------------------------------------------------------------


def read_path(op: Operation, raw: Mapping[str, str]) -> dict[str, Any] | None:
    """The path values, typed; None when one cannot name anything (`bounceid=abc`, `0`)."""
    values: dict[str, Any] = {}
    for param in op.path_params:
        text = raw[param.wire]
        if param.type == "integer":
            if not re.fullmatch(r"\d{1,18}", text):
                return None
            number = int(text)
            if param.minimum is not None and number < param.minimum:
                return None
            values[param.wire] = number
        else:
            if not text.strip():
                return None
            values[param.wire] = text
    return values


def read_query(
    op: Operation,
    pairs: Iterable[tuple[str, str]],
    code: int,
    param_codes: Mapping[str, int] | None = None,
) -> tuple[dict[str, Any], dict[str, str]]:
    """The operation's query parameters, typed and checked (Postmark matches names
    case-insensitively), and the other parameters as given. A bad value is Rejected with
    `param_codes[name]`, else `code`."""
    by_name = {param.wire.lower(): param for param in op.query_params}
    values: dict[str, Any] = {}
    others: dict[str, str] = {}
    for key, text in pairs:
        param = by_name.get(key.lower())
        if param is None:
            others[key] = text
        else:
            values[param.wire] = _query_value(
                param, text, (param_codes or {}).get(param.wire, code)
            )
    for param in op.query_params:
        if param.required and param.wire not in values:
            raise Rejected(code, f"The '{param.wire}' query parameter is required.")
    if op.paging is not None:
        count = values.get(op.paging.count, 0)
        offset = values.get(op.paging.offset, 0)
        if count + offset > op.paging.max_reachable:
            raise Rejected(
                code,
                f"'{op.paging.count}' + '{op.paging.offset}' may not exceed "
                f"{op.paging.max_reachable}; narrow the search with filters.",
            )
    return values, others


def _query_value(param: Param, text: str, code: int) -> Any:
    def bad(why: str) -> Rejected:
        return Rejected(code, f"The '{param.wire}' query parameter {why}: {text!r}.")

    if param.type == "integer":
        if not re.fullmatch(r"-?\d{1,18}", text.strip()):
            raise bad("must be an integer")
        number = int(text)
        if param.minimum is not None and number < param.minimum:
            raise bad(f"must be at least {param.minimum}")
        if param.maximum is not None and number > param.maximum:
            raise bad(f"must be at most {param.maximum}")
        return number
    if param.type == "boolean":
        if text.lower() not in ("true", "false"):
            raise bad("must be true or false")
        return text.lower() == "true"
    if param.enum is not None:
        for allowed in param.enum:
            if allowed.lower() == text.lower():
                return allowed
        raise bad("must be one of " + ", ".join(param.enum))
    if param.format == "date" and not _is_date(text):
        raise bad("must be a date (YYYY-MM-DD)")
    if param.pattern is not None and re.search(param.pattern, text) is None:
        raise bad("is not in the expected format")
    if re.match(r"\d{4}-\d{2}-\d{2}", text) and not _is_moment(text):
        raise bad("is not a valid date")
    return text


# ---- bodies ------------------------------------------------------------------------------------


# How Postmark reads a request body's fields (what `check_object` and `normalize` follow):
# - An explicit JSON null for an optional field means "not given": real SDKs send one for every
#   field left unset (the spec's request schemas allow it, see spec/CONVENTIONS.md).
# - A field Postmark does not know is ignored, not refused. Postmark's API binds request JSON
#   to its models and, since its validation change of 2023-11-28 ("Changes to Email API
#   validation", postmarkapp.com/updates/changes-to-email-api-validation-action-may-be-required),
#   refuses with ErrorCode 403 "Invalid request field(s): $.Field" a known field whose value
#   does not bind: the recorded case is a Metadata sent as a JSON array
#   (github.com/ActiveCampaign/postmark-wordpress/issues/113). That announcement lists malformed
#   JSON, wrong headers and mismatched field types as the refusals, and no refusal of unknown
#   names; the `$.Field` path form is .NET System.Text.Json's, whose binding skips unmapped
#   members by default. (Inferred from these sources; no Postmark page states it in so many
#   words.) Postmark's own rules about a field a call must not have stay (a Subject with a
#   template is ErrorCode 1123): callers name those in `refuse`.


def check_object(
    schema_name: str, value: Any, path: str = "", refuse: Iterable[str] = ()
) -> Problem | None:
    """The first way `value` does not fit the request schema `schema_name`, or None. Nulls of
    optional fields and unknown fields pass (see above), except unknown fields named in
    `refuse` and given a value (not null), which are Problems of kind `unknown`."""
    schema = SCHEMAS[schema_name]
    if not isinstance(value, dict):
        return Problem("type", path or "(body)", f"{_where(path)} must be a JSON object")
    for name in schema.required:
        if value.get(name) is None:
            return Problem("required", _join(path, name), f"'{_join(path, name)}' is required")
    if schema.any_of and not any(
        all(value.get(n) is not None for n in group) for group in schema.any_of
    ):
        names = " or ".join("+".join(group) for group in schema.any_of)
        return Problem("any_of", path or names, f"{names} is required")
    refused = set(refuse)
    for name, item in value.items():
        spec = schema.fields.get(name)
        if spec is None:
            if name in refused and item is not None:  # a null is "not given" here too
                return Problem(
                    "unknown",
                    _join(path, name),
                    f"'{_join(path, name)}' is not a field of this request",
                )
            continue
        if item is None:
            continue  # required fields were checked above: a null here means "not given"
        problem = check_value(spec, item, _join(path, name))
        if problem is not None:
            return problem
    return None


def normalize(schema_name: str, value: Any) -> Any:
    """The body as Postmark reads it: the schema's fields only (nested objects likewise), with
    the null ones left out. Free-form values (TemplateModel, Metadata) are kept as given."""
    schema = SCHEMAS.get(schema_name)
    if schema is None or not isinstance(value, dict):
        return value
    return {
        name: _normalize_value(schema.fields[name], item)
        for name, item in value.items()
        if item is not None and name in schema.fields
    }


def _normalize_value(spec: V, value: Any) -> Any:
    if spec.model is not None and isinstance(value, dict):
        return normalize(spec.model, value)
    if spec.items is not None and spec.items.model is not None and isinstance(value, list):
        return [normalize(spec.items.model, item) for item in value]
    return value


def check_value(spec: V, value: Any, path: str) -> Problem | None:
    if value is None:
        if spec.nullable:
            return None
        return Problem("type", path, f"'{path}' may not be null")
    if spec.types is not None:
        if not any(_is_type(t, value) for t in spec.types):
            return Problem("type", path, f"'{path}' must be {' or '.join(spec.types)}")
    elif spec.type is not None and not _is_type(spec.type, value):
        return Problem(
            "type", path, f"'{path}' must be {'an' if spec.type[0] in 'aeiou' else 'a'} {spec.type}"
        )
    if spec.enum is not None and value not in spec.enum:
        return Problem("enum", path, f"'{path}' must be one of {', '.join(spec.enum)}")
    if isinstance(value, str):
        return _check_text(spec, value, path)
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        if spec.minimum is not None and value < spec.minimum:
            return Problem("minimum", path, f"'{path}' must be at least {spec.minimum:g}")
        if spec.maximum is not None and value > spec.maximum:
            return Problem("maximum", path, f"'{path}' must be at most {spec.maximum:g}")
    if isinstance(value, list):
        if spec.max_items is not None and len(value) > spec.max_items:
            return Problem(
                "max_items",
                path,
                f"'{path}' holds {len(value)} items; at most {spec.max_items} are allowed",
            )
        if spec.min_items is not None and len(value) < spec.min_items:
            return Problem("min_items", path, f"'{path}' needs at least {spec.min_items} items")
        if spec.items is not None:
            for index, item in enumerate(value):
                problem = check_value(spec.items, item, f"{path}[{index}]")
                if problem is not None:
                    return problem
    if isinstance(value, dict):
        if spec.model is not None:
            return check_object(spec.model, value, path)
        if spec.values is not None:
            for key, item in value.items():
                problem = check_value(spec.values, item, f"{path}.{key}")
                if problem is not None:
                    return problem
    return None


def _check_text(spec: V, value: str, path: str) -> Problem | None:
    if spec.max_length is not None and len(value) > spec.max_length:
        return Problem("max_length", path, f"'{path}' is longer than {spec.max_length} characters")
    if spec.min_length is not None and len(value) < spec.min_length:
        return Problem(
            "min_length", path, f"'{path}' must be at least {spec.min_length} characters long"
        )
    if spec.pattern is not None and re.search(spec.pattern, value) is None:
        return Problem("pattern", path, f"'{path}' is not in the expected format")
    if spec.format is not None and not _fits_format(spec.format, value):
        return Problem("format", path, f"'{path}' is not a valid {spec.format}")
    return None


def _is_type(kind: str, value: Any) -> bool:
    if kind == "string":
        return isinstance(value, str)
    if kind == "integer":
        return isinstance(value, int) and not isinstance(value, bool)
    if kind == "number":
        return isinstance(value, (int, float)) and not isinstance(value, bool)
    if kind == "boolean":
        return isinstance(value, bool)
    if kind == "array":
        return isinstance(value, list)
    if kind == "object":
        return isinstance(value, dict)
    return True


def _fits_format(kind: str, value: str) -> bool:
    if kind == "email":
        return is_address(value)
    if kind == "uri":
        parts = urlsplit(value)
        return bool(parts.scheme and parts.netloc) and " " not in value
    if kind == "date":
        return _is_date(value)
    if kind == "date-time":
        try:
            datetime.fromisoformat(value)
        except ValueError:
            return False
        return True
    return True


def _is_date(text: str) -> bool:
    try:
        date.fromisoformat(text)
    except ValueError:
        return False
    return re.fullmatch(r"\d{4}-\d{2}-\d{2}", text) is not None


def _is_moment(text: str) -> bool:
    try:
        datetime.fromisoformat(text)
    except ValueError:
        return False
    return True


def _join(path: str, name: str) -> str:
    return f"{path}.{name}" if path else name


def _where(path: str) -> str:
    return f"'{path}'" if path else "The request body"


@dataclass
class ErrorCodes:
    """Which ErrorCode a body problem becomes for one kind of resource: by `field:kind`, by
    field, by kind, else `default`."""

    default: int
    by: dict[str, int] = field(default_factory=dict)

    def code_for(self, problem: Problem) -> int:
        for key in (f"{problem.name}:{problem.kind}", problem.name, problem.kind):
            if key in self.by:
                return self.by[key]
        return self.default
