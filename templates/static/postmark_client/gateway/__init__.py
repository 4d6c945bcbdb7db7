"""postmark-gateway: Postmark's API for agents that never hold a Postmark token.

Needs the `gateway` extra (`pip install 'postmark-client[gateway]'`). An agent points its SDK
(postmarker, postmark-python, postmark.js, curl, this package's client) at the gateway and sends
its own key as the token; the gateway finds the agent by the key's SHA-256 (`key_sha256` in the
policy), checks the call with the policy's one check, writes the audit row, and forwards it with
the real token. A denial is Postmark's error shape with ErrorCode 9001 (`AgentAccessDenied`),
HTTP 422; a call the policy holds for a person's approval is ErrorCode 9004
(`ApprovalRequired`), HTTP 422, its approval URL in the Message; an unknown key is HTTP 401 with
ErrorCode 10, as Postmark answers a bad token.

    postmark-gateway --policy agents.toml --port 8030
"""

from __future__ import annotations

from ._app import Gateway, body_limit

__all__ = ["Gateway", "body_limit"]
