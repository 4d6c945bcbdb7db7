"""Templates loop and print: every decision (which import, which helper, "a" or "an") is a field
of the model computed in generator/model.py or build.py.

Each template is parsed with Jinja and walked. A test (`if`, `elif`, `x if c else y`, `for ... if`)
may only read the model: a name or attribute path, `not`, `is none`, `and` / `or` of those.
Nothing else decides: no comparison or `in` test (no searching strings or sets), no filter that
selects, sums or de-duplicates, no Python method that builds or looks up data (`.append`,
`.update`, `.get`, `.items`, ...), no subscript into a table the template builds.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from jinja2 import nodes

from generator.render import environment

TEMPLATES = Path(__file__).resolve().parents[2] / "templates"

SELECTING_FILTERS = frozenset(
    {"selectattr", "rejectattr", "select", "reject", "sum", "groupby", "unique", "first", "last"}
)
DATA_METHODS = frozenset(
    {"append", "update", "get", "items", "keys", "values", "pop", "setdefault", "count", "index"}
    | {"rstrip", "strip", "split", "startswith", "endswith", "replace"}
)


def _reads_the_model(test: nodes.Node) -> bool:
    if isinstance(test, (nodes.Name, nodes.Getattr)):
        return True
    if isinstance(test, nodes.Not):
        return _reads_the_model(test.node)
    if isinstance(test, nodes.Test) and test.name == "none" and not test.args:
        return _reads_the_model(test.node)
    if isinstance(test, (nodes.And, nodes.Or)):
        return _reads_the_model(test.left) and _reads_the_model(test.right)
    return False


def decisions(source: str) -> list[str]:
    """Each decision of a template's source, as `line N: what`."""
    found = []
    wanted = (nodes.If, nodes.CondExpr, nodes.For, nodes.Compare, nodes.Filter, nodes.Call)
    for node in environment(TEMPLATES).parse(source).find_all(wanted + (nodes.Getitem,)):
        what = None
        if isinstance(node, (nodes.If, nodes.CondExpr, nodes.For)):
            test = node.test
            if test is not None and not _reads_the_model(test):
                what = "a test that is more than reading the model"
        elif isinstance(node, nodes.Compare):
            what = "a comparison or `in` test"
        elif isinstance(node, nodes.Filter) and node.name in SELECTING_FILTERS:
            what = f"the filter {node.name}"
        elif isinstance(node, nodes.Call) and isinstance(node.node, nodes.Getattr):
            if node.node.attr in DATA_METHODS:
                what = f"the method .{node.node.attr}()"
        elif isinstance(node, nodes.Getitem):
            what = "a lookup by subscript"
        if what is not None:
            found.append(f"line {node.lineno}: {what}")
    return found


@pytest.mark.parametrize("path", sorted(TEMPLATES.glob("*.jinja")), ids=lambda p: p.name)
def test_a_template_decides_nothing_the_model_could(path: Path) -> None:
    assert decisions(path.read_text()) == []


@pytest.mark.parametrize(
    "source",
    [
        "{% if '_dt.' in signatures %}import datetime{% endif %}",
        "{{ 'an ' if name[0] in 'AEIOU' else 'a ' }}",
        "{% set names = [] %}{% set _ = names.append(1) %}",
        "{% for op in ops | selectattr('paging') %}{% endfor %}",
        "{% if op.token == 'account' %}{% endif %}",
        "{{ table[op.name] }}",
    ],
)
def test_each_kind_of_decision_is_found(source: str) -> None:
    assert decisions(source) != []


def test_reading_the_model_is_no_decision() -> None:
    source = (
        "{% for op in group.operations if not op.batch %}{% if op.paging is not none and x %}"
        "{{ op.facts | wrap(88) }}{{ 'await ' if is_async }}{% endif %}{% endfor %}"
    )
    assert decisions(source) == []
