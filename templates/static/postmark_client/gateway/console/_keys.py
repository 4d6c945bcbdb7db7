"""The keys page: each agent's keys by fingerprint (never the key), and the forms that create,
rotate and revoke them; a new key is shown once, on the answer to the form that made it."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from ..._policy_store import KeyInfo
from ._html import Html, html, join
from ._pages import Nav, csrf_field, layout

__all__ = ["keys_page"]


def _key_row(key: KeyInfo, nav: Nav, editable: bool) -> Html:
    revoke = Html("")
    if editable and key.created is not None:
        revoke = html(
            '<form class="inline" method="post" action="/console/keys">{csrf}'
            '<input type="hidden" name="agent" value="{agent}">'
            '<input type="hidden" name="fingerprint" value="{fp}">'
            '<button type="submit" name="action" value="revoke">Revoke key {fp} of {agent}'
            "</button></form>",
            csrf=csrf_field(nav),
            agent=key.agent,
            fp=key.fingerprint,
        )
    made = key.time or "in the policy file (key_sha256)"
    return html(
        "<li><code>{fp}\u2026</code> created {made} {revoke}</li>",
        fp=key.fingerprint,
        made=made,
        revoke=revoke,
    )


def _agent(name: str, keys: Sequence[KeyInfo], nav: Nav, editable: bool) -> Html:
    listed = (
        html("<ul>{items}</ul>", items=join(_key_row(k, nav, editable) for k in keys))
        if keys
        else html("<p>No key: this agent cannot reach the gateway.</p>")
    )
    actions = Html("")
    if editable:
        actions = html(
            '<form method="post" action="/console/keys">{csrf}'
            '<input type="hidden" name="agent" value="{name}">'
            '<button type="submit" name="action" value="create">Create a key for {name}</button> '
            '<button type="submit" name="action" value="rotate">Rotate the keys of {name}</button>'
            "</form>",
            csrf=csrf_field(nav),
            name=name,
        )
    return html(
        '<section class="agent-keys" id="keys-{name}"><h3>{name}</h3>{listed}{actions}</section>',
        name=name,
        listed=listed,
        actions=actions,
    )


def keys_page(
    nav: Nav,
    keys: Mapping[str, Sequence[KeyInfo]],
    editable: bool,
    new_key: tuple[str, str] | None = None,
    notice: str | None = None,
) -> bytes:
    """Every agent's keys; `new_key` (agent, key) is shown this once."""
    shown = Html("")
    if new_key is not None:
        shown = html(
            '<div role="status"><p>New key for <strong>{agent}</strong>; copy it now, this '
            'console never shows it again:</p><p class="shown-once" id="new-key">{key}</p></div>',
            agent=new_key[0],
            key=new_key[1],
        )
    said = html('<p class="notice" role="status">{n}</p>', n=notice) if notice else Html("")
    where = (
        html(
            "<p>Keys live in the store; only the first digits of each key's SHA-256 are shown.</p>"
        )
        if editable
        else html(
            '<p class="source">Keys are the policy file\'s <code>key_sha256</code>: read-only '
            "here (run postmark-gateway --policy-in-store to create, rotate and revoke keys "
            "in the console).</p>"
        )
    )
    body = join([shown, said, where, *(_agent(n, k, nav, editable) for n, k in keys.items())])
    return layout("Keys", body, nav, current="keys")
