# Copied by postmark-codegen from templates/static/postmark_client/_cli_access.py;
# edit it there and regenerate, not here.
"""`postmark access show|export` and `postmark audit [verify]`: the policy and its audit log.

The CLI reaches these commands through `cli.COMMAND_MODULES`, like every command that is not
an API operation.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import sys
import time
from datetime import datetime
from typing import Any, Final

from ._cli_agents import POLICY_ENV, AgentUsageError, load_policy
from .cli import Command

__all__ = ["COMMANDS", "parse_since"]

_FOLLOW_POLL: Final = 0.5


def _run_show(args: argparse.Namespace) -> int:
    from .access import describe, matrix_json

    policy = load_policy(args.policy)
    if args.agent is not None and args.agent not in policy.agents:
        raise AgentUsageError(f"no agent {args.agent!r} in {args.policy}")
    if args.json:
        data = matrix_json(policy)
        if args.agent is not None:
            data = {args.agent: data[args.agent]}
        sys.stdout.write(json.dumps(data, indent=2) + "\n")
    else:
        sys.stdout.write(describe(policy, args.agent) + "\n")
    return 0


_RELATIVE: Final = re.compile(r"^(\d+(?:\.\d+)?)([smhd])$")
_SECONDS: Final = {"s": 1.0, "m": 60.0, "h": 3600.0, "d": 86400.0}


def parse_since(text: str, now: float | None = None) -> float:
    """`30m`, `2h`, `7d` ago, or an ISO 8601 time (UTC when it names no offset)."""
    relative = _RELATIVE.match(text.strip())
    if relative:
        return (now or time.time()) - float(relative.group(1)) * _SECONDS[relative.group(2)]
    try:
        when = datetime.fromisoformat(text.strip())
    except ValueError:
        raise AgentUsageError(f"--since {text!r}: give 30m, 2h, 7d or an ISO 8601 time") from None
    if when.tzinfo is None:
        from datetime import UTC

        when = when.replace(tzinfo=UTC)
    return when.timestamp()


def _open_store(args: argparse.Namespace) -> Any:
    """The store `--store` names, else the audit file of `--policy` (which must exist)."""
    from ._store import open_store

    if args.store:
        try:
            return open_store(args.store)
        except (ValueError, ImportError) as exc:
            raise AgentUsageError(f"--store: {exc}") from None
    path = args.policy or os.environ.get(POLICY_ENV)
    if not path:
        raise AgentUsageError(f"give --policy FILE or --store URL (or set ${POLICY_ENV})")
    policy = load_policy(path)
    if policy.audit_path is None or not policy.audit_path.exists():
        raise AgentUsageError(f"no audit log at {policy.audit_path}: nothing was recorded yet")
    return open_store(policy.audit_path)


def _run_verify(args: argparse.Namespace) -> int:
    from ._policy_store import verify

    store = _open_store(args)
    try:
        report = verify(store)
    finally:
        store.close()
    sys.stdout.write(f"{report}\n")
    return 0 if report.intact else 1


def _run_export(args: argparse.Namespace) -> int:
    from ._policy_store import PolicySource
    from .access import PolicyError

    policy = load_policy(args.policy)
    store = _open_store(args)
    try:
        source = PolicySource.from_store(policy, store, create=False)
        sys.stdout.write(source.export_toml())
    except PolicyError as exc:
        raise AgentUsageError(str(exc)) from None
    finally:
        store.close()
    return 0


def _run_audit(args: argparse.Namespace, *, max_polls: int | None = None) -> int:
    from ._audit import AuditLog, dumps, sentence
    from ._store import AuditStore, open_store

    path = args.policy or os.environ.get(POLICY_ENV)
    if not path:
        raise AgentUsageError(f"give --policy FILE (or set ${POLICY_ENV})")
    policy = load_policy(path)
    if policy.audit_path is None and not args.store:
        raise AgentUsageError(f"{path} names no audit log")
    if args.store:
        if args.log_id:
            raise AgentUsageError("--log-id is the id of a policy's audit file, not of --store")
        try:
            log: AuditStore = open_store(args.store)
        except (ValueError, ImportError) as exc:
            raise AgentUsageError(f"--store: {exc}") from None
    else:
        assert policy.audit_path is not None  # checked above
        if not policy.audit_path.exists():
            sys.stderr.write(
                f"postmark: error: no audit log at {policy.audit_path}: nothing was recorded "
                "there yet, or it was removed\n"
            )
            return 1
        file_log = AuditLog(policy.audit_path, log_id=policy.audit_log_id)
        if args.log_id:
            sys.stdout.write(file_log.log_id + "\n")
            file_log.close()
            return 0
        log = file_log
    since = parse_since(args.since) if args.since else None
    last, polls = 0, 0
    try:
        while True:
            for entry in log.entries(
                agent=args.agent, since=since, denied=args.denied, after_id=last
            ):
                sys.stdout.write((dumps(entry) if args.json else sentence(entry)) + "\n")
                last = entry.id
            sys.stdout.flush()
            polls += 1
            if not args.follow or (max_polls is not None and polls >= max_polls):
                return 0
            time.sleep(_FOLLOW_POLL)
    except KeyboardInterrupt:
        return 0
    finally:
        log.close()


def _show_options(show: argparse.ArgumentParser) -> None:
    show.add_argument("policy", metavar="POLICY", help="the policy file")
    show.add_argument("--agent", default=None, help="only this agent")
    show.add_argument("--json", action="store_true", help="as JSON")


def _export_options(export: argparse.ArgumentParser) -> None:
    export.add_argument("--policy", required=True, help="the policy file the store was made from")
    export.add_argument(
        "--store", help="the store (postgresql://..., sqlite:///PATH; default: the policy's audit)"
    )


def _audit_options(audit: argparse.ArgumentParser) -> None:
    audit.add_argument("--policy", default=None, help=f"the policy file (default: ${POLICY_ENV})")
    audit.add_argument("--agent", default=None, help="only this agent's calls")
    audit.add_argument(
        "--since", default=None, help="only calls since T: ISO 8601, or 30m, 2h, 7d ago"
    )
    audit.add_argument(
        "--denied", action="store_true", help="only calls not allowed (denied or invalid)"
    )
    audit.add_argument("--json", action="store_true", help="one JSON object per line")
    audit.add_argument("--follow", "-f", action="store_true", help="keep printing new entries")
    audit.add_argument(
        "--log-id",
        action="store_true",
        help="print the log's id (for audit_log_id in the policy: a missing or replaced log is "
        "then refused, and quotas cannot be reset by removing it)",
    )
    audit.add_argument(
        "--store",
        help="read the log from this store (postgresql://..., as postmark-gateway --store) "
        "instead of the policy's audit file",
    )


def _verify_options(verify: argparse.ArgumentParser) -> None:
    verify.add_argument("--policy", default=None, help=f"the policy file (default: ${POLICY_ENV})")
    verify.add_argument("--store", help="the store to check (postgresql://..., sqlite:///PATH)")


_ACCESS_HELP: Final = "read an access policy file, or export the store's"
_AUDIT_HELP: Final = "read the audit log a policy file names"

COMMANDS: Final[tuple[Command, ...]] = (
    Command(
        group="access",
        group_help=_ACCESS_HELP,
        name="show",
        help="the matrix of agents x groups, and the operations each agent may call",
        description="Print the matrix of agents x groups (off/read/write/full), the operations "
        "each agent may call with the second groups they act on, and those withheld for a "
        "missing second grant, from the operation table.",
        configure=_show_options,
        run=_run_show,
    ),
    Command(
        group="access",
        group_help=_ACCESS_HELP,
        name="export",
        help="print the store's current policy as a policy file (TOML), for review and diff",
        description="Print the agents the store holds (postmark-gateway --policy-in-store, "
        "edited in the console) as a policy file, after the top-level settings of --policy. "
        "Keys stay in the store (no key_sha256).",
        configure=_export_options,
        run=_run_export,
    ),
    Command(
        group="audit",
        group_help=_AUDIT_HELP,
        name="",
        help=_AUDIT_HELP,
        description="Print the audit log the policy file names: one sentence per decision "
        "(or, with --json, one JSON object per line).",
        configure=_audit_options,
        run=_run_audit,
    ),
    Command(
        group="audit",
        group_help=_AUDIT_HELP,
        name="verify",
        help="check the log's hash chain",
        description="Walk the audit log's hash chain: prints `ok: N rows, chain intact` (exit 0), "
        "or the first row where the chain breaks and why (exit 1).",
        configure=_verify_options,
        run=_run_verify,
    ),
)
