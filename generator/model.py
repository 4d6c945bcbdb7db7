"""The intermediate model: what the spec means, as plain dataclasses. Templates see only this.

`build.py` turns a loaded spec into an `Api`; every template renders from it. Names here are the
generated package's names (Python attribute names, class names, constant names), decided once so
that the client, the CLI, the fake Postmark and the docs agree. The model knows nothing of Jinja.

Ordering is the spec's order everywhere (operations in `paths` order, fields in `properties`
order), so a change in the spec shows up as a local change in the generated code.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Generic, Literal, Protocol, TypeVar, overload

from generator.naming import constant_name, snake_case

_T = TypeVar("_T")


class _Subset(Generic[_T]):
    """A read-only list attribute: the items of another list attribute that pass `keep`, in
    order (`required_fields = _Subset[Field]("fields", lambda f: not f.optional)`)."""

    def __init__(self, source: str, keep: Callable[[_T], bool]) -> None:
        self.source, self.keep = source, keep

    @overload
    def __get__(self, instance: None, owner: type) -> _Subset[_T]: ...
    @overload
    def __get__(self, instance: object, owner: type) -> list[_T]: ...
    def __get__(self, instance: object, owner: type) -> _Subset[_T] | list[_T]:
        if instance is None:
            return self
        return [item for item in getattr(instance, self.source) if self.keep(item)]


# The JSON type of a parameter or top-level body field, as the operation table records it.
JsonType = Literal["string", "integer", "number", "boolean", "array", "object"]

# What a TypeRef is. Scalars pass through from_dict/to_dict untouched; the others convert.
TypeKind = Literal[
    "str",
    "int",
    "float",
    "bool",
    "any",  # any JSON value
    "datetime",  # string, format date-time
    "date",  # string, format date
    "enum",  # a Literal alias (EnumType)
    "model",  # a generated dataclass (Model)
    "union",  # a discriminated oneOf of models (UnionType)
    "list",  # JSON array of `item`
    "dict",  # JSON object with free keys, values of `item`
    "scalars",  # several JSON scalar types at once (`type: [integer, string]`), see `members`
]

# Inside the models modules a datetime field is a `Timestamp` (a datetime that msgspec reads
# from Postmark's seven-digit fractions by cutting, as `datetime.fromisoformat` does, not
# rounding); type checkers see `datetime`.
_MODEL_DATETIME = "Timestamp"

# The wire name a model's `extra` field answers to when msgspec decodes it: never a Postmark name.
EXTRA_WIRE_NAME = "~extra"


class SchemaSource(Protocol):
    """What a kind needs from the API to write its JSON Schema: enum values, a model's schema."""

    def enum_values(self, name: str) -> list[str]: ...

    def model_schema(self, name: str) -> dict[str, Any]: ...


def _article(noun: str) -> str:
    return ("an " if noun[:1] in "AEIOU" else "a ") + noun


class Kind:
    """One kind of type: everything the generator says about it, in one place.

    Its JSON type on the wire, its Python annotation, its JSON Schema (the MCP tools and the
    fake's request checks read it), the isinstance check and the words of validate(), and how
    `diff` names it. Containers and unions recurse through their TypeRef.
    """

    name: str = ""
    json_type: JsonType = "object"
    python: str = "Any"  # the annotation of a scalar
    checks: str | None = None  # the isinstance() types of validate(); None: no type check
    expected_text: str = ""  # what validate() says a value must be
    wire_text: str = ""  # how `diff` names it
    format: str | None = None  # the JSON Schema format of a string
    converts: bool = False  # from_dict/to_dict change the value (a datetime, a model)
    imports: frozenset[str] = frozenset()  # what its annotation needs imported: `_dt`, `Any`

    def annotation(self, ref: TypeRef, open_enums: bool, qualifier: str) -> str:
        return self.python

    def passthrough(self, ref: TypeRef) -> bool:
        return not self.converts

    def json_schema(self, ref: TypeRef, source: SchemaSource) -> dict[str, Any]:
        schema: dict[str, Any] = {"type": self.json_type}
        if self.format is not None:
            schema["format"] = self.format
        return schema

    def expected(self, ref: TypeRef) -> str:
        return self.expected_text

    def check_types(self, ref: TypeRef) -> str | None:
        return self.checks

    def described(self, ref: TypeRef) -> str:
        return self.wire_text


class _Scalar(Kind):
    """A JSON scalar: its words are data (one row each in KINDS); dates convert, others pass."""

    def __init__(
        self,
        name: str,
        json_type: JsonType,
        python: str,
        expected_text: str,
        wire_text: str,
        *,
        checks: str | None = None,
        format: str | None = None,
    ) -> None:
        self.name, self.json_type, self.python = name, json_type, python
        self.expected_text, self.wire_text = expected_text, wire_text
        self.checks = checks or python
        self.format = format
        # A date or datetime is parsed by from_dict and written back by to_dict.
        self.converts = format is not None
        self.imports = frozenset({"_dt"}) if self.converts else frozenset()


class _DateTime(_Scalar):
    def annotation(self, ref: TypeRef, open_enums: bool, qualifier: str) -> str:
        return self.python if qualifier else _MODEL_DATETIME


class _AnyValue(Kind):
    name, json_type, python, wire_text = "any", "object", "Any", "any value"
    imports = frozenset({"Any"})

    def json_schema(self, ref: TypeRef, source: SchemaSource) -> dict[str, Any]:
        return {}


class _Enum(Kind):
    name, json_type, checks, expected_text = "enum", "string", "str", "a string"

    def annotation(self, ref: TypeRef, open_enums: bool, qualifier: str) -> str:
        assert ref.name is not None
        return f"{qualifier}{ref.name} | str" if open_enums else qualifier + ref.name

    def json_schema(self, ref: TypeRef, source: SchemaSource) -> dict[str, Any]:
        assert ref.name is not None
        return {"type": "string", "enum": list(source.enum_values(ref.name))}

    def described(self, ref: TypeRef) -> str:
        return f"enum {ref.name}"


class _Model(Kind):
    name, json_type, converts = "model", "object", True

    def annotation(self, ref: TypeRef, open_enums: bool, qualifier: str) -> str:
        assert ref.name is not None
        return qualifier + ref.name

    def json_schema(self, ref: TypeRef, source: SchemaSource) -> dict[str, Any]:
        assert ref.name is not None
        return source.model_schema(ref.name)

    def expected(self, ref: TypeRef) -> str:
        assert ref.name is not None
        return _article(ref.name)

    def check_types(self, ref: TypeRef) -> str | None:
        return ref.name

    def described(self, ref: TypeRef) -> str:
        return f"object {ref.name}"


class _Union(_Model):
    name = "union"

    def json_schema(self, ref: TypeRef, source: SchemaSource) -> dict[str, Any]:
        return {"type": "object"}

    def expected(self, ref: TypeRef) -> str:
        return "an object"

    def check_types(self, ref: TypeRef) -> str | None:
        return None

    def described(self, ref: TypeRef) -> str:
        return f"one of {ref.name}"


class _Container(Kind):
    """A JSON array or a JSON object with free keys, of `item` values."""

    opening = ""  # the annotation up to the item's: `list[`
    item_key = ""  # where its JSON Schema holds the item's
    wire_word = ""  # how `diff` names it: `array`

    def annotation(self, ref: TypeRef, open_enums: bool, qualifier: str) -> str:
        item = _item(ref).annotation(open_enums=open_enums, qualifier=qualifier)
        return f"{self.opening}{item}]"

    def passthrough(self, ref: TypeRef) -> bool:
        return _item(ref).passthrough

    def json_schema(self, ref: TypeRef, source: SchemaSource) -> dict[str, Any]:
        return {"type": self.json_type, self.item_key: _item(ref).json_schema(source)}

    def described(self, ref: TypeRef) -> str:
        return f"{self.wire_word} of {_item(ref).described}"


class _List(_Container):
    name, json_type, checks, expected_text = "list", "array", "list", "a list"
    opening, item_key, wire_word = "list[", "items", "array"


class _Map(_Container):
    name, json_type, checks, expected_text = "dict", "object", "dict", "a dict"
    opening, item_key, wire_word = "dict[str, ", "additionalProperties", "map"


class _Scalars(Kind):
    """Several JSON scalar types at once (`type: [integer, string]`)."""

    name = "scalars"

    def annotation(self, ref: TypeRef, open_enums: bool, qualifier: str) -> str:
        return " | ".join(
            m.annotation(open_enums=open_enums, qualifier=qualifier) for m in ref.members
        )

    def json_schema(self, ref: TypeRef, source: SchemaSource) -> dict[str, Any]:
        return {"anyOf": [m.json_schema(source) for m in ref.members]}

    def expected(self, ref: TypeRef) -> str:
        return " or ".join(m.expected for m in ref.members)

    def check_types(self, ref: TypeRef) -> str | None:
        return "(" + "".join(f"{m.check_types}, " for m in ref.members) + ")"

    def described(self, ref: TypeRef) -> str:
        return " or ".join(m.described for m in ref.members)


def _item(ref: TypeRef) -> TypeRef:
    if ref.item is None:
        raise ValueError(f"a {ref.kind} type needs its item type")
    return ref.item


KINDS: dict[str, Kind] = {
    kind.name: kind
    for kind in (
        _Scalar("str", "string", "str", "a string", "string"),
        _Scalar("int", "integer", "int", "an integer", "integer"),
        _Scalar("float", "number", "float", "a number", "number", checks="(int, float)"),
        _Scalar("bool", "boolean", "bool", "True or False", "boolean"),
        _AnyValue(),
        _DateTime(
            "datetime",
            "string",
            "_dt.datetime",
            "a datetime",
            "date-time string",
            format="date-time",
        ),
        _Scalar("date", "string", "_dt.date", "a date", "date string", format="date"),
        _Enum(),
        _Model(),
        _Union(),
        _List(),
        _Map(),
        _Scalars(),
    )
}


@dataclass
class TypeRef:
    """The type of a field, parameter, body or response, recursively.

    `alias` names a component schema that is only a container (`Metadata` is `dict[str, str]`,
    `SendEmailBatchResponse` is `list[SendEmailResponse]`): annotations use the alias name while
    conversions look through it.
    """

    kind: TypeKind
    name: str | None = None  # class name for enum, model and union
    item: TypeRef | None = None  # element type of list, value type of dict
    members: list[TypeRef] = field(default_factory=list)  # for kind "scalars"
    alias: str | None = None

    @property
    def kind_of(self) -> Kind:
        """The Kind that says everything about this type's kind."""
        if self.kind not in KINDS:
            raise ValueError(f"unknown type kind {self.kind!r}")
        return KINDS[self.kind]

    @property
    def passthrough(self) -> bool:
        """True when the JSON value is already the Python value (no parsing, no dumping)."""
        return self.kind_of.passthrough(self)

    @property
    def json_type(self) -> JsonType:
        """The JSON type on the wire. Several scalars (`templateIdOrAlias` is `[integer, string]`)
        count as a string: that is how a path or query value travels."""
        if self.kind == "scalars":
            if not self.members or any(m.json_type == "string" for m in self.members):
                return "string"
            return self.members[0].json_type
        return self.kind_of.json_type

    def json_schema(self, source: SchemaSource) -> dict[str, Any]:
        """Its JSON Schema (without the prose and constraints of the field that holds it)."""
        return self.kind_of.json_schema(self, source)

    @property
    def expected(self) -> str:
        """What validate() says a value of this type must be: `a string`, `an Attachment`."""
        return self.kind_of.expected(self)

    @property
    def check_types(self) -> str | None:
        """The isinstance() types validate() checks a value against; None: any value."""
        return self.kind_of.check_types(self)

    @property
    def imports(self) -> frozenset[str]:
        """What its annotation needs imported outside the models (`_dt`, `Any`)."""
        return frozenset().union(*(KINDS[kind].imports for kind in self.kinds))

    @property
    def numeric(self) -> bool:
        """An int or float: validate() refuses a bool, which isinstance(x, int) accepts."""
        return self.kind in ("int", "float")

    @property
    def described(self) -> str:
        """A short JSON-side description of the type, for messages: `array of string`."""
        return self.kind_of.described(self)

    @property
    def model_names(self) -> list[str]:
        """The generated classes this type refers to, directly or inside containers."""
        if self.kind in ("model", "union") and self.name:
            return [self.name]
        if self.item is not None:
            return self.item.model_names
        return []

    def annotation(self, *, open_enums: bool, qualifier: str = "") -> str:
        """The Python annotation. `qualifier` ("models.") prefixes generated names outside models.py.

        With `open_enums` an enum is `Name | str`: a response may carry values the spec does not list.
        Without a qualifier (inside the models modules) a datetime is their `Timestamp`.
        """
        if self.alias is not None and not (open_enums and self._contains_enum()):
            return qualifier + self.alias
        return self.kind_of.annotation(self, open_enums, qualifier)

    def _contains_enum(self) -> bool:
        if self.kind == "enum":
            return True
        return self.item is not None and self.item._contains_enum()

    @property
    def kinds(self) -> set[str]:
        """Every kind this type is made of (`list[datetime]` -> {"list", "datetime"})."""
        found: set[str] = {self.kind}
        if self.item is not None:
            found |= self.item.kinds
        for member in self.members:
            found |= member.kinds
        return found

    @property
    def parse_function(self) -> str:
        """The module function that parses a union (`parse_webhook_payload`)."""
        assert self.name is not None
        return "parse_" + snake_case(self.name)

    @property
    def enum_name(self) -> str | None:
        """The enum this type is, or holds as list items (for validation of closed enums)."""
        if self.kind == "enum":
            return self.name
        if self.kind == "list" and self.item is not None:
            return self.item.enum_name
        return None


@dataclass
class Field:
    """One property of an object schema."""

    wire: str  # Postmark's name: `MessageID`
    name: str  # the Python attribute: `message_id`
    type: TypeRef
    required: bool
    nullable: bool
    description: str
    spec_path: str  # `components.schemas.Bounce.properties.MessageID`
    # Filled in by build once the owning model's usage is known:
    annotation: str = ""  # in models.py, including `| None` when the value may be missing
    qualified_annotation: str = ""  # the same outside models.py (`models.` prefix)
    # Constraints Postmark states (checked by validate() on request models):
    max_length: int | None = None
    min_length: int | None = None
    pattern: str | None = None
    max_items: int | None = None
    min_items: int | None = None
    minimum: int | float | None = None
    maximum: int | float | None = None
    format: str | None = None
    example: Any = None
    secret: bool = False  # `x-postmark-secret: true`: kept out of the model's repr
    # Python source, written by generator/pycode.py: the value from_dict reads, to_dict writes.
    read_code: str = ""
    write_code: str = ""

    @property
    def optional(self) -> bool:
        """The attribute may be None: not required, or explicitly nullable."""
        return not self.required or self.nullable


@dataclass
class Model:
    """A generated dataclass for an object schema (named, or inline with a derived name)."""

    name: str  # class name: `Bounce`, `ValidateTemplateResponseHtmlBody`
    schema_name: str | None  # the `components/schemas` key, None for inline schemas
    spec_path: str
    description: str
    fields: list[Field]
    closed: bool = False  # additionalProperties: false (requests refuse unknown fields)
    # anyOf of `required` lists: at least one group must be complete (`HtmlBody` or `TextBody`).
    require_any_of: list[list[str]] = field(default_factory=list)  # wire names
    is_request: bool = False  # reachable from a request body: gets validate()
    is_response: bool = False  # reachable from a response or webhook: tolerant, open enums
    is_webhook: bool = False  # the body of a webhook event
    example: Any = None
    # Wire data of a typical instance (schema example, else one found in an operation or webhook
    # example, else built from the required fields): the testing factories start from it.
    sample: Any = None  # filled in by `generator.samples.fill_samples`
    validate_lines: list[str] = field(default_factory=list)  # see generator/pycode.py

    required_fields = _Subset[Field]("fields", lambda f: not f.optional)
    optional_fields = _Subset[Field]("fields", lambda f: f.optional)

    @property
    def reads_leniently(self) -> bool:
        """A request model: from_dict reads required fields that may be missing (validate()
        reports them), through `raw`."""
        return self.is_request and bool(self.required_fields)

    @property
    def init_fields(self) -> list[Field]:
        """Fields in dataclass order: those without a default (required, not nullable) first."""
        return self.required_fields + self.optional_fields

    @property
    def wire_keys(self) -> list[str]:
        return [f.wire for f in self.fields]

    @property
    def rename(self) -> dict[str, str]:
        """Attribute -> wire name, as msgspec decodes the class straight from Postmark's JSON."""
        names = {f.name: _decodable_name(f) for f in self.fields}
        names["extra"] = EXTRA_WIRE_NAME
        return names

    @property
    def hidden_fields(self) -> list[str]:
        """Attributes its repr leaves out (`x-postmark-secret`)."""
        return [f.name for f in self.fields if f.secret]

    def field_by_wire(self, wire: str) -> Field | None:
        return next((f for f in self.fields if f.wire == wire), None)

    @property
    def require_any_of_fields(self) -> list[list[Field]]:
        """`require_any_of` with the Field of each wire name."""
        by_wire = {f.wire: f for f in self.fields}
        return [[by_wire[wire] for wire in group] for group in self.require_any_of]


# msgspec refuses these characters in a renamed field; JSON keys may hold them.
_UNDECODABLE = frozenset('\\"') | frozenset(chr(code) for code in range(0x20))


def _decodable_name(item: Field) -> str:
    """The name msgspec matches for a field: its wire name, or, when msgspec cannot hold that,
    a name Postmark never sends, so the key counts as unknown and `from_dict` reads the body."""
    if _UNDECODABLE.isdisjoint(item.wire):
        return item.wire
    return f"~{item.name}"


@dataclass
class EnumType:
    """A string enum, generated as a `Literal[...]` alias."""

    name: str
    schema_name: str | None
    spec_path: str
    description: str
    values: list[str]
    is_request: bool = False
    is_response: bool = False

    @property
    def constant_name(self) -> str:
        """Module constant holding the values as a frozenset, for validation: `TRACK_LINKS_VALUES`."""
        return constant_name(self.name) + "_VALUES"


@dataclass
class Alias:
    """A component schema that is a container or a scalar (`Metadata = dict[str, str]`)."""

    name: str
    schema_name: str
    spec_path: str
    description: str
    type: TypeRef  # the aliased type (its own `alias` is None)
    annotation: str = ""  # filled in by build


@dataclass
class UnionVariant:
    model: str  # class name
    value: str | None  # discriminator value (`Bounce`), None when detected by a field
    detect_by: str | None = None  # wire field whose presence identifies it (Inbound: `FromFull`)


@dataclass
class UnionType:
    """A `oneOf` with a discriminator (`WebhookPayload`): a union alias plus a parse function."""

    name: str
    schema_name: str
    spec_path: str
    description: str
    discriminator: str  # wire property: `RecordType`
    variants: list[UnionVariant]
    parse_function: str  # `parse_webhook_payload`


@dataclass
class Parameter:
    """A path or query parameter."""

    wire: str  # `bounceid`, `fromdate`
    name: str  # `bounce_id`, `from_date`
    location: Literal["path", "query"]
    type: TypeRef
    json_type: JsonType
    required: bool
    description: str
    spec_path: str
    annotation: str = ""  # in resource signatures (qualified), without `| None`
    default: Any = None  # what the client sends when the caller gives nothing (count/offset)
    enum: list[str] | None = None
    minimum: int | float | None = None
    maximum: int | float | None = None
    format: str | None = None
    pattern: str | None = None
    example: Any = None
    is_filter: bool = False  # a query filter that narrows a paged search
    prefix: str | None = None  # `x-postmark-query-prefix`: an object sent as `<prefix><key>=<v>`

    @property
    def has_default(self) -> bool:
        return self.default is not None

    @property
    def example_value(self) -> Any:
        """The value examples use: the spec's example, else its default, else a placeholder."""
        if self.example is not None:
            return self.example
        if self.default is not None:
            return self.default
        return 1 if self.json_type == "integer" else "example"


# The formatter's line length (render.LINE_LENGTH is this number).
SIGNATURE_LINE_LENGTH = 100


@dataclass
class Argument:
    """One argument of a generated method, in signature order."""

    name: str
    annotation: str  # complete, including `| None` when optional
    default: str | None  # Python source of the default (`100`, `None`); None = no default
    source: Literal["path", "query", "body", "option"]  # option: for the client core, not sent
    wire: str
    description: str
    positional: bool = False  # path parameters and the messages of a batch; the rest keyword-only
    # A body list of models: the item model's class name; dicts in it are read with its from_dict.
    item_model: str | None = None
    imports: frozenset[str] = frozenset()  # what its annotation needs imported: `_dt`, `Mapping`

    @property
    def shows_wire(self) -> bool:
        """Its docstring line names the wire name, which differs from the argument's."""
        return bool(self.wire) and self.wire != self.name

    @property
    def signature_annotation(self) -> str:
        """The annotation as a method signature writes it: parenthesised when the parameter's
        line in a signature (8 spaces in) would pass the formatter's 100 columns, the form black
        and ruff agree on for a long union (`x: (\n    A | None\n) = None`)."""
        default = f" = {self.default}" if self.default is not None else ""
        line = f"        {self.name}: {self.annotation}{default},"
        if len(line) > SIGNATURE_LINE_LENGTH and " | " in self.annotation:
            return f"({self.annotation})"
        return self.annotation


@dataclass
class Payload:
    """The JSON an operation sends or answers: its schema, and the model of an object (or of
    each object of an array)."""

    schema_name: str | None
    type: TypeRef
    model: Model | None  # the object's model (None for an array)
    is_array: bool  # a JSON array (`/email/batch`, a list answer)
    item_model: Model | None = None  # the model of an array's items
    example: Any = None


@dataclass
class Body(Payload):
    """An operation's request body; a batch's item model is its message model (array items, or
    batch_field items)."""

    batch_field: str | None = None  # wire field holding the messages of a batch object body


@dataclass
class Response(Payload):
    """An operation's 200 response."""

    description: str = ""


@dataclass
class Paging:
    """How a count/offset list pages (`x-postmark-paging`)."""

    count: str  # wire name of the count parameter
    offset: str
    items: str  # wire name of the response field holding the items
    items_attr: str  # its Python attribute
    total: str
    total_attr: str
    max_count: int
    max_reachable: int
    item_model: Model
    narrow_by: list[str]  # wire names of the query filters that narrow the search
    narrow_by_attrs: list[str]  # the same filters as the method's argument names


@dataclass
class Limit:
    """A limit Postmark states for an operation (`x-postmark-limits`)."""

    name: str
    max: int
    unit: Literal["bytes", "items", "addresses", "templates"]
    scope: Literal["message", "request", "server"]
    field: str | None  # wire name of the body field, None for the body (or message) itself
    description: str


@dataclass
class Reach:
    """A second group an operation acts on (`x-postmark-reaches`): the grant it also takes."""

    group: str  # the other group's python name: `webhooks`
    access: Literal["read", "write"]  # the level of access it takes there
    fields: list[str]  # wire names of the body fields that act there; empty: every call does


@dataclass
class Operation:
    """One API operation, with everything the client, the CLI, the fake and the docs need."""

    id: str  # operationId: `send_email`
    const_name: str  # `SEND_EMAIL`
    name: str  # method name in its group: `send`
    group: str  # the group's python name: `email`
    tag: str  # the spec tag: `Email`
    method: str  # upper case: `POST`
    path: str  # `/bounces/{bounceid}`
    token: Literal["server", "account"]
    token_header: str  # `X-Postmark-Server-Token`
    access: Literal["read", "write"]
    acts_on: str
    retry_safe: bool
    summary: str
    description: str
    spec_path: str  # `paths./email.post`
    path_params: list[Parameter]
    query_params: list[Parameter]
    body: Body | None
    response: Response
    paging: Paging | None = None
    limits: list[Limit] = field(default_factory=list)
    webhook_event: str | None = None
    batch: bool = False
    error_statuses: list[int] = field(default_factory=list)  # documented non-200 statuses
    arguments: list[Argument] = field(default_factory=list)  # the method signature
    module: str = ""  # its group's module (`Group.file`): `_operations/_<module>.py`
    response_annotation: str = ""  # the parsed 200 answer in resources (`models.Bounce`)
    # What its method's signature needs imported (`_dt`, `Any`, `Mapping`, `builtins`).
    signature_imports: frozenset[str] = frozenset()
    # `x-postmark-resource`: a plain resource (create/list/get/edit/delete) the fake Postmark
    # serves generically; None for an operation the fake needs its own handler for.
    resource: dict[str, Any] | None = None
    # `x-postmark-default-stream`: the stream a send lands on when it names none.
    default_stream: str | None = None
    # The body field whose entries are the messages of a send (`Messages` of a batch object,
    # or the Bulk API's recipients); None when the body is one message or an array of them.
    messages_field: str | None = None
    reaches: list[Reach] = field(default_factory=list)
    # `x-postmark-idempotency`: the Metadata field each message carries its idempotency key in
    # (`Metadata`, `Messages.Metadata`), and the search that reconciles an ambiguous failure.
    idempotency_metadata: str | None = None
    reconcile_with: str | None = None

    @property
    def parameters(self) -> list[Parameter]:
        return self.path_params + self.query_params

    keyword_arguments = _Subset[Argument]("arguments", lambda a: not a.positional)
    positional_arguments = _Subset[Argument]("arguments", lambda a: a.positional)
    body_arguments = _Subset[Argument]("arguments", lambda a: a.source == "body")
    # Arguments for the client core itself (`idempotency_key`), passed to `request`.
    option_arguments = _Subset[Argument]("arguments", lambda a: a.source == "option")

    @property
    def is_paged(self) -> bool:
        return self.paging is not None

    def return_annotation(self, is_async: bool = False) -> str:
        """What its generated method returns: `SyncPage[models.Bounce]` (or `AsyncPage`), a
        batch's `BatchResult[models.SendEmailResponse]`, else the parsed 200 answer."""
        if self.batch and self.response.item_model is not None:
            return f"BatchResult[models.{self.response.item_model.name}]"
        if self.paging is not None:
            page = "AsyncPage" if is_async else "SyncPage"
            return f"{page}[models.{self.paging.item_model.name}]"
        return self.response_annotation

    # The limits the client checks before sending (of a message or a request), and those only
    # Postmark enforces (on the server's state).
    checked_limits = _Subset[Limit]("limits", lambda limit: limit.scope != "server")
    server_limits = _Subset[Limit]("limits", lambda limit: limit.scope == "server")

    @property
    def facts(self) -> str:
        """The paragraph of its method's docstring that says how it is sent and what it does."""
        facts = [
            f"`{self.method} {self.path}` with the {self.token} token ({self.token_header}); "
            f"{self.access}s data; "
            + (
                "safe to repeat, so retried after a server error or a read timeout."
                if self.retry_safe
                else "never re-sent once it may have reached Postmark."
            )
        ]
        if self.paging:
            facts.append(
                f"Returns a page of up to {self.paging.max_count} {self.paging.items} with the "
                "total count; `auto_paging_iter()` walks the rest, up to "
                f"{self.paging.max_reachable:,} results."
            )
            if self.paging.narrow_by_attrs:
                narrow = ", ".join(self.paging.narrow_by_attrs)
                facts.append(f"Narrow larger searches with: {narrow}.")
        if self.batch:
            facts.append(
                "Takes any number of messages: they are split into calls within Postmark's "
                "limits, and the result keeps their order with the outcome of each (an HTTP 200 "
                "may still carry failed messages)."
            )
        if self.webhook_event:
            facts.append(f"Triggers the `{self.webhook_event}` webhook.")
        return " ".join(facts)


@dataclass
class Group:
    """A tag: one attribute of a client (`client.email`, `account.sender_signatures`)."""

    tag: str  # `Sender signatures`
    name: str  # `sender_signatures`
    class_name: str  # `SenderSignatures`
    async_class_name: str  # `AsyncSenderSignatures`
    token: Literal["server", "account"]
    description: str
    operations: list[Operation] = field(default_factory=list)
    # The module name of its operations and resources when it is not `name`: a group split by
    # token (`account.templates` beside `client.templates`) is `account_templates`.
    module: str = ""
    # Its sends reconcile by an idempotency key: the search operation (operationId) and the
    # model of one of its results, what `reconcile(key)` returns.
    reconcile_search: str | None = None
    reconcile_model: str | None = None

    @property
    def file(self) -> str:
        return self.module or self.name

    @property
    def signature_imports(self) -> frozenset[str]:
        """What its methods' signatures need imported (`_dt`, `Any`, `Mapping`, `builtins`)."""
        return frozenset().union(*(op.signature_imports for op in self.operations))

    @property
    def client_variable(self) -> str:
        """What the docs call the client that holds the group: `client` or `account`."""
        return client_variable(self.token)

    @property
    def meta_imports(self) -> list[str]:
        """The record types its operation table (`_operations/_<group>.py`) imports."""
        return _meta_names(self.operations)

    @property
    def has_array_answers(self) -> bool:
        """A method (not a batch send) answers a JSON array, read by the module's `_list_of`."""
        return any(op.response.is_array and not op.batch for op in self.operations)

    def resource_imports(self, is_async: bool) -> list[str]:
        """The import lines of its resource module (`_resources/_<group>.py`), after
        `from __future__`: the standard library's, an empty line, the package's."""
        needs = self.signature_imports
        batch = any(op.batch for op in self.operations)
        arrays = self.has_array_answers
        abc = _used({"Callable": arrays, "Iterable": batch or arrays, "Mapping": batch})
        abc += ["Mapping"] if "Mapping" in needs and not batch else []
        typing = _used({"TYPE_CHECKING": True, "Any": "Any" in needs or arrays, "TypeVar": arrays})
        core = _used({"AsyncResource" if is_async else "SyncResource": True, "models_from": any(
            arg.item_model for op in self.operations for arg in op.body_arguments
        )})  # fmt: skip
        page = "AsyncPage" if is_async else "SyncPage"
        return _used({
            "import builtins": "builtins" in needs,
            "import datetime as _dt": "_dt" in needs,
            _from("collections.abc", abc): bool(abc),
            _from("typing", typing): True,
            "": True,
            _from(".._base_client", core): True,
            "from ..batch import BatchResult": batch,
            _from("..pagination", [page]): any(op.paging for op in self.operations),
        })  # fmt: skip


def _used(wanted: dict[str, bool]) -> list[str]:
    """The names (or lines) that are wanted, in order."""
    return [name for name, used in wanted.items() if used]


def _meta_names(operations: list[Operation]) -> list[str]:
    """The record types of `_meta.py` the operation table of these operations uses."""
    return _used(
        {
            "Limit": any(op.limits for op in operations),
            "Operation": True,
            "Paging": any(op.paging for op in operations),
            "Param": any(op.parameters for op in operations),
            "Reach": any(op.reaches for op in operations),
            "Resource": any(op.resource for op in operations),
        }
    )


def client_variable(token: str) -> str:
    """What the docs call a client of this token: `client` (server) or `account`."""
    return "account" if token == "account" else "client"


def _from(module: str, names: list[str]) -> str:
    return f"from {module} import {', '.join(names)}"


@dataclass
class Client:
    """A generated client class per token kind."""

    token: Literal["server", "account"]
    class_name: str  # `ServerClient`
    async_class_name: str  # `AsyncServerClient`
    header: str  # `X-Postmark-Server-Token`
    env_var: str  # `POSTMARK_SERVER_TOKEN`
    security_scheme: str  # `serverToken`
    description: str
    groups: list[Group] = field(default_factory=list)

    @property
    def variable(self) -> str:
        """What the docs call an instance: `client` or `account`."""
        return client_variable(self.token)


@dataclass
class WebhookEvent:
    """A webhook Postmark POSTs (`webhooks` section), keyed by RecordType."""

    key: str  # `Bounce`
    record_type: str
    model: Model
    summary: str
    description: str
    spec_path: str
    example: Any = None
    detect_by: str | None = None  # Inbound has no RecordType; it is told apart by this field


@dataclass
class ErrorCodeInfo:
    """A row of `components/x-postmark-error-codes`."""

    code: int
    name: str  # `InactiveRecipient`
    meaning: str
    http_status: int | None
    verified: bool
    exception_class: str | None  # `InactiveRecipientError` when the spec asks for one
    constant_name: str = ""  # `INACTIVE_RECIPIENT`

    @property
    def status(self) -> int:
        """The HTTP status it comes with: its own, else 422 (how Postmark answers an ErrorCode)."""
        return self.http_status if self.http_status is not None else 422

    @property
    def exception_bases(self) -> str:
        """The base classes of its named exception: the class of its status (and the mixin
        that reads the inactive recipients, for InactiveRecipientError)."""
        base = _STATUS_ERRORS.get(self.status, "APIError")
        if self.exception_class == INACTIVE_RECIPIENT_ERROR:
            return f"InactiveRecipientsMixin, {base}"
        return base

    @property
    def exception_doc(self) -> str:
        """The docstring of its named exception."""
        unverified = "" if self.verified else " (unverified)"
        return f"ErrorCode {self.code} ({self.name}): {self.meaning.rstrip('.')}{unverified}."

    @property
    def table_meaning(self) -> str:
        """Its meaning in the ErrorCode table, marked when only third-party notes know it."""
        unverified = "" if self.verified else " (unverified: known from third-party notes only)"
        return self.meaning + unverified


# The exception class of each HTTP status a named ErrorCode exception derives from.
_STATUS_ERRORS = {
    401: "InvalidTokenError",
    404: "NotFoundError",
    422: "UnprocessableEntityError",
    429: "RateLimitError",
    500: "ServerError",
    503: "ServiceUnavailableError",
}
INACTIVE_RECIPIENT_ERROR = "InactiveRecipientError"
# The static errors every package exports (`_exceptions.py`), beside the spec's named ones.
_PACKAGE_ERRORS = [
    "APIConnectionError", "APIError", "APITimeoutError", "BatchFailedError", "ErrorCode",
    "InvalidTokenError", "MessageMaybeSentError", "NotFoundError", "OutcomeUnknownError",
    "PostmarkError", "RateLimitError", "RequestValidationError", "ResponseDecodeError",
    "ServerError", "ServiceUnavailableError", "UnprocessableEntityError", "UnreachableResultsError",
]  # fmt: skip
PACKAGE_SUBMODULES = ["batch", "client", "errors", "models", "pagination"]


@dataclass
class ReleaseNote:
    date: str
    title: str
    changes: list[str]
    operations: list[str] = field(default_factory=list)  # operationIds


def field_kinds(models: list[Model], aliases: list[Alias]) -> list[str]:
    """Every TypeRef kind these models' fields and aliases are made of, sorted."""
    kinds: set[str] = set()
    for model in models:
        for f in model.fields:
            kinds |= f.type.kinds
    for alias in aliases:
        kinds |= alias.type.kinds
    return sorted(kinds)


class _ModelSet:
    """What a set of models (one module's, or the whole API's) says of them."""

    models: list[Model]
    aliases: list[Alias]

    request_models = _Subset[Model]("models", lambda m: m.is_request)

    @property
    def field_kinds(self) -> list[str]:
        """Every TypeRef kind the models and aliases use, sorted (what they must import)."""
        return field_kinds(self.models, self.aliases)


@dataclass
class ModelModule(_ModelSet):
    """One module of `postmark_client.models`: `_<name>.py`."""

    name: str  # `email`, `shared`, `webhooks`
    enums: list[EnumType] = field(default_factory=list)
    models: list[Model] = field(default_factory=list)
    aliases: list[Alias] = field(default_factory=list)
    unions: list[UnionType] = field(default_factory=list)
    imports: dict[str, list[str]] = field(default_factory=dict)  # module -> names, sorted

    @property
    def file(self) -> str:
        return f"_{self.name}"

    @property
    def names(self) -> list[str]:
        """Every public name the module defines."""
        return (
            [e.name for e in self.enums]
            + [m.name for m in self.models]
            + [a.name for a in self.aliases]
            + [u.name for u in self.unions]
            + [u.parse_function for u in self.unions]
        )

    @property
    def needs_datetime_module(self) -> bool:
        """`datetime` is needed: a date annotation, or a request model's validate() checks a
        datetime (response datetimes are `Timestamp`, imported on their own)."""
        kinds = field_kinds(self.request_models, [])
        return "date" in self.field_kinds or "datetime" in kinds or "date" in kinds

    @property
    def has_hidden_fields(self) -> bool:
        """A model here keeps a secret out of its repr."""
        return any(m.hidden_fields for m in self.models)

    @property
    def subject(self) -> str:
        """What its docstring says the module holds."""
        if self.name == "webhooks":
            return "the webhook payloads"
        if self.name == "shared":
            return "those several groups use"
        return f"the {self.name} group"

    @property
    def needs_timestamp(self) -> bool:
        """A datetime field, read as the `Timestamp` of `_serde`."""
        return "datetime" in self.field_kinds

    @property
    def needs_parse_date(self) -> bool:
        return "date" in self.field_kinds

    @property
    def needs_re(self) -> bool:
        """A request field has a pattern validate() checks."""
        return any(f.pattern for m in self.request_models for f in m.fields)

    @property
    def typing_names(self) -> list[str]:
        """What it imports from `typing` (sorted by the template)."""
        return _used({
            "TYPE_CHECKING": self.needs_timestamp,
            "Any": True,
            "ClassVar": True,
            "TypeAlias": bool(self.enums or self.aliases or self.unions),
            "Literal": bool(self.enums),
            "cast": any(
                not f.type.passthrough for m in self.request_models for f in m.required_fields
            ),
        })  # fmt: skip


@dataclass
class Api(_ModelSet):
    """The whole API. Lists keep spec order."""

    title: str
    version: str  # info.version, as written: `2025.06`
    package_version: str  # PEP 440: `2025.6`
    summary: str
    description: str
    default_base_url: str
    responses_open_enums: bool  # x-postmark-enums.responses == open
    license: str  # info.license.identifier (or name): `MIT`
    groups: list[Group]
    clients: list[Client]
    operations: list[Operation]
    enums: list[EnumType]
    models: list[Model]
    aliases: list[Alias]
    unions: list[UnionType]
    webhooks: list[WebhookEvent]
    error_codes: list[ErrorCodeInfo]
    release_notes: list[ReleaseNote]
    model_modules: list[ModelModule] = field(default_factory=list)  # see generator/layout.py

    def operation(self, operation_id: str) -> Operation:
        return _find(self.operations, "id", operation_id, "operation")

    def model(self, name: str) -> Model:
        return _find(self.models, "name", name, "model")

    def group(self, name: str) -> Group:
        return _find(self.groups, "name", name, "group")

    def enum(self, name: str) -> EnumType:
        return _find(self.enums, "name", name, "enum")

    exception_error_codes = _Subset[ErrorCodeInfo]("error_codes", lambda e: bool(e.exception_class))

    @property
    def base_url_env(self) -> str:
        """The environment variable the commands (`postmark`, `postmark-mcp`, `postmark-gateway`)
        read another base URL from."""
        return "POSTMARK_API_URL"

    @property
    def exception_classes(self) -> list[str]:
        """The named exception classes of ErrorCodes, in the spec's order."""
        return [e.exception_class for e in self.error_codes if e.exception_class]

    @property
    def needs_inactive_recipients_mixin(self) -> bool:
        return INACTIVE_RECIPIENT_ERROR in self.exception_classes

    @property
    def model_names(self) -> list[str]:
        """Every public name of `postmark_client.models`."""
        return [name for module in self.model_modules for name in module.names]

    @property
    def package_exports(self) -> list[tuple[str, list[str]]]:
        """The package's lazily loaded names by the module that defines them, in `_EXPORTS` order."""
        clients = [c.class_name for c in self.clients] + [c.async_class_name for c in self.clients]
        return [
            ("client", clients),
            ("errors", _PACKAGE_ERRORS + self.exception_classes),
            ("pagination", ["AsyncPage", "SyncPage"]),
            ("batch", ["BatchOutcome", "BatchResult"]),
        ]

    @property
    def package_all(self) -> list[str]:
        """The package's `__all__`, unsorted (the template sorts it)."""
        names = [name for _, module_names in self.package_exports for name in module_names]
        return names + PACKAGE_SUBMODULES + ["__version__"]

    @property
    def package_submodules(self) -> list[str]:
        return PACKAGE_SUBMODULES

    @property
    def distinct_groups(self) -> list[Group]:
        """One group per name: a group split by token (`account.templates` beside
        `client.templates`) counts once."""
        seen: dict[str, Group] = {}
        for group in self.groups:
            seen.setdefault(group.name, group)
        return list(seen.values())

    @property
    def webhook_detect_fields(self) -> list[str]:
        """The fields that tell payloads without a RecordType apart (Inbound's `FromFull`)."""
        return [w.detect_by for w in self.webhooks if w.detect_by]


class NotInSpecError(KeyError):
    """A template asked for something the spec does not define (the fake Postmark needs `Bounce`...)."""

    def __str__(self) -> str:
        return str(self.args[0])


def _find(items: list[_T], attribute: str, value: str, what: str) -> _T:
    for item in items:
        if getattr(item, attribute) == value:
            return item
    raise NotInSpecError(f"the spec defines no {what} {value!r}, which this template needs")
