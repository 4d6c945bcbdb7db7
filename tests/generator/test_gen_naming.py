"""Wire names -> Python names."""

from __future__ import annotations

import pytest

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
