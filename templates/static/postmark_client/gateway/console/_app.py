"""The console as an ASGI app under /console: routes, sign-in, CSRF, and each page's handler.

Pages are plain forms (they work without the script); every POST carries the CSRF token of its
session (of the sign-in form's own cookie, for signing in) and a same-site Origin when the
browser sends one; a session is a cookie signed with the gateway's secret.
"""

from __future__ import annotations

import secrets
from collections.abc import Awaitable, Callable
from typing import Final

from ..._approvals import ApprovalError
from ...access import Policy
from ._assets import ASSETS
from ._auth import SESSION_SECONDS, Admins, Session, Sessions
from ._held import approval_page, approvals_page
from ._html import Html, html
from ._http import Receive, Request, Response, Scope, Send, TooLarge, read_request
from ._log import PAGE_ROWS, FilterError, LogQuery, to_csv, to_feed, to_jsonl
from ._pages import MatrixRow, Nav, layout, log_page, matrix_page, message_page, sign_in_page

__all__ = ["PREFIX", "Console"]

PREFIX: Final = "/console"
SESSION_COOKIE: Final = "pmc_session"
SIGN_IN_COOKIE: Final = "pmc_sign_in"
Handler = Callable[["Console", Request, Session], Awaitable[Response]]


def _cookie(name: str, value: str, request: Request, max_age: int) -> tuple[bytes, bytes]:
    secure = "; Secure" if request.https else ""
    text = f"{name}={value}; Path={PREFIX}; Max-Age={max_age}; HttpOnly; SameSite=Strict{secure}"
    return (b"set-cookie", text.encode("latin-1"))


def _page(body: bytes, status: int = 200, *headers: tuple[bytes, bytes]) -> Response:
    return Response(status, body, headers=list(headers))


class Console:
    """The ASGI app of the console. `admins` may sign in; sessions are signed with `secret`
    (the same on every gateway behind one load balancer, else a random one per start)."""

    def __init__(self, policy: Policy, admins: Admins, secret: bytes | None = None) -> None:
        self.policy = policy
        self.admins = admins
        self.sessions = Sessions(secret if secret else secrets.token_bytes(32))

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        try:
            request = await read_request(scope, receive)
        except TooLarge:
            await Response(413, message_page("Too large", "The form is too large.")).send(send)
            return
        response = await self.handle(request)
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
        if session is None or session.admin not in self.admins.hashes:
            if request.method == "GET" and not path.endswith((".json", ".csv", ".jsonl")):
                return Response.redirect(f"{PREFIX}/sign-in")
            return _page(message_page("Signed out", "Sign in as an administrator first."), 401)
        if request.method == "POST":
            refusal = self._refusal(request, session.nonce)
            if refusal is not None:
                return _page(message_page("Refused", refusal, self.nav(session)), 403)
        return await route(self, request, session)

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
        cookie, _ = self.sessions.new(name)
        return Response.redirect(
            f"{PREFIX}/matrix",
            _cookie(SESSION_COOKIE, cookie, request, SESSION_SECONDS),
            _cookie(SIGN_IN_COOKIE, "", request, 0),
        )

    async def _sign_out(self, request: Request, session: Session) -> Response:
        self.sessions.end(session)
        return Response.redirect(f"{PREFIX}/sign-in", _cookie(SESSION_COOKIE, "", request, 0))

    # The matrix ---------------------------------------------------------------------------

    async def _matrix(self, request: Request, session: Session) -> Response:
        rows = [MatrixRow(agent) for agent in self.policy.agents.values()]
        source = html(
            '<p class="source" id="source">Source of truth: the policy file '
            "<code>{path}</code>. This page shows it read-only; change it with "
            "<code>postmark access</code> (or an editor) and restart the gateway.</p>",
            path=str(self.policy.path),
        )
        return _page(matrix_page(self.nav(session), rows, source, editable=False))

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
        found = query.entries(self.policy.log)
        newest = found[-1].id if found else self._newest()
        shown = list(reversed(found[-PAGE_ROWS:]))
        body = log_page(
            self.nav(session), shown, query.values, list(self.policy.agents), newest, query.text()
        )
        return _page(body)

    def _newest(self) -> int:
        log = self.policy.log
        last = log.entries(limit=None)[-1:] if log is not None else []
        return last[0].id if last else 0

    async def _export(self, request: Request, session: Session, kind: str) -> Response:
        query = self._query(request)
        if isinstance(query, str):
            return Response(400, query.encode(), content_type=b"text/plain; charset=utf-8")
        if kind == "json":
            after = request.query.get("after", "0")
            found = query.entries(self.policy.log, int(after) if after.isdigit() else 0)
            return Response(200, to_feed(found), content_type=b"application/json")
        found = query.entries(self.policy.log)
        body, mime = (
            (to_csv(found), b"text/csv; charset=utf-8")
            if kind == "csv"
            else (to_jsonl(found), b"application/x-ndjson")
        )
        name = f"postmark-audit.{kind}".encode()
        return Response(
            200, body, content_type=mime,
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

    async def _keys(self, request: Request, session: Session) -> Response:
        return _page(self._not_yet("Keys", session))

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
    ("GET", "/log"): Console._log,
    ("GET", "/log.json"): Console._log_json,
    ("GET", "/log.csv"): Console._log_csv,
    ("GET", "/log.jsonl"): Console._log_jsonl,
    ("GET", "/keys"): Console._keys,
    ("GET", "/approvals"): Console._approvals,
    ("GET", "/approvals/ID"): Console._approval,
    ("POST", "/approvals/ID"): Console._approval,
}
