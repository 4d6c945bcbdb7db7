"""The real server tokens of postmark-gateway: the environment's, or one per server from the
file the policy names (`server_tokens`), which only the gateway reads."""

from __future__ import annotations

import tomllib
from collections.abc import Mapping
from pathlib import Path

from ..access import Policy

__all__ = ["TokenFileError", "server_tokens"]


class TokenFileError(ValueError):
    """A server token file that cannot be used, located: `tokens.toml: billing: ...`."""


def server_tokens(policy: Policy) -> dict[str, str]:
    """Each agent's server token from the policy's `server_tokens` file (agents that name no
    `server_token` are left out); TokenFileError naming the file and the server when one is
    missing."""
    path = policy.server_tokens
    if path is None:
        return {}
    table = _read(path)
    found: dict[str, str] = {}
    for agent in policy.agents.values():
        if agent.server_token is None:
            continue
        token = table.get(agent.server_token)
        if token is None:
            known = ", ".join(sorted(table)) or "none"
            raise TokenFileError(
                f"{path}: no server {agent.server_token!r} (agents.{agent.name}.server_token); "
                f"the file names {known}"
            )
        found[agent.name] = token
    return found


def _read(path: Path) -> Mapping[str, str]:
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise TokenFileError(f"{path}: {exc.strerror or exc}") from None
    except tomllib.TOMLDecodeError as exc:
        raise TokenFileError(f"{path}: {exc}") from None
    for name, value in data.items():
        if not isinstance(value, str) or not value:
            raise TokenFileError(f"{path}: {name}: must be a server token (a string)")
    return data
