"""Postmark's rules (`postmark_client.rules`): one reading of a recipient field, and the access
check, the client's limits and the fake Postmark agreeing on it."""

from __future__ import annotations

import base64
import dataclasses
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from postmark_client import ServerClient
from postmark_client._meta import Limit
from postmark_client._operations import OPERATIONS
from postmark_client.access import Policy
from postmark_client.errors import APIError, RequestValidationError
from postmark_client.rules import (
    _read_full,
    check_limits,
    count_recipients,
    outgoing,
    read_recipients,
    stream_of,
)
from postmark_client.testing import FakePostmark

SEND = OPERATIONS["send_email"]
OPEN = Policy.loads('[agents.open]\nemail = "full"\n')
NARROWED = Policy.loads('[agents.n]\nemail = "full"\nrecipients = ["*@example.com"]\n')


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("jane@example.com", [("", "jane@example.com")]),
        ("a@x.org, b@y.org; c@z.org\nd@w.org\r\ne@v.org", [("", f"{c}@{d}.org") for c, d in
            zip("abcde", "xyzwv")]),
        ('"Doe, Jane; Q" <jane@example.com>', [("Doe, Jane; Q", "jane@example.com")]),
        ('"say \\"hi\\"" <a@x.org>', [('say "hi"', "a@x.org")]),
        ("Jane Doe <jane@example.com>", [("Jane Doe", "jane@example.com")]),
        ("<jane@example.com>", [("", "jane@example.com")]),
        ("jane@example.com (Jane (home))", [("", "jane@example.com")]),
        ("=?utf-8?b?Wm/DqQ==?= <z@example.com>", [("Zoé", "z@example.com")]),
        (" , ;\n", []),
    ],
)  # fmt: skip
def test_readable_forms(value: str, expected: list[tuple[str, str]]) -> None:
    reading = read_recipients("To", value)
    assert [tuple(m) for m in reading.mailboxes] == expected and reading.problem is None


@pytest.mark.parametrize(
    ("value", "reason"),
    [
        ("Jane <jane@example.com> <eve@evil.org>", "two angle addresses in one entry"),
        ('"<jane@example.com>" <eve@evil.org>', "angle brackets inside a display name"),
        ("(<jane@example.com>) eve@evil.org", "angle brackets inside a comment"),
        ("<jane@example.com> eve@evil.org", "text after the angle address"),
        ("Jane jane@example.com", "words beside the address"),
        ("jane@example.com <eve@evil.org>", "an '@' outside the angle brackets"),
        ("Bcc: eve@evil.org", "a ':' outside quotes"),
        ('"Jane\r\nBcc: eve@evil.org" <jane@example.com>', "a line break inside a quoted name"),
        ("<jane@example.com\n>", "a line break inside an angle address"),
        ('"Jane <jane@example.com>', "an unclosed quote"),
        ("(Jane jane@example.com", "an unclosed comment"),
        ("<jane@example.com", "an unclosed '<'"),
        ("jane@example.com>", "a '>' without '<'"),
        ("<jane@example.com, eve@evil.org>", "a ',' inside an angle address"),
        ("jane\x00@example.com", "a control character"),
        ('"Jane\\\x00" <jane@example.com>', "a control character"),
        ('"Jane\\\nBcc: eve@evil.org" <jane@example.com>', "a line break inside a quoted name"),
        ("=?x-unknown?q?J?= <jane@example.com>", "an encoded word that does not decode"),
        ("=?utf-8?q?=3Ceve=40evil.org=3E?= <jane@example.com>", "an encoded word holding"),
        ('"jane"@example.com', "a quoted name without an angle address"),
        ("jane@localhost", "not an address"),
        ("<>", "<> is not an address"),
    ],
)
def test_unreadable_forms_name_the_part_and_why(value: str, reason: str) -> None:
    reading = read_recipients("Cc", value)
    assert reading.problem is not None and reason in reading.problem
    assert reading.problem.startswith(f"Cc: {value.strip()!r} could not be read")
    assert count_recipients(value) == len(reading.entries) == 1
    assert not NARROWED.decide("n", SEND, {"To": "a@example.com", "Cc": value})[0].allowed


def test_every_send_names_its_stream_and_messages() -> None:
    sends = [op for op in OPERATIONS.values() if op.access == "write" and op.acts_on == "email"]
    assert {op.id for op in sends} >= {"send_email", "send_email_batch", "send_bulk_email"}
    assert {op.default_stream for op in sends} == {"outbound"}
    bulk = OPERATIONS["send_bulk_email"]
    body = {"MessageStream": "broadcast", "Messages": [{"To": "a@x.org"}, {"To": "b@y.org"}]}
    assert [(m.where, m.stream) for m in outgoing(bulk, body)] == [
        ("messages[0]", "broadcast"),
        ("messages[1]", "broadcast"),
    ]
    assert stream_of(bulk, {"To": "a@x.org"}, {}) == "outbound"
    batch = OPERATIONS["send_email_batch_with_templates"]
    one = outgoing(batch, {"Messages": [{"To": "a@x.org", "MessageStream": "s2"}]})
    assert one[0].stream == "s2" and one[0].recipients[0].field == "messages[0].To"


# ---- check, limits and fake agree --------------------------------------------------------------

_LOCAL = st.from_regex(
    r"[A-Za-z0-9]([A-Za-z0-9_+-]{0,6}[A-Za-z0-9])?(\.[a-z0-9]{1,4})?", fullmatch=True
)
_DOMAIN = st.from_regex(r"[a-z0-9]{1,8}(-[a-z0-9]{1,4})?\.(com|org|example)", fullmatch=True)
_NAME = st.text(st.sampled_from("abcXYZ éü,;@.-'"), min_size=1, max_size=12)
_COMMENT = st.text(st.sampled_from("abc ,;@.:"), max_size=8)


@st.composite
def entries(draw: st.DrawFn) -> tuple[str, str]:
    """(text of one entry, the address it holds), in any of the forms Postmark takes."""
    address = f"{draw(_LOCAL)}@{draw(_DOMAIN)}"
    name = draw(_NAME).strip() or "N"
    form = draw(st.sampled_from(["bare", "angle", "atom", "quoted", "encoded"]))
    if form == "bare":
        text = address
    elif form == "angle":
        text = f"<{address}>"
    elif form == "atom":
        text = f"{''.join(c for c in name if c.isalnum()) or 'N'} <{address}>"
    elif form == "quoted":
        quoted = name.replace("\\", "\\\\").replace('"', '\\"')
        text = f'"{quoted}" <{address}>'
    else:
        encoded = base64.b64encode(name.encode("utf-8")).decode("ascii")
        text = f"=?utf-8?b?{encoded}?= <{address}>"
    if draw(st.booleans()):
        text = f"{text} ({draw(_COMMENT)})"
    return text, address


@st.composite
def fields(draw: st.DrawFn) -> tuple[str, list[str]]:
    parts = draw(st.lists(entries(), min_size=1, max_size=6))
    separator = st.sampled_from([",", ";", "\n", "\r\n", ", ", " ;\n"])
    text = parts[0][0] + "".join(draw(separator) + part for part, _ in parts[1:])
    return text, [address for _, address in parts]


def fake_recipients(fake: FakePostmark, to: str) -> list[str] | APIError:
    with ServerClient(fake.server_token, transport=fake.transport()) as client:
        try:
            client.email.send(from_="sender@example.com", to=to, subject="Hi", text_body=".")
        except APIError as exc:
            return exc
    recipients: list[str] = fake.messages()[-1]["Recipients"]
    return recipients


PROPERTY = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@PROPERTY
@given(fields())
def test_check_limits_and_fake_read_the_same_addresses(field: tuple[str, list[str]]) -> None:
    to, addresses = field
    reading = read_recipients("To", to)
    assert reading.problem is None and reading.addresses == addresses
    _, facts = OPEN.decide("open", SEND, {"To": to})
    assert facts.recipients == addresses and facts.unreadable is None
    assert count_recipients(to) == len(addresses)
    assert fake_recipients(FakePostmark(), to) == addresses
    narrowed, _ = NARROWED.decide("n", SEND, {"To": to})
    assert narrowed.allowed == all(a.lower().endswith("@example.com") for a in addresses)


@PROPERTY
@given(st.text(st.sampled_from('ab.@<>"(),;: \r\n\\=?e'), max_size=30))
def test_any_text_is_read_alike_or_refused_alike(to: Any) -> None:
    reading = read_recipients("To", to)
    decision, facts = NARROWED.decide("n", SEND, {"To": to})
    assert count_recipients(to) == len(reading.entries)
    sent = fake_recipients(FakePostmark(), to)
    if reading.unreadable is not None:
        assert not decision.allowed and "could not be read" in decision.rule
        assert isinstance(sent, APIError) and sent.error_code == 300
    elif reading.addresses:
        assert facts.recipients == reading.addresses == sent
    else:
        assert isinstance(sent, APIError) and "Zero recipients" in sent.message


def test_a_recipient_field_that_is_not_a_string_is_unreadable() -> None:
    [message] = outgoing(SEND, {"To": ["eve@evil.org"]})
    assert message.recipients[0].problem == (
        "To: \"['eve@evil.org']\" could not be read (a list, not a string)"
    )
    assert message.recipients[0].reachable == ["eve@evil.org"]
    assert not NARROWED.decide("n", SEND, {"To": ["eve@evil.org"]})[0].allowed


# ---- the shortcuts of a reading agree with the whole reading -----------------------------------

TRICKY = [
    "",
    " ",
    "\t",
    " , ;",
    "a@example.com",
    " a@example.com ",
    "a@example.com,",
    ",a@example.com",
    "a@example.com,,b@example.org",
    "a@example.com ; b@example.org;;",
    "a@example.com\u00a0",
    "a@example.com\u2028b@example.org",
    "a@example.com b@example.org",
    "a @example.com",
    '"Doe, Jane" <jane@example.com>',
    '"Doe; Jane", jane@example.com',
    "Doe, Jane <jane@example.com>",
    "Jane <jane@example.com>, b@example.org",
    "undisclosed-recipients:;",
    "Friends: a@example.com, b@example.org;",
    "a@example.com (Jane, home)",
    "=?utf-8?q?Jane?= <jane@example.com>",
    "a@localhost",
    "a@b.c",
    "a@@example.com",
    ".a@example.com",
    "a..b@example.com",
    "a@-example.com",
    "jané@exämple.org",
    "a\\@example.com",
    "a@example.com>",
    "a@example.com\x00",
    "a@example.com\x7f",
    "a@example.com\r\nBcc: eve@evil.org",
    "a@example.com\n",
]


@pytest.mark.parametrize("value", TRICKY)
def test_the_shortcuts_read_as_the_whole_reading(value: str) -> None:
    whole = _read_full(value)
    assert read_recipients("To", value).entries == whole
    assert count_recipients(value) == len(whole)


@PROPERTY
@given(st.text(st.sampled_from('ab.@<>"(),;: \t\r\n\\=?e\u00a0\u2028é:x-_'), max_size=40))
def test_any_text_is_counted_as_the_whole_reading_counts(value: str) -> None:
    whole = _read_full(value)
    assert read_recipients("To", value).entries == whole
    assert count_recipients(value) == len(whole)


def test_each_operation_is_checked_by_its_own_limits() -> None:
    # The limits are sorted once per operation; operations made one after another (at the same
    # address, once the last is gone) are each checked by their own.
    for most in range(1, 8):
        op = dataclasses.replace(SEND, limits=(Limit("to", most, "addresses", "message", "To"),))
        check_limits(op, {"To": ", ".join(["a@example.com"] * most)}, b"{}", len)
        with pytest.raises(RequestValidationError) as caught:
            check_limits(op, {"To": ", ".join(["a@example.com"] * (most + 1))}, b"{}", len)
        assert caught.value.field == "To"
        assert f"has {most + 1} recipients; Postmark accepts at most {most}" in caught.value.message
    check_limits(SEND, {"To": ", ".join(["a@example.com"] * 50), "Cc": None}, b"{}", len)
