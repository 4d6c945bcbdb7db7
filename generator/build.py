"""Spec -> intermediate model: every decision about names, types and usage is made here.

The builder walks the spec in its own order (components, then paths, then webhooks) so that the
model, and so the generated code, follows the order a maintainer sees in the YAML. `$ref`s to
`components/schemas` keep their component name; inline object and enum schemas get a name derived
from where they sit (`ValidateTemplateResponse` + `HtmlBody`).

Errors are `BuildError`s naming the spec path, for the spec constructs the validator lets through
but the generator cannot turn into code (a name collision, an inline `oneOf`).
"""

from __future__ import annotations

import re
from typing import Any, TypeVar

from generator import naming, reading
from generator.layout import assign_modules
from generator.loader import Spec, dotted
from generator.model import (
    Alias,
    Api,
    Argument,
    Body,
    Client,
    EnumType,
    ErrorCodeInfo,
    Field,
    Group,
    Limit,
    Model,
    Operation,
    Paging,
    Parameter,
    Payload,
    Reach,
    ReleaseNote,
    Response,
    TypeRef,
    UnionType,
    UnionVariant,
    WebhookEvent,
)
from generator.pycode import write_model_code
from generator.samples import fill_samples

_P = TypeVar("_P", bound=Payload)

HTTP_METHODS = ("get", "put", "post", "delete", "patch", "head", "options", "trace")
_SCHEMA_PREFIX = "#/components/schemas/"


class BuildError(Exception):
    """The spec cannot be turned into code; `location` is the spec path of the culprit."""

    def __init__(self, location: str, message: str):
        self.location = location
        self.message = message
        super().__init__(f"{location}: {message}")


def build_api(spec: Spec) -> Api:
    """Turn a loaded (and validated) spec into the intermediate model."""
    api = _Builder(spec).build()
    fill_samples(api)
    api.model_modules = assign_modules(api)
    write_model_code(api)
    return api


def package_version(version: str) -> str:
    """`2025.06` -> `2025.6`, `2026.03.05` -> `2026.3.5`: a date version in PEP 440 normal form."""
    if not re.fullmatch(r"\d+(\.\d+)*", version):
        raise BuildError("info.version", f"{version!r} is not a dotted date such as 2026.03.05")
    return ".".join(str(int(part)) for part in version.split("."))


# The JSON Schema keywords a parameter keeps as its checks, by the Parameter attribute's name.
_PARAMETER_CONSTRAINTS: dict[str, str] = {
    "minimum": "minimum",
    "maximum": "maximum",
    "format": "format",
    "pattern": "pattern",
}
# A field keeps those and the limits of a string's or an array's length.
_FIELD_CONSTRAINTS: dict[str, str] = {
    **_PARAMETER_CONSTRAINTS,
    "max_length": "maxLength",
    "min_length": "minLength",
    "max_items": "maxItems",
    "min_items": "minItems",
}


def _constraints(plain: dict[str, Any], keywords: dict[str, str]) -> dict[str, Any]:
    """The checks a schema states, as keyword arguments (None where it states none)."""
    return {name: plain.get(keyword) for name, keyword in keywords.items()}


def _split_nullable(schema: dict[str, Any]) -> tuple[dict[str, Any], bool]:
    """Separate `null` from a schema: `[string, 'null']`, `oneOf: [X, {type: 'null'}]`, `nullable`."""
    nullable = bool(schema.get("nullable"))
    kind = schema.get("type")
    if isinstance(kind, list) and "null" in kind:
        rest = [t for t in kind if t != "null"]
        schema = {**schema, "type": rest[0] if len(rest) == 1 else rest}
        nullable = True
    for key in ("oneOf", "anyOf"):
        options = schema.get(key)
        if isinstance(options, list) and any(o == {"type": "null"} for o in options):
            rest = [o for o in options if o != {"type": "null"}]
            outer = {k: v for k, v in schema.items() if k != key}
            schema = {**outer, **rest[0]} if len(rest) == 1 else {**outer, key: rest}
            nullable = True
    return schema, nullable


def _is_required_group(node: Any) -> bool:
    """`{required: [HtmlBody]}`: an anyOf/oneOf option that only says which fields must be present."""
    return isinstance(node, dict) and set(node) == {"required"}


def _resource(value: Any, location: str) -> dict[str, Any] | None:
    """`x-postmark-resource` as the fake reads it, or None (validate has checked its keys)."""
    if value is not None and not isinstance(value, dict):
        raise BuildError(f"{location}.x-postmark-resource", "must be a mapping")
    return reading.resource(value)


def _reaches(value: Any, location: str) -> list[Reach]:
    """`x-postmark-reaches` as records (validate has checked every name in it)."""
    entries = reading.reaches(value)
    if entries is None:
        raise BuildError(
            f"{location}.x-postmark-reaches", "must be a list of {group, access, fields?}"
        )
    return [Reach(group=group, access=access, fields=fields) for group, access, fields in entries]


def _record_type(post: dict[str, Any], key: str, location: str) -> str:
    """The webhook's RecordType, from its `post` (validate has checked it is the webhook's key)."""
    record_type = reading.record_type(post)
    if record_type != key:
        raise BuildError(
            f"{location}.post", f"x-postmark-record-type is {record_type!r}, must be {key!r}"
        )
    return key


def _text(value: Any) -> str:
    """A description as one tidy string (YAML block scalars end with a newline)."""
    return str(value).strip() if value is not None else ""


def _python_name(wire: str, node: dict[str, Any], location: str) -> str:
    """The Python name of a property or parameter (validate reports the same problems, located)."""
    try:
        name = reading.python_name_of(wire, node)
    except reading.NameProblem as exc:
        where = f"{location}.x-python-name" if exc.at_override else location
        raise BuildError(where, exc.message) from None
    if not naming.is_identifier(name):
        raise BuildError(location, f"{name!r} is not a valid Python name (set x-python-name)")
    return name


_BUILTIN_TYPES = frozenset({"list", "dict", "str", "int", "float", "bool"})


def _unshadow(annotation: str, shadowed: set[str]) -> str:
    """`list[str]` -> `builtins.list[str]` where a class attribute named `list` hides the type."""
    if not shadowed:
        return annotation
    pattern = r"(?<![\w.])(" + "|".join(sorted(shadowed)) + r")\b"
    return re.sub(pattern, r"builtins.\1", annotation)


class _Builder:
    def __init__(self, spec: Spec):
        self.spec = spec
        self.root = spec.root
        self.components = self.root.get("components") or {}
        self.schemas: dict[str, Any] = self.components.get("schemas") or {}
        self.open_enums = (reading.open_enums(self.root) or {}).get("responses", "open") == "open"
        # Generated type names -> what they are, to catch collisions between named and derived types.
        self.names: dict[str, str] = {}
        self.enums: dict[str, EnumType] = {}
        self.models: dict[str, Model] = {}
        self.aliases: dict[str, Alias] = {}
        self.unions: dict[str, UnionType] = {}
        self.component_types: dict[str, TypeRef] = {}
        self._in_progress: set[str] = set()
        # Ordering: a component's derived inline types sit right after it.
        self.order: list[str] = []

    # ---- entry point -------------------------------------------------------------------------

    def build(self) -> Api:
        info = self.root.get("info") or {}
        for schema_name in self.schemas:
            self.component_type(schema_name)
        groups = self.build_groups()
        operations = self.build_operations(groups)
        webhooks = self.build_webhooks()
        self.mark_usage(operations, webhooks)
        self.finish_annotations(operations)
        self.attach_reconcile(groups, operations)
        clients = self.build_clients(groups)
        servers = self.root.get("servers") or [{}]
        version = str(info.get("version", ""))
        return Api(
            title=_text(info.get("title")),
            version=version,
            package_version=package_version(version),
            summary=_text(info.get("summary")),
            description=_text(info.get("description")),
            default_base_url=str(servers[0].get("url", "")).rstrip("/"),
            responses_open_enums=self.open_enums,
            license=str(
                (info.get("license") or {}).get("identifier")
                or (info.get("license") or {}).get("name")
                or ""
            ),
            groups=groups,
            clients=clients,
            operations=operations,
            enums=[self.enums[n] for n in self.order if n in self.enums],
            models=[self.models[n] for n in self.order if n in self.models],
            aliases=[self.aliases[n] for n in self.order if n in self.aliases],
            unions=[self.unions[n] for n in self.order if n in self.unions],
            webhooks=webhooks,
            error_codes=self.build_error_codes(),
            release_notes=self.build_release_notes(),
        )

    # ---- names -------------------------------------------------------------------------------

    def claim(self, name: str, what: str, location: str) -> None:
        if not naming.is_identifier(name):
            raise BuildError(location, f"{name!r} is not a valid Python class name")
        if name in self.names:
            raise BuildError(
                location,
                f"the generated name {name!r} is already taken by {self.names[name]}; "
                "name one of them differently (or move the inline schema to components/schemas)",
            )
        self.names[name] = what
        self.order.append(name)

    # ---- schemas -----------------------------------------------------------------------------

    def component_type(self, schema_name: str) -> TypeRef:
        """The TypeRef of `#/components/schemas/<name>`, building the component on first use."""
        if schema_name in self.component_types:
            return self.component_types[schema_name]
        location = dotted(("components", "schemas", schema_name))
        if schema_name not in self.schemas:
            raise BuildError(location, "is referenced but not defined")
        raw = self.schemas[schema_name]
        schema, _ = _split_nullable(self.spec.deref(raw))
        if not naming.is_identifier(schema_name):
            raise BuildError(location, "component schema names must be valid Python class names")
        kind = self._component_kind(schema)
        if kind == "model":
            ref = TypeRef("model", name=schema_name)
            self.component_types[schema_name] = ref  # before building: models may be recursive
            self.claim(schema_name, location, location)
            self.build_model(schema_name, schema_name, schema, location)
        elif kind == "enum":
            ref = TypeRef("enum", name=schema_name)
            self.component_types[schema_name] = ref
            self.claim(schema_name, location, location)
            self.enums[schema_name] = self._enum(schema_name, schema_name, schema, location)
        elif kind == "union":
            ref = TypeRef("union", name=schema_name)
            self.component_types[schema_name] = ref
            self.claim(schema_name, location, location)
            self.unions[schema_name] = self._union(schema_name, schema, location)
        else:
            if schema_name in self._in_progress:
                raise BuildError(location, "is an alias that refers to itself")
            self._in_progress.add(schema_name)
            self.claim(schema_name, location, location)
            target = self.type_of(schema, schema_name, location)
            self._in_progress.discard(schema_name)
            self.aliases[schema_name] = Alias(
                name=schema_name,
                schema_name=schema_name,
                spec_path=location,
                description=_text(schema.get("description")),
                type=target,
            )
            ref = TypeRef(
                target.kind,
                name=target.name,
                item=target.item,
                members=target.members,
                alias=schema_name,
            )
            self.component_types[schema_name] = ref
        return ref

    @staticmethod
    def _component_kind(schema: dict[str, Any]) -> str:
        if "oneOf" in schema and not all(_is_required_group(o) for o in schema["oneOf"]):
            return "union"
        if "enum" in schema:
            return "enum"
        if schema.get("properties") or "allOf" in schema:
            return "model"
        return "alias"

    def _enum(
        self, name: str, schema_name: str | None, schema: dict[str, Any], location: str
    ) -> EnumType:
        values = schema.get("enum") or []
        if not all(isinstance(v, str) for v in values):
            raise BuildError(location, "only string enums are supported")
        return EnumType(
            name=name,
            schema_name=schema_name,
            spec_path=location,
            description=_text(schema.get("description")),
            values=list(values),
        )

    def _union(self, name: str, schema: dict[str, Any], location: str) -> UnionType:
        discriminator = (schema.get("discriminator") or {}).get("propertyName")
        if not discriminator:
            raise BuildError(location, "a oneOf needs `discriminator.propertyName` to be generated")
        mapping = (schema.get("discriminator") or {}).get("mapping") or {}
        by_ref = {ref: value for value, ref in mapping.items()}
        variants = []
        for index, option in enumerate(schema["oneOf"]):
            ref = option.get("$ref") if isinstance(option, dict) else None
            if not isinstance(ref, str) or not ref.startswith(_SCHEMA_PREFIX):
                raise BuildError(
                    f"{location}.oneOf.{index}", "oneOf options must be $refs to named schemas"
                )
            variant_name = ref[len(_SCHEMA_PREFIX) :]
            target = self.component_type(variant_name)
            if target.kind != "model":
                raise BuildError(
                    f"{location}.oneOf.{index}", f"{variant_name} is not an object schema"
                )
            variant_schema = self.spec.deref(self.schemas[variant_name])
            value = by_ref.get(ref) or self._discriminator_value(variant_schema, discriminator)
            variants.append(
                UnionVariant(
                    model=variant_name,
                    value=value,
                    detect_by=reading.detect_by(variant_schema),
                )
            )
        return UnionType(
            name=name,
            schema_name=name,
            spec_path=location,
            description=_text(schema.get("description")),
            discriminator=discriminator,
            variants=variants,
            parse_function=TypeRef("union", name=name).parse_function,
        )

    def _discriminator_value(self, schema: dict[str, Any], prop: str) -> str | None:
        node = self.spec.deref((schema.get("properties") or {}).get(prop) or {})
        if "const" in node:
            return str(node["const"])
        values = node.get("enum") or []
        return str(values[0]) if len(values) == 1 else None

    def type_of(self, schema: Any, hint: str, location: str) -> TypeRef:
        """The TypeRef of a schema node; inline objects and enums become types named `hint`."""
        if not isinstance(schema, dict):
            raise BuildError(location, "a schema must be a mapping")
        schema, _ = _split_nullable(schema)  # nullability belongs to the field, not the type
        ref = schema.get("$ref")
        if isinstance(ref, str):
            if ref.startswith(_SCHEMA_PREFIX):
                return self.component_type(ref[len(_SCHEMA_PREFIX) :])
            schema, _ = _split_nullable(self.spec.deref(schema))
        for key in ("oneOf", "anyOf"):
            # `anyOf: [{required: [A]}, {required: [B]}]` is a constraint on an object, not a type.
            if key in schema and not all(_is_required_group(o) for o in schema[key]):
                raise BuildError(
                    location, f"an inline {key} cannot be generated; name it in components/schemas"
                )
        if "enum" in schema:
            self.claim(hint, location, location)
            self.enums[hint] = self._enum(hint, None, schema, location)
            return TypeRef("enum", name=hint)
        if schema.get("properties") or "allOf" in schema:
            self.claim(hint, location, location)
            self.build_model(hint, None, schema, location)
            return TypeRef("model", name=hint)
        kind = schema.get("type")
        if isinstance(kind, list):
            members = [self.type_of({**schema, "type": k}, hint, location) for k in kind]
            return members[0] if len(members) == 1 else TypeRef("scalars", members=members)
        if kind == "string":
            fmt = schema.get("format")
            return TypeRef("datetime" if fmt == "date-time" else "date" if fmt == "date" else "str")
        if kind == "integer":
            return TypeRef("int")
        if kind == "number":
            return TypeRef("float")
        if kind == "boolean":
            return TypeRef("bool")
        if kind == "array":
            items = schema.get("items")
            if items is None:
                return TypeRef("list", item=TypeRef("any"))
            return TypeRef("list", item=self.type_of(items, hint + "Item", f"{location}.items"))
        if kind == "object" or "additionalProperties" in schema:
            extra = schema.get("additionalProperties")
            if isinstance(extra, dict) and extra:
                value = self.type_of(extra, hint + "Value", f"{location}.additionalProperties")
                return TypeRef("dict", item=value)
            return TypeRef("dict", item=TypeRef("any"))
        return TypeRef("any")

    def _merged_object(
        self, schema: dict[str, Any], location: str
    ) -> tuple[dict[str, Any], list[str]]:
        """Properties (in order) and required names of an object schema, `allOf` parts merged."""
        properties: dict[str, Any] = {}
        required: list[str] = []
        for index, part in enumerate(schema.get("allOf") or []):
            part_schema = self.spec.deref(part)
            part_props, part_required = self._merged_object(
                part_schema, f"{location}.allOf.{index}"
            )
            properties.update(part_props)
            required += [r for r in part_required if r not in required]
        properties.update(schema.get("properties") or {})
        required += [r for r in schema.get("required") or [] if r not in required]
        return properties, required

    def build_model(
        self, name: str, schema_name: str | None, schema: dict[str, Any], location: str
    ) -> Model:
        properties, required = self._merged_object(schema, location)
        model = Model(
            name=name,
            schema_name=schema_name,
            spec_path=location,
            description=_text(schema.get("description")),
            fields=[],
            closed=schema.get("additionalProperties") is False,
            example=schema.get("example"),
        )
        self.models[name] = model
        seen: dict[str, str] = {}
        for wire, prop in properties.items():
            field_location = f"{location}.properties.{wire}"
            model.fields.append(
                self._field(name, wire, prop, wire in required, field_location, seen)
            )
        missing = [r for r in required if r not in properties]
        if missing:
            raise BuildError(
                f"{location}.required", f"names {', '.join(missing)} but it is not a property"
            )
        for key in ("anyOf", "oneOf"):
            for group in schema.get(key) or []:
                if _is_required_group(group):
                    model.require_any_of.append(list(group["required"]))
        return model

    def _field(
        self, owner: str, wire: str, prop: Any, required: bool, location: str, seen: dict[str, str]
    ) -> Field:
        if not isinstance(prop, dict):
            raise BuildError(location, "a property must be a schema mapping")
        name = _python_name(wire, prop, location)
        if name in _BUILTIN_TYPES:
            # A dataclass field `str` would hide the type `str` in the rest of the class body.
            name += "_"
        if name in naming.MODEL_RESERVED:  # `validate` rejects these first, located
            raise BuildError(
                location, f"the Python name {name!r} is reserved by the model; set x-python-name"
            )
        if name in seen:
            raise BuildError(
                location, f"{wire} and {seen[name]} both become {name!r}; set x-python-name"
            )
        seen[name] = wire
        target = self.spec.deref(prop)
        plain, nullable = _split_nullable(target)
        _, ref_nullable = _split_nullable(prop)
        ftype = self.type_of(prop, owner + naming.pascal_case(wire), location)
        description = _text(prop.get("description") or target.get("description"))
        return Field(
            wire=wire,
            name=name,
            type=ftype,
            required=required,
            nullable=nullable or ref_nullable,
            description=description,
            spec_path=location,
            **_constraints(plain, _FIELD_CONSTRAINTS),
            example=prop.get("example", target.get("example")),
            secret=reading.is_secret(prop),
        )

    # ---- groups and operations ------------------------------------------------------------------

    def build_groups(self) -> list[Group]:
        groups = []
        for index, tag in enumerate(self.root.get("tags") or []):
            location = f"tags.{index}"
            name = reading.group_name(tag) or naming.snake_case(tag["name"])
            if not naming.is_identifier(name):
                raise BuildError(
                    f"{location}.x-python-name", f"{name!r} is not a valid Python name"
                )
            class_name = naming.pascal_case(name)
            groups.append(
                Group(
                    tag=tag["name"],
                    name=name,
                    class_name=class_name,
                    async_class_name="Async" + class_name,
                    token=reading.token(tag) or "server",
                    description=_text(tag.get("description")),
                )
            )
        return groups

    def security_scheme(
        self, operation: dict[str, Any], location: str
    ) -> tuple[str, dict[str, Any]]:
        security = operation.get("security") or self.root.get("security") or []
        if not security or not isinstance(security[0], dict) or len(security[0]) != 1:
            raise BuildError(f"{location}.security", "needs exactly one security scheme")
        scheme_name = next(iter(security[0]))
        scheme = (self.components.get("securitySchemes") or {}).get(scheme_name)
        if not isinstance(scheme, dict):
            raise BuildError(f"{location}.security", f"unknown security scheme {scheme_name!r}")
        return scheme_name, scheme

    def build_operations(self, groups: list[Group]) -> list[Operation]:
        by_tag = {g.tag: g for g in groups}
        operations: list[Operation] = []
        ids: dict[str, str] = {}
        for path, item in (self.root.get("paths") or {}).items():
            item = self.spec.deref(item)
            shared = item.get("parameters") or []
            for method, raw in item.items():
                if method not in HTTP_METHODS:
                    continue
                location = dotted(("paths", path, method))
                op = self.build_operation(path, method, raw, shared, by_tag, location)
                if op.id in ids:
                    raise BuildError(
                        f"{location}.operationId", f"{op.id!r} is also used by {ids[op.id]}"
                    )
                ids[op.id] = location
                group = self.group_for(op, by_tag[op.tag], groups)
                # Per tag, whatever the token: the CLI (`postmark <group> <method>`) and the MCP
                # tool names (`<group>_<method>`) put a group's operations of both tokens together.
                if any(other.tag == op.tag and other.name == op.name for other in operations):
                    raise BuildError(
                        f"{location}.x-python-name",
                        f"{op.name!r} is already a method of group {group.name!r}",
                    )
                op.module = group.file
                group.operations.append(op)
                operations.append(op)
        return operations

    def group_for(self, op: Operation, group: Group, groups: list[Group]) -> Group:
        """The tag's group, or, for an operation that needs the other token (its own
        `x-postmark-token`), a group of the same name on that token's client
        (`account.templates.push`): added to `groups` after the tag's own, once."""
        if op.token == group.token:
            return group
        prefix = naming.pascal_case(op.token)
        for other in groups:
            if other.tag == group.tag and other.token == op.token:
                return other
        other = Group(
            tag=group.tag,
            name=group.name,
            class_name=prefix + group.class_name,
            async_class_name="Async" + prefix + group.class_name,
            token=op.token,
            description=group.description,
            module=f"{op.token}_{group.name}",
        )
        groups.insert(groups.index(group) + 1, other)
        return other

    def build_operation(
        self,
        path: str,
        method: str,
        raw: dict[str, Any],
        shared_params: list[Any],
        by_tag: dict[str, Group],
        location: str,
    ) -> Operation:
        op_id = raw.get("operationId")
        if not isinstance(op_id, str) or not naming.is_identifier(op_id):
            raise BuildError(f"{location}.operationId", "needs a snake_case operationId")
        tag = reading.the_tag(raw)
        if tag not in by_tag:
            raise BuildError(f"{location}.tags", "needs exactly one tag declared under tags")
        group = by_tag[tag]
        name = reading.method_name(raw) or op_id
        if not naming.is_identifier(name):
            raise BuildError(f"{location}.x-python-name", f"{name!r} is not a valid Python name")
        _, scheme = self.security_scheme(raw, location)
        hint = naming.pascal_case(op_id)
        parameters = self.build_parameters(path, raw, shared_params, hint, location)
        paging_raw = reading.paging(raw)
        page_params = (paging_raw.get("count"), paging_raw.get("offset")) if paging_raw else ()
        for param in parameters:
            param.is_filter = param.location == "query" and param.wire not in page_params
        body = self.build_body(raw, hint, location)
        response = self.build_response(raw, hint, location)
        limits = [
            self.build_limit(entry, f"{location}.x-postmark-limits.{i}")
            for i, entry in enumerate(reading.limits(raw) or [])
        ]
        batch = reading.is_batch(raw)
        if batch and body is not None:
            self.attach_batch_items(body, limits, location)
        idempotency = _idempotency(reading.idempotency(raw), location)
        op = Operation(
            id=op_id,
            const_name=naming.constant_name(op_id),
            name=name,
            group=group.name,
            tag=group.tag,
            method=method.upper(),
            path=path,
            token=reading.token(scheme) or group.token,
            token_header=scheme.get("name", ""),
            access=reading.access(raw) or ("read" if method == "get" else "write"),
            acts_on=reading.acts_on(raw) or "",
            retry_safe=(reading.retry(raw) or ("safe" if method == "get" else "unsafe")) == "safe",
            summary=_text(raw.get("summary")),
            description=_text(raw.get("description")),
            spec_path=location,
            path_params=[p for p in parameters if p.location == "path"],
            query_params=[p for p in parameters if p.location == "query"],
            body=body,
            response=response,
            limits=limits,
            webhook_event=reading.webhook_event(raw),
            batch=batch,
            resource=_resource(reading.resource_value(raw), location),
            reaches=_reaches(reading.reaches_value(raw), location),
            idempotency_metadata=idempotency[0],
            reconcile_with=idempotency[1],
            error_statuses=sorted(
                int(code)
                for code in raw.get("responses") or {}
                if str(code).isdigit() and str(code) != "200"
            ),
        )
        if paging_raw:
            op.paging = self.build_paging(op, paging_raw, f"{location}.x-postmark-paging")
        op.default_stream = reading.default_stream(raw)
        if op.default_stream is not None and body is not None:
            op.messages_field = body.batch_field or self._recipients_field(body)
        return op

    def build_parameters(
        self, path: str, raw: dict[str, Any], shared: list[Any], hint: str, location: str
    ) -> list[Parameter]:
        entries: dict[tuple[str, str], tuple[Any, str]] = {}
        for index, entry in enumerate(shared):
            param = self.spec.deref(entry)
            entries[(param.get("in"), param.get("name"))] = (
                param,
                f"{location}.parameters.{index}",
            )
        for index, entry in enumerate(raw.get("parameters") or []):
            param = self.spec.deref(entry)
            entries[(param.get("in"), param.get("name"))] = (
                param,
                f"{location}.parameters.{index}",
            )
        result = []
        names: dict[str, str] = {}
        for (where, wire), (param, param_location) in entries.items():
            if where not in ("path", "query"):
                continue  # headers and cookies are the client core's business
            name = _python_name(wire, param, param_location)
            if name in names:
                raise BuildError(param_location, f"{wire} and {names[name]} both become {name!r}")
            names[name] = wire
            schema = param.get("schema") or {}
            plain, _ = _split_nullable(self.spec.deref(schema))
            ptype = self.type_of(
                schema, hint + naming.pascal_case(name), f"{param_location}.schema"
            )
            enum_values = None
            if ptype.kind == "enum":
                assert ptype.name is not None
                enum_values = self.enums[ptype.name].values
            result.append(
                Parameter(
                    wire=wire,
                    name=name,
                    location="path" if where == "path" else "query",
                    type=ptype,
                    json_type=ptype.json_type,
                    required=bool(param.get("required")) or where == "path",
                    description=_text(param.get("description")),
                    spec_path=param_location,
                    default=plain.get("default"),
                    enum=enum_values,
                    **_constraints(plain, _PARAMETER_CONSTRAINTS),
                    example=param.get("example"),
                    prefix=_query_prefix(param, plain, param_location),
                )
            )
        # Path parameters come in the order they appear in the path, so positional calls read naturally.
        path_order = [p for p in result if p.location == "path"]
        path_order.sort(key=lambda p: path.find("{" + p.wire + "}"))
        return path_order + [p for p in result if p.location == "query"]

    @staticmethod
    def _json_content(node: dict[str, Any]) -> dict[str, Any] | None:
        content = node.get("content") or {}
        return content.get("application/json")

    def _json_payload(self, kind: type[_P], node: dict[str, Any], hint: str, location: str) -> _P:
        """The JSON media of a request body or response, as a `kind` (a Body or a Response).

        The model is set for an object payload, the item model for an array of objects.
        """
        media = self._json_content(node)
        if media is None or "schema" not in media:
            raise BuildError(location, "needs an application/json schema")
        schema = media["schema"]
        ref = schema.get("$ref") if isinstance(schema, dict) else None
        payload_type = self.type_of(schema, hint, f"{location}.content.application/json.schema")
        return kind(
            schema_name=(
                ref[len(_SCHEMA_PREFIX) :]
                if isinstance(ref, str) and ref.startswith(_SCHEMA_PREFIX)
                else None
            ),
            type=payload_type,
            model=(
                self.models.get(payload_type.name or "") if payload_type.kind == "model" else None
            ),
            is_array=payload_type.kind == "list",
            item_model=self._item_model(payload_type),
            example=media.get("example"),
        )

    def _recipients_field(self, body: Body) -> str | None:
        """The array field of a send's object body whose entries each name a recipient (`To`):
        the Bulk API's `Messages`, whose entries share the body's other fields."""
        for item in body.model.fields if body.model is not None else []:
            entry = self._item_model(item.type)
            if entry is not None and entry.field_by_wire("To") is not None:
                return item.wire
        return None

    def _item_model(self, array: TypeRef) -> Model | None:
        """The model of an array's items, when the type is an array of objects."""
        item = array.item
        if array.kind != "list" or item is None or item.kind != "model":
            return None
        return self.models[item.name or ""]

    def build_body(self, raw: dict[str, Any], hint: str, location: str) -> Body | None:
        if "requestBody" not in raw:
            return None
        node = self.spec.deref(raw["requestBody"])
        return self._json_payload(Body, node, hint + "Request", f"{location}.requestBody")

    def attach_batch_items(self, body: Body, limits: list[Limit], location: str) -> None:
        """Find the message model of a batch: array items, or the items of the limited field."""
        if body.is_array:
            if body.item_model is None:
                raise BuildError(
                    f"{location}.requestBody", "a batch body must be an array of objects"
                )
            return
        field_name = next((lim.field for lim in limits if lim.unit == "items" and lim.field), None)
        if body.model is None or field_name is None:
            raise BuildError(
                f"{location}.x-postmark-limits",
                "a batch with an object body needs an `items` limit naming its message array field",
            )
        target = body.model.field_by_wire(field_name)
        message_model = self._item_model(target.type) if target is not None else None
        if message_model is None:
            raise BuildError(
                f"{location}.x-postmark-limits",
                f"{field_name} is not an array of objects of the body",
            )
        body.batch_field = field_name
        body.item_model = message_model

    def build_response(self, raw: dict[str, Any], hint: str, location: str) -> Response:
        responses = raw.get("responses") or {}
        ok = responses.get("200", responses.get(200))
        if ok is None:
            raise BuildError(f"{location}.responses", "needs a 200 response")
        node = self.spec.deref(ok)
        response = self._json_payload(
            Response, node, hint + "Response", f"{location}.responses.200"
        )
        if response.model is None and response.item_model is None:
            raise BuildError(
                f"{location}.responses.200", "the response must be an object or an array of objects"
            )
        response.description = _text(node.get("description"))
        return response

    @staticmethod
    def build_limit(entry: dict[str, Any], location: str) -> Limit:
        try:
            return Limit(
                name=str(entry["name"]),
                max=int(entry["max"]),
                unit=entry["unit"],
                scope=entry["scope"],
                field=entry.get("field") or None,
                description=_text(entry.get("description")),
            )
        except KeyError as exc:
            raise BuildError(location, f"a limit needs {exc.args[0]!r}") from None

    @staticmethod
    def _paging_number(raw: dict[str, Any], key: str, location: str) -> int:
        """Postmark's paging caps come from the spec, never from defaults here."""
        value = raw.get(key)
        if not isinstance(value, int) or isinstance(value, bool):
            raise BuildError(f"{location}.{key}", "must be an integer")
        return value

    def build_paging(self, op: Operation, raw: dict[str, Any], location: str) -> Paging:
        response_model = op.response.model
        if response_model is None:
            raise BuildError(location, "a paged operation must answer with an object")
        items = response_model.field_by_wire(raw.get("items", ""))
        total = response_model.field_by_wire(raw.get("total", ""))
        item_model = self._item_model(items.type) if items is not None else None
        if items is None or item_model is None:
            raise BuildError(
                f"{location}.items",
                f"{raw.get('items')!r} is not an array of objects of the response",
            )
        if total is None:
            raise BuildError(
                f"{location}.total", f"{raw.get('total')!r} is not a field of the response"
            )
        for key in ("count", "offset"):
            if not any(p.wire == raw.get(key) for p in op.query_params):
                raise BuildError(
                    f"{location}.{key}",
                    f"{raw.get(key)!r} is not a query parameter of the operation",
                )
        return Paging(
            count=raw["count"],
            offset=raw["offset"],
            items=items.wire,
            items_attr=items.name,
            total=total.wire,
            total_attr=total.name,
            max_count=self._paging_number(raw, "max-count", location),
            max_reachable=self._paging_number(raw, "max-reachable", location),
            item_model=item_model,
            narrow_by=[p.wire for p in op.query_params if p.is_filter],
            narrow_by_attrs=[p.name for p in op.query_params if p.is_filter],
        )

    # ---- usage and annotations ----------------------------------------------------------------

    def mark_usage(self, operations: list[Operation], webhooks: list[WebhookEvent]) -> None:
        """Request models get validate(); response models are tolerant. A model may be both."""
        for op in operations:
            if op.body is not None:
                self._mark(op.body.type, "request", set())
            for param in op.parameters:
                self._mark(param.type, "request", set())
            self._mark(op.response.type, "response", set())
        for event in webhooks:
            event.model.is_webhook = True
            self._mark(TypeRef("model", name=event.model.name), "response", set())
        for ref in self._error_schema_types():
            self._mark(ref, "response", set())
        for ref in self.component_types.values():
            # Components nothing refers to are read like responses (tolerant) by default.
            if not self._used(ref):
                self._mark(ref, "response", set())

    def _error_schema_types(self) -> list[TypeRef]:
        refs = []
        for node in (self.components.get("responses") or {}).values():
            media = self._json_content(self.spec.deref(node))
            schema = (media or {}).get("schema")
            if isinstance(schema, dict) and str(schema.get("$ref", "")).startswith(_SCHEMA_PREFIX):
                refs.append(self.component_type(schema["$ref"][len(_SCHEMA_PREFIX) :]))
        return refs

    def _used(self, ref: TypeRef) -> bool:
        if ref.kind == "model":
            m = self.models[ref.name or ""]
            return m.is_request or m.is_response
        if ref.kind == "enum":
            e = self.enums[ref.name or ""]
            return e.is_request or e.is_response
        if ref.item is not None:
            return self._used(ref.item)
        return True

    def _mark(self, ref: TypeRef, usage: str, seen: set[str]) -> None:
        if ref.kind == "model" and ref.name is not None:
            key = f"{usage}:{ref.name}"
            if key in seen:
                return
            seen.add(key)
            model = self.models[ref.name]
            setattr(model, f"is_{usage}", True)
            for f in model.fields:
                self._mark(f.type, usage, seen)
        elif ref.kind == "enum" and ref.name is not None:
            setattr(self.enums[ref.name], f"is_{usage}", True)
        elif ref.kind == "union" and ref.name is not None:
            for variant in self.unions[ref.name].variants:
                self._mark(TypeRef("model", name=variant.model), usage, seen)
        elif ref.kind == "scalars":
            for member in ref.members:
                self._mark(member, usage, seen)
        elif ref.item is not None:
            self._mark(ref.item, usage, seen)

    def attach_reconcile(self, groups: list[Group], operations: list[Operation]) -> None:
        """A group whose sends reconcile gets `reconcile(key)`, answered with the search's items."""
        by_id = {op.id: op for op in operations}
        for op in operations:
            if op.reconcile_with is None:
                continue
            search = by_id.get(op.reconcile_with)
            if search is None or search.paging is None or search.paging.item_model is None:
                raise BuildError(
                    f"{op.spec_path}.x-postmark-idempotency.search",
                    f"{op.reconcile_with!r} is not a paged search operation of this spec",
                )
            if not any(p.prefix for p in search.query_params):
                raise BuildError(
                    f"{op.spec_path}.x-postmark-idempotency.search",
                    f"{op.reconcile_with!r} has no x-postmark-query-prefix parameter to search "
                    "by a metadata field",
                )
            for group in groups:
                if group.name == op.group and group.token == op.token:
                    group.reconcile_search = search.id
                    group.reconcile_model = search.paging.item_model.name

    def finish_annotations(self, operations: list[Operation]) -> None:
        for model in self.models.values():
            open_enums = model.is_response and self.open_enums
            for f in model.fields:
                base = f.type.annotation(open_enums=open_enums)
                qualified = f.type.annotation(open_enums=open_enums, qualifier="models.")
                optional = f.optional and f.type.kind != "any"
                f.annotation = f"{base} | None" if optional else base
                f.qualified_annotation = f"{qualified} | None" if optional else qualified
        for alias in self.aliases.values():
            alias.annotation = alias.type.annotation(open_enums=False)
        for op in operations:
            for param in op.parameters:
                param.annotation = param.type.annotation(open_enums=False, qualifier="models.")
                if param.type.kind in ("date", "datetime"):
                    # Text in ISO form is as good on the wire; the client core checks it.
                    param.annotation += " | str"
            op.arguments = self.build_arguments(op)
            op.response_annotation = op.response.type.annotation(
                open_enums=False, qualifier="models."
            )
        # A method named like a builtin type (`list`) hides it in the rest of its group's class.
        for group in {op.group: op for op in operations}:
            methods = [op for op in operations if op.group == group]
            shadowed = {op.name for op in methods} & _BUILTIN_TYPES
            for op in methods:
                needs = set(op.response.type.imports)
                response = _unshadow(op.response_annotation, shadowed)
                needs |= {"builtins"} if response != op.response_annotation else set()
                op.response_annotation = response
                for arg in op.arguments:
                    annotation = _unshadow(arg.annotation, shadowed)
                    needs |= arg.imports | ({"builtins"} if annotation != arg.annotation else set())
                    arg.annotation = annotation
                op.signature_imports = frozenset(needs)

    def build_arguments(self, op: Operation) -> list[Argument]:
        """The method signature: path parameters, then keyword-only query and body arguments."""
        args: list[Argument] = []
        for param in op.path_params:
            args.append(
                Argument(
                    param.name,
                    param.annotation,
                    None,
                    "path",
                    param.wire,
                    param.description,
                    positional=True,
                    imports=param.type.imports,
                )
            )
        for param in op.query_params:
            if param.has_default:
                default = repr(param.default)
                annotation = param.annotation
            elif param.required:
                default, annotation = None, param.annotation
            else:
                default = "None"
                annotation = (
                    param.annotation if param.type.kind == "any" else f"{param.annotation} | None"
                )
            args.append(
                Argument(
                    param.name,
                    annotation,
                    default,
                    "query",
                    param.wire,
                    param.description,
                    imports=param.type.imports,
                )
            )
        body = op.body
        if body is not None:
            if op.batch or body.is_array:
                item = body.item_model
                item_annotation = f"models.{item.name} | Mapping[str, Any]" if item else "Any"
                description = (
                    "The messages to send, as models or as dicts with Postmark's field names."
                )
                args.append(
                    Argument(
                        "messages",
                        f"Iterable[{item_annotation}]",
                        None,
                        "body",
                        "",
                        description,
                        positional=True,
                        imports=frozenset(
                            {"Iterable", "Mapping", "Any"} if item else {"Iterable", "Any"}
                        ),
                    )
                )
            elif body.model is not None:
                for f in body.model.fields:
                    default = "None" if f.optional else None
                    annotation, item_model = f.qualified_annotation, None
                    if f.type.kind == "list" and f.type.item and f.type.item.kind == "model":
                        # Items may be given as dicts in wire names, as the messages of a batch.
                        item_model = f.type.item.name
                        annotation = annotation.replace(
                            f"[models.{item_model}]", f"[models.{item_model} | Mapping[str, Any]]"
                        )
                    args.append(
                        Argument(
                            f.name,
                            annotation,
                            default,
                            "body",
                            f.wire,
                            f.description,
                            item_model=item_model,
                            imports=f.type.imports
                            | (frozenset({"Mapping", "Any"}) if item_model else frozenset()),
                        )
                    )
        if op.reconcile_with and not op.batch:
            args.append(
                Argument(
                    "idempotency_key",
                    "str | None",
                    "None",
                    "option",
                    "",
                    "Sent in Metadata; a send that failed ambiguously is found by it instead of "
                    "being sent twice. Default: a new random key; pass your own for work that "
                    "may be retried across processes.",
                )
            )
        seen: dict[str, Argument] = {}
        for arg in args:
            if arg.name in seen:
                raise BuildError(
                    op.spec_path,
                    f"the {arg.source} value {arg.wire} and the {seen[arg.name].source} value "
                    f"{seen[arg.name].wire} both become the argument {arg.name!r}; set x-python-name",
                )
            if arg.name in naming.ARGUMENT_RESERVED and not (
                arg.name == "messages" and arg.wire == ""
            ):
                raise BuildError(
                    op.spec_path, f"the argument name {arg.name!r} is reserved; set x-python-name"
                )
            seen[arg.name] = arg
        return args

    # ---- clients, webhooks, error codes, release notes ----------------------------------------

    def build_clients(self, groups: list[Group]) -> list[Client]:
        schemes = self.components.get("securitySchemes") or {}
        clients: dict[str, Client] = {}
        for group in groups:
            if group.token not in clients:
                matching = [n for n, s in schemes.items() if reading.token(s) == group.token]
                scheme_name = matching[0] if matching else None
                if scheme_name is None:
                    raise BuildError(
                        "components.securitySchemes",
                        f"no scheme has x-postmark-token: {group.token}",
                    )
                scheme: dict[str, Any] = schemes[scheme_name]
                prefix = naming.pascal_case(group.token)
                clients[group.token] = Client(
                    token=group.token,
                    class_name=f"{prefix}Client",
                    async_class_name=f"Async{prefix}Client",
                    header=scheme.get("name", ""),
                    env_var=f"POSTMARK_{group.token.upper()}_TOKEN",
                    security_scheme=scheme_name,
                    description=_text(scheme.get("description")),
                )
            clients[group.token].groups.append(group)
        return list(clients.values())

    def build_webhooks(self) -> list[WebhookEvent]:
        events = []
        for key, item in (self.root.get("webhooks") or {}).items():
            location = dotted(("webhooks", key))
            post = (self.spec.deref(item) or {}).get("post")
            if not isinstance(post, dict):
                raise BuildError(location, "a webhook needs a post operation")
            body = self.spec.deref(post.get("requestBody") or {})
            media = self._json_content(body) or {}
            schema = media.get("schema") or {}
            ref = schema.get("$ref", "")
            if not str(ref).startswith(_SCHEMA_PREFIX):
                raise BuildError(f"{location}.post.requestBody", "must $ref a named schema")
            name = ref[len(_SCHEMA_PREFIX) :]
            if self.component_type(name).kind != "model":
                raise BuildError(f"{location}.post.requestBody", f"{name} is not an object schema")
            model = self.models[name]
            raw_schema = self.spec.deref(self.schemas[name])
            events.append(
                WebhookEvent(
                    key=key,
                    record_type=_record_type(post, key, location),
                    model=model,
                    summary=_text(post.get("summary")),
                    description=_text(post.get("description")),
                    spec_path=location,
                    example=media.get("example"),
                    detect_by=reading.detect_by(raw_schema),
                )
            )
        return events

    def build_error_codes(self) -> list[ErrorCodeInfo]:
        codes = []
        for index, entry in enumerate(reading.error_codes(self.components) or []):
            location = f"components.x-postmark-error-codes.{index}"
            try:
                name = str(entry["name"])
                codes.append(
                    ErrorCodeInfo(
                        code=int(entry["code"]),
                        name=name,
                        meaning=_text(entry.get("meaning")),
                        http_status=(
                            int(entry["http-status"])
                            if entry.get("http-status") is not None
                            else None
                        ),
                        verified=bool(entry.get("verified", False)),
                        exception_class=f"{name}Error" if entry.get("exception") else None,
                        constant_name=naming.constant_name(name),
                    )
                )
            except (KeyError, TypeError, ValueError) as exc:
                raise BuildError(location, f"malformed error code entry ({exc})") from None
        return codes

    def build_release_notes(self) -> list[ReleaseNote]:
        notes = []
        for entry in reading.release_notes(self.root) or []:
            notes.append(
                ReleaseNote(
                    date=str(entry.get("date", "")),
                    title=_text(entry.get("title")),
                    changes=[_text(c) for c in entry.get("changes") or []],
                    operations=list(entry.get("operations") or []),
                )
            )
        return notes


def _query_prefix(param: dict[str, Any], schema: dict[str, Any], location: str) -> str | None:
    """`x-postmark-query-prefix`: an object query parameter sent as `<prefix><key>=<value>`."""
    prefix = reading.query_prefix(param)
    if prefix is None:
        return None
    if not isinstance(prefix, str) or not prefix or param.get("in") != "query":
        raise BuildError(
            f"{location}.x-postmark-query-prefix", "must be a non-empty string on a query parameter"
        )
    if schema.get("type") != "object":
        raise BuildError(f"{location}.x-postmark-query-prefix", "needs an object schema")
    return prefix


def _idempotency(raw: Any, location: str) -> tuple[str | None, str | None]:
    """`x-postmark-idempotency`: {metadata: the Metadata field of each message, search: the
    operationId that finds a message by it (absent: keys are sent but not reconciled)}."""
    if raw is None:
        return None, None
    where = f"{location}.x-postmark-idempotency"
    if not isinstance(raw, dict) or set(raw) - {"metadata", "search"}:
        raise BuildError(where, "must be a mapping with metadata and, optionally, search")
    metadata, search = raw.get("metadata"), raw.get("search")
    if not isinstance(metadata, str) or not metadata or metadata.count(".") > 1:
        raise BuildError(
            f"{where}.metadata", "must name a Metadata field (Metadata, Messages.Metadata)"
        )
    if search is not None and (not isinstance(search, str) or "." in metadata):
        raise BuildError(
            f"{where}.search",
            "must be an operationId, on an operation whose messages are reconciled one by one",
        )
    return metadata, search
