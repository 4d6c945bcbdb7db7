"""The client core builds requests from Python values and refuses what it can tell is invalid."""

from __future__ import annotations

import json
import sys
from datetime import UTC, date, datetime, timedelta, timezone
from typing import Any

import httpx
import pytest
from postmark_client._base_client import (
    DEFAULT_BASE_URL,
    VERSION,
    AsyncAPIClient,
    SyncAPIClient,
)
from postmark_client.errors import RequestValidationError
from postmark_client.rules import count_recipients
from runtime_support import (
    ACCOUNT_HEADER,
    CREATE_SUPPRESSIONS,
    GET_BOUNCE,
    GET_STATS,
    GET_TEMPLATE,
    KINDS,
    LIST_BOUNCES,
    LIST_SERVERS,
    MB,
    SEND,
    SERVER_HEADER,
    TOKEN,
    FakePostmark,
    Harness,
    Message,
    SendResult,
    Suppressions,
    error_body,
    send_ok,
)

pytestmark = pytest.mark.parametrize("kind", KINDS)


def ok(data: Any = None) -> httpx.Response:
    return httpx.Response(200, json=send_ok() if data is None else data)


def bounces(total: int = 0) -> httpx.Response:
    return httpx.Response(200, json={"TotalCount": total, "Bounces": []})


# ---- headers ---------------------------------------------------------------------------------


def test_headers_are_json_user_agent_and_exactly_one_token(kind: str) -> None:
    fake = FakePostmark(ok())
    Harness(kind, fake).request(SEND, body=Message(), cast_to=SendResult.from_dict)
    headers = fake.requests[0].headers
    python = "{}.{}.{}".format(*sys.version_info[:3])
    assert headers["User-Agent"] == f"postmark-client/{VERSION} python/{python}"
    assert headers["Accept"] == "application/json"
    assert headers["Content-Type"] == "application/json"
    assert headers.get_list(SERVER_HEADER) == [TOKEN]
    assert ACCOUNT_HEADER not in headers
    assert "authorization" not in headers


def test_account_client_sends_only_the_account_token(kind: str) -> None:
    fake = FakePostmark(httpx.Response(200, json={"TotalCount": 0, "Servers": []}))
    Harness(kind, fake, token_header=ACCOUNT_HEADER).request(LIST_SERVERS, query={})
    headers = fake.requests[0].headers
    assert headers.get_list(ACCOUNT_HEADER) == [TOKEN]
    assert SERVER_HEADER not in headers


def test_an_operation_of_the_other_token_is_refused_before_sending(kind: str) -> None:
    fake = FakePostmark(ok())
    with pytest.raises(RequestValidationError) as caught:
        Harness(kind, fake).request(LIST_SERVERS, query={})
    assert caught.value.field == "token"
    assert "account token" in caught.value.message
    assert fake.requests == []


def test_default_timeouts_are_30s_read_10s_connect(kind: str) -> None:
    fake = FakePostmark(ok())
    Harness(kind, fake).request(SEND, body=Message())
    timeout = fake.requests[0].extensions["timeout"]
    assert timeout == {"connect": 10.0, "read": 30.0, "write": 30.0, "pool": 30.0}


def test_timeout_option_reaches_the_request(kind: str) -> None:
    fake = FakePostmark(ok())
    Harness(kind, fake, timeout=httpx.Timeout(5.0, connect=2.0)).request(SEND, body=Message())
    assert fake.requests[0].extensions["timeout"]["connect"] == 2.0
    assert fake.requests[0].extensions["timeout"]["read"] == 5.0


def test_base_url_override(kind: str) -> None:
    fake = FakePostmark(ok())
    Harness(kind, fake, base_url="http://127.0.0.1:8025/").request(SEND, body=Message())
    assert str(fake.requests[0].url) == "http://127.0.0.1:8025/email"


def test_a_cookie_the_server_sets_goes_back_with_the_next_call(kind: str) -> None:
    # Requests are built without httpx's build_request while there are no cookies; one set by
    # a load balancer in front of the API (a sticky session) is sent back as httpx would.
    fake = FakePostmark(
        httpx.Response(200, json=send_ok(), headers={"Set-Cookie": "lb=node-7; Path=/"}),
        ok(),
    )
    harness = Harness(kind, fake)
    harness.request(SEND, body=Message(), cast_to=SendResult.from_dict)
    harness.request(SEND, body=Message(), cast_to=SendResult.from_dict)
    assert "cookie" not in fake.requests[0].headers
    assert fake.requests[1].headers["cookie"] == "lb=node-7"
    assert fake.requests[0].extensions == fake.requests[1].extensions


def test_a_call_without_parameters_goes_to_the_same_url_each_time(kind: str) -> None:
    fake = FakePostmark(ok())
    harness = Harness(kind, fake, base_url="http://127.0.0.1:8025/api/")
    for _ in range(2):
        harness.request(SEND, body=Message(), cast_to=SendResult.from_dict)
    assert [str(request.url) for request in fake.requests] == 2 * [
        "http://127.0.0.1:8025/api/email"
    ]


# ---- URL, path and query ---------------------------------------------------------------------


def test_default_base_url_and_path_parameter(kind: str) -> None:
    fake = FakePostmark(ok({"ID": 42, "Email": "a@example.com"}))
    Harness(kind, fake).request(GET_BOUNCE, path={"bounceid": 42})
    assert DEFAULT_BASE_URL == "https://api.postmarkapp.com"
    assert str(fake.requests[0].url) == "https://api.postmarkapp.com/bounces/42"
    assert fake.requests[0].method == "GET"


def test_path_parameters_are_url_quoted(kind: str) -> None:
    fake = FakePostmark(ok({}))
    Harness(kind, fake).request(GET_TEMPLATE, path={"templateIdOrAlias": "welcome/v2 ä"})
    assert fake.requests[0].url.raw_path == b"/templates/welcome%2Fv2%20%C3%A4"


def test_missing_path_parameter_is_refused(kind: str) -> None:
    fake = FakePostmark(ok({}))
    with pytest.raises(RequestValidationError) as caught:
        Harness(kind, fake).request(GET_BOUNCE, path={})
    assert caught.value.field == "bounce_id"
    assert fake.requests == []


def test_query_values_none_dropped_bool_lowercase_dates_iso(kind: str) -> None:
    fake = FakePostmark(bounces())
    Harness(kind, fake).request(
        LIST_BOUNCES,
        query={
            "count": 50,
            "offset": 0,
            "type": None,
            "inactive": True,
            "fromdate": date(2024, 1, 2),
            # 15:00 UTC is 10:00 in New York in January: Postmark's filters read Eastern time.
            "todate": datetime(2024, 1, 31, 15, 0, 0, 123456, tzinfo=UTC),
        },
    )
    assert list(fake.requests[0].url.params.multi_items()) == [
        ("count", "50"),
        ("offset", "0"),
        ("inactive", "true"),
        ("fromdate", "2024-01-02"),
        ("todate", "2024-01-31T10:00:00"),
    ]


def test_naive_datetime_is_taken_as_eastern(kind: str) -> None:
    fake = FakePostmark(bounces())
    Harness(kind, fake).request(
        LIST_BOUNCES, query={"fromdate": datetime(2024, 7, 1, 8, 30), "count": 10, "offset": 0}
    )
    assert fake.requests[0].url.params["fromdate"] == "2024-07-01T08:30:00"


def test_required_count_and_offset_get_their_defaults(kind: str) -> None:
    fake = FakePostmark(bounces())
    Harness(kind, fake).request(LIST_BOUNCES, query={"count": None})
    assert fake.requests[0].url.params["count"] == "100"
    assert fake.requests[0].url.params["offset"] == "0"


def test_unlisted_query_keys_pass_through(kind: str) -> None:
    # Message search takes open-ended `metadata_<key>` filters the spec cannot list.
    fake = FakePostmark(bounces())
    Harness(kind, fake).request(LIST_BOUNCES, query={"metadata_customer": "c-1", "gone": None})
    assert fake.requests[0].url.params["metadata_customer"] == "c-1"
    assert "gone" not in fake.requests[0].url.params


@pytest.mark.parametrize(
    ("query", "field", "words"),
    [
        ({"count": 501}, "count", "at most 500, got 501"),
        ({"count": 0}, "count", "at least 1, got 0"),
        ({"count": "10"}, "count", "must be an integer"),
        ({"count": True}, "count", "must be an integer"),
        ({"offset": 10000}, "offset", "at most 9999"),
        ({"type": "Nope"}, "type", "must be one of 'HardBounce', 'SoftBounce', 'Transient'"),
        ({"inactive": "yes"}, "inactive", "must be True or False"),
        ({"fromdate": "01/02/2024"}, "from_date (wire name 'fromdate')", "must match"),
    ],
)
def test_query_parameters_are_checked_against_the_spec(
    kind: str, query: dict[str, Any], field: str, words: str
) -> None:
    fake = FakePostmark(bounces())
    with pytest.raises(RequestValidationError) as caught:
        Harness(kind, fake).request(LIST_BOUNCES, query=query)
    assert caught.value.field == field
    assert words in caught.value.message
    assert fake.requests == []


def test_date_format_parameter_is_checked(kind: str) -> None:
    fake = FakePostmark(ok({}))
    with pytest.raises(RequestValidationError) as caught:
        Harness(kind, fake).request(GET_STATS, query={"fromdate": "2024-13-45"})
    assert "ISO 8601 date" in caught.value.message
    Harness(kind, fake).request(GET_STATS, query={"fromdate": "2024-02-29"})
    assert fake.requests[0].url.params["fromdate"] == "2024-02-29"


def test_count_plus_offset_over_10000_is_refused_naming_filters(kind: str) -> None:
    fake = FakePostmark(bounces())
    with pytest.raises(RequestValidationError) as caught:
        Harness(kind, fake).request(LIST_BOUNCES, query={"count": 500, "offset": 9501})
    assert caught.value.field == "offset"
    assert "10,001" in caught.value.message and "10,000" in caught.value.message
    assert "from_date, to_date, type" in caught.value.message
    assert fake.requests == []
    Harness(kind, fake).request(LIST_BOUNCES, query={"count": 500, "offset": 9500})
    assert len(fake.requests) == 1


# ---- bodies ----------------------------------------------------------------------------------


def test_body_is_compact_utf8_json_in_wire_names(kind: str) -> None:
    fake = FakePostmark(ok())
    Harness(kind, fake).request(
        SEND, body=Message(subject="Grüße, 🎉"), cast_to=SendResult.from_dict
    )
    content = fake.requests[0].content
    assert (
        content
        == (
            '{"From":"sender@example.com","To":"receiver@example.com","Subject":"Grüße, 🎉"}'
        ).encode()
    )
    assert fake.requests[0].headers["Content-Length"] == str(len(content))


def test_a_mapping_body_is_sent_as_given(kind: str) -> None:
    fake = FakePostmark(ok())
    Harness(kind, fake).request(SEND, body={"From": "a@example.com", "To": "b@example.com"})
    assert json.loads(fake.requests[0].content) == {"From": "a@example.com", "To": "b@example.com"}


def test_model_validation_runs_before_sending(kind: str) -> None:
    fake = FakePostmark(ok())
    with pytest.raises(RequestValidationError) as caught:
        Harness(kind, fake).request(SEND, body=Message(from_=None))
    assert caught.value.field == "From"
    assert isinstance(caught.value, ValueError)
    assert fake.requests == []


def test_missing_body_is_refused(kind: str) -> None:
    fake = FakePostmark(ok())
    with pytest.raises(RequestValidationError) as caught:
        Harness(kind, fake).request(SEND)
    assert caught.value.field == "body"
    assert "SendEmailRequest" in caught.value.message
    assert fake.requests == []


def test_a_body_of_the_wrong_kind_is_refused(kind: str) -> None:
    fake = FakePostmark(ok())
    with pytest.raises(RequestValidationError, match="must be a request model"):
        Harness(kind, fake).request(SEND, body=42)
    assert fake.requests == []


# ---- limits ----------------------------------------------------------------------------------


def addresses(n: int) -> str:
    return ", ".join(f"user{i}@example.com" for i in range(n))


@pytest.mark.parametrize("field", ["To", "Cc"])
def test_51_recipients_in_a_field_are_refused(kind: str, field: str) -> None:
    fake = FakePostmark(ok())
    message = Message(to=addresses(51)) if field == "To" else Message(cc=addresses(51))
    with pytest.raises(RequestValidationError) as caught:
        Harness(kind, fake).request(SEND, body=message)
    assert caught.value.field == field
    assert "51 recipients" in caught.value.message and "at most 50" in caught.value.message
    assert fake.requests == []


def test_50_recipients_with_commas_in_display_names_are_accepted(kind: str) -> None:
    fake = FakePostmark(ok())
    to = ", ".join(f'"Doe, Jane {i}" <jane{i}@example.com>' for i in range(50))
    assert count_recipients(to) == 50
    Harness(kind, fake).request(SEND, body=Message(to=to))
    assert len(fake.requests) == 1


def test_an_11_mb_message_is_refused_naming_the_limit(kind: str) -> None:
    fake = FakePostmark(ok())
    with pytest.raises(RequestValidationError) as caught:
        Harness(kind, fake).request(SEND, body=Message(text_body="x" * (11 * MB)))
    assert caught.value.field == "body"
    assert "10,485,760 bytes" in caught.value.message
    assert "10 MB per message" in caught.value.message
    assert fake.requests == []


def test_message_size_is_measured_on_the_utf8_json(kind: str) -> None:
    fake = FakePostmark(ok())
    # 3.5 M characters of 3 bytes each: under 10 M characters, over 10 MB on the wire.
    with pytest.raises(RequestValidationError, match="10,485,760"):
        Harness(kind, fake).request(SEND, body=Message(text_body="€" * 3_500_000))
    assert fake.requests == []


def test_51_suppressions_are_refused_and_50_accepted(kind: str) -> None:
    fake = FakePostmark(ok([]))
    harness = Harness(kind, fake)
    many = [f"user{i}@example.com" for i in range(51)]
    with pytest.raises(RequestValidationError) as caught:
        harness.request(
            CREATE_SUPPRESSIONS, path={"stream_id": "outbound"}, body=Suppressions(many)
        )
    assert caught.value.field == "Suppressions"
    assert "51" in caught.value.message and "at most 50" in caught.value.message
    assert fake.requests == []
    harness.request(
        CREATE_SUPPRESSIONS, path={"stream_id": "outbound"}, body=Suppressions(many[:50])
    )
    assert len(fake.requests) == 1


# ---- client options --------------------------------------------------------------------------


def test_repr_shows_base_url_only(kind: str) -> None:
    client = Harness(kind, FakePostmark(ok())).client
    assert repr(client) == f"{type(client).__name__}(base_url='https://api.postmarkapp.com')"


def test_token_from_environment(kind: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("POSTMARK_SERVER_TOKEN", "env-fake-token")
    fake = FakePostmark(ok())
    cls = SyncAPIClient if kind == "sync" else AsyncAPIClient
    client: Any = cls(token_header=SERVER_HEADER, transport=httpx.MockTransport(fake))
    Harness(kind, fake).run(client.request(SEND, body=Message(), cast_to=dict))
    assert fake.requests[0].headers[SERVER_HEADER] == "env-fake-token"


def test_missing_token_names_the_variable(kind: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("POSTMARK_ACCOUNT_TOKEN", raising=False)
    cls = SyncAPIClient if kind == "sync" else AsyncAPIClient
    with pytest.raises(ValueError, match="POSTMARK_ACCOUNT_TOKEN"):
        cls(token_header=ACCOUNT_HEADER)


@pytest.mark.parametrize(
    ("options", "words"),
    [
        ({"token_header": "Authorization"}, "token_header must be"),
        ({"max_retries": -1}, "max_retries"),
        ({"base_url": "api.postmarkapp.com"}, "base_url"),
        ({"token": "two words"}, "printable ASCII"),
        ({"token": ""}, "non-empty"),
    ],
)
def test_bad_options_are_refused(kind: str, options: dict[str, Any], words: str) -> None:
    cls = SyncAPIClient if kind == "sync" else AsyncAPIClient
    settings: dict[str, Any] = {"token": TOKEN, "token_header": SERVER_HEADER, **options}
    with pytest.raises(ValueError, match=words) as caught:
        cls(**settings)
    if options.get("token"):
        assert options["token"] not in str(caught.value)


def test_http_client_and_transport_are_exclusive(kind: str) -> None:
    transport = httpx.MockTransport(FakePostmark(ok()))
    if kind == "sync":
        with pytest.raises(ValueError, match="not both"):
            SyncAPIClient(
                token=TOKEN,
                token_header=SERVER_HEADER,
                http_client=httpx.Client(),
                transport=transport,
            )
    else:
        with pytest.raises(ValueError, match="not both"):
            AsyncAPIClient(
                token=TOKEN,
                token_header=SERVER_HEADER,
                http_client=httpx.AsyncClient(),
                transport=transport,
            )


def test_injected_http_client_is_used_and_left_open(kind: str) -> None:
    fake = FakePostmark(ok())
    harness = Harness(kind, fake)
    if kind == "sync":
        http = httpx.Client(transport=httpx.MockTransport(fake), headers={"X-Trace": "t-1"})
        with SyncAPIClient(token=TOKEN, token_header=SERVER_HEADER, http_client=http) as client:
            client.request(SEND, body=Message(), cast_to=dict)
        assert not http.is_closed
        http.close()
    else:
        ahttp = httpx.AsyncClient(transport=httpx.MockTransport(fake), headers={"X-Trace": "t-1"})

        async def use() -> None:
            async with AsyncAPIClient(
                token=TOKEN, token_header=SERVER_HEADER, http_client=ahttp
            ) as client:
                await client.request(SEND, body=Message(), cast_to=dict)
            assert not ahttp.is_closed
            await ahttp.aclose()

        harness.run(use())
    assert fake.requests[0].headers["X-Trace"] == "t-1"
    assert fake.requests[0].headers[SERVER_HEADER] == TOKEN


def test_own_http_client_is_closed_by_close(kind: str) -> None:
    harness = Harness(kind, FakePostmark(ok()))
    client: Any = harness.client
    if kind == "sync":
        with client:
            pass
    else:

        async def use() -> None:
            async with client:
                pass

        harness.run(use())
    assert client._http.is_closed


def test_422_answer_with_an_error_code_is_not_a_validation_error(kind: str) -> None:
    # RequestValidationError is only for what the client refused itself.
    fake = FakePostmark(httpx.Response(422, json=error_body(300, "Invalid email request")))
    with pytest.raises(Exception) as caught:
        Harness(kind, fake).request(SEND, body=Message())
    assert not isinstance(caught.value, RequestValidationError)
    assert len(fake.requests) == 1


def test_eastern_conversion_follows_daylight_saving(kind: str) -> None:
    fake = FakePostmark(bounces())
    summer = datetime(2024, 7, 1, 12, 0, tzinfo=timezone(timedelta(hours=2)))  # 10:00 UTC
    Harness(kind, fake).request(LIST_BOUNCES, query={"fromdate": summer, "count": 1, "offset": 0})
    assert fake.requests[0].url.params["fromdate"] == "2024-07-01T06:00:00"
