"""Administrators of the console: password hashes, signed session cookies, CSRF tokens and the
lock-out after repeated failures.

A password is kept as `scrypt$N$r$p$SALT$HASH` (hashlib's scrypt, salt and hash base64url),
what `postmark-gateway --hash-password` prints. A session is a cookie signed with the gateway's
secret (`POSTMARK_GATEWAY_SECRET`, or one drawn at start): a cookie another gateway signed is
refused. Each session has its own CSRF token, derived from the session by the same secret, and
carries a tag of the password hash it was signed in under (a changed password ends it). Ended
sessions and failed sign-ins are kept in a `Ledger` (`_ledger`): the store's, shared by every
worker and gateway, or this process's memory.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import re
import secrets
import time
from dataclasses import dataclass, field
from typing import Final

from ._ledger import Ledger, MemoryLedger

__all__ = [
    "FAILURES_BEFORE_LOCK",
    "LOCK_SECONDS",
    "SESSION_SECONDS",
    "Admins",
    "HashError",
    "Session",
    "Sessions",
    "hash_password",
]

SESSION_SECONDS: Final = 8 * 3600
FAILURES_BEFORE_LOCK: Final = 5
LOCK_SECONDS: Final = 300.0
_SCRYPT: Final = {"n": 2**14, "r": 8, "p": 1}
_HASH: Final = re.compile(r"^scrypt\$(\d+)\$(\d+)\$(\d+)\$([A-Za-z0-9_-]+)\$([A-Za-z0-9_-]+)$")
_NAME: Final = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.@-]{0,63}$")


class HashError(ValueError):
    """An administrator given on the command line that cannot be used."""


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def hash_password(password: str, *, salt: bytes | None = None) -> str:
    """The `scrypt$N$r$p$SALT$HASH` text of a password."""
    salt = salt if salt is not None else secrets.token_bytes(16)
    digest = hashlib.scrypt(password.encode("utf-8"), salt=salt, dklen=32, **_SCRYPT)
    return f"scrypt${_SCRYPT['n']}${_SCRYPT['r']}${_SCRYPT['p']}${_b64(salt)}${_b64(digest)}"


def _matches(password: str, stored: str) -> bool:
    found = _HASH.match(stored)
    if found is None:
        return False
    n, r, p = (int(found.group(i)) for i in (1, 2, 3))
    digest = hashlib.scrypt(
        password.encode("utf-8"),
        salt=_unb64(found.group(4)),
        n=n,
        r=r,
        p=p,
        dklen=len(_unb64(found.group(5))),
        maxmem=256 * r * n + 1024 * 1024,
    )
    return hmac.compare_digest(digest, _unb64(found.group(5)))


@dataclass
class Admins:
    """The administrators (name: password hash) and the `ledger` of their failed sign-ins
    (this process's memory, unless the console gives it the store's)."""

    hashes: dict[str, str]
    lock_seconds: float = LOCK_SECONDS
    ledger: Ledger = field(default_factory=MemoryLedger)

    @classmethod
    def parse(cls, given: list[str]) -> Admins:
        """`NAME:scrypt$...` pairs (`--admin`); HashError naming the bad one."""
        hashes: dict[str, str] = {}
        for item in given:
            name, _, stored = item.partition(":")
            if not _NAME.fullmatch(name):
                raise HashError(
                    f"--admin {name!r}: a name is letters, digits, '.', '_', '@' or '-'"
                )
            if not _HASH.match(stored):
                raise HashError(
                    f"--admin {name}: the hash must be what `postmark-gateway --hash-password` "
                    "prints (scrypt$N$r$p$SALT$HASH)"
                )
            hashes[name] = stored
        return cls(hashes)

    def sign_in(self, name: str, password: str, now: float | None = None) -> str | None:
        """None when `name` and `password` sign in; else why not (the same words for an
        unknown name and a wrong password). Locks a name after FAILURES_BEFORE_LOCK failures."""
        now = time.time() if now is None else now
        key = name[:64]
        locked_until = self.ledger.locked_until(key)
        if locked_until > now:
            wait = int(locked_until - now) + 1
            return f"Too many failed sign-ins for this name: locked for {wait} more seconds."
        stored = self.hashes.get(name)
        # An unknown name costs the same hashing, so timing does not tell names apart.
        ok = _matches(password, stored or hash_password("", salt=b"\0" * 16)) and stored is not None
        if ok:
            self.ledger.signed_in(key)
            return None
        if self.ledger.failed(key, now, FAILURES_BEFORE_LOCK, self.lock_seconds):
            return (
                f"Wrong name or password; after {FAILURES_BEFORE_LOCK} failures this name is "
                f"locked for {int(self.lock_seconds)} seconds."
            )
        return "Wrong name or password."


@dataclass(frozen=True)
class Session:
    """A signed-in administrator: until when, the session's `nonce` (what its end is kept
    by), its CSRF token, and `password`, a tag of the password hash it was signed in under."""

    admin: str
    expires: float
    nonce: str
    csrf: str
    password: str = ""


class Sessions:
    """Signed session cookies and their CSRF tokens, under one secret; the ends of sessions
    are kept in `ledger` (this process's memory, unless the console gives it the store's)."""

    def __init__(self, secret: bytes, ledger: Ledger | None = None) -> None:
        self._secret = secret
        self.ledger: Ledger = ledger if ledger is not None else MemoryLedger()

    def _sign(self, text: str) -> str:
        return _b64(hmac.new(self._secret, text.encode("ascii"), hashlib.sha256).digest())

    def csrf_for(self, nonce: str) -> str:
        return self._sign(f"csrf:{nonce}")

    def _tag(self, password_hash: str) -> str:
        return self._sign(f"password:{password_hash}")[:22]

    def new(
        self, admin: str, now: float | None = None, password_hash: str = ""
    ) -> tuple[str, Session]:
        """A new session of `admin`, signed in under `password_hash`: its cookie value and
        what it holds."""
        expires = (time.time() if now is None else now) + SESSION_SECONDS
        nonce = secrets.token_urlsafe(18)
        tag = self._tag(password_hash)
        data = {"a": admin, "e": expires, "n": nonce, "p": tag}
        body = _b64(json.dumps(data).encode("utf-8"))
        session = Session(admin, expires, nonce, self.csrf_for(nonce), tag)
        return f"{body}.{self._sign(body)}", session

    def read(self, cookie: str | None, now: float | None = None) -> Session | None:
        """The session a cookie holds; None when it is missing, forged, signed by another
        secret, expired or signed out (here or at any process sharing the ledger)."""
        if not cookie or cookie.count(".") != 1:
            return None
        body, signature = cookie.split(".")
        if not hmac.compare_digest(signature, self._sign(body)):
            return None
        try:
            data = json.loads(_unb64(body))
            admin, expires, nonce = str(data["a"]), float(data["e"]), str(data["n"])
            tag = str(data["p"])
        except (ValueError, KeyError, TypeError):
            return None
        if expires < (time.time() if now is None else now) or self.ledger.ended(nonce):
            return None
        return Session(admin, expires, nonce, self.csrf_for(nonce), tag)

    def under(self, session: Session, password_hash: str) -> bool:
        """Whether the session was signed in under this password hash (a changed password
        ends the sessions signed in under the old one)."""
        return hmac.compare_digest(session.password, self._tag(password_hash))

    def end(self, session: Session) -> None:
        """Sign a session out: every process sharing the ledger refuses its cookie from now."""
        self.ledger.end(session.nonce, session.expires)

    def check_csrf(self, nonce: str, given: str | None) -> bool:
        return given is not None and hmac.compare_digest(self.csrf_for(nonce), given)
