"""Wire names -> Python names."""

from __future__ import annotations

from pathlib import Path

import pytest

from generator import naming
from generator.naming import constant_name, is_identifier, pascal_case, python_name, snake_case


@pytest.mark.parametrize(
    ("wire", "expected"),
    [
        ("MessageID", "message_id"),
        ("SPFVerified", "spf_verified"),
        ("DKIMTextValue", "dkim_text_value"),
        ("SMTPApiErrors", "smtp_api_errors"),
        ("ReturnPathDomainCNAMEValue", "return_path_domain_cname_value"),
        ("CountryISOCode", "country_iso_code"),
        ("ID", "id"),
        ("HtmlBody", "html_body"),
        ("TemplateIdOrAlias", "template_id_or_alias"),
        ("InlineCssForHtmlTestRender", "inline_css_for_html_test_render"),
        ("messageID", "message_id"),
        ("stream_id", "stream_id"),
        ("Sha256Hash", "sha256_hash"),
        ("X-PM-Tag", "x_pm_tag"),
        ("bounceid", "bounceid"),  # run-together: the spec gives x-python-name instead
    ],
)
def test_snake_case_splits_postmark_acronyms(wire: str, expected: str) -> None:
    assert snake_case(wire) == expected


@pytest.mark.parametrize(
    ("wire", "expected"), [("From", "from_"), ("class", "class_"), ("Import", "import_")]
)
def test_keywords_get_a_trailing_underscore(wire: str, expected: str) -> None:
    assert snake_case(wire) == expected
    assert is_identifier(expected)


def test_leading_digit_is_made_an_identifier() -> None:
    assert snake_case("2FA") == "_2_fa"
    assert is_identifier(snake_case("2FA"))


def test_x_python_name_overrides_the_automatic_name() -> None:
    assert python_name("bounceid", "bounce_id") == "bounce_id"
    assert python_name("bounceid") == "bounceid"
    assert (
        python_name("From", "from") == "from_"
    )  # an override that is a keyword is still made safe


def test_unusable_names_are_refused() -> None:
    with pytest.raises(ValueError, match="cannot derive"):
        snake_case("--")
    with pytest.raises(ValueError, match="cannot derive"):
        pascal_case("__")


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("send_email", "SendEmail"),
        ("sender_signatures", "SenderSignatures"),
        ("TrackLinks", "TrackLinks"),
        ("DKIMRotationResponse", "DKIMRotationResponse"),
        ("server", "Server"),
    ],
)
def test_pascal_case_keeps_existing_capitals(name: str, expected: str) -> None:
    assert pascal_case(name) == expected


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("send_email", "SEND_EMAIL"),
        ("InactiveRecipient", "INACTIVE_RECIPIENT"),
        ("TrackLinks", "TRACK_LINKS"),
    ],
)
def test_constant_names(name: str, expected: str) -> None:
    assert constant_name(name) == expected


@pytest.mark.parametrize(
    ("name", "ok"),
    [("send", True), ("rotate_dkim", True), ("from", False), ("2x", False), ("a-b", False)],
)
def test_is_identifier(name: str, ok: bool) -> None:
    assert is_identifier(name) is ok


CLIENT_SOURCE = """
class BaseClient:
    _shared: int
    limit = 3

    def __init__(self) -> None:
        self._made_in_init = 1

    def _helper(self) -> None:
        if True:
            self._made_deep_inside = 2


class SyncAPIClient(BaseClient):
    async def _not_really_async(self) -> None: ...


class SomethingElse:
    def not_a_client_member(self) -> None: ...
"""


def test_class_members_reads_methods_class_names_and_self_assignments() -> None:
    members = naming.class_members(CLIENT_SOURCE, naming.CLIENT_CLASSES)
    assert members == {
        "_shared",
        "limit",
        "_made_in_init",
        "_helper",
        "_made_deep_inside",
        "_not_really_async",
    }


def test_client_reserved_follows_the_client_sources(tmp_path: Path) -> None:
    """A member added to the base client or to the client template is reserved at once."""
    static = tmp_path / "static" / "postmark_client"
    static.mkdir(parents=True)
    (static / "_base_client.py").write_text(CLIENT_SOURCE, encoding="utf-8")
    (tmp_path / "client.py.jinja").write_text(
        "class {{ name }}(SyncAPIClient):\n"
        "    def __init__(self) -> None:\n"
        "        self._from_template = 1\n"
        "    def {{ group.name }}(self) -> None: ...\n"
        "    def with_options(self) -> None: ...\n",
        encoding="utf-8",
    )
    reserved = naming.client_reserved(tmp_path)
    assert {"_helper", "_made_deep_inside", "_from_template", "with_options"} <= reserved
    assert "not_a_client_member" not in reserved
    assert not any(naming.is_dunder(name) for name in reserved)


def test_client_reserved_holds_every_member_of_the_real_client_classes() -> None:
    """Checked against Python's own view of the classes, not a second reading of the text."""
    import postmark_client._base_client as base

    members: set[str] = set()
    for cls in (base.BaseClient, base.SyncAPIClient, base.AsyncAPIClient):
        members |= {name for name in vars(cls) if not naming.is_dunder(name)}
    client = base.SyncAPIClient(token="fake-token", token_header="X-Postmark-Server-Token")
    members |= {name for name in vars(client) if not naming.is_dunder(name)}
    client.close()
    missing = members - naming.CLIENT_RESERVED
    assert not missing, missing
