"""The cache folder, and the sealed entries that let a re-run skip work it has done before.

Everything kept there only saves time; deleting it costs speed, never a result. An entry is read
back only when its seal (its first line) is the hash of its kind, its key, this interpreter and
its body: a damaged or hand-edited entry, one copied under another key's name, one from another
Python (whose `compile` may accept other syntax) or one in an older layout reads as missing, and
the work is done afresh. Entries are written only for work that succeeded (a source that compiled,
a file that parsed), so a failure is always found again.
"""

from __future__ import annotations

import hashlib
import os
import sys
from pathlib import Path

FORMATTED = "formatted"
"""The formatter's output, by `render._cache_key` of the text it was given (which compiled)."""
COMPILED = "compiled"
"""Static modules that compiled, by the hash of their bytes; the body is empty."""
LITERALS = "literals"
"""What `fake_coverage` read from a static module's syntax tree, by the hash of its text."""


def cache_dir() -> Path | None:
    """`$POSTMARK_CODEGEN_CACHE`, else `$XDG_CACHE_HOME/postmark-codegen` (or ~/.cache); `off` disables.

    Holds the formatter's output by content hash, compiled templates, clean spec-validation
    verdicts and the entries of this module; deleting it only costs speed.
    """
    setting = os.environ.get("POSTMARK_CODEGEN_CACHE")
    if setting == "off":
        return None
    if setting:
        return Path(setting)
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return Path(base) / "postmark-codegen"


def _seal(kind: str, key: str, body: bytes) -> bytes:
    digest = hashlib.sha256(f"postmark-codegen {kind} v1\n{key}\n{sys.version}\n".encode())
    digest.update(body)
    return digest.hexdigest().encode("ascii")


def read(kind: str, key: str) -> bytes | None:
    """The body stored under `key` (a hex digest), or None: no cache, no entry, or a broken seal."""
    directory = cache_dir()
    if directory is None:
        return None
    try:
        data = (directory / kind / key).read_bytes()
    except OSError:
        return None
    seal, newline, body = data.partition(b"\n")
    if not newline or seal != _seal(kind, key, body):
        return None
    return body


def write(kind: str, key: str, body: bytes) -> None:
    """Store `body` under `key` (a hex digest), sealed; best effort."""
    directory = cache_dir()
    if directory is not None:
        write_atomic(directory / kind / key, _seal(kind, key, body) + b"\n" + body)


def write_atomic(path: Path, data: bytes) -> bool:
    """Best effort: an unwritable cache only costs speed. Written whole beside `path`, then
    renamed into place, so a reader never sees half an entry; False when it could not be."""
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        temporary = path.with_name(f".{path.name}.{os.getpid()}.tmp")
        temporary.write_bytes(data)
        os.replace(temporary, path)
    except OSError:
        return False
    return True
