# Copied by postmark-codegen from templates/static/postmark_client/gateway/console/_app.py;
# edit it there and regenerate, not here.
"""The console as an ASGI app under /console: routes, sign-in, CSRF, and each page's handler.

Pages are plain forms (they work without the script); every POST carries the CSRF token of its
session (of the sign-in form's own cookie, for signing in) and a same-site Origin when the
browser sends one; a session is a cookie signed with the gateway's secret.
"""

from __future__ import annotations

import secrets
from collections.abc import Awaitable, Callable
from dataclasses import replace
from typing import Any, Final, cast

from ..._approvals import ApprovalError
from ..._audit import AuditLogError
from ..._policy_store import (
    AgentSettings,
    EditRefused,
    PolicySource,
    ReadOnlySource,
    StaleEdit,
    export_csv,
    export_jsonl,
    verify,
)
from ..._store import PolicyTables
from ...access import Policy, PolicyError
from ._assets import ASSETS
from ._auth import SESSION_SECONDS, Admins, Session, Sessions
from ._held import approval_page, approvals_page
from ._html import Html, count, html
from ._http import Receive, Request, Response, Scope, Send, TooLarge, read_request
from ._keys import keys_page
from ._ledger import MemoryLedger, StoreLedger
from ._log import PAGE_ROWS, FilterError, LogQuery, to_feed
from ._pages import (
    MatrixRow,
    Nav,
    layout,
    log_page,
    matrix_page,
    message_page,
    remove_page,
    sign_in_page,
)

__all__ = ["PREFIX", "Console"]

PREFIX: Final = "/console"
SESSION_COOKIE: Final = "pmc_session"
SIGN_IN_COOKIE: Final = "pmc_sign_in"
Handler = Callable[["Console", Request, Session], Awaitable[Response]]


def _cookie(name: str, value: str, request: Request, max_age: int) -> tuple[bytes, bytes]:
    secure = "; Secure" if request.https else ""
    text = f"{name}={value}; Path={PREFIX}; Max-Age={max_age}; HttpOnly; SameSite=Strict{secure}"
    return (b"set-cookie", text.encode("latin-1"))


def _alert(text: str) -> Html:
    return html('<p class="error" role="alert">{text}</p>', text=text)


def _numbers(text: str, name: str) -> int | None:
    if not text.strip():
        return None
    if not text.strip().isdigit():
        raise ValueError(f"{name}: {text!r} is not a whole number >= 0")
    return int(text)


def _list(text: str) -> tuple[str, ...] | None:
    items = tuple(part.strip() for part in text.split(",") if part.strip())
    return items or None


def _narrowing_changes(form: dict[str, str], current: AgentSettings) -> dict[str, Any]:
    """The narrowing fields the form changed (empty: none): lists from comma-separated text,
    counts from digits; an empty field removes that narrowing."""
    given: dict[str, Any] = {}
    for name in ("recipients", "message_streams"):
        if name in form:
            value = _list(form[name])
            if value != getattr(current, name):
                given[name] = value
    for name in ("sends_per_hour", "sends_per_day"):
        if name in form:
            count = _numbers(form[name], name)
            if count != getattr(current, name):
                given[name] = count
    return given


def _page(body: bytes, status: int = 200, *headers: tuple[bytes, bytes]) -> Response:
    return Response(status, body, headers=list(headers))


class Console:
    """The ASGI app of the console. `admins` may sign in; sessions are signed with `secret`
    (the same on every gateway behind one load balancer, else a random one per start);
    `source` is the source of truth it shows and edits (default: the policy file)."""

    def __init__(
        self,
        policy: Policy,
        admins: Admins,
        secret: bytes | None = None,
        source: PolicySource | None = None,
    ) -> None:
        self.source = source or PolicySource.from_file(policy)
        store = self.source.store
        # In the store, a sign-out or a lock-out holds at every worker and gateway sharing it.
        ledger = StoreLedger(store) if store is not None else MemoryLedger()
        self.admins = replace(admins, ledger=ledger)
        self.sessions = Sessions(secret if secret else secrets.token_bytes(32), ledger)

    @property
    def policy(self) -> Policy:
        """The current policy (a store source's changes from any gateway included)."""
        return self.source.policy()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        try:
            request = await read_request(scope, receive)
        except TooLarge:
            await Response(413, message_page("Too large", "The form is too large.")).send(send)
            return
        try:
            response = await self.handle(request)
        except Exception as exc:  # noqa: BLE001 - a page that says so, never a traceback
            text = f"The console cannot answer: {type(exc).__name__}: {exc}. Nothing was changed."
            response = _page(message_page("Unavailable", text), 503)
        await response.send(send)

    async def handle(self, request: Request) -> Response:
        path = request.path.removeprefix(PREFIX).rstrip("/") or "/"
        if path.startswith("/assets/") and request.method == "GET":
            found = ASSETS.get(path.removeprefix("/assets/"))
            if found is None:
                return _page(message_page("Not found", "No such asset."), 404)
            return Response(200, found[1], content_type=found[0])
        if path == "/sign-in":
            return await (
                self._sign_in(request) if request.method == "POST" else self._form(request)
            )
        session = self.sessions.read(request.cookies.get(SESSION_COOKIE))
        route = _ROUTES.get((request.method, path))
        if route is None and path.startswith("/approvals/"):
            route = _ROUTES.get((request.method, "/approvals/ID"))
        if route is None:
            if session is None and request.method == "GET":
                return Response.redirect(f"{PREFIX}/sign-in")
            return _page(message_page("Not found", f"No page {path} here."), 404)
        if session is None or not self._holds(session):
            if request.method == "GET" and not path.endswith((".json", ".csv", ".jsonl")):
                return Response.redirect(f"{PREFIX}/sign-in")
            return _page(message_page("Signed out", "Sign in as an administrator first."), 401)
        if request.method == "POST":
            refusal = self._refusal(request, session.nonce)
            if refusal is not None:
                return _page(message_page("Refused", refusal, self.nav(session)), 403)
        return await route(self, request, session)

    def _holds(self, session: Session) -> bool:
        """Whether the session's administrator is one, with the password it signed in with."""
        stored = self.admins.hashes.get(session.admin)
        return stored is not None and self.sessions.under(session, stored)

    def nav(self, session: Session) -> Nav:
        return Nav(session.admin, session.csrf)

    def _refusal(self, request: Request, nonce: str) -> str | None:
        """Why a POST is refused: a CSRF token missing or not this session's, or a cross-site
        Origin."""
        origin = request.headers.get("origin")
        host = request.headers.get("host", "")
        if origin is not None and origin.split("://", 1)[-1] != host:
            return f"This form came from another site ({origin}); nothing was changed."
        if not self.sessions.check_csrf(nonce, request.form.get("csrf")):
            return (
                "The form's CSRF token is missing or wrong (an old page, or another site's "
                "form); nothing was changed. Reload the page and try again."
            )
        return None

    # Signing in and out -------------------------------------------------------------------

    async def _form(self, request: Request, error: str | None = None) -> Response:
        nonce = request.cookies.get(SIGN_IN_COOKIE) or secrets.token_urlsafe(18)
        csrf = self.sessions.csrf_for(f"sign-in:{nonce}")
        body = sign_in_page(csrf, error, configured=bool(self.admins.hashes))
        return _page(
            body, 200 if error is None else 403, _cookie(SIGN_IN_COOKIE, nonce, request, 3600)
        )

    async def _sign_in(self, request: Request) -> Response:
        nonce = request.cookies.get(SIGN_IN_COOKIE, "")
        refusal = self._refusal(request, f"sign-in:{nonce}") if nonce else "No sign-in cookie."
        if refusal is not None:
            return _page(message_page("Refused", refusal), 403)
        name = request.form.get("admin", "").strip()
        problem = self.admins.sign_in(name, request.form.get("password", ""))
        if problem is not None:
            return await self._form(request, problem)
        cookie, _ = self.sessions.new(name, password_hash=self.admins.hashes[name])
        return Response.redirect(
            f"{PREFIX}/matrix",
            _cookie(SESSION_COOKIE, cookie, request, SESSION_SECONDS),
            _cookie(SIGN_IN_COOKIE, "", request, 0),
        )

    async def _sign_out(self, request: Request, session: Session) -> Response:
        self.sessions.end(session)
        return Response.redirect(f"{PREFIX}/sign-in", _cookie(SESSION_COOKIE, "", request, 0))

    # The matrix ---------------------------------------------------------------------------

    async def _matrix(
        self, request: Request, session: Session, notice: Html | None = None, status: int = 200
    ) -> Response:
        policy = self.policy
        rows = [
            MatrixRow(policy.agents[found.name], found.version) for found in self.source.agents()
        ]
        editable = self.source.where() == "store"
        if editable:
            source = html(
                '<p class="source" id="source">Source of truth: the store. A change here holds '
                "at every gateway sharing it from its next call, and is a row of the audit log; "
                "<code>postmark access export</code> writes it as a policy file.</p>"
            )
        else:
            source = html(
                '<p class="source" id="source">Source of truth: the policy file '
                "<code>{path}</code>. This page shows it read-only; change it with "
                "<code>postmark access</code> (or an editor) and restart the gateway.</p>",
                path=str(policy.path),
            )
        body = matrix_page(self.nav(session), rows, source, editable, notice)
        return _page(body, status)

    async def _edit(self, request: Request, session: Session) -> Response:
        """One agent's row of the matrix: its changed levels and narrowing saved at once, in
        one transaction, from the version the page showed (a second tab's stale edit is
        refused; a store failure changes nothing)."""
        form = request.form
        name = form.get("agent", "")
        try:
            current = self._shown(name, form.get("version", ""))
            levels = {
                group: form[f"grant.{group}"]
                for group, level in current.grants.items()
                if form.get(f"grant.{group}", level) != level
            }
            changes = _narrowing_changes(form, current)
            if levels or changes:
                self.source.save_agent(
                    session.admin, name, current.version, levels=levels, **changes
                )
        except StaleEdit as exc:
            text = f"Not saved: {exc}. The page now shows the current settings."
            return await self._matrix(request, session, _alert(text), 409)
        except (EditRefused, PolicyError, ValueError) as exc:
            return await self._matrix(request, session, _alert(f"Not saved: {exc}"), 400)
        except AuditLogError as exc:
            text = f"Not saved: the store failed ({exc}); nothing of this save was changed."
            return await self._matrix(request, session, _alert(text), 503)
        said = html('<p class="notice" role="status">Saved {name}.</p>', name=name)
        return await self._matrix(request, session, said)

    def _shown(self, name: str, version: str) -> AgentSettings:
        """The agent as the page showed it, at the `version` the form names (StaleEdit when it
        changed since)."""
        current = self.source.agent(name)
        expected = int(version) if version.isdigit() else 0
        if expected != current.version:
            raise StaleEdit(name, expected, current.version)
        return current

    async def _add_agent(self, request: Request, session: Session) -> Response:
        name = request.form.get("name", "").strip()
        try:
            self.source.add_agent(session.admin, name, request.form.get("description", "").strip())
        except (EditRefused, PolicyError) as exc:
            return await self._matrix(request, session, _alert(f"Not added: {exc}"), 400)
        said = html('<p class="notice" role="status">Added {name}.</p>', name=name)
        return await self._matrix(request, session, said)

    async def _remove_form(self, request: Request, session: Session) -> Response:
        """The confirmation step of removing an agent (changes nothing)."""
        name = request.query.get("agent", "")
        if self.source.where() == "file":
            refused = _alert(f"Not removed: {ReadOnlySource(self.policy.path)}")
            return await self._matrix(request, session, refused, 400)
        try:
            self.source.agent(name)
        except PolicyError as exc:
            return await self._matrix(request, session, _alert(f"Not removed: {exc}"), 404)
        keys = len(self.source.keys(name))
        body = remove_page(self.nav(session), name, request.query.get("version", ""), keys)
        return _page(body)

    async def _remove_agent(self, request: Request, session: Session) -> Response:
        """Remove an agent and revoke its keys, from the version the matrix showed."""
        name = request.form.get("agent", "")
        version = request.form.get("version", "")
        try:
            keys = self.source.remove_agent(
                session.admin, name, int(version) if version.isdigit() else 0
            )
        except StaleEdit as exc:
            text = f"Not removed: {exc}. The page now shows the current settings."
            return await self._matrix(request, session, _alert(text), 409)
        except (EditRefused, PolicyError) as exc:
            return await self._matrix(request, session, _alert(f"Not removed: {exc}"), 400)
        said = html(
            '<p class="notice" role="status">Removed {name} and revoked {keys}.</p>',
            name=name,
            keys=count(keys, "key"),
        )
        return await self._matrix(request, session, said)

    # The audit log ------------------------------------------------------------------------

    def _query(self, request: Request) -> LogQuery | str:
        try:
            return LogQuery.of(request.query)
        except FilterError as exc:
            return str(exc)

    async def _log(self, request: Request, session: Session) -> Response:
        query = self._query(request)
        if isinstance(query, str):
            return _page(message_page("Audit log", query, self.nav(session)), 400)
        shown = self.source.entries(**query.filters(), newest_first=True, limit=PAGE_ROWS)
        newest = self.source.entries(newest_first=True, limit=1)
        body = log_page(
            self.nav(session),
            shown,
            query.values,
            list(self.policy.agents),
            newest[0].id if newest else 0,
            query.text(),
            self._chain(),
        )
        return _page(body)

    def _chain(self) -> str:
        log = self.policy.log
        if not hasattr(log, "tables"):
            return "not kept by this store"
        try:
            return str(verify(cast(PolicyTables, log)))
        except Exception as exc:  # noqa: BLE001 - said on the page
            return f"cannot be read ({type(exc).__name__}: {exc})"

    async def _export(self, request: Request, session: Session, kind: str) -> Response:
        query = self._query(request)
        if isinstance(query, str):
            return Response(400, query.encode(), content_type=b"text/plain; charset=utf-8")
        if kind == "json":
            after = request.query.get("after", "0")
            found = self.source.entries(
                **query.filters(), after_id=int(after) if after.isdigit() else 0
            )
            return Response(200, to_feed(found), content_type=b"application/json")
        found = self.source.entries(**query.filters())
        body, mime = (
            (export_csv(found), b"text/csv; charset=utf-8")
            if kind == "csv"
            else (export_jsonl(found), b"application/x-ndjson")
        )
        name = f"postmark-audit.{kind}".encode()
        return Response(
            200, body.encode("utf-8"), content_type=mime,
            headers=[(b"content-disposition", b'attachment; filename="' + name + b'"')],
        )  # fmt: skip

    async def _log_csv(self, request: Request, session: Session) -> Response:
        return await self._export(request, session, "csv")

    async def _log_jsonl(self, request: Request, session: Session) -> Response:
        return await self._export(request, session, "jsonl")

    async def _log_json(self, request: Request, session: Session) -> Response:
        return await self._export(request, session, "json")

    async def _home(self, request: Request, session: Session) -> Response:
        return Response.redirect(f"{PREFIX}/matrix")

    async def _keys(
        self,
        request: Request,
        session: Session,
        new_key: tuple[str, str] | None = None,
        notice: str | None = None,
        status: int = 200,
    ) -> Response:
        keys = {name: self.source.keys(name) for name in self.policy.agents}
        editable = self.source.where() == "store"
        body = keys_page(self.nav(session), keys, editable, new_key, notice)
        return _page(body, status)

    async def _key_action(self, request: Request, session: Session) -> Response:
        agent = request.form.get("agent", "")
        action = request.form.get("action", "")
        try:
            if action in ("create", "rotate"):
                make = self.source.create_key if action == "create" else self.source.rotate_key
                key = make(session.admin, agent)
                return await self._keys(request, session, new_key=(agent, key))
            if action == "revoke":
                fingerprint = request.form.get("fingerprint") or None
                gone = self.source.revoke_key(session.admin, agent, fingerprint)
                said = f"Revoked {count(gone, 'key')} of {agent}."
                return await self._keys(request, session, notice=said)
        except (EditRefused, PolicyError) as exc:
            return await self._keys(request, session, notice=f"Not done: {exc}", status=400)
        return await self._keys(request, session, notice="Choose create, rotate or revoke.")

    async def _approvals(self, request: Request, session: Session) -> Response:
        approvals = self.policy.approvals
        if approvals is None:
            return _page(self._not_yet("Approvals", session))
        return _page(approvals_page(self.nav(session), approvals.pending()))

    async def _approval(self, request: Request, session: Session) -> Response:
        approvals = self.policy.approvals
        held_id = request.path.rsplit("/", 1)[-1]
        held = approvals.get(held_id) if approvals is not None else None
        if approvals is None or held is None:
            text = f"No held call {held_id} on this gateway."
            return _page(message_page("Approval", text, self.nav(session)), 404)
        if request.method == "GET":
            return _page(approval_page(self.nav(session), held))
        decision = request.form.get("decision")
        if decision not in ("approve", "deny"):
            text = "Choose Approve or Deny; nothing was decided."
            return _page(approval_page(self.nav(session), held, text), 400)
        try:
            decide = approvals.approve if decision == "approve" else approvals.deny
            held = decide(held_id, session.admin)
        except ApprovalError as exc:
            return _page(message_page("Approval refused", str(exc), self.nav(session)), 409)
        said = (
            "Approved: the identical call now goes through once."
            if decision == "approve"
            else "Denied: the call stays refused."
        )
        return _page(approval_page(self.nav(session), held, said))

    def _not_yet(self, title: str, session: Session) -> bytes:
        body = html('<p class="notice">{t}</p>', t=f"{title}: not available on this gateway.")
        return layout(title, Html(body), self.nav(session), current=title.lower())


_ROUTES: Final[dict[tuple[str, str], Handler]] = {
    ("GET", "/"): Console._home,
    ("POST", "/sign-out"): Console._sign_out,
    ("GET", "/matrix"): Console._matrix,
    ("POST", "/matrix"): Console._edit,
    ("POST", "/agents"): Console._add_agent,
    ("GET", "/agents/remove"): Console._remove_form,
    ("POST", "/agents/remove"): Console._remove_agent,
    ("GET", "/log"): Console._log,
    ("GET", "/log.json"): Console._log_json,
    ("GET", "/log.csv"): Console._log_csv,
    ("GET", "/log.jsonl"): Console._log_jsonl,
    ("GET", "/keys"): Console._keys,
    ("POST", "/keys"): Console._key_action,
    ("GET", "/approvals"): Console._approvals,
    ("GET", "/approvals/ID"): Console._approval,
    ("POST", "/approvals/ID"): Console._approval,
}
