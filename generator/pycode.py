"""How a model's fields are read, written and checked, as the Python source its module prints.

build.py calls `write_model_code` once every model's usage (request, response) is known; the
models template prints `Field.read_code`, `Field.write_code` and `Model.validate_lines`. Each
conversion follows the field's TypeRef kind; spec values reach the source through `pyrepr`.
"""

from __future__ import annotations

from generator.literals import pyrepr
from generator.model import Api, EnumType, Field, Model, TypeRef

# How many list levels deep from_dict builds response items in place (no from_dict call per
# item of a 500-item page); deeper items, and request models (read leniently, for validate()),
# go through their own from_dict.
INLINE_DEPTH = 2


class _Writer:
    def __init__(self, api: Api) -> None:
        self.models = {m.name: m for m in api.models}
        self.enums = {e.name: e for e in api.enums}

    # ---- from_dict -------------------------------------------------------------------------

    def decode(self, t: TypeRef, expr: str, depth: int = 0, item: bool = False) -> str:
        """The Python value of the JSON value `expr` of type `t`."""
        if t.passthrough:
            return expr
        if t.kind == "datetime":
            return f"Timestamp.fromisoformat({expr})"
        if t.kind == "date":
            return f"parse_date({expr})"
        if t.kind == "model":
            model = self.models[t.name or ""]
            if item and depth <= INLINE_DEPTH and not model.is_request:
                return self.construct(model, expr, depth)
            return f"{model.name}.from_dict({expr})"
        if t.kind == "union":
            return f"{t.parse_function}({expr})"
        inner = t.item
        assert inner is not None, f"a {t.kind} type needs its item type"
        if t.kind == "list":
            return f"[{self.decode(inner, f'i{depth}', depth + 1, True)} for i{depth} in {expr}]"
        value = self.decode(inner, f"v{depth}", depth + 1, True)
        return f"{{k{depth}: {value} for k{depth}, v{depth} in {expr}.items()}}"

    def construct(self, model: Model, src: str, depth: int) -> str:
        """A response model built in place from the JSON object `src`, as its from_dict does:
        missing required fields raise KeyError, unknown keys go to `extra`."""
        values = "".join(
            f"{self.read(model, f, src, depth, f'o{depth}')}, " for f in model.init_fields
        )
        keys = f"{model.name}._wire_keys"
        unknown = f"{{k: v for k, v in {src}.items() if k not in {keys}}}"
        extra = f"({{}} if {keys}.issuperset({src}) else {unknown})"
        return f"{model.name}({values}{extra})"

    def read(self, model: Model, f: Field, src: str = "data", depth: int = 0, v: str = "v") -> str:
        """Field `f` read from the JSON object `src`; `v` holds an optional value while it is
        tested (one name per depth of inline construction)."""
        key = pyrepr(f.wire)
        if model.is_request and not f.optional:
            # Request models read required fields leniently too: validate() names what is missing.
            if f.type.passthrough:
                return f"raw.get({key})"
            value = self.decode(f.type, "v")
            return f"cast(Any, ({value} if (v := raw.get({key})) is not None else None))"
        if not f.optional:
            return self.decode(f.type, f"{src}[{key}]", depth)
        if f.type.passthrough:
            return f"{src}.get({key})"
        value = self.decode(f.type, v, depth)
        if f.type.kind in ("list", "dict"):
            # `else v` keeps None, and an empty container as it came, without a comprehension.
            return f"({value} if ({v} := {src}.get({key})) else {v})"
        return f"({value} if ({v} := {src}.get({key})) is not None else None)"

    # ---- to_dict ---------------------------------------------------------------------------

    def encode(self, t: TypeRef, expr: str, depth: int = 0) -> str:
        """The JSON value of the Python value `expr` of type `t`."""
        if t.passthrough:
            return expr
        if t.kind in ("datetime", "date"):
            return f"{expr}.isoformat()"
        if t.kind in ("model", "union"):
            return f"{expr}.to_dict()"
        inner = t.item
        assert inner is not None, f"a {t.kind} type needs its item type"
        if t.kind == "list":
            return f"[{self.encode(inner, f'i{depth}', depth + 1)} for i{depth} in {expr}]"
        value = self.encode(inner, f"v{depth}", depth + 1)
        return f"{{k{depth}: {value} for k{depth}, v{depth} in {expr}.items()}}"

    # ---- validate() ------------------------------------------------------------------------

    def validate(self, model: Model) -> list[str]:
        """The body of a request model's validate(), one line each, indented from the method's."""
        lines: list[str] = []
        for f in model.fields:
            lines += self.field_checks(f)
        if model.require_any_of:
            groups = [
                "(" + " and ".join(f"self.{f.name} is not None" for f in group) + ")"
                for group in model.require_any_of_fields
            ]
            needs = " or ".join(" and ".join(group) for group in model.require_any_of)
            lines += [
                f"if not ({' or '.join(groups)}):",
                "    raise RequestValidationError(",
                f"        path + {pyrepr(model.require_any_of[0][0])},",
                f"        {pyrepr('needs ' + needs)},",
                "    )",
            ]
        if model.closed:
            lines += [
                "if self.extra:",
                "    raise RequestValidationError(",
                '        path + min(self.extra), "is not a field Postmark accepts here"',
                "    )",
            ]
        return lines

    def field_checks(self, f: Field) -> list[str]:
        where = f"path + {pyrepr(f.wire)}"
        value = f"self.{f.name}"
        t = f.type
        # Required values are checked for None first; then every check is guarded the same way.
        guard = f"{value} is not None and " if f.optional else ""
        lines: list[str] = []

        def check(condition: str, message: str, at: str = where) -> None:
            lines.extend([f"if {condition}:", f"    raise RequestValidationError({at}, {message})"])

        if not f.optional:
            check(f"{value} is None", '"is required"')
        if t.check_types:
            test = _isinstance_test(t, value)
            check(
                guard + (f"({test})" if guard and t.numeric else test),
                f"{pyrepr('must be ' + t.expected + ', got ')} + type({value}).__name__",
            )
        if t.kind == "model":
            call = f'{value}.validate({where} + ".")'
            lines += [f"if {value} is not None:", f"    {call}"] if f.optional else [call]
        if t.kind == "enum":
            enum = self.enums[t.name or ""]
            check(f"{guard}{value} not in {enum.constant_name}", _one_of(enum, value))
        if t.kind == "list" and t.item is not None and t.item.kind in ("model", "enum"):
            lines += self.item_checks(f, t.item)
        for limit, op, text in (
            (f.max_length, ">", "must be at most {} characters"),
            (f.min_length, "<", "must be at least {} characters"),
        ):
            if limit is not None:
                check(f"{guard}len({value}) {op} {pyrepr(limit)}", pyrepr(text.format(limit)))
        if f.pattern is not None:
            check(
                f"{guard}re.search({pyrepr(f.pattern)}, {value}) is None",
                pyrepr("must match " + f.pattern),
            )
        if f.max_items is not None:
            accepts = pyrepr(f" items; Postmark accepts at most {f.max_items}")
            check(
                f"{guard}len({value}) > {pyrepr(f.max_items)}",
                f'"has " + str(len({value})) + {accepts}',
            )
        if f.min_items is not None:
            check(
                f"{guard}len({value}) < {pyrepr(f.min_items)}",
                pyrepr(f"needs at least {f.min_items} items"),
            )
        for bound, op, text in ((f.minimum, "<", "least"), (f.maximum, ">", "most")):
            if bound is not None:
                check(
                    f"{guard}{value} {op} {pyrepr(bound)}",
                    f"{pyrepr(f'must be at {text} {bound}, got ')} + repr({value})",
                )
        return lines

    def item_checks(self, f: Field, item_type: TypeRef) -> list[str]:
        """Each item of a list of models or enums: its type, then its own checks."""
        item = f"{f.name}_item"
        items = f"self.{f.name} or ()" if f.optional else f"self.{f.name}"
        at = f'path + {pyrepr(f.wire + "[")} + str(index) + "]"'
        must_be = pyrepr("must be " + item_type.expected + ", got ")
        lines = [
            f"for index, {item} in enumerate({items}):",
            f"    if {_isinstance_test(item_type, item)}:",
            f"        raise RequestValidationError({at}, {must_be} + type({item}).__name__)",
        ]
        if item_type.kind == "model":
            return lines + [
                f'    {item}.validate(path + {pyrepr(f.wire + "[")} + str(index) + "].")'
            ]
        enum = self.enums[item_type.name or ""]
        return lines + [
            f"    if {item} not in {enum.constant_name}:",
            f"        raise RequestValidationError({at}, {_one_of(enum, item)})",
        ]


def _isinstance_test(t: TypeRef, expr: str) -> str:
    """validate()'s type test of `expr` (a bool is no int: isinstance would let it pass)."""
    if t.numeric:
        return f"isinstance({expr}, bool) or not isinstance({expr}, {t.check_types})"
    return f"not isinstance({expr}, {t.check_types})"


def _one_of(enum: EnumType, expr: str) -> str:
    return f"{pyrepr('must be one of ' + ', '.join(enum.values) + '; got ')} + repr({expr})"


def write_model_code(api: Api) -> None:
    """Fill in each model's from_dict reads, to_dict writes and validate() body."""
    writer = _Writer(api)
    for model in api.models:
        for f in model.fields:
            f.read_code = writer.read(model, f)
            f.write_code = writer.encode(f.type, f"self.{f.name}")
        model.validate_lines = writer.validate(model) if model.is_request else []
