"""What the templates generate, exercised: models (tolerant reads, strict requests), resources and
clients, on the package generated from the small fixture spec."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path
from types import ModuleType
from typing import Any

import httpx
import pytest
from gen_support import SMALL_OUTPUTS, SMALL_SPEC, import_generated

from generator.pipeline import generate

FAKE_TOKEN = "fake-server-token-0000"


@pytest.fixture(scope="module")
def pkg(tmp_path_factory: pytest.TempPathFactory) -> ModuleType:
    out = tmp_path_factory.mktemp("small") / "generated"
    assert generate(SMALL_SPEC, out, outputs=SMALL_OUTPUTS) == 0
    return import_generated(out, "gen_small_client")


@pytest.fixture(scope="module")
def models(pkg: ModuleType) -> ModuleType:
    return pkg.models  # type: ignore[no-any-return]


def bounce_data(**changes: Any) -> dict[str, Any]:
    data: dict[str, Any] = {
        "ID": 42,
        "Type": "HardBounce",
        "Email": "a@example.com",
        "BouncedAt": "2016-09-19T16:34:09.1336752-04:00",
        "Inactive": True,
        "Details": {"Code": 550, "Lines": ["no such user"]},
        "Tags": ["welcome"],
        "Day": "2016-09-19",
        "Counts": {"Opens": 3},
        "Subject": None,
        "From": "sender@example.com",
    }
    data.update(changes)
    return data


# ---- responses: tolerant ---------------------------------------------------------------------


def test_from_dict_reads_types_and_snake_case_names(models: ModuleType) -> None:
    bounce = models.Bounce.from_dict(bounce_data())
    assert bounce.id == 42 and bounce.email == "a@example.com" and bounce.inactive is True
    assert bounce.bounced_at == dt.datetime(
        2016, 9, 19, 16, 34, 9, 133675, tzinfo=dt.timezone(dt.timedelta(hours=-4))
    )  # Postmark's 7 fractional digits and offset
    assert bounce.day == dt.date(2016, 9, 19)
    assert bounce.details == models.BounceDetails(code=550, lines=["no such user"])
    assert bounce.counts == {"Opens": 3}
    assert bounce.sender == "sender@example.com"  # x-python-name
    assert bounce.subject is None
    assert bounce.extra == {}


def test_unknown_fields_and_enum_values_are_kept(models: ModuleType) -> None:
    bounce = models.Bounce.from_dict(bounce_data(Type="BrandNewKind", NewField={"x": 1}))
    assert bounce.type == "BrandNewKind"
    assert bounce.extra == {"NewField": {"x": 1}}
    assert bounce.to_dict()["NewField"] == {"x": 1}


def test_z_suffix_and_absent_optional_fields(models: ModuleType) -> None:
    sent = models.SendEmailResponse.from_dict(
        {"ErrorCode": 406, "Message": "Inactive", "SubmittedAt": "2019-11-05T16:33:54.9070259Z"}
    )
    assert sent.submitted_at == dt.datetime(2019, 11, 5, 16, 33, 54, 907025, tzinfo=dt.UTC)
    assert sent.to is None and sent.message_id is None


def test_missing_required_response_field_is_an_error(models: ModuleType) -> None:
    data = bounce_data()
    del data["Email"]
    with pytest.raises(KeyError, match="Email"):  # the client turns this into ResponseDecodeError
        models.Bounce.from_dict(data)


def test_to_dict_round_trips_and_omits_none(models: ModuleType) -> None:
    data = bounce_data()
    bounce = models.Bounce.from_dict(data)
    dumped = bounce.to_dict()
    assert "Subject" not in dumped  # None is not sent
    assert dumped["BouncedAt"] == "2016-09-19T16:34:09.133675-04:00"
    assert dumped["Day"] == "2016-09-19"
    assert dumped["Details"] == {"Code": 550, "Lines": ["no such user"]}
    assert models.Bounce.from_dict(dumped) == bounce
    assert list(dumped)[:3] == ["ID", "Type", "Email"]


def test_webhook_payloads_are_told_apart(models: ModuleType) -> None:
    delivery = models.parse_webhook_payload(
        {
            "RecordType": "Delivery",
            "MessageID": "m",
            "Recipient": "r@example.com",
            "DeliveredAt": "2019-11-05T16:33:54Z",
        }
    )
    assert isinstance(delivery, models.DeliveryWebhook)
    inbound = models.parse_webhook_payload(
        {"FromFull": {"Email": "a@example.com", "Name": None}, "MessageID": "m"}
    )
    assert isinstance(inbound, models.InboundWebhook)
    assert inbound.from_full == models.EmailAddressFull(email="a@example.com", name=None)
    with pytest.raises(ValueError, match="RecordType is 'Mystery'"):
        models.parse_webhook_payload({"RecordType": "Mystery"})


# ---- requests: strict ------------------------------------------------------------------------


def validation_error(pkg: ModuleType, model: Any) -> tuple[str, str]:
    with pytest.raises(pkg.errors.RequestValidationError) as info:
        model.validate()
    return info.value.field, info.value.message


def test_a_valid_request_passes_and_dumps_wire_names(models: ModuleType) -> None:
    request = models.SendEmailRequest(
        from_="a@example.com", to="b@example.com", text_body="Hi", tag="welcome"
    )
    request.validate()
    assert request.to_dict() == {
        "From": "a@example.com",
        "To": "b@example.com",
        "Tag": "welcome",
        "TextBody": "Hi",
    }


@pytest.mark.parametrize(
    ("changes", "field", "message"),
    [
        ({"to": None}, "To", "is required"),
        ({"tag": "x" * 11}, "Tag", "must be at most 10 characters"),
        ({"tag": "Upper"}, "Tag", "must match ^[a-z-]+$"),
        (
            {"track_links": "Sometimes"},
            "TrackLinks",
            "must be one of None, HtmlAndText; got 'Sometimes'",
        ),
        ({"subject": 7}, "Subject", "must be a string, got int"),
        ({"text_body": None}, "HtmlBody", "needs HtmlBody or TextBody"),
    ],
)
def test_request_rules_name_the_field(
    pkg: ModuleType, models: ModuleType, changes: dict[str, Any], field: str, message: str
) -> None:
    values: dict[str, Any] = {"from_": "a@example.com", "to": "b@example.com", "text_body": "Hi"}
    values.update(changes)
    assert validation_error(pkg, models.SendEmailRequest(**values)) == (field, message)


def test_nested_request_models_are_checked_with_their_path(
    pkg: ModuleType, models: ModuleType
) -> None:
    header = models.MessageHeader(name="X-A", value=None)
    request = models.SendEmailRequest(
        from_="a@example.com", to="b@example.com", text_body="Hi", headers=[header]
    )
    assert validation_error(pkg, request) == ("Headers[0].Value", "is required")
    too_many = [models.MessageHeader(name="a", value="b")] * 4
    request = models.SendEmailRequest(
        from_="a@example.com", to="b@example.com", text_body="Hi", headers=too_many
    )
    assert validation_error(pkg, request) == ("Headers", "has 4 items; Postmark accepts at most 3")
    request = models.SendEmailRequest(
        from_="a@example.com", to="b", text_body="Hi", headers=[{"Name": "a", "Value": "b"}]
    )
    assert validation_error(pkg, request) == ("Headers[0]", "must be a MessageHeader, got dict")


def test_requests_from_dicts_report_missing_and_unknown_fields(
    pkg: ModuleType, models: ModuleType
) -> None:
    # Read leniently (no KeyError), so validate() can name what is wrong.
    batch = models.SendEmailBatchWithTemplatesRequest.from_dict(
        {"Messages": [{"From": "a@example.com", "TemplateModel": {}}]}
    )
    assert validation_error(pkg, batch) == ("Messages[0].To", "is required")
    unknown = models.SendEmailRequest.from_dict(
        {"From": "a", "To": "b", "TextBody": "c", "Bogus": 1}
    )
    assert unknown.extra == {"Bogus": 1}
    assert validation_error(pkg, unknown) == ("Bogus", "is not a field Postmark accepts here")


# ---- resources and clients -------------------------------------------------------------------


class Recorder:
    def __init__(self, answers: dict[str, Any]):
        self.answers = answers
        self.requests: list[httpx.Request] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        return httpx.Response(200, json=self.answers[f"{request.method} {request.url.path}"])


def test_resource_methods_build_requests_from_keyword_arguments(
    pkg: ModuleType, models: ModuleType
) -> None:
    recorder = Recorder(
        {
            "POST /email": {
                "ErrorCode": 0,
                "Message": "OK",
                "MessageID": "m-1",
                "To": "b@example.com",
            },
            "GET /bounces/42": bounce_data(),
            "GET /bounces": {"TotalCount": 1, "Bounces": [bounce_data()]},
        }
    )
    client = pkg.ServerClient(
        FAKE_TOKEN, transport=httpx.MockTransport(recorder), base_url="https://pm.test"
    )
    sent = client.email.send(
        from_="a@example.com", to="b@example.com", text_body="Hi", metadata={"k": "v"}
    )
    assert isinstance(sent, models.SendEmailResponse) and sent.message_id == "m-1"
    bounce = client.bounces.get(42)
    assert bounce.id == 42
    page = client.bounces.list(type="HardBounce", from_date=dt.date(2026, 1, 2))
    assert [b.id for b in page.items] == [42] and page.total_count == 1
    client.bounces.list(from_date="2026-01-03")  # ISO text is accepted too
    with pytest.raises(pkg.errors.RequestValidationError, match="from_date"):
        client.bounces.list(from_date="January")
    send, get, listing, listing_by_text = recorder.requests  # the invalid date was never sent
    assert json.loads(send.content) == {
        "From": "a@example.com",
        "To": "b@example.com",
        "TextBody": "Hi",
        "Metadata": {"k": "v"},
    }
    assert send.headers["X-Postmark-Server-Token"] == FAKE_TOKEN
    assert "X-Postmark-Account-Token" not in send.headers
    assert get.url.path == "/bounces/42"
    assert dict(listing.url.params) == {
        "count": "100",
        "offset": "0",
        "type": "HardBounce",
        "fromdate": "2026-01-02",
    }
    assert listing_by_text.url.params["fromdate"] == "2026-01-03"


def test_invalid_keyword_arguments_are_refused_before_sending(pkg: ModuleType) -> None:
    recorder = Recorder({})
    client = pkg.ServerClient(FAKE_TOKEN, transport=httpx.MockTransport(recorder))
    with pytest.raises(pkg.errors.RequestValidationError, match="HtmlBody"):
        client.email.send(from_="a@example.com", to="b@example.com")
    assert recorder.requests == []


def test_batch_methods_take_models_or_dicts(pkg: ModuleType, models: ModuleType) -> None:
    def answer(request: httpx.Request) -> httpx.Response:
        messages = json.loads(request.content)["Messages"]
        return httpx.Response(
            200, json=[{"ErrorCode": 0, "Message": "OK", "To": m["To"]} for m in messages]
        )

    client = pkg.ServerClient(FAKE_TOKEN, transport=httpx.MockTransport(answer))
    result = client.email.send_batch_with_templates(
        [
            models.SendEmailWithTemplateRequest(
                from_="a@example.com", to="one@example.com", template_model={}
            ),
            {"From": "a@example.com", "To": "two@example.com", "TemplateModel": {"n": 1}},
        ]
    )
    assert [r.to for r in result.results] == ["one@example.com", "two@example.com"]
    with pytest.raises(pkg.errors.RequestValidationError, match=r"To"):
        client.email.send_batch_with_templates([{"From": "a@example.com", "TemplateModel": {}}])


def test_account_operations_are_not_reachable_from_a_server_client(pkg: ModuleType) -> None:
    server = pkg.ServerClient(FAKE_TOKEN, transport=httpx.MockTransport(Recorder({})))
    account = pkg.AccountClient("fake-account-token", transport=httpx.MockTransport(Recorder({})))
    assert not hasattr(server, "sender_signatures")
    assert not hasattr(account, "email") and not hasattr(account, "bounces")
    assert hasattr(account, "sender_signatures")


async def test_async_client_mirrors_the_sync_one(pkg: ModuleType) -> None:
    recorder = Recorder({"DELETE /senders/a@example.com": {"ErrorCode": 0, "Message": "Removed"}})
    async with pkg.AsyncAccountClient(
        "fake-account-token", transport=httpx.MockTransport(recorder)
    ) as account:
        status = await account.sender_signatures.delete("a@example.com")  # int | str path value
    assert status.message == "Removed"
    [request] = recorder.requests
    assert request.headers["X-Postmark-Account-Token"] == "fake-account-token"


def test_package_exports_are_lazy(pkg: ModuleType) -> None:
    assert pkg.__version__ == "2026.3.5"
    assert "ServerClient" in dir(pkg) and "models" in dir(pkg)
    assert pkg.InactiveRecipientError.__name__ == "InactiveRecipientError"
    with pytest.raises(AttributeError, match="no attribute 'Nope'"):
        pkg.Nope  # noqa: B018


def test_generated_pyproject_and_readme(pkg: ModuleType) -> None:
    root = Path(pkg.__file__).parents[2] / "generated"
    pyproject = (root / "pyproject.toml").read_text()
    assert 'name = "postmark-client"' in pyproject and 'version = "2026.3.5"' in pyproject
    assert 'dependencies = ["httpx>=0.27,<1", "msgspec>=0.18"]' in pyproject
    assert 'postmark = "postmark_client.cli:main"' in pyproject
    assert 'postmark_client = "postmark_client.testing.plugin"' in pyproject
    readme = (root / "README.md").read_text()
    assert "| `bounces.get` | `GET /bounces/{bounceid}` | server | read |" in readme
    assert (
        "| `sender_signatures.delete` | `DELETE /senders/{signatureid}` | account | write |"
        in readme
    )
