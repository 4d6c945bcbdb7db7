"""Sample wire data for every model: what `postmark_client.testing` builds its factories from.

A model's sample is, in order of preference: the schema's own `example`; the first place the model
appears inside an example of an operation (request or response) or a webhook, read alongside the
operation's types; or, when the spec shows the model nowhere, a value built from its required
fields (field examples, else a plain value of the field's type). Samples are wire data (PascalCase
keys), so they are exactly what Postmark would send or accept.
"""

from __future__ import annotations

import copy
from typing import Any

from generator.model import Api, EnumType, Model, TypeRef

# Plain values of a type, for fields the spec gives no example of.
_PLAIN: dict[str, Any] = {
    "str": "string",
    "int": 0,
    "float": 0.0,
    "bool": False,
    "any": {},
    "datetime": "2025-01-06T09:00:00.0000000-05:00",
    "date": "2025-01-06",
}
_PLAIN_BY_FORMAT: dict[str, Any] = {
    "email": "user@example.com",
    "uri": "https://example.com/postmark-hook",
    "date-time": _PLAIN["datetime"],
    "date": _PLAIN["date"],
}


def fill_samples(api: Api) -> None:
    """Set `Model.sample` on every model of `api`."""
    models = {model.name: model for model in api.models}
    enums = {enum.name: enum for enum in api.enums}
    found: dict[str, Any] = {}
    for model in api.models:
        if isinstance(model.example, dict):
            found[model.name] = model.example
    for op in api.operations:
        if op.body is not None and op.body.example is not None:
            _harvest(models, op.body.type, op.body.example, found)
        if op.response.example is not None:
            _harvest(models, op.response.type, op.response.example, found)
    for event in api.webhooks:
        if event.example is not None:
            _harvest(models, TypeRef("model", name=event.model.name), event.example, found)
    for model in api.models:
        sample = found.get(model.name)
        model.sample = (
            copy.deepcopy(sample) if sample is not None else _build(models, enums, model, ())
        )


def _harvest(models: dict[str, Model], type_: TypeRef, value: Any, found: dict[str, Any]) -> None:
    """Record the first example value of every model reachable from `type_` inside `value`."""
    if type_.kind == "model" and type_.name in models and isinstance(value, dict):
        found.setdefault(type_.name, value)
        for f in models[type_.name].fields:
            if f.wire in value and value[f.wire] is not None:
                _harvest(models, f.type, value[f.wire], found)
    elif type_.kind == "list" and type_.item is not None and isinstance(value, list):
        for item in value:
            _harvest(models, type_.item, item, found)
    elif type_.kind == "dict" and type_.item is not None and isinstance(value, dict):
        for item in value.values():
            _harvest(models, type_.item, item, found)


def _build(
    models: dict[str, Model], enums: dict[str, EnumType], model: Model, seen: tuple[str, ...]
) -> dict[str, Any]:
    """A sample of `model` from its required fields (and the first of its `anyOf` groups)."""
    wanted = {f.wire for f in model.fields if f.required}
    if model.require_any_of:
        wanted.update(model.require_any_of[0])
    sample: dict[str, Any] = {}
    for f in model.fields:
        if f.wire not in wanted:
            continue
        if f.example is not None:
            sample[f.wire] = copy.deepcopy(f.example)
        elif f.format in _PLAIN_BY_FORMAT:
            sample[f.wire] = _PLAIN_BY_FORMAT[f.format]
        else:
            sample[f.wire] = _plain(models, enums, f.type, seen + (model.name,))
    return sample


def _plain(
    models: dict[str, Model], enums: dict[str, EnumType], type_: TypeRef, seen: tuple[str, ...]
) -> Any:
    if type_.kind in _PLAIN:
        return copy.deepcopy(_PLAIN[type_.kind])
    if type_.kind == "enum" and type_.name in enums:
        return enums[type_.name].values[0]
    if type_.kind == "model" and type_.name in models and type_.name not in seen:
        return _build(models, enums, models[type_.name], seen)
    if type_.kind == "list":
        return []
    if type_.kind == "scalars" and type_.members:
        return _plain(models, enums, type_.members[0], seen)
    return {}
