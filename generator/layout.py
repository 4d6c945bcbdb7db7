"""Which generated module each model, enum, alias and union lives in.

`postmark_client.models` is a package with one module per group of the spec (`_email`,
`_bounces`, ...), one for the webhooks and one (`_shared`) for what several of them use. A spec
edit then re-renders the module of the group it touches, not every model. A name belongs to the
only group (or the webhooks) that reaches it, through operation bodies and answers or webhook
payloads and then field by field; anything reached from two places, or from none, is shared.
Shared names only refer to shared names, so the modules import each other without cycles.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator

from generator.model import Api, ModelModule, TypeRef

SHARED = "shared"
WEBHOOKS = "webhooks"


def type_names(t: TypeRef | None) -> Iterator[str]:
    """Every generated name a type mentions: models, unions, enums and container aliases."""
    if t is None:
        return
    if t.alias is not None:
        yield t.alias
    if t.kind in ("model", "union", "enum") and t.name:
        yield t.name
    yield from type_names(t.item)
    for member in t.members:
        yield from type_names(member)


def _dependencies(api: Api) -> dict[str, set[str]]:
    """Name -> the generated names its definition uses."""
    deps: dict[str, set[str]] = {e.name: set() for e in api.enums}
    for model in api.models:
        deps[model.name] = {n for f in model.fields for n in type_names(f.type)} - {model.name}
    for alias in api.aliases:
        deps[alias.name] = set(type_names(alias.type)) - {alias.name}
    for union in api.unions:
        deps[union.name] = {v.model for v in union.variants}
    return deps


def _roots(api: Api) -> Iterator[tuple[str, Iterable[str]]]:
    """(owner, names it uses directly): each operation's group, and the webhooks."""
    for op in api.operations:
        names: list[str] = []
        if op.body is not None:
            names += type_names(op.body.type)
        names += type_names(op.response.type)
        if op.paging is not None:
            names.append(op.paging.item_model.name)
        yield op.group, names
    for event in api.webhooks:
        yield WEBHOOKS, [event.model.name]
    for union in api.unions:
        yield WEBHOOKS, [union.name]


def _owners(api: Api, deps: dict[str, set[str]]) -> dict[str, set[str]]:
    owners: dict[str, set[str]] = {name: set() for name in deps}
    for owner, names in _roots(api):
        pending = [n for n in names if n in deps]
        while pending:
            name = pending.pop()
            if owner in owners[name]:
                continue
            owners[name].add(owner)
            pending.extend(d for d in deps[name] if d in deps)
    return owners


def assign_modules(api: Api) -> list[ModelModule]:
    """The modules of `postmark_client.models`, groups in spec order, then webhooks, then shared."""
    deps = _dependencies(api)
    owners = _owners(api, deps)
    home = {name: next(iter(o)) if len(o) == 1 else SHARED for name, o in owners.items()}
    # What the shared module uses is shared too, so no group module is ever imported by it.
    pending = [name for name, module in home.items() if module == SHARED]
    while pending:
        for dep in deps[pending.pop()]:
            if dep in home and home[dep] != SHARED:
                home[dep] = SHARED
                pending.append(dep)
    order = [g.name for g in api.groups] + [WEBHOOKS, SHARED]
    modules = {name: ModelModule(name) for name in order}
    for enum in api.enums:
        modules[home[enum.name]].enums.append(enum)
    for model in api.models:
        modules[home[model.name]].models.append(model)
    for alias in api.aliases:
        modules[home[alias.name]].aliases.append(alias)
    for union in api.unions:
        modules[home[union.name]].unions.append(union)
    request_enums = {e.name: e.constant_name for e in api.enums if e.is_request}
    request_models = {m.name for m in api.models if m.is_request}
    for module in modules.values():
        needed: dict[str, set[str]] = {}
        for name in module.names:
            for dep in deps.get(name, ()):
                if home[dep] != module.name:
                    needed.setdefault(home[dep], set()).add(dep)
                    if dep in request_enums and name in request_models:  # validate() reads it
                        needed[home[dep]].add(request_enums[dep])
        module.imports = {m: sorted(n) for m, n in sorted(needed.items())}
    return [module for module in modules.values() if module.names]
