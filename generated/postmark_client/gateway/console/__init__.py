# Copied by postmark-codegen from templates/static/postmark_client/gateway/console/__init__.py;
# edit it there and regenerate, not here.
"""The web console of postmark-gateway at /console: administrators sign in to see and set each
agent's access (the Off / Read / Write / Full matrix), keys, the audit log and approvals.

    postmark-gateway --policy agents.toml --admin ada:"$(postmark-gateway --hash-password)"
"""

from __future__ import annotations

from ._app import PREFIX, Console
from ._auth import Admins, HashError, hash_password

__all__ = ["PREFIX", "Admins", "Console", "HashError", "hash_password"]
