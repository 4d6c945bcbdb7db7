"""A small valid spec cut from spec/postmark.yaml, for tests that validate one mutation per case.

Validating the whole spec takes over a second; this cut keeps a few operations, the tags, release
notes and components they reach, and the webhooks, so it validates clean in a tenth of that and
every rule still has something to check.
"""

from __future__ import annotations

import copy
from functools import cache
from pathlib import Path
from typing import Any

import yaml

from support.spec_yaml import spec_doc

REAL_SPEC = Path(__file__).resolve().parents[2] / "spec" / "postmark.yaml"
DUMPER = getattr(yaml, "CSafeDumper", yaml.SafeDumper)
# POST /email, GET /bounces and the outbound search a send reconciles with: a request body, query
# parameters, shared parameters, a webhook event.
KEPT_PATHS = ("/email", "/bounces", "/messages/outbound")
# check_webhooks asks for the payload union every webhook's body belongs to.
ALWAYS_KEPT = ("#/components/schemas/WebhookPayload",)

Doc = dict[str, Any]


def real_doc() -> Doc:
    """spec/postmark.yaml as loaded, a fresh copy for each caller to change."""
    return spec_doc(REAL_SPEC)


@cache
def _small() -> Doc:
    doc = real_doc()
    doc["paths"] = {path: doc["paths"][path] for path in KEPT_PATHS}
    kept = _reachable(doc, {*ALWAYS_KEPT, *_refs(doc["paths"]), *_refs(doc.get("webhooks", {}))})
    schemas = doc["components"]["schemas"]
    doc["components"]["schemas"] = {
        name: schema for name, schema in schemas.items() if f"#/components/schemas/{name}" in kept
    }
    operations = [
        op for item in doc["paths"].values() for op in item.values() if isinstance(op, dict)
    ]
    used_tags = {tag for op in operations for tag in op.get("tags", [])}
    doc["tags"] = [tag for tag in doc["tags"] if tag["name"] in used_tags]
    doc["x-postmark-release-notes"] = _notes(doc, {op["operationId"] for op in operations})
    return doc


def small_doc() -> Doc:
    """The small spec, a fresh copy for each caller to change."""
    return copy.deepcopy(_small())


def dump(doc: Doc) -> str:
    text: str = yaml.dump(doc, Dumper=DUMPER, sort_keys=False, allow_unicode=True)
    return text


def _refs(node: Any) -> set[str]:
    """Every local reference below `node`: `$ref` values and discriminator mapping targets."""
    if isinstance(node, dict):
        return set().union(*(_refs(value) for value in node.values()))
    if isinstance(node, list):
        return set().union(*(_refs(value) for value in node))
    return {node} if isinstance(node, str) and node.startswith("#/components/") else set()


def _reachable(doc: Doc, refs: set[str]) -> set[str]:
    seen: set[str] = set()
    todo = set(refs)
    while todo:
        ref = todo.pop()
        seen.add(ref)
        node: Any = doc
        for part in ref.removeprefix("#/").split("/"):
            node = node[part]
        todo |= _refs(node) - seen
    return seen


def _notes(doc: Doc, operation_ids: set[str]) -> list[Doc]:
    """Release notes name only kept operations; the newest note stays (info.version is its date)."""
    notes: list[Doc] = doc["x-postmark-release-notes"]
    kept: list[Doc] = []
    for note in notes:
        if "operations" in note:
            note["operations"] = [op for op in note["operations"] if op in operation_ids]
            if not note["operations"]:
                if note is not notes[-1]:
                    continue
                del note["operations"]
        kept.append(note)
    return kept
