"""The `postmark-gateway` command: the gateway app under uvicorn, one process or several.

postmark-gateway --policy agents.toml --port 8030 [--host 127.0.0.1] [--store URL]
                 [--policy-in-store] [--workers N] [--fake] [--certfile FILE --keyfile FILE]
                 [--admin NAME:HASH ...]
postmark-gateway --hash-password < password
"""

from __future__ import annotations

import argparse
import os
import signal
import socket
import sys
from types import FrameType
from typing import TYPE_CHECKING, Any, Final, cast

from .._fake_option import add_fake_option, demo_fake
from .._meta import Token
from .._policy_store import PolicySource
from .._spec import BASE_URL_ENV, TOKEN_ENV_VARS
from .._store import PolicyTables, open_store
from ..access import Policy, PolicyError, hash_key
from ._app import READ_TIMEOUT, Gateway
from ._tokens import TokenFileError, server_tokens
from .console import Admins, Console, HashError, hash_password

if TYPE_CHECKING:
    from .._postgres import PostgresStore

__all__ = ["main"]

PROG: Final = "postmark-gateway"
SECRET_ENV: Final = "POSTMARK_GATEWAY_SECRET"
DEFAULT_PORT: Final = 8030
_LOOPBACK: Final = ("127.0.0.1", "localhost", "::1")


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog=PROG,
        description=(
            "Serve Postmark's REST API (and MCP at /mcp) to agents holding their own keys: each "
            "call is checked by the access policy, written to the audit log, then forwarded with "
            f"the gateway's token ({', '.join(TOKEN_ENV_VARS.values())}) to {BASE_URL_ENV} "
            "(default Postmark)."
        ),
    )
    parser.add_argument(
        "--policy", help="the access policy file (agents, key_sha256, audit log); required"
    )
    parser.add_argument(
        "--port",
        type=int,
        default=DEFAULT_PORT,
        help=f"port (default {DEFAULT_PORT}; 0: a free one)",
    )
    parser.add_argument(
        "--host",
        default="127.0.0.1",
        help="address to listen on (default 127.0.0.1; any other wants --certfile/--keyfile "
        "or a TLS reverse proxy)",
    )
    parser.add_argument(
        "--store",
        help="where the audit log and send quota counts live: postgresql://USER@HOST/DB (shared "
        "by several gateways; the `postgres` extra), sqlite:///PATH or a file path (default: "
        "the policy's `audit` file)",
    )
    parser.add_argument(
        "--policy-in-store",
        action="store_true",
        help="take the agents (grants, narrowing, keys) from the store, where the console edits "
        "them, instead of the policy file; the first start imports the file's agents into an "
        "empty store (`postmark access export` writes them back as TOML)",
    )
    parser.add_argument(
        "--workers", type=int, default=1, help="processes serving the one socket (default 1)"
    )
    add_fake_option(parser, "forward to")
    parser.add_argument("--certfile", help="TLS certificate (PEM) to serve HTTPS with")
    parser.add_argument("--keyfile", help="the private key (PEM) of --certfile")
    parser.add_argument(
        "--read-timeout",
        type=float,
        default=READ_TIMEOUT,
        help=f"seconds a client has to send a request body (default {READ_TIMEOUT:g})",
    )
    parser.add_argument(
        "--allow-host",
        action="append",
        default=[],
        metavar="HOST[:PORT]",
        help="a Host header value MCP clients may use (with its http/https Origin), beside the "
        "listening address; repeat for each name the gateway is reached by",
    )
    parser.add_argument("--no-mcp", action="store_true", help="do not serve MCP at /mcp")
    parser.add_argument(
        "--admin",
        action="append",
        default=[],
        metavar="NAME:HASH",
        help="an administrator of the web console at /console, with the hash "
        "--hash-password prints; repeat for each (sessions are signed with "
        f"{SECRET_ENV}, else a secret drawn at start)",
    )
    keys = parser.add_mutually_exclusive_group()
    keys.add_argument(
        "--add-key",
        metavar="AGENT",
        help="store the key read from standard input for AGENT in the --store PostgreSQL "
        "database (every gateway using it takes the key), then exit",
    )
    keys.add_argument(
        "--hash-password",
        action="store_true",
        help="print the scrypt hash of the password read from standard input (for --admin), "
        "then exit",
    )
    keys.add_argument(
        "--remove-key",
        action="store_true",
        help="revoke the key read from standard input in the --store database, then exit",
    )
    return parser


def _fail(message: str) -> int:
    sys.stderr.write(f"{PROG}: {message}\n")
    return 2


def build_app(
    policy: Policy,
    tokens: dict[Token, str | None],
    upstream: str | None,
    *,
    agent_tokens: dict[str, str] | None = None,
    read_timeout: float = READ_TIMEOUT,
    mcp: bool = True,
    allowed_hosts: list[str] | None = None,
    admins: Admins | None = None,
    secret: bytes | None = None,
    source: PolicySource | None = None,
) -> Gateway:
    """The gateway app, with MCP at /mcp unless `mcp` is False, and the console at /console;
    `source` is where the policy comes from (default: the policy file)."""
    options: dict[str, Any] = {
        "tokens": tokens,
        "agent_tokens": agent_tokens,
        "upstream": upstream,
        "read_timeout": read_timeout,
        "source": source,
        "console": Console(policy, admins or Admins({}), secret, source),
    }
    if mcp:
        from ._mcp import mcp_app

        options["mcp"], options["mcp_lifespan"] = mcp_app(
            policy, tokens, upstream, allowed_hosts or [], agent_tokens
        )
    return Gateway(policy, **options)


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    if args.hash_password:
        password = sys.stdin.readline().rstrip("\r\n")
        if not password:
            return _fail("give the password on standard input (one line)")
        sys.stdout.write(hash_password(password) + "\n")
        return 0
    try:
        admins = Admins.parse(args.admin)
    except HashError as exc:
        return _fail(str(exc))
    if not args.policy:
        return _fail("--policy FILE is required (the access policy the gateway enforces)")
    try:
        policy = Policy.load(args.policy)
    except PolicyError as exc:
        return _fail(f"policy file refused: {exc}")
    if args.store:
        try:
            policy.use_store(open_store(args.store))
        except (ValueError, ImportError) as exc:
            return _fail(f"--store: {exc}")
    if args.workers < 1:
        return _fail(f"--workers must be 1 or more, got {args.workers}")
    if bool(args.certfile) != bool(args.keyfile):
        return _fail("--certfile and --keyfile go together")
    if args.add_key or args.remove_key:
        return _keys(policy, args.add_key)
    try:
        source = _source(policy, args.policy_in_store)
    except (PolicyError, OSError) as exc:
        return _fail(f"the store's policy refused: {exc}")
    except Exception as exc:  # noqa: BLE001 - said plainly, no traceback
        return _fail(f"the store cannot be read: {type(exc).__name__}: {exc}")
    policy = source.policy()
    if not source.could_authenticate():
        return _fail(
            "no agent in the policy has a key_sha256 (nor a key in the store): no agent could "
            "authenticate"
        )
    tokens: dict[Token, str | None] = {
        k: os.environ.get(v) or None for k, v in TOKEN_ENV_VARS.items()
    }
    upstream = os.environ.get(BASE_URL_ENV) or None
    try:
        agent_tokens = server_tokens(policy)
    except TokenFileError as exc:
        return _fail(f"server_tokens refused: {exc}")
    if args.fake:
        agent_tokens = {}
        fake, tokens = demo_fake()
        upstream = fake.serve("127.0.0.1", 0).url
    if not any(tokens.values()) and not agent_tokens:
        return _fail(
            f"no Postmark token: set {' and/or '.join(TOKEN_ENV_VARS.values())} in the gateway's "
            "environment (or give --fake)"
        )
    from ..mcp._server import _listening_socket

    try:
        sock = _listening_socket(args.host, args.port)
    except OSError as exc:
        return _fail(f"cannot listen on {args.host}:{args.port}: {exc.strerror or exc}")
    host, port = sock.getsockname()[:2]
    scheme = "https" if args.certfile else "http"
    url = f"{scheme}://{f'[{host}]' if ':' in host else host}:{port}"
    if args.host not in _LOOPBACK and not args.certfile:
        sys.stderr.write(
            f"{PROG}: warning: serving plain HTTP on {args.host}: agent keys cross the network "
            "unencrypted; give --certfile/--keyfile or put a TLS reverse proxy in front\n"
        )
    allowed = [f"{args.host}:{port}", f"{host}:{port}", *args.allow_host] + (
        [f"localhost:{port}", f"127.0.0.1:{port}", f"[::1]:{port}"]
        if args.host in _LOOPBACK
        else []
    )
    # Held calls name their approval page on this gateway unless the policy names a console.
    policy.console_url = policy.console_url or url
    app = build_app(
        policy,
        tokens,
        upstream,
        agent_tokens=agent_tokens,
        read_timeout=args.read_timeout,
        mcp=not args.no_mcp,
        allowed_hosts=allowed,
        admins=admins,
        secret=os.environ.get(SECRET_ENV, "").encode("utf-8") or None,
        source=source,
    )
    # Only what is served: no MCP with --no-mcp, and no console line without an administrator
    # (nobody could sign in to it).
    offered = ["Postmark's API"]
    if not args.no_mcp:
        offered.append(f"MCP at {url}/mcp")
    if admins.hashes:
        offered.append(f"console at {url}/console")
    sys.stderr.write(
        f"{PROG}: listening on {url} ({'; '.join(offered)}) upstream {upstream or 'Postmark'}, "
        f"{args.workers} worker{'s' if args.workers != 1 else ''}; Ctrl-C stops\n"
    )
    sys.stderr.flush()
    options: dict[str, Any] = {"ssl_certfile": args.certfile, "ssl_keyfile": args.keyfile}
    if args.workers == 1:
        _serve(app, sock, options)
        return 0
    return _supervise(app, sock, options, args.workers)


def _source(policy: Policy, in_store: bool) -> PolicySource:
    """The source of truth: the store (importing the file into an empty one), or the file."""
    if not in_store:
        return PolicySource.from_file(policy)
    return PolicySource.from_store(policy, cast(PolicyTables, policy.log))


def _keys(policy: Policy, agent: str | None) -> int:
    """--add-key / --remove-key: the key from standard input, by its hash, in the store."""
    if not hasattr(policy.log, "add_key"):
        return _fail("--add-key and --remove-key need --store postgresql://...")
    store = cast("PostgresStore", policy.log)
    if agent is not None and agent not in policy.agents:
        return _fail(f"--add-key: no agent {agent!r} in {policy.path}")
    key = sys.stdin.readline().strip()
    if not key:
        return _fail("give the key on standard input (one line)")
    try:
        if agent is not None:
            store.add_key(agent, hash_key(key))
            sys.stderr.write(f"{PROG}: key \u2026{key[-4:]} now authenticates {agent}\n")
        elif not store.remove_key(hash_key(key)):
            return _fail(f"no key \u2026{key[-4:]} in the store")
        else:
            sys.stderr.write(f"{PROG}: key \u2026{key[-4:]} revoked\n")
    except Exception as exc:  # noqa: BLE001 - said plainly, no traceback
        return _fail(f"the store refused: {type(exc).__name__}: {exc}")
    finally:
        store.close()
    return 0


def _serve(app: Gateway, sock: socket.socket, options: dict[str, Any]) -> None:
    import uvicorn

    config = uvicorn.Config(
        app,
        log_level="warning",
        server_header=False,
        date_header=False,
        lifespan="on",
        timeout_keep_alive=5,
        **options,
    )
    uvicorn.Server(config).run(sockets=[sock])


def _supervise(app: Gateway, sock: socket.socket, options: dict[str, Any], workers: int) -> int:
    """Fork `workers` processes serving the one listening socket; a stop signal stops them all."""
    children: list[int] = []
    for _ in range(workers):
        pid = os.fork()
        if pid == 0:
            try:
                _serve(app, sock, options)
            finally:
                os._exit(0)
        children.append(pid)

    def stop(signum: int, frame: FrameType | None) -> None:
        for child in children:
            try:
                os.kill(child, signal.SIGTERM)
            except ProcessLookupError:
                pass

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    status = 0
    for child in children:
        while True:
            try:
                _, code = os.waitpid(child, 0)
                break
            except InterruptedError:
                continue
        status = status or os.waitstatus_to_exitcode(code)
    return 0 if status in (0, -signal.SIGTERM) else 1


if __name__ == "__main__":
    raise SystemExit(main())
