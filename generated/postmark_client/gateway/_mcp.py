# Copied by postmark-codegen from templates/static/postmark_client/gateway/_mcp.py;
# edit it there and regenerate, not here.
"""MCP on the gateway: the server of `postmark-mcp --http`, at `/mcp`, behind the same agent keys.

The tools, their filtering per agent and the bearer-key check are `postmark_client.mcp`'s; this
module only adds the Host and Origin checks, which are on whatever address the gateway listens
on (the SDK turns them off by default unless it is bound to loopback).
"""

from __future__ import annotations

from collections.abc import Callable
from contextlib import AbstractAsyncContextManager
from typing import Any

from mcp.server.transport_security import TransportSecuritySettings

from .._meta import Token
from ..access import Policy
from ..mcp._server import build_server, http_app
from ._app import sent_results

__all__ = ["mcp_app"]


def mcp_app(
    policy: Policy,
    tokens: dict[Token, str | None],
    upstream: str | None,
    hosts: list[str],
    agent_tokens: dict[str, str] | None = None,
) -> tuple[Any, Callable[[], AbstractAsyncContextManager[Any]]]:
    """The MCP ASGI app (answering Host values in `hosts` and their http(s) Origins only), and
    its lifespan, which the gateway runs for its own lifetime."""
    server = build_server(
        policy,
        agent=None,
        tokens={str(k): v for k, v in tokens.items()},
        base_url=upstream,
        agent_tokens=agent_tokens,
        sent=sent_results(policy),
    )
    security = TransportSecuritySettings(
        enable_dns_rebinding_protection=True,
        allowed_hosts=list(hosts),
        allowed_origins=[f"{scheme}://{host}" for host in hosts for scheme in ("http", "https")],
    )
    app = http_app(server, policy, security)
    starlette = app.app

    def lifespan() -> AbstractAsyncContextManager[Any]:
        context: AbstractAsyncContextManager[Any] = starlette.router.lifespan_context(starlette)
        return context

    return app, lifespan
