"""A spec's structure: everything but the text of its descriptions and summaries.

Editing a description is the most common change to the spec, and validation does not depend on
that text: openapi-spec-validator and the JSON Schema checks only require it to be a string, and
of the project's rules only validate.TEXT_RULES read it (or the YAML text itself, which loading
loses). So `pipeline._validate` remembers, beside a clean verdict, the hash of the spec with those
texts blanked out (`structure_digest`); a spec with the same structure is clean as soon as the text
rules pass.

What is blanked is decided by the OpenAPI 3.1 object model, never by a key's name alone: the
document is walked from its root knowing what each node is (an operation, a parameter, a schema...)
and only the `description` and `summary` fields those objects define are blanked. A property named
`description` inside `properties`, a key of example data, a discriminator mapping or an extension
is kept as it is, and anything the walk does not know is kept whole. A non-empty text becomes
BLANK and an empty one stays empty (a rule may ask whether a text is there); a value that is not a
string is kept, since its type is what the validators check.

A `$ref` can make a node be read as another kind of object (or as example data), so the walk
records the kind of every node it visits and the kind each `$ref` expects; when any `$ref` is not
a local JSON pointer to a node of the kind it expects, or the document uses what changes how
schema references resolve (`$id`, anchors, `$schema`, `jsonSchemaDialect`), there is no structure
digest and the spec is validated in full. Specs spread over several files get none either.
"""

from __future__ import annotations

import hashlib
from typing import Any

from generator.loader import Spec, iter_refs

BLANK = "\u2026"
"""What a non-empty description or summary becomes in the digested copy."""
VERSION = "structure v1"

PROSE = "prose"
HTTP_METHODS = ("get", "put", "post", "delete", "options", "head", "patch", "trace")
# A field's kind: an object kind (a key of FIELDS or SCHEMA), PROSE, or ("list"|"map", kind).
# A map's keys are names chosen by the author; its `x-` keys are extensions and are kept whole.
FIELDS: dict[str, dict[str, Any]] = {
    "openapi": {
        "info": "info",
        "servers": ("list", "server"),
        "paths": ("map", "pathItem"),
        "webhooks": ("map", "pathItem"),
        "components": "components",
        "tags": ("list", "tag"),
        "externalDocs": "externalDocs",
    },
    "info": {"summary": PROSE, "description": PROSE},
    "server": {"description": PROSE, "variables": ("map", "serverVariable")},
    "serverVariable": {"description": PROSE},
    "components": {
        "schemas": ("map", "schema"),
        "responses": ("map", "response"),
        "parameters": ("map", "parameter"),
        "examples": ("map", "example"),
        "requestBodies": ("map", "requestBody"),
        "headers": ("map", "header"),
        "securitySchemes": ("map", "securityScheme"),
        "links": ("map", "link"),
        "callbacks": ("map", "callback"),
        "pathItems": ("map", "pathItem"),
    },
    "pathItem": {
        "summary": PROSE,
        "description": PROSE,
        "servers": ("list", "server"),
        "parameters": ("list", "parameter"),
        **{method: "operation" for method in HTTP_METHODS},
    },
    "operation": {
        "summary": PROSE,
        "description": PROSE,
        "externalDocs": "externalDocs",
        "parameters": ("list", "parameter"),
        "requestBody": "requestBody",
        "responses": ("map", "response"),
        "callbacks": ("map", "callback"),
        "servers": ("list", "server"),
    },
    "externalDocs": {"description": PROSE},
    "parameter": {
        "description": PROSE,
        "schema": "schema",
        "examples": ("map", "example"),
        "content": ("map", "mediaType"),
    },
    "header": {
        "description": PROSE,
        "schema": "schema",
        "examples": ("map", "example"),
        "content": ("map", "mediaType"),
    },
    "requestBody": {"description": PROSE, "content": ("map", "mediaType")},
    "mediaType": {
        "schema": "schema",
        "examples": ("map", "example"),
        "encoding": ("map", "encoding"),
    },
    "encoding": {"headers": ("map", "header")},
    "response": {
        "description": PROSE,
        "headers": ("map", "header"),
        "content": ("map", "mediaType"),
        "links": ("map", "link"),
    },
    "example": {"summary": PROSE, "description": PROSE},  # `value` is data: kept whole
    "link": {"description": PROSE, "server": "server"},
    "tag": {"description": PROSE, "externalDocs": "externalDocs"},
    "securityScheme": {"description": PROSE},
}
# Objects that may be a Reference Object instead ({$ref, summary, description}); a Path Item
# may hold a `$ref` beside its own fields.
REFERABLE = frozenset(
    {"parameter", "header", "requestBody", "response", "example", "link", "securityScheme",
     "callback", "pathItem"}
)  # fmt: skip
# A callback is a map of runtime expressions to Path Items.
CALLBACK = ("map", "pathItem")
# JSON Schema 2020-12 keywords holding schemas (OpenAPI's Schema Object is a superset of it).
SCHEMA_ONE = (
    "items", "additionalProperties", "not", "if", "then", "else", "contains", "propertyNames",
    "unevaluatedItems", "unevaluatedProperties", "contentSchema",
)  # fmt: skip
SCHEMA_MAP = ("properties", "patternProperties", "$defs", "dependentSchemas")
SCHEMA_LIST = ("allOf", "anyOf", "oneOf", "prefixItems")
# Every keyword a schema may hold: JSON Schema 2020-12's and the OpenAPI 3.1 Schema Object's own.
SCHEMA_KEYWORDS = frozenset(
    {*SCHEMA_ONE, *SCHEMA_MAP, *SCHEMA_LIST,
     "$schema", "$id", "$ref", "$anchor", "$dynamicRef", "$dynamicAnchor", "$vocabulary",
     "$comment", "type", "enum", "const", "multipleOf", "maximum", "exclusiveMaximum", "minimum",
     "exclusiveMinimum", "maxLength", "minLength", "pattern", "maxItems", "minItems",
     "uniqueItems", "maxContains", "minContains", "maxProperties", "minProperties", "required",
     "dependentRequired", "title", "description", "default", "deprecated", "readOnly",
     "writeOnly", "examples", "format", "contentEncoding", "contentMediaType",
     "discriminator", "xml", "externalDocs", "example"}
)  # fmt: skip
# Keywords that change what a schema `$ref` resolves to, or the dialect schemas are read in.
SCHEMA_UNSAFE = frozenset(
    {"$id", "$anchor", "$dynamicAnchor", "$dynamicRef", "$recursiveAnchor", "$recursiveRef",
     "$schema", "$vocabulary", "id"}
)  # fmt: skip


class _Unsupported(Exception):
    """The document uses something the walk cannot vouch for: no structure digest."""


def structure_digest(spec: Spec) -> str | None:
    """The hash of the root document with its descriptions and summaries blanked; None when the
    spec is outside what this module can vouch for (see the module's docstring)."""
    root = spec.root
    if not isinstance(root, dict) or "$ref" in root or "jsonSchemaDialect" in root:
        return None
    walk = _Walk()
    try:
        blanked = walk.visit(root, (), "openapi")
        walk.check_refs(root)
        shape = repr(blanked)
    except (_Unsupported, RecursionError):
        return None
    return hashlib.sha256(
        f"{VERSION}\n{BLANK}\n{shape}".encode("utf-8", "surrogatepass")
    ).hexdigest()


def _key(parts: tuple[Any, ...]) -> tuple[str, ...]:
    return tuple(str(part) for part in parts)


class _Walk:
    def __init__(self) -> None:
        self.kinds: dict[tuple[str, ...], str] = {}  # where a node was visited -> its kind
        self.refs: dict[tuple[str, ...], tuple[str, str]] = {}  # $ref holder -> (ref, kind)

    def visit(self, node: Any, parts: tuple[Any, ...], kind: Any) -> Any:
        """The node with the prose of the objects it holds blanked (a copy; the spec is untouched)."""
        if kind == PROSE:
            return (BLANK if node else node) if isinstance(node, str) else node
        if isinstance(kind, tuple):
            return self.collection(node, parts, kind)
        where = _key(parts)
        if where in self.kinds:  # cannot happen in a tree; refuse rather than guess
            raise _Unsupported(where)
        self.kinds[where] = kind
        if not isinstance(node, dict):
            return node
        if kind == "schema":
            return self.schema(node, parts)
        ref = node.get("$ref")
        if kind in REFERABLE and ref is not None:
            self.reference(ref, parts, kind)
            if kind != "pathItem":  # a Reference Object: only its own summary and description
                return self.fields(node, parts, {"summary": PROSE, "description": PROSE})
        if kind == "callback":
            return self.collection(node, parts, CALLBACK)
        return self.fields(node, parts, FIELDS[kind])

    def reference(self, ref: Any, parts: tuple[Any, ...], kind: str) -> None:
        if not isinstance(ref, str):
            raise _Unsupported(parts)
        self.refs[_key(parts)] = (ref, kind)

    def fields(self, node: dict[Any, Any], parts: tuple[Any, ...], fields: dict[str, Any]) -> Any:
        copy = dict(node)
        for key, value in node.items():
            kind = fields.get(key) if isinstance(key, str) else None
            if kind is not None:
                copy[key] = self.visit(value, parts + (key,), kind)
        return copy

    def collection(self, node: Any, parts: tuple[Any, ...], kind: tuple[str, Any]) -> Any:
        shape, item = kind
        if shape == "list":
            if not isinstance(node, list):
                return node
            return [self.visit(value, parts + (index,), item) for index, value in enumerate(node)]
        if not isinstance(node, dict):
            return node
        return {
            key: (
                value
                if isinstance(key, str) and key.startswith("x-")
                else self.visit(value, parts + (key,), item)
            )
            for key, value in node.items()
        }

    def schema(self, node: dict[Any, Any], parts: tuple[Any, ...]) -> Any:
        if any(key in SCHEMA_UNSAFE for key in node):
            raise _Unsupported(parts)
        if "$ref" in node:
            self.reference(node["$ref"], parts, "schema")
        copy = dict(node)
        for key, value in node.items():
            if key == "description":
                copy[key] = self.visit(value, parts + (key,), PROSE)
            elif key == "externalDocs":
                copy[key] = self.visit(value, parts + (key,), "externalDocs")
            elif key in SCHEMA_ONE:
                copy[key] = self.visit(value, parts + (key,), "schema")
            elif key in SCHEMA_MAP and isinstance(value, dict):
                copy[key] = {
                    name: self.visit(sub, parts + (key, name), "schema")
                    for name, sub in value.items()
                }
            elif key in SCHEMA_LIST:
                copy[key] = self.collection(value, parts + (key,), ("list", "schema"))
        return copy

    def check_refs(self, root: dict[Any, Any]) -> None:
        """Every `$ref` of the document was met by the walk, is a local JSON pointer, and points
        at a node the walk visited as the kind that `$ref` expects."""
        found = 0
        for parts, ref in iter_refs(root):
            found += 1
            if self.refs.get(_key(parts), (None,))[0] != ref:  # data, an extension, ...
                raise _Unsupported(parts)
        if found != len(self.refs):
            raise _Unsupported("a $ref the walk met is not in the document")
        for ref, kind in self.refs.values():
            if not ref.startswith("#/") or "%" in ref:
                raise _Unsupported(ref)
            target = tuple(raw.replace("~1", "/").replace("~0", "~") for raw in ref[2:].split("/"))
            if self.kinds.get(target) != kind:
                raise _Unsupported(ref)
