"""The console's pages, as escaped HTML (see `_html`): the layout, sign-in, the matrix and the
audit log. Every value that reaches a page passes through `html`, which escapes it."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Final
from urllib.parse import urlencode

from ..._audit import AuditEntry, sentence
from ..._operations import OPERATIONS
from ..._spec import GROUPS
from ...access import LEVELS, Agent
from ._html import Html, attrs, count, html, join, options
from ._log import DECISIONS

__all__ = [
    "LEVEL_LABELS",
    "MatrixRow",
    "Nav",
    "csrf_field",
    "group_kind",
    "layout",
    "log_page",
    "log_rows",
    "matrix_page",
    "message_page",
    "remove_page",
    "sign_in_page",
]

LEVEL_LABELS: Final = {"off": "Off", "read": "Read", "write": "Write", "full": "Full"}
PAGES: Final = (
    ("matrix", "Access"),
    ("keys", "Keys"),
    ("log", "Audit log"),
    ("approvals", "Approvals"),
)


def group_kind(group: str) -> str:
    """`Action` for a group whose writes send mail (operations acting on `email`), else
    `Resource` (a group whose writes change stored records)."""
    sends = any(
        op.group == group and op.access == "write" and op.acts_on == "email"
        for op in OPERATIONS.values()
    )
    return "Action" if sends else "Resource"


@dataclass(frozen=True)
class Nav:
    """Who is signed in, and the CSRF token their forms carry."""

    admin: str
    csrf: str


def csrf_field(nav: Nav) -> Html:
    return html('<input type="hidden" name="csrf" value="{csrf}">', csrf=nav.csrf)


def layout(title: str, body: Html, nav: Nav | None = None, current: str = "") -> bytes:
    """A whole page: header, navigation (when signed in), the body."""
    links = Html("")
    if nav is not None:
        items = join(
            html(
                '<li><a href="/console/{page}"{a}>{label}</a></li>',
                page=page,
                label=label,
                a=attrs({"aria-current": "page" if page == current else None}),
            )
            for page, label in PAGES
        )
        links = html(
            '<nav aria-label="Console"><ul>{items}</ul></nav>'
            '<form class="inline" method="post" action="/console/sign-out">{csrf}'
            '<button type="submit">Sign out {admin}</button></form>',
            items=items,
            csrf=csrf_field(nav),
            admin=nav.admin,
        )
    page = html(
        '<!doctype html><html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        "<title>{title} \u00b7 postmark-gateway</title>"
        '<link rel="stylesheet" href="/console/assets/console.css"></head><body>'
        "<header><h1>postmark-gateway console</h1>{links}</header>"
        '<main id="main"><h2>{title}</h2>{body}</main>'
        '<script src="/console/assets/console.js"></script></body></html>',
        title=title,
        links=links,
        body=body,
    )
    return page.encode("utf-8")


def message_page(title: str, text: str, nav: Nav | None = None) -> bytes:
    return layout(title, html('<p class="error" role="alert">{text}</p>', text=text), nav)


def sign_in_page(csrf: str, error: str | None = None, configured: bool = True) -> bytes:
    """The sign-in form (name and password of an administrator)."""
    if not configured:
        return layout(
            "Sign in",
            html(
                '<p class="notice">No administrator is configured: start the gateway with '
                "<code>--admin NAME:HASH</code>, the hash printed by "
                "<code>postmark-gateway --hash-password</code>.</p>"
            ),
        )
    alert = html('<p class="error" role="alert">{e}</p>', e=error) if error else Html("")
    body = html(
        '{alert}<form method="post" action="/console/sign-in">'
        '<input type="hidden" name="csrf" value="{csrf}">'
        '<p><label for="admin">Administrator</label><br>'
        '<input id="admin" name="admin" autocomplete="username" required></p>'
        '<p><label for="password">Password</label><br>'
        '<input id="password" name="password" type="password" autocomplete="current-password" '
        "required></p>"
        '<p><button type="submit">Sign in</button></p></form>'
        "<p>Agents' keys do not open the console: administrators sign in with their own "
        "password.</p>",
        alert=alert,
        csrf=csrf,
    )
    return layout("Sign in", body)


# ---- the matrix ---------------------------------------------------------------------------


@dataclass(frozen=True)
class MatrixRow:
    """One agent as the matrix shows it; `version` is the one an edit is made from."""

    agent: Agent
    version: int = 0


def _reaches(agent: Agent) -> Html:
    """Each operation the agent's grant on its own group reaches that also acts on another."""
    items = []
    for op in OPERATIONS.values():
        if not op.reaches or not agent.allows(op.group, op.access):
            continue
        for reach in op.reaches:
            held = agent.allows(reach.group, reach.access)
            when = f" when it sets {', '.join(reach.fields)}" if reach.fields else ""
            items.append(
                html(
                    "<li>{op} also takes {access} on {group}{when}: <strong>{held}</strong></li>",
                    op=f"{op.group}.{op.name}",
                    access=reach.access,
                    group=reach.group,
                    when=when,
                    held="granted" if held else f"not granted ({agent.level(reach.group)})",
                )
            )
    if not items:
        return Html("none")
    return html(
        "<details><summary>{n} cross-area</summary><ul>{items}</ul></details>",
        n=len(items),
        items=join(items),
    )


def _control(
    label: Html,
    values: Mapping[str, Any],
    choices: Html | None = None,
    *,
    hidden_label: bool = False,
) -> Html:
    """An `<input>` (a `<select>` of `choices` when given) with `values` as its attributes (an
    `id` among them), after its label (for screen readers only when `hidden_label`)."""
    given = attrs(values)
    control = (
        html("<input{a}>", a=given)
        if choices is None
        else html("<select{a}>{choices}</select>", a=given, choices=choices)
    )
    return html(
        "<label{c}>{label}</label> {control}",
        c=attrs({"class": "sr-only" if hidden_label else None, "for": values["id"]}),
        label=label,
        control=control,
    )


def _narrowing(row: MatrixRow, index: int, form: str, editable: bool) -> Html:
    agent = row.agent
    said = html('<span class="narrowing">{t}</span>', t="; ".join(agent.narrowing()) or "none")
    if not editable:
        return said
    fields = (
        ("recipients", "Recipients", ", ".join(agent.recipients or ())),
        ("message_streams", "Message streams", ", ".join(agent.message_streams or ())),
        ("sends_per_hour", "Sends per hour", agent.sends_per_hour),
        ("sends_per_day", "Sends per day", agent.sends_per_day),
    )
    inputs = join(
        html(
            "{control}<br>",
            control=_control(
                html(
                    '{label}<span class="sr-only"> for {agent}</span>',
                    label=label,
                    agent=agent.name,
                ),
                {
                    "id": f"narrow-{index}-{name}",
                    "name": name,
                    "value": "" if value is None else value,
                    "form": form,
                    "size": 18,
                    "inputmode": "numeric" if name.startswith("sends") else None,
                    "placeholder": "no limit" if name.startswith("sends") else "any",
                },
            ),
        )
        for name, label, value in fields
    )
    return html(
        "{said}<details><summary>Change</summary>{inputs}</details>", said=said, inputs=inputs
    )


def matrix_page(
    nav: Nav, rows: Sequence[MatrixRow], source: Html, editable: bool, notice: Html | None = None
) -> bytes:
    """Agents down, groups across, each cell a labelled Off/Read/Write/Full select."""
    groups = list(GROUPS)
    heads = join(
        html(
            '<th scope="col" title="{desc}">{group}<small>{kind}</small></th>',
            group=group,
            kind=group_kind(group),
            desc=GROUPS[group],
        )
        for group in groups
    )
    body_rows = []
    choices = [(level, LEVEL_LABELS[level]) for level in LEVELS]
    for index, row in enumerate(rows):
        agent = row.agent
        form = f"edit-{index}"
        cells = join(
            html(
                "<td>{control}</td>",
                control=_control(
                    html("{group} for {name}", group=group, name=agent.name),
                    {
                        "id": f"cell-{index}-{group}",
                        "name": f"grant.{group}",
                        "form": form,
                        "disabled": not editable,
                        "data-agent": agent.name,
                        "data-group": group,
                    },
                    options(choices, agent.level(group)),
                    hidden_label=True,
                ),
            )
            for group in groups
        )
        save = Html("")
        if editable:
            save = html(
                '<form id="{form}" method="post" action="/console/matrix">{csrf}'
                '<input type="hidden" name="agent" value="{name}">'
                '<input type="hidden" name="version" value="{version}">'
                '<button type="submit">Save {name}</button></form>'
                '<a class="remove" href="/console/agents/remove?{query}">Remove {name}\u2026</a>',
                form=form,
                csrf=csrf_field(nav),
                name=agent.name,
                version=row.version,
                query=urlencode({"agent": agent.name, "version": row.version}),
            )
        description = (
            html("<br><small>{d}</small>", d=agent.description) if agent.description else Html("")
        )
        body_rows.append(
            html(
                '<tr><th scope="row">{name}{description}{save}</th>{cells}'
                '<td class="wide">{narrowing}</td><td class="wide">{reaches}</td></tr>',
                name=agent.name,
                description=description,
                save=save,
                cells=cells,
                narrowing=_narrowing(row, index, form, editable),
                reaches=_reaches(agent),
            )
        )
    table = html(
        '<div class="scroll"><table id="matrix"><caption>Each agent\'s level per area: Off, Read, '
        "Write (the area's writes without its reads) or Full</caption>"
        '<thead><tr><th scope="col">Agent</th>{heads}<th scope="col">Narrowing</th>'
        '<th scope="col">Reaches</th></tr></thead><tbody>{rows}</tbody></table></div>',
        heads=heads,
        rows=join(body_rows),
    )
    add = Html("")
    if editable:
        add = html(
            '<form method="post" action="/console/agents"><fieldset><legend>Add an agent</legend>'
            "{csrf}"
            '<label for="new-agent">Name</label> <input id="new-agent" name="name" required '
            'pattern="[A-Za-z0-9][A-Za-z0-9_.\\-]{{0,63}}"> '
            '<label for="new-description">Description</label> '
            '<input id="new-description" name="description"> '
            '<button type="submit">Add the agent</button> (every area starts Off)'
            "</fieldset></form>",
            csrf=csrf_field(nav),
        )
    body = join([source, notice or Html(""), table, add])
    return layout("Access", body, nav, current="matrix")


def remove_page(nav: Nav, agent: str, version: str, keys: int) -> bytes:
    """The step before removing an agent: what removing it does, and the form that does it
    (from the `version` the matrix showed, so a stale tab is refused)."""
    body = html(
        '<p role="alert" class="error">Remove the agent <strong>{agent}</strong>? Every grant '
        "of it goes, its keys are revoked ({keys}), and its next call through the gateway is denied. "
        "The removal is a row of the audit log.</p>"
        '<form method="post" action="/console/agents/remove">{csrf}'
        '<input type="hidden" name="agent" value="{agent}">'
        '<input type="hidden" name="version" value="{version}">'
        '<button type="submit">Remove {agent}</button> '
        '<a href="/console/matrix">Keep {agent}</a></form>',
        agent=agent,
        version=version,
        keys=count(keys, "key"),
        csrf=csrf_field(nav),
    )
    return layout("Remove an agent", body, nav, current="matrix")


# ---- the audit log ------------------------------------------------------------------------


def _detail(entry: AuditEntry) -> Html:
    values: Mapping[str, Any] = entry.to_json()
    return html(
        '<dl class="detail">{items}</dl>',
        items=join(
            html(
                "<dt>{k}</dt><dd>{v}</dd>",
                k=key,
                v=", ".join(map(str, value)) if isinstance(value, list) else value,
            )
            for key, value in values.items()
            if key != "sentence"
        ),
    )


def log_rows(entries: Iterable[AuditEntry]) -> Html:
    """Rows newest first: time, decision, the sentence with the detail behind it."""
    return join(
        html(
            '<tr data-id="{id}"><td>{time}</td><td class="{decision}">{decision}</td>'
            "<td><details><summary>{sentence}</summary>{detail}</details></td></tr>",
            id=entry.id,
            time=entry.time,
            decision=entry.decision,
            sentence=sentence(entry),
            detail=_detail(entry),
        )
        for entry in entries
    )


def log_page(
    nav: Nav,
    entries: Sequence[AuditEntry],
    filters: Mapping[str, str],
    agents: Sequence[str],
    newest: int,
    export_query: str,
    chain: str,
) -> bytes:
    """Filters, exports and the rows (newest first), kept live by the script."""
    agent_choices = [("", "any"), *((name, name) for name in agents)]
    area_choices = [("", "any"), *((group, group) for group in GROUPS)]
    form = html(
        '<form method="get" action="/console/log"><fieldset><legend>Filter</legend>'
        '<label for="f-agent">Agent</label> <select id="f-agent" name="agent">{agents}</select> '
        '<label for="f-area">Area</label> <select id="f-area" name="area">{areas}</select> '
        '<label for="f-decision">Decision</label> '
        '<select id="f-decision" name="decision">{decisions}</select> '
        '<label for="f-since">From (UTC)</label> '
        '<input id="f-since" name="since" type="datetime-local" value="{since}"> '
        '<label for="f-until">To (UTC)</label> '
        '<input id="f-until" name="until" type="datetime-local" value="{until}"> '
        '<button type="submit">Apply filters</button></fieldset></form>'
        '<p>Export these rows: <a id="export-csv" href="/console/log.csv{q}">CSV</a> \u00b7 '
        '<a id="export-jsonl" href="/console/log.jsonl{q}">JSON Lines</a></p>'
        '<p id="chain">Hash chain: {chain}</p>'
        '<p id="log-live" role="status" aria-live="polite">Live: new rows appear at the top.</p>',
        chain=chain,
        agents=options(agent_choices, filters.get("agent", "")),
        areas=options(area_choices, filters.get("area", "")),
        decisions=options([("", "any"), *((d, d) for d in DECISIONS)], filters.get("decision", "")),
        since=filters.get("since", ""),
        until=filters.get("until", ""),
        q=export_query,
    )
    table = html(
        '<div class="scroll"><table><caption>Newest first; open a row for its detail</caption>'
        '<thead><tr><th scope="col">Time (UTC)</th><th scope="col">Decision</th>'
        '<th scope="col">What happened</th></tr></thead>'
        '<tbody id="log-rows" data-after="{newest}" data-feed="/console/log.json">{rows}</tbody>'
        "</table></div>",
        newest=newest,
        rows=log_rows(entries),
    )
    return layout("Audit log", join([form, table]), nav, current="log")
