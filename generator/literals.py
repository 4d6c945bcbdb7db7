"""Python literals for spec values: the one way a spec string becomes Python source.

The templates use these as the `pyrepr` and `pytuple` filters (generator/render.py), and
generator/pycode.py when it writes a model's conversions and checks.
"""

from __future__ import annotations

from typing import Any


def pyrepr(value: Any) -> str:
    """A Python literal for a value from the spec (strings, numbers, booleans, None, lists, dicts)."""
    if isinstance(value, tuple):
        value = list(value)
    return repr(value)


def pytuple(values: Any) -> str:
    """A tuple literal: `("a", "b")`, `("a",)`, `()`."""
    items = [pyrepr(v) for v in values]
    if len(items) == 1:
        return f"({items[0]},)"
    return "(" + ", ".join(items) + ")"
