# Copied by postmark-codegen from templates/static/postmark_client/mcp/__init__.py;
# edit it there and regenerate, not here.
"""The MCP server: one tool per operation of the spec, each agent seeing only what it may call.

Needs the `mcp` extra (`pip install 'postmark-client[mcp]'`); the rest of the package never
imports it. Run it as `postmark-mcp` (stdio, or `--http` on loopback), or build one in process:

    from postmark_client.access import Policy
    from postmark_client.mcp import build_server

    server = build_server(Policy.load("agents.toml"), agent="support-bot")
    async with mcp.Client(server) as client: ...
"""

from __future__ import annotations

from ._server import PostmarkTools, build_server, main, tool_name

__all__ = ["PostmarkTools", "build_server", "main", "tool_name"]
