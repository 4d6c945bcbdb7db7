# Copied by postmark-codegen from templates/static/postmark_client/_cli_agents.py;
# edit it there and regenerate, not here.
"""The agent options of the `postmark` command: `--agent`/`--policy` on every operation.

Kept apart from `cli.py` so that the command tree only calls two functions: `add_agent_options`
(on every command) and `agent_access` (the access object a command's client is built with). The
`access` and `audit` commands are in `_cli_access.py`.
"""

from __future__ import annotations

import argparse
import os
from collections.abc import Callable
from typing import Any, Final

__all__ = ["POLICY_ENV", "AgentUsageError", "add_agent_options", "agent_access", "load_policy"]

POLICY_ENV: Final = "POSTMARK_POLICY"
"""The policy file used when `--policy` is not given."""
AGENT_ENV: Final = "POSTMARK_AGENT"


class AgentUsageError(Exception):
    """A wrong combination of agent options (the CLI reports it as a usage error)."""


def add_agent_options(options: argparse._ArgumentGroup, default: Callable[[Any], Any]) -> None:
    """`--agent NAME` and `--policy FILE` on every operation command."""
    options.add_argument(
        "--agent",
        metavar="NAME",
        default=default(None),
        help=f"act as this agent of the policy file (default: ${AGENT_ENV}); every call is "
        "checked and written to the policy's audit log",
    )
    options.add_argument(
        "--policy",
        metavar="FILE",
        default=default(None),
        help=f"the access policy file (default: ${POLICY_ENV})",
    )


def agent_access(args: argparse.Namespace) -> Any:
    """The access object for the command's client, or None when no agent is named."""
    agent = getattr(args, "agent", None) or os.environ.get(AGENT_ENV) or None
    path = getattr(args, "policy", None) or os.environ.get(POLICY_ENV) or None
    if agent is None and path is None:
        return None
    if agent is None or path is None:
        raise AgentUsageError("give both --agent and --policy (or neither)")
    return load_policy(path).access(agent)


def load_policy(path: str) -> Any:
    """The policy file at `path`; a file the policy refuses is a usage error."""
    from .access import Policy, PolicyError

    try:
        return Policy.load(path)
    except PolicyError as exc:
        raise AgentUsageError(f"policy file refused: {exc}") from None
