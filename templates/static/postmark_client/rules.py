"""Postmark's rules for what a call carries, in one place: how a recipient field reads as
addresses, which messages a body holds, the message stream each of them lands on, and the
limits the spec states (checked before anything is sent).

The access check, the client's limits, the CLI and the fake Postmark all read a body through
these functions, so the addresses and streams a policy checks are the ones counted and delivered.

A recipient field (`To`, `Cc`, `Bcc`) is a list of entries separated by `,`, `;` or a line
break. An entry is a bare address (`jane@example.com`), an angle address with an optional display
name (`Jane Doe <jane@example.com>`, `"Doe, Jane" <jane@example.com>`,
`=?utf-8?q?Jane?= <jane@example.com>`), with comments (`(work)`, dropped) between its words. An
entry that does not read as exactly one address is `Unreadable`, with the reason; nothing about it
is guessed. Unreadable are: two angle addresses in one entry, text after the angle address, words
beside a bare address, an `@` or `:` outside quotes and angle brackets, a separator or a line
break inside an angle address, angle brackets or a line break inside a display name or comment,
an unclosed quote, comment or angle bracket, a control character, an encoded word that does not
decode, a field that is not a string, and anything else that is not an address.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from email.errors import HeaderParseError
from email.header import decode_header
from typing import Any, Final, NamedTuple

from ._meta import Limit, Operation
from .errors import RequestValidationError

__all__ = [
    "RECIPIENT_FIELDS",
    "STREAM_FIELD",
    "Mailbox",
    "Outgoing",
    "Reading",
    "Unreadable",
    "check_limits",
    "check_message_limits",
    "count_recipients",
    "is_address",
    "messages_of",
    "outgoing",
    "read_recipients",
    "stream_of",
]

RECIPIENT_FIELDS: Final = ("To", "Cc", "Bcc")
"""The fields of a message that hold its recipients."""
STREAM_FIELD: Final = "MessageStream"
"""The field of a message (or of a Bulk API body) naming the stream it is sent on."""

# A dot-atom local part and a domain of two labels or more (non-ASCII allowed, RFC 6531).
_ATOM: Final = r"[^\s\x00-\x1f\x7f\"(),.:;<>@\[\\\]]+"
_ADDR_SPEC: Final = re.compile(rf"{_ATOM}(?:\.{_ATOM})*@[\w-]+(?:\.[\w-]+)+")
# Anything some reader could take for an address: what an unreadable entry may reach.
_CANDIDATE: Final = re.compile(r"[^\s\"'()<>,;:\[\]\\@]+@[^\s\"'()<>,;:\[\]\\@]+")
# A field with none of these is a plain list of addresses (what sends mostly carry).
_PLAIN: Final = re.compile(r"[^\"()<>\\=\r\n\x00-\x1f\x7f]*")
_SEPARATORS: Final = re.compile(r"[,;]")
_ENCODED_WORD: Final = re.compile(r"=\?[^?\s]+\?[bBqQ]\?[^?\s]*\?=")
_WORD_END: Final = frozenset(' \t"(<')
_OUTSIDE_QUOTES: Final = {
    "@": "an '@' outside the angle brackets",
    ":": "a ':' outside quotes (a group or a header name)",
    "[": "a '[' outside quotes",
    "]": "a ']' outside quotes",
    "\\": "a backslash outside quotes",
    ">": "a '>' without '<'",
    ")": "a ')' without '('",
}


class Mailbox(NamedTuple):
    """One recipient: its display name (decoded; empty when none) and its address as written."""

    name: str
    address: str


class Unreadable(NamedTuple):
    """An entry of a recipient field that does not read as exactly one address."""

    part: str
    """The entry as written."""
    reason: str
    candidates: tuple[str, ...]
    """Every text in the entry that some reader could take for an address."""


class Reading(NamedTuple):
    """A recipient field read into its entries, in order (blank entries left out)."""

    field: str
    """The field as the caller knows it: `To`, `messages[3].Cc`."""
    entries: tuple[Mailbox | Unreadable, ...]

    @property
    def mailboxes(self) -> list[Mailbox]:
        return [entry for entry in self.entries if isinstance(entry, Mailbox)]

    @property
    def addresses(self) -> list[str]:
        """The addresses of the entries that read as one address."""
        return [entry.address for entry in self.entries if isinstance(entry, Mailbox)]

    @property
    def reachable(self) -> list[str]:
        """Every address this field could be sent to: the addresses read, and every candidate
        of an unreadable entry."""
        found: list[str] = []
        for entry in self.entries:
            found.extend((entry.address,) if isinstance(entry, Mailbox) else entry.candidates)
        return found

    @property
    def unreadable(self) -> Unreadable | None:
        """The first entry that does not read as one address, or None."""
        for entry in self.entries:
            if isinstance(entry, Unreadable):
                return entry
        return None

    @property
    def problem(self) -> str | None:
        """`To: 'Jane <a@x.org> <b@y.org>' could not be read (two angle addresses in one
        entry)`, or None when every entry reads as one address."""
        bad = self.unreadable
        if bad is None:
            return None
        return f"{self.field}: {bad.part.strip()!r} could not be read ({bad.reason})"


def is_address(text: str) -> bool:
    """Whether `text` is one bare address (`local@domain.tld`)."""
    return _ADDR_SPEC.fullmatch(text.strip()) is not None


def count_recipients(value: str) -> int:
    """How many entries a recipient field holds (what Postmark's 50 per field counts), read as
    `read_recipients` reads them: an unreadable entry counts as one."""
    if _ADDR_SPEC.fullmatch(value):  # one bare address: what most sends carry
        return 1
    if _PLAIN.fullmatch(value):
        # Every entry of a plain list that is not blank reads as one entry (see _read_plain).
        return sum(1 for part in _SEPARATORS.split(value) if part and not part.isspace())
    return len(_read_full(value))


def read_recipients(field: str, value: str) -> Reading:
    """Read a recipient field into its entries; see the module's docstring for the forms."""
    if _ADDR_SPEC.fullmatch(value):  # one bare address: what most sends carry
        return Reading(field, (Mailbox("", value),))
    if _PLAIN.fullmatch(value):
        entries = [_read_plain(part) for part in _SEPARATORS.split(value)]
        return Reading(field, tuple(entry for entry in entries if entry is not None))
    return Reading(field, _read_full(value))


def _read_full(value: str) -> tuple[Mailbox | Unreadable, ...]:
    """The entries of any field, by the whole reading (the two shortcuts above must agree
    with it on every field they take: tests/client/test_rules.py compares them)."""
    entries = [
        _read_entry(part) if problem is None else _unreadable(part, problem)
        for part, problem in _split(value)
    ]
    return tuple(entry for entry in entries if entry is not None)


def _read_plain(part: str) -> Mailbox | Unreadable | None:
    text = part.strip()
    if not text:
        return None
    if _ADDR_SPEC.fullmatch(text):
        return Mailbox("", text)
    return _read_entry(part)


def _unreadable(part: str, reason: str) -> Unreadable:
    return Unreadable(part, reason, tuple(_CANDIDATE.findall(part)))


def _split(value: str) -> list[tuple[str, str | None]]:
    """The entries of a field, each with the first structural problem found in it (or None):
    separators count only outside quotes, comments and angle brackets."""
    parts: list[tuple[str, str | None]] = []
    start, index, problem = 0, 0, None
    quoted, depth, angle = False, 0, False
    while index < len(value):
        char = value[index]
        if char in "\r\n" and (quoted or depth or angle):
            inside = "a quoted name" if quoted else "a comment" if depth else "an angle address"
            problem = problem or f"a line break inside {inside}"
        elif char not in "\t\r\n" and (char < " " or char == "\x7f"):
            problem = problem or "a control character"
        elif char == "\\" and (quoted or depth) and _printable(value[index + 1 : index + 2]):
            index += 1  # a quoted pair: the next character is taken as it is
        elif quoted:
            quoted = char != '"'
        elif depth:
            depth += {"(": 1, ")": -1}.get(char, 0)
        elif angle:
            angle = char != ">"
            if char in "<,;":
                problem = problem or f"a {char!r} inside an angle address"
        elif char in ",;\r\n":
            parts.append((value[start:index], problem))
            start, problem = index + 1, None
        elif char in ">)":
            problem = problem or _OUTSIDE_QUOTES[char]
        else:
            quoted, depth, angle = char == '"', int(char == "("), char == "<"
        index += 1
    if quoted or depth or angle:
        problem = problem or (
            "an unclosed quote" if quoted else "an unclosed comment" if depth else "an unclosed '<'"
        )
    parts.append((value[start:], problem))
    return parts


def _printable(char: str) -> bool:
    """Whether a quoted pair may escape `char` (never a line break or a control character)."""
    return char == "\t" or (char >= " " and char != "\x7f")


def _tokens(part: str) -> list[tuple[str, str]]:
    """(kind, text) of a balanced entry: `quoted`, `comment`, `angle` (their inner text, quoted
    pairs undone) and `word`."""
    tokens: list[tuple[str, str]] = []
    index = 0
    while index < len(part):
        char = part[index]
        if char.isspace():
            index += 1
        elif char in '"(<':
            token, index = _enclosed(part, index)
            tokens.append(token)
        else:
            end = index
            while end < len(part) and part[end] not in _WORD_END and not part[end].isspace():
                end += 1
            tokens.append(("word", part[index:end]))
            index = end
    return tokens


def _enclosed(part: str, index: int) -> tuple[tuple[str, str], int]:
    opener = part[index]
    closer, kind = {'"': ('"', "quoted"), "(": (")", "comment"), "<": (">", "angle")}[opener]
    text: list[str] = []
    depth = 1
    index += 1
    while index < len(part):
        char = part[index]
        if char == "\\" and kind != "angle" and index + 1 < len(part):
            text.append(part[index + 1])
            index += 2
            continue
        if kind == "comment" and char == "(":
            depth += 1
        elif char == closer:
            depth -= 1
            if depth == 0:
                return (kind, "".join(text)), index + 1
        text.append(char)
        index += 1
    return (kind, "".join(text)), index  # not reached: _split refuses unbalanced entries


def _read_entry(part: str) -> Mailbox | Unreadable | None:
    """One entry with balanced quotes, comments and angle brackets."""
    tokens = _tokens(part)
    for kind, text in tokens:
        if kind in ("quoted", "comment") and ("<" in text or ">" in text):
            where = "a display name" if kind == "quoted" else "a comment"
            return _unreadable(part, f"angle brackets inside {where}")
    words = [(kind, text) for kind, text in tokens if kind != "comment"]
    if not words:
        return None if not tokens else _unreadable(part, "no address, only a comment")
    angles = [index for index, (kind, _) in enumerate(words) if kind == "angle"]
    if len(angles) > 1:
        return _unreadable(part, "two angle addresses in one entry")
    if not angles:
        return _bare(part, words)
    at = angles[0]
    if at != len(words) - 1:
        return _unreadable(part, "text after the angle address")
    address = words[at][1].strip()
    if not _ADDR_SPEC.fullmatch(address):
        return _unreadable(part, f"<{address}> is not an address")
    name = _display_name(words[:at])
    if isinstance(name, Unreadable):
        return _unreadable(part, name.reason)
    return Mailbox(name, address)


def _bare(part: str, words: list[tuple[str, str]]) -> Mailbox | Unreadable:
    if len(words) == 1 and words[0][0] == "word" and _ADDR_SPEC.fullmatch(words[0][1]):
        return Mailbox("", words[0][1])
    if any(kind == "quoted" for kind, _ in words):
        return _unreadable(part, "a quoted name without an angle address")
    if any(":" in text for _, text in words):
        return _unreadable(part, _OUTSIDE_QUOTES[":"])
    if len(words) > 1 and any("@" in text for _, text in words):
        return _unreadable(part, "words beside the address (write Name <address>)")
    return _unreadable(part, "not an address")


def _display_name(words: list[tuple[str, str]]) -> str | Unreadable:
    pieces: list[str] = []
    for kind, text in words:
        if kind == "quoted":
            pieces.append(text)
            continue
        for char, reason in _OUTSIDE_QUOTES.items():
            if char in text:
                return Unreadable(text, reason, ())
        decoded = _decode(text) if _ENCODED_WORD.search(text) else text
        if decoded is None:
            return Unreadable(text, "an encoded word that does not decode", ())
        if any(c in decoded for c in "<>\r\n") or any(c < " " for c in decoded):
            return Unreadable(text, "an encoded word holding angle brackets or a line break", ())
        pieces.append(decoded)
    return " ".join(pieces)


def _decode(word: str) -> str | None:
    try:
        chunks = decode_header(word)
        return "".join(
            chunk.decode(charset or "ascii") if isinstance(chunk, bytes) else chunk
            for chunk, charset in chunks
        )
    except (HeaderParseError, LookupError, UnicodeDecodeError, ValueError):
        return None


# ---- Postmark's limits, checked before anything is sent ------------------------------------


def _limit_note(limit: Limit) -> str:
    return f" ({limit.description})" if limit.description else f" (limit '{limit.name}')"


class _Limits(NamedTuple):
    """An operation's limits that can be checked on a body, sorted once by where they apply
    (each kind in the spec's order)."""

    op: Operation
    """Held, so that the id it is filed under is not another operation's while it is filed."""
    request: tuple[Limit, ...]
    message: tuple[Limit, ...]
    """Per message: sizes in bytes, and the counted fields (recipients, items)."""
    sized: bool
    """Whether each message of a batch is measured (a per-message size limit)."""


_LIMITS: dict[int, _Limits] = {}
_MAX_FILED: Final = 4096  # operations made at run time (tests) are filed too; the table has ~90


def _limits_of(op: Operation) -> _Limits:
    """`op`'s limits, sorted at its first call rather than on every call."""
    filed = _LIMITS.get(id(op))
    if filed is not None and filed.op is op:
        return filed
    message = tuple(
        limit
        for limit in op.limits
        if limit.scope == "message"
        and (limit.unit == "bytes" or (limit.unit in ("addresses", "items") and limit.field))
    )
    filed = _Limits(
        op,
        tuple(limit for limit in op.limits if limit.scope == "request"),
        message,
        any(limit.unit == "bytes" for limit in message),
    )
    if len(_LIMITS) >= _MAX_FILED:
        _LIMITS.clear()
    _LIMITS[id(op)] = filed
    return filed


def check_message_limits(op: Operation, message: Any, size: int, where: str) -> None:
    """Per-message limits: JSON size (10 MB), recipients per address field (50), items per
    field. `where` is `body` for a single message, `messages[3]` inside a batch."""
    for limit in _limits_of(op).message:
        if limit.unit == "bytes":
            if size > limit.max:
                raise RequestValidationError(
                    where,
                    f"is {size:,} bytes as JSON; Postmark accepts at most {limit.max:,} bytes "
                    f"per message{_limit_note(limit)}",
                )
        elif limit.field and isinstance(message, dict):
            value = message.get(limit.field)
            if value is None:  # an absent field: nothing to count
                continue
            found = _size_of(limit, value)
            if found is not None and found > limit.max:
                raise RequestValidationError(
                    limit.field if where == "body" else f"{where}.{limit.field}",
                    f"has {found} {_unit_noun(limit)}; Postmark accepts at most {limit.max} "
                    f"per message{_limit_note(limit)}",
                )


def _unit_noun(limit: Limit) -> str:
    return "recipients" if limit.unit == "addresses" else limit.unit


def _check_request_limits(limits: tuple[Limit, ...], data: Any, content: bytes) -> None:
    """Whole-request limits: body size (50 MB) and items per field (500 messages, 50
    suppressions)."""
    for limit in limits:
        if limit.unit == "bytes" and len(content) > limit.max:
            raise RequestValidationError(
                limit.field or "body",
                f"is {len(content):,} bytes as JSON; Postmark accepts at most {limit.max:,} bytes "
                f"per request{_limit_note(limit)}",
            )
        if limit.unit in ("items", "addresses"):
            value = data.get(limit.field) if limit.field and isinstance(data, dict) else data
            if limit.field is None and not isinstance(data, list):
                continue
            size = _size_of(limit, value)
            if size is not None and size > limit.max:
                raise RequestValidationError(
                    limit.field or "body",
                    f"has {size} {_unit_noun(limit)}; Postmark accepts at most {limit.max} per "
                    f"request{_limit_note(limit)}",
                )


def _size_of(limit: Limit, value: Any) -> int | None:
    if limit.unit == "addresses" and isinstance(value, str):
        return count_recipients(value)
    if isinstance(value, list):
        return len(value)
    return None


def check_limits(op: Operation, data: Any, content: bytes, measure: Callable[[Any], int]) -> None:
    """Every limit the spec states for `op`, checked on the body about to be sent: `content` is
    its JSON, `measure` gives the JSON size of one message.

    Server-scope limits (100 templates per server) are Postmark-side state and not checkable.
    """
    if not op.limits:
        return
    limits = _limits_of(op)
    if limits.request:
        _check_request_limits(limits.request, data, content)
    messages = messages_of(op, data)
    if messages is None:
        check_message_limits(op, data, len(content), "body")
        return
    sized = limits.sized
    for index, message in enumerate(messages):
        size = measure(message) if sized else 0
        check_message_limits(op, message, size, f"messages[{index}]")


# ---- the messages of a send and their streams -----------------------------------------------


class Outgoing(NamedTuple):
    """One message of a send, as Postmark will deliver it."""

    where: str
    """`body` for a single send, `messages[3]` inside a batch or a Bulk API request."""
    stream: str | None
    """The stream it lands on (None for an operation that sends nothing)."""
    recipients: tuple[Reading, ...]
    """Its To, Cc and Bcc fields that are given, read."""


def messages_of(op: Operation, data: Any) -> list[Any] | None:
    """The messages of a body that holds several: the items of an array body, or the entries
    of the operation's messages field (`Messages` of a batch or of the Bulk API). None when the
    body is itself the one message."""
    if isinstance(data, list):
        return data
    if op.messages_field is not None and isinstance(data, Mapping):
        entries = data.get(op.messages_field)
        return entries if isinstance(entries, list) else []
    return None


def stream_of(op: Operation, message: Mapping[str, Any], body: Any = None) -> str | None:
    """The stream a message lands on: its own `MessageStream`, else its body's (the Bulk API
    names it once for all recipients), else the operation's default (Postmark's `outbound`)."""
    for source in (message, body):
        if isinstance(source, Mapping):
            given = source.get(STREAM_FIELD)
            if given is not None and given != "":
                return given if isinstance(given, str) else str(given)
    return op.default_stream


def outgoing(op: Operation, data: Any) -> list[Outgoing]:
    """Every message a send carries, with its stream and its recipient fields read."""
    several = messages_of(op, data)
    if several is None:
        entries: list[tuple[str, Any]] = [("body", data)]
    else:
        entries = [(f"messages[{index}]", item) for index, item in enumerate(several)]
    found: list[Outgoing] = []
    for where, message in entries:
        if not isinstance(message, Mapping):
            continue
        label = "" if several is None else f"{where}."
        readings = tuple(
            _read_field(label + name, value)
            for name in RECIPIENT_FIELDS
            if (value := message.get(name)) is not None
        )
        found.append(Outgoing(where, stream_of(op, message, data), readings))
    return found


def _read_field(field: str, value: Any) -> Reading:
    if isinstance(value, str):
        return read_recipients(field, value)
    return Reading(field, (_unreadable(repr(value), f"a {type(value).__name__}, not a string"),))
