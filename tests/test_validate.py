"""`postmark-codegen validate` on broken specs: one mutation per rule, each with its exact location.

Most cases mutate a copy of tests/fixtures/mini.yaml (valid, two operations) written to
<tmp>/spec/postmark.yaml with <tmp> as the working directory, so every line starts with the same
`spec/postmark.yaml: ` a maintainer sees. A few cases mutate the real spec.
"""

from __future__ import annotations

import copy
import datetime
import os
import subprocess
import sys
import types
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml

from generator.cli import main

TESTS = Path(__file__).resolve().parent
REPO = TESTS.parent
MINI = TESTS / "fixtures" / "mini.yaml"
REAL_SPEC = REPO / "spec" / "postmark.yaml"
SPEC = "spec/postmark.yaml"

Doc = dict[str, Any]
# libyaml when available: the real spec is big enough for the pure-Python parser to be slow.
LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
DUMPER = getattr(yaml, "CSafeDumper", yaml.SafeDumper)
Mutation = Callable[[Doc], None]


@pytest.fixture
def workdir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    (tmp_path / "spec").mkdir()
    monkeypatch.chdir(tmp_path)
    return tmp_path


def mini() -> Doc:
    return yaml.load(MINI.read_text(encoding="utf-8"), Loader=LOADER)


def write_spec(workdir: Path, doc: Doc | str, name: str = SPEC) -> Path:
    path = workdir / name
    path.parent.mkdir(parents=True, exist_ok=True)
    text = (
        doc
        if isinstance(doc, str)
        else yaml.dump(doc, Dumper=DUMPER, sort_keys=False, allow_unicode=True)
    )
    path.write_text(text, encoding="utf-8")
    return path


def validate(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, list[str], str]:
    code = main(["validate", *args])
    captured = capsys.readouterr()
    return code, captured.out.splitlines(), captured.err


# -- mutation helpers: each returns a function changing a spec in place ---------------------------


def node(doc: Doc, path: tuple[Any, ...]) -> Any:
    for key in path:
        doc = doc[key]
    return doc


def set_(path: tuple[Any, ...], value: Any) -> Mutation:
    return lambda doc: node(doc, path[:-1]).__setitem__(path[-1], copy.deepcopy(value))


def delete(path: tuple[Any, ...]) -> Mutation:
    return lambda doc: node(doc, path[:-1]).pop(path[-1])


def append(path: tuple[Any, ...], value: Any) -> Mutation:
    return lambda doc: node(doc, path).append(copy.deepcopy(value))


def rename(path: tuple[Any, ...], new_key: Any) -> Mutation:
    def mutate(doc: Doc) -> None:
        parent = node(doc, path[:-1])
        parent[new_key] = parent.pop(path[-1])

    return mutate


def copy_to(source: tuple[Any, ...], target: tuple[Any, ...]) -> Mutation:
    return lambda doc: node(doc, target[:-1]).__setitem__(
        target[-1], copy.deepcopy(node(doc, source))
    )


def both(*mutations: Mutation) -> Mutation:
    def mutate(doc: Doc) -> None:
        for mutation in mutations:
            mutation(doc)

    return mutate


EMAIL = ("paths", "/email", "post")
SENDERS = ("paths", "/senders", "get")
EMAIL_200 = EMAIL + ("responses", "200", "content", "application/json")
EMAIL_BODY = EMAIL + ("requestBody", "content", "application/json")
SCHEMAS = ("components", "schemas")
LIMITS = EMAIL + ("x-postmark-limits",)
PAGING = SENDERS + ("x-postmark-paging",)
REACHES = EMAIL + ("x-postmark-reaches",)

# (rule, mutation of mini.yaml, the exact problem lines after `spec/postmark.yaml: `)
CASES: list[tuple[str, Mutation, list[str]]] = [
    (
        "openapi-structure",
        delete(EMAIL + ("responses", "200", "description")),
        ["paths./email.post.responses.200: 'description' is a required property"],
    ),
    (
        "openapi-version",
        set_(("openapi",), "3.0.3"),
        ["openapi: '3.0.3' does not match '^3\\\\.1\\\\.\\\\d+(-.+)?$'"],
    ),
    (
        "ref-missing-component",
        set_(EMAIL_BODY + ("schema",), {"$ref": "#/components/schemas/SendMail"}),
        [
            (
                "paths./email.post.requestBody.content.application/json.schema: "
                "$ref '#/components/schemas/SendMail' does not resolve: no 'SendMail' under #/components/schemas"
            )
        ],
    ),
    (
        "ref-missing-file",
        set_(
            SCHEMAS + ("SendEmailRequest", "properties", "Attachments", "items"),
            {"$ref": "schemas/attachment.yaml"},
        ),
        [
            (
                "components.schemas.SendEmailRequest.properties.Attachments.items: "
                "$ref 'schemas/attachment.yaml' points to a missing file 'schemas/attachment.yaml'"
            )
        ],
    ),
    (
        "operation-id-missing",
        delete(EMAIL + ("operationId",)),
        [
            "paths./email.post: operationId is missing",
            "x-postmark-release-notes.1.operations.0: 'send_email' is not an operationId",
        ],
    ),
    (
        "operation-id-snake-case",
        set_(SENDERS + ("operationId",), "listSenderSignatures"),
        ["paths./senders.get.operationId: 'listSenderSignatures' is not snake_case"],
    ),
    (
        "operation-id-unique",
        set_(SENDERS + ("operationId",), "send_email"),
        [
            "paths./senders.get.operationId: 'send_email' is also the operationId of paths./email.post"
        ],
    ),
    (
        "one-tag",
        set_(EMAIL + ("tags",), ["Email", "Sender signatures"]),
        ["paths./email.post.tags: an operation has exactly one tag (its group), found 2"],
    ),
    (
        "tag-declared",
        set_(EMAIL + ("tags",), ["Mail"]),
        ["paths./email.post.tags.0: tag 'Mail' is not declared in the top-level tags"],
    ),
    (
        "tag-python-name",
        delete(("tags", 1, "x-python-name")),
        ["tags.1: tag 'Sender signatures' has no x-python-name"],
    ),
    (
        "tag-token",
        set_(("tags", 0, "x-postmark-token"), "both"),
        ["tags.0.x-postmark-token: 'both' is not 'server' or 'account'"],
    ),
    (
        "scheme-token",
        delete(("components", "securitySchemes", "accountToken", "x-postmark-token")),
        [
            "components.securitySchemes.accountToken: x-postmark-token is missing (must be 'server' or 'account')"
        ],
    ),
    (
        "security-declared",
        set_(EMAIL + ("security",), [{"apiKey": []}]),
        ["paths./email.post.security: 'apiKey' is not a declared security scheme"],
    ),
    (
        "security-matches-tag-token",
        set_(EMAIL + ("security",), [{"accountToken": []}]),
        [
            "paths./email.post.security: 'accountToken' carries the account token but tag 'Email' needs the server token"
        ],
    ),
    (
        "security-exactly-one",
        set_(EMAIL + ("security",), [{"serverToken": []}, {"accountToken": []}]),
        ["paths./email.post.security: must name exactly one security scheme, found 2"],
    ),
    (
        "path-parameter-declared",
        rename(("paths", "/senders"), "/senders/{signatureid}"),
        [
            "paths./senders/{signatureid}.get.parameters: path parameter {signatureid} of /senders/{signatureid} is not declared"
        ],
    ),
    (
        "path-parameter-used",
        append(
            SENDERS + ("parameters",),
            {"name": "signatureid", "in": "path", "required": True, "schema": {"type": "integer"}},
        ),
        [
            "paths./senders.get.parameters.2: path parameter 'signatureid' is not in the path template /senders"
        ],
    ),
    (
        "parameter-unique",
        append(SENDERS + ("parameters",), {"$ref": "#/components/parameters/Count"}),
        ["paths./senders.get.parameters.2: parameter 'count' (query) is declared twice"],
    ),
    (
        "success-response",
        delete(SENDERS + ("responses", "200")),
        ["paths./senders.get.responses: has no 200 response"],
    ),
    (
        "success-example",
        delete(EMAIL_200 + ("example",)),
        ["paths./email.post.responses.200: has no example"],
    ),
    (
        "error-responses",
        delete(SENDERS + ("responses", "429")),
        ["paths./senders.get.responses: missing the shared error responses 429"],
    ),
    (
        "request-body-required",
        delete(EMAIL + ("requestBody", "required")),
        ["paths./email.post.requestBody: must say required: true"],
    ),
    (
        "response-example",
        delete(EMAIL_200 + ("example", "MessageID")),
        ["paths./email.post.responses.200 example: 'MessageID' is a required property"],
    ),
    (
        "response-example-format",
        set_(EMAIL_200 + ("example", "SubmittedAt"), "yesterday"),
        ["paths./email.post.responses.200 example.SubmittedAt: 'yesterday' is not a 'date-time'"],
    ),
    (
        "response-named-example",
        set_(
            EMAIL_200 + ("examples",),
            {"test-token": {"value": {"To": "a@example.com", "ErrorCode": 0}}},
        ),
        [
            "paths./email.post.responses.200 examples.test-token: 'SubmittedAt' is a required property",
            "paths./email.post.responses.200 examples.test-token: 'MessageID' is a required property",
            "paths./email.post.responses.200 examples.test-token: 'Message' is a required property",
        ],
    ),
    (
        "request-body-example",
        set_(
            EMAIL_BODY + ("example", "Attachments"),
            [{"Name": "a.pdf", "Content": "", "ContentType": "application/pdf", "Size": 1}],
        ),
        [
            "paths./email.post.requestBody example.Attachments.0: Additional properties are not allowed ('Size' was unexpected)"
        ],
    ),
    (
        "parameter-example",
        set_(("components", "parameters", "Count", "example"), "fifty"),
        ["components.parameters.Count example: 'fifty' is not of type 'integer'"],
    ),
    (
        "parameter-example-limit",
        set_(("components", "parameters", "Count", "example"), 501),
        ["components.parameters.Count example: 501 is greater than the maximum of 500"],
    ),
    (
        "webhook-example",
        set_(
            (
                "webhooks",
                "Delivery",
                "post",
                "requestBody",
                "content",
                "application/json",
                "example",
                "ServerID",
            ),
            "23",
        ),
        ["webhooks.Delivery.post.requestBody example.ServerID: '23' is not of type 'integer'"],
    ),
    (
        "component-schema-example",
        set_(SCHEMAS + ("Attachment", "properties", "ContentType", "example"), 5),
        ["components.schemas.Attachment.properties.ContentType example: 5 is not of type 'string'"],
    ),
    (
        "access",
        set_(SENDERS + ("x-postmark-access",), "readonly"),
        ["paths./senders.get.x-postmark-access: 'readonly' is not 'read' or 'write'"],
    ),
    (
        "access-missing",
        delete(SENDERS + ("x-postmark-access",)),
        ["paths./senders.get: x-postmark-access is missing (must be 'read' or 'write')"],
    ),
    (
        "retry",
        set_(EMAIL + ("x-postmark-retry",), "never"),
        ["paths./email.post.x-postmark-retry: 'never' is not 'safe' or 'unsafe'"],
    ),
    (
        "acts-on",
        set_(SENDERS + ("x-postmark-acts-on",), "sender"),
        [
            (
                "paths./senders.get.x-postmark-acts-on: 'sender' is not one of email, template, bounce, message, "
                "open, click, suppression, stat, server, domain, signature"
            )
        ],
    ),
    (
        "webhook-event",
        set_(EMAIL + ("x-postmark-webhook-event",), "Bounce"),
        [
            "paths./email.post.x-postmark-webhook-event: 'Bounce' is not a webhook event (webhooks: Delivery)"
        ],
    ),
    (
        "paging-present",
        delete(PAGING),
        ["paths./senders.get: has count and offset parameters but no x-postmark-paging"],
    ),
    (
        "paging-keys",
        delete(PAGING + ("max-reachable",)),
        ["paths./senders.get.x-postmark-paging: 'max-reachable' is missing"],
    ),
    (
        "paging-count-parameter",
        set_(PAGING + ("count",), "limit"),
        [
            "paths./senders.get.x-postmark-paging.count: names query parameter 'limit', which the operation does not have"
        ],
    ),
    (
        "paging-offset-parameter",
        delete(SENDERS + ("parameters", 1)),
        [
            "paths./senders.get.x-postmark-paging.offset: names query parameter 'offset', which the operation does not have"
        ],
    ),
    (
        "paging-max-count",
        set_(PAGING + ("max-count",), 100),
        [
            "paths./senders.get.x-postmark-paging.max-count: 100 differs from the maximum of parameter 'count' (500)"
        ],
    ),
    (
        "paging-items-field",
        set_(PAGING + ("items",), "Signatures"),
        [
            "paths./senders.get.x-postmark-paging.items: 'Signatures' is not a field of the 200 response schema"
        ],
    ),
    (
        "paging-items-array",
        set_(PAGING + ("items",), "TotalCount"),
        [
            "paths./senders.get.x-postmark-paging.items: field 'TotalCount' of the 200 response is not an array"
        ],
    ),
    (
        "paging-total-integer",
        set_(PAGING + ("total",), "SenderSignatures"),
        [
            "paths./senders.get.x-postmark-paging.total: field 'SenderSignatures' of the 200 response is not an integer"
        ],
    ),
    (
        "limit-field",
        set_(LIMITS + (1, "field"), "Recipients"),
        [
            "paths./email.post.x-postmark-limits.1.field: 'Recipients' is not a field of the request body schema"
        ],
    ),
    (
        "limit-max-items",
        set_(LIMITS + (2, "max"), 20),
        [
            "paths./email.post.x-postmark-limits.2.field: maxItems of field 'Attachments' is 10, the limit says 20"
        ],
    ),
    (
        "limit-items-array",
        set_(LIMITS + (2, "field"), "Subject"),
        [
            "paths./email.post.x-postmark-limits.2.field: field 'Subject' is not an array, so an items limit cannot apply"
        ],
    ),
    (
        "limit-unit",
        set_(LIMITS + (0, "unit"), "megabytes"),
        [
            "paths./email.post.x-postmark-limits.0.unit: 'megabytes' is not one of bytes, items, addresses, templates"
        ],
    ),
    (
        "limit-scope",
        set_(LIMITS + (0, "scope"), "account"),
        [
            "paths./email.post.x-postmark-limits.0.scope: 'account' is not one of message, request, server"
        ],
    ),
    (
        "limit-name-unique",
        set_(LIMITS + (1, "name"), "message-size"),
        [
            "paths./email.post.x-postmark-limits.1.name: 'message-size' is used twice in this operation"
        ],
    ),
    (
        "limit-max",
        set_(LIMITS + (0, "max"), "10 MB"),
        ["paths./email.post.x-postmark-limits.0.max: '10 MB' is not a positive integer"],
    ),
    (
        "batch-limits",
        both(set_(EMAIL + ("x-postmark-batch",), True), delete(LIMITS + (2,))),
        ["paths./email.post.x-postmark-batch: a batch operation needs a limit with unit 'items'"],
    ),
    (
        "default-stream-missing",
        delete(EMAIL + ("x-postmark-default-stream",)),
        [
            "paths./email.post: a sending operation needs x-postmark-default-stream (the stream it lands on)"
        ],
    ),
    (
        "default-stream-not-a-send",
        set_(SENDERS + ("x-postmark-default-stream",), "outbound"),
        [
            "paths./senders.get.x-postmark-default-stream: only a sending operation (write on email) has a stream"
        ],
    ),
    (
        "default-stream-id",
        set_(EMAIL + ("x-postmark-default-stream",), "out bound"),
        ["paths./email.post.x-postmark-default-stream: 'out bound' is not a message stream ID"],
    ),
    (
        "idempotency-metadata",
        set_(EMAIL + ("x-postmark-idempotency",), {"metadata": "Meta"}),
        [
            (
                "paths./email.post.x-postmark-idempotency.metadata: 'Meta' is not a field of the "
                "request body schema"
            )
        ],
    ),
    (
        "idempotency-search",
        set_(
            EMAIL + ("x-postmark-idempotency",),
            {"metadata": "Subject", "search": "list_sender_signatures"},
        ),
        [
            (
                "paths./email.post.x-postmark-idempotency.search: 'list_sender_signatures' is not "
                "an operation with an x-postmark-query-prefix parameter"
            )
        ],
    ),
    (
        "python-name-identifier",
        set_(EMAIL + ("x-python-name",), "send-email"),
        ["paths./email.post.x-python-name: 'send-email' is not a valid Python identifier"],
    ),
    (
        "python-name-keyword",
        set_(SENDERS + ("x-python-name",), "import"),
        ["paths./senders.get.x-python-name: 'import' is not a valid Python identifier"],
    ),
    (
        "python-name-unique-in-group",
        both(
            copy_to(EMAIL[:2], ("paths", "/email/again")),
            set_(("paths", "/email/again", "post", "operationId"), "send_again"),
        ),
        [
            "paths./email/again.post.x-python-name: 'send' is also the Python name of paths./email.post in group 'Email'"
        ],
    ),
    (
        "python-name-missing",
        delete(SENDERS + ("x-python-name",)),
        ["paths./senders.get: x-python-name (the method name in its group) is missing"],
    ),
    (
        "parameter-python-name",
        set_(("components", "parameters", "Offset", "x-python-name"), "from"),
        ["components.parameters.Offset.x-python-name: 'from' is not a valid Python identifier"],
    ),
    (
        "webhook-record-type",
        set_(("webhooks", "Delivery", "post", "x-postmark-record-type"), "Delivered"),
        [
            "webhooks.Delivery.post: x-postmark-record-type is 'Delivered', must be the webhook's key 'Delivery'"
        ],
    ),
    (
        "error-code-unique",
        set_(("components", "x-postmark-error-codes", 2, "code"), 300),
        ["components.x-postmark-error-codes.2.code: 300 is also the code of entry 1"],
    ),
    (
        "error-name-unique",
        set_(("components", "x-postmark-error-codes", 2, "name"), "InvalidApiToken"),
        ["components.x-postmark-error-codes.2.name: 'InvalidApiToken' is also the name of entry 0"],
    ),
    (
        "error-name-pascal-case",
        set_(("components", "x-postmark-error-codes", 1, "name"), "invalid_email_request"),
        [
            "components.x-postmark-error-codes.1.name: 'invalid_email_request' is not a PascalCase name"
        ],
    ),
    (
        "info-version",
        set_(("info", "version"), "2019.11"),
        ["info.version: '2019.11' must be the newest release note's date with dots: '2025.06'"],
    ),
    (
        "keys-are-strings",
        rename(SENDERS + ("responses", "200"), 200),
        ["paths./senders.get.responses.200: the key 200 must be a string: quote it ('200')"],
    ),
    (
        "release-date-quoted",
        set_(("x-postmark-release-notes", 1, "date"), datetime.date(2025, 6, 1)),
        [
            "x-postmark-release-notes.1.date: 2025-06-01 must be quoted ('2025-06-01'): unquoted, YAML reads it as a date"
        ],
    ),
    (
        "release-notes-order",
        set_(("x-postmark-release-notes", 0, "date"), "2026-01"),
        [
            "x-postmark-release-notes.1.date: 2025-06 comes after 2026-01; list release notes oldest first",
            "info.version: '2025.06' must be the newest release note's date with dots: '2026.01'",
        ],
    ),
    (
        "secret-unmarked",
        set_(SCHEMAS + ("SenderSignature", "properties", "ApiTokens"), {"type": "string"}),
        [
            (
                "components.schemas.SenderSignature.properties.ApiTokens: 'ApiTokens' looks like "
                "a secret: mark it x-postmark-secret: true (kept out of reprs), or false if it is "
                "not one"
            )
        ],
    ),
    (
        "reaches-shape",
        set_(REACHES, "webhooks"),
        [
            "paths./email.post.x-postmark-reaches: must be a non-empty list of {group, access, fields?}"
        ],
    ),
    (
        "reaches-group",
        set_(REACHES, [{"group": "webhoks", "access": "write"}]),
        [
            "paths./email.post.x-postmark-reaches.0.group: 'webhoks' is not a group (one of email, sender_signatures)"
        ],
    ),
    (
        "reaches-own-group",
        set_(REACHES, [{"group": "email", "access": "write"}]),
        ["paths./email.post.x-postmark-reaches.0.group: 'email' is the operation's own group"],
    ),
    (
        "reaches-access",
        set_(REACHES, [{"group": "sender_signatures", "access": "full"}]),
        ["paths./email.post.x-postmark-reaches.0.access: 'full' is not 'read' or 'write'"],
    ),
    (
        "reaches-read-writes-nowhere",
        set_(SENDERS + ("x-postmark-reaches",), [{"group": "email", "access": "write"}]),
        ["paths./senders.get.x-postmark-reaches.0.access: a read operation writes no other group"],
    ),
    (
        "reaches-field",
        set_(
            REACHES,
            [{"group": "sender_signatures", "access": "read", "fields": ["Hook", "To", "To"]}],
        ),
        [
            "paths./email.post.x-postmark-reaches.0.fields.0: 'Hook' is not a top-level field of the request body schema",
            "paths./email.post.x-postmark-reaches.0.fields.2: 'To' is listed twice",
        ],
    ),
    (
        "reaches-hostile",
        set_(
            REACHES,
            [
                {
                    "group": "__import__('os').system('id')",
                    "access": "write",
                    "fields": ['x"); import os; ("'],
                    "because": "\x1b[31m",
                }
            ],
        ),
        [
            "paths./email.post.x-postmark-reaches.0: unknown key 'because' (keys: group, access, fields)",
            "paths./email.post.x-postmark-reaches.0.group: \"__import__('os').system('id')\" is not a group (one of email, sender_signatures)",
            "paths./email.post.x-postmark-reaches.0.fields.0: 'x\"); import os; (\"' is not a top-level field of the request body schema",
        ],
    ),
    (
        "schema-keyword-misspelt",
        set_(SCHEMAS + ("SenderSignature", "properties", "Name", "maxLenght"), 5),
        [
            (
                "components.schemas.SenderSignature.properties.Name.maxLenght: 'maxLenght' is "
                "not a schema keyword"
            )
        ],
    ),
    (
        "secret-not-boolean",
        set_(SCHEMAS + ("SenderSignature", "properties", "Name", "x-postmark-secret"), "yes"),
        [
            (
                "components.schemas.SenderSignature.properties.Name.x-postmark-secret: must be "
                "true or false, got 'yes'"
            )
        ],
    ),
]


def test_mini_fixture_is_valid(workdir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    write_spec(workdir, MINI.read_text(encoding="utf-8"))
    code, out, err = validate(capsys, SPEC)
    assert (code, out, err) == (
        0,
        ["2 operations in 2 groups (1 read, 1 write), 2 security schemes, 1 webhook event: OK"],
        "",
    )


def test_mutations_cover_many_rules() -> None:
    assert len({rule for rule, _, _ in CASES}) == len(CASES) >= 20


@pytest.mark.parametrize(("rule", "mutation", "expected"), CASES, ids=[case[0] for case in CASES])
def test_broken_spec_is_reported_at_its_location(
    rule: str,
    mutation: Mutation,
    expected: list[str],
    workdir: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    doc = mini()
    mutation(doc)
    write_spec(workdir, doc)
    code, out, err = validate(capsys, SPEC)
    count = f"{len(expected)} problem{'s' if len(expected) > 1 else ''} in {SPEC}"
    assert out == [f"{SPEC}: {line}" for line in expected] + [count]
    assert (code, err) == (1, "")


def test_every_problem_is_reported_in_one_run(
    workdir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    doc = mini()
    set_(SENDERS + ("x-postmark-access",), "readonly")(doc)
    set_(PAGING + ("items",), "Signatures")(doc)
    delete(EMAIL_200 + ("example", "MessageID"))(doc)
    write_spec(workdir, doc)
    code, out, _ = validate(capsys, SPEC)
    assert code == 1
    assert out == [
        f"{SPEC}: paths./email.post.responses.200 example: 'MessageID' is a required property",
        f"{SPEC}: paths./senders.get.x-postmark-access: 'readonly' is not 'read' or 'write'",
        f"{SPEC}: paths./senders.get.x-postmark-paging.items: 'Signatures' is not a field of the 200 response schema",
        f"3 problems in {SPEC}",
    ]


def test_a_description_cut_at_a_comma_is_reported(
    workdir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """In a YAML flow mapping an unquoted comma ends the value: the rest becomes a key with no
    value, which JSON Schema would ignore."""
    line = "        Name: {type: string}\n        Confirmed:"
    text = MINI.read_text(encoding="utf-8")
    assert text.count(line) == 1
    cut = "        Name: {type: string, description: The name, as shown}\n        Confirmed:"
    write_spec(workdir, text.replace(line, cut))
    code, out, _ = validate(capsys, SPEC)
    assert code == 1
    assert out[0] == (
        f"{SPEC}: components.schemas.SenderSignature.properties.Name.as shown: 'as shown' is not "
        "a schema keyword (in a one-line `{...}` mapping an unquoted comma ends a value: quote it)"
    )


def test_duplicate_yaml_key_is_reported(workdir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    text = MINI.read_text(encoding="utf-8")
    lines = text.splitlines()
    first = lines.index("      x-postmark-access: write") + 1
    # A second `x-postmark-access:` would silently win: YAML keeps the last of equal keys.
    text = text.replace(
        "      x-postmark-access: write\n",
        "      x-postmark-access: write\n      x-postmark-access: read\n",
    )
    write_spec(workdir, text)
    code, out, _ = validate(capsys, SPEC)
    assert code == 1
    assert out[0] == (
        f"{SPEC}: paths./email.post.x-postmark-access: duplicate key 'x-postmark-access' at line {first + 1} "
        f"(first at line {first}); YAML keeps only the last"
    )


def test_duplicate_key_in_a_referenced_file(
    workdir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    doc = mini()
    set_(SCHEMAS + ("Attachment",), {"$ref": "schemas/attachment.yaml"})(doc)
    write_spec(workdir, doc)
    attachment = "type: object\nproperties:\n  Name: {type: string}\n  Name: {type: integer}\n"
    write_spec(workdir, attachment, "spec/schemas/attachment.yaml")
    code, out, _ = validate(capsys, SPEC)
    assert code == 1
    assert out[0] == (
        "spec/schemas/attachment.yaml: properties.Name: duplicate key 'Name' at line 4 "
        "(first at line 3); YAML keeps only the last"
    )


def test_refs_into_other_files_resolve_and_are_checked(
    workdir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    doc = mini()
    request = doc["components"]["schemas"]["SendEmailRequest"]
    request["properties"]["Attachments"]["items"] = {
        "$ref": "../postmark.yaml#/components/schemas/Attachment"
    }
    set_(SCHEMAS + ("SendEmailRequest",), {"$ref": "schemas/email.yaml#/SendEmailRequest"})(doc)
    write_spec(workdir, doc)
    write_spec(workdir, {"SendEmailRequest": request}, "spec/schemas/email.yaml")
    code, out, _ = validate(capsys, SPEC)
    assert code == 0, out

    # The example is checked against the schema in the other file (maxItems 10 is written there).
    set_(
        EMAIL_BODY + ("example", "Attachments"),
        [{"Name": "a", "Content": "", "ContentType": "text/plain"}] * 11,
    )(doc)
    write_spec(workdir, doc)
    request["properties"]["Attachments"]["items"] = {"$ref": "#/Missing"}
    write_spec(workdir, {"SendEmailRequest": request}, "spec/schemas/email.yaml")
    code, out, _ = validate(capsys, SPEC)
    assert code == 1
    assert out == [
        (
            "spec/schemas/email.yaml: SendEmailRequest.properties.Attachments.items: "
            "$ref '#/Missing' does not resolve: no 'Missing' under #"
        ),
        f"1 problem in {SPEC}",
    ]


def test_response_example_in_the_real_spec(
    workdir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """The issue's own example line, produced from the real spec."""
    doc = yaml.load(REAL_SPEC.read_text(encoding="utf-8"), Loader=LOADER)
    delete(EMAIL_200 + ("example", "ErrorCode"))(doc)
    set_(("paths", "/bounces", "get", "x-postmark-paging", "items"), "Bounce")(doc)
    write_spec(workdir, doc)
    code, out, _ = validate(capsys)  # SPEC is the default
    assert code == 1
    assert out == [
        f"{SPEC}: paths./email.post.responses.200 example: 'ErrorCode' is a required property",
        f"{SPEC}: paths./bounces.get.x-postmark-paging.items: 'Bounce' is not a field of the 200 response schema",
        f"2 problems in {SPEC}",
    ]


def test_real_spec_limit_mismatch(workdir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    doc = yaml.load(REAL_SPEC.read_text(encoding="utf-8"), Loader=LOADER)
    limits = doc["paths"]["/email/batch"]["post"]["x-postmark-limits"]
    index = next(i for i, limit in enumerate(limits) if limit["unit"] == "items")
    limits[index]["max"] = 1000
    write_spec(workdir, doc)
    code, out, _ = validate(capsys, SPEC)
    assert code == 1
    assert out[0] == (
        f"{SPEC}: paths./email/batch.post.x-postmark-limits.{index}: "
        "maxItems of the request body is 500, the limit says 1000"
    )


# -- unreadable specs: exit 2 ----------------------------------------------------------------------


def test_yaml_syntax_error_reports_line_and_column(
    workdir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    lines = MINI.read_text(encoding="utf-8").splitlines()
    broken = lines.index("      x-postmark-retry: unsafe")
    lines[broken] = "      x-postmark-retry: [unsafe"
    write_spec(workdir, "\n".join(lines) + "\n")
    code, out, err = validate(capsys, SPEC)
    assert (code, out) == (2, [])
    first = err.splitlines()[0]
    assert first.startswith(f"{SPEC}:{broken + 2}:")  # the parser notices at the next line
    assert "YAML syntax error" in first
    line, column = first.split(":")[1:3]
    assert line.isdigit() and column.isdigit()


def test_missing_file(workdir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = validate(capsys, "spec/nope.yaml")
    assert (code, out) == (2, [])
    assert err.splitlines()[0] == "spec/nope.yaml: cannot read file: No such file or directory"


@pytest.mark.parametrize(
    "text", ["- a\n- b\n", "just a string\n", ""], ids=["list", "string", "empty"]
)
def test_not_a_mapping(text: str, workdir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    write_spec(workdir, text)
    code, out, err = validate(capsys, SPEC)
    assert (code, out) == (2, [])
    assert err.splitlines()[0] == f"{SPEC}: the spec must be a YAML mapping at the top level"


# -- never a traceback -----------------------------------------------------------------------------

MALFORMED: list[tuple[str, Mutation]] = [
    ("paths-list", set_(("paths",), [])),
    ("paths-null", set_(("paths",), None)),
    ("operation-string", set_(EMAIL, "send")),
    ("path-item-ref-missing", set_(("paths", "/email"), {"$ref": "#/nowhere"})),
    ("components-list", set_(("components",), [])),
    ("schemas-list", set_(SCHEMAS, [])),
    ("schema-wrong-type", set_(SCHEMAS + ("SendEmailResponse", "type"), "objekt")),
    ("schema-required-string", set_(SCHEMAS + ("SendEmailResponse", "required"), "To")),
    ("tags-string", set_(("tags",), "Email")),
    ("tag-list-of-strings", set_(("tags",), ["Email"])),
    ("security-string", set_(EMAIL + ("security",), "serverToken")),
    ("parameters-dict", set_(SENDERS + ("parameters",), {"count": 1})),
    ("parameter-string", set_(SENDERS + ("parameters", 0), "count")),
    ("paging-list", set_(PAGING, ["count"])),
    (
        "paging-names-not-strings",
        set_(PAGING, {"count": [1], "offset": {}, "items": None, "total": 3}),
    ),
    ("limits-string", set_(LIMITS, "10 MB")),
    ("limits-entries-strings", set_(LIMITS, ["10 MB", None])),
    ("responses-list", set_(EMAIL + ("responses",), ["200"])),
    ("content-string", set_(EMAIL + ("responses", "200", "content"), "json")),
    ("webhooks-list", set_(("webhooks",), ["Delivery"])),
    ("webhook-post-string", set_(("webhooks", "Delivery", "post"), "x")),
    ("error-codes-dict", set_(("components", "x-postmark-error-codes"), {"10": "x"})),
    ("release-notes-string", set_(("x-postmark-release-notes",), "2025-06")),
    ("info-missing", delete(("info",))),
    ("ref-not-a-string", set_(EMAIL_BODY + ("schema",), {"$ref": 5})),
    (
        "ref-circular",
        set_(SCHEMAS + ("SendEmailResponse",), {"$ref": "#/components/schemas/SendEmailResponse"}),
    ),
    ("ref-into-list", set_(EMAIL_BODY + ("schema",), {"$ref": "#/tags/7"})),
    ("ref-remote", set_(EMAIL_BODY + ("schema",), {"$ref": "https://example.com/schema.json"})),
]


@pytest.mark.parametrize(("name", "mutation"), MALFORMED, ids=[m[0] for m in MALFORMED])
def test_malformed_spec_gives_problems_not_a_traceback(
    name: str, mutation: Mutation, workdir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    doc = mini()
    mutation(doc)
    write_spec(workdir, doc)
    code, out, err = validate(capsys, SPEC)
    assert code == 1
    assert out[-1].endswith(f" in {SPEC}") and out[-1].split()[1] in ("problem", "problems")
    assert all(line.startswith(f"{SPEC}: ") for line in out[:-1])
    assert "Traceback" not in "\n".join(out) + err
    assert not any("could not finish" in line for line in out), out


# -- the real command line ------------------------------------------------------------------------


def run_module(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    env = dict(os.environ, PYTHONPATH=str(REPO))
    return subprocess.run(
        [sys.executable, "-m", "generator", *args],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        check=False,
        timeout=120,
    )


def test_subprocess_reports_problem_and_exit_1(workdir: Path) -> None:
    doc = mini()
    set_(PAGING + ("max-count",), 100)(doc)
    write_spec(workdir, doc)
    result = run_module("validate", SPEC, cwd=workdir)
    assert result.returncode == 1
    assert result.stdout.splitlines() == [
        f"{SPEC}: paths./senders.get.x-postmark-paging.max-count: 100 differs from the maximum of parameter 'count' (500)",
        f"1 problem in {SPEC}",
    ]
    assert "Traceback" not in result.stderr


def test_subprocess_yaml_error_exit_2(workdir: Path) -> None:
    write_spec(workdir, "openapi: 3.1.0\ninfo: {title: x\npaths: {}\n")
    result = run_module("validate", cwd=workdir)
    assert result.returncode == 2
    assert result.stdout == ""
    assert result.stderr.startswith(f"{SPEC}:3:")
    assert "YAML syntax error" in result.stderr and "Traceback" not in result.stderr


def test_subprocess_missing_file_exit_2(workdir: Path) -> None:
    result = run_module("validate", "nowhere.yaml", cwd=workdir)
    assert result.returncode == 2
    assert "nowhere.yaml: cannot read file" in result.stderr and "Traceback" not in result.stderr


def test_help_lists_the_subcommands(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--help"]) == 0
    out = capsys.readouterr().out
    for name in ("validate", "generate", "check"):
        assert name in out


def test_unknown_subcommand_is_a_usage_error(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["frobnicate"]) == 2
    assert "invalid choice: 'frobnicate'" in capsys.readouterr().err


@pytest.mark.parametrize(
    ("command", "function"), [("generate", "main_generate"), ("check", "main_check")]
)
def test_generate_and_check_dispatch_to_the_pipeline(
    command: str, function: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    seen: list[Any] = []
    fake = types.ModuleType("generator.pipeline")
    setattr(fake, function, lambda args: seen.append((args.spec, args.out)) or 3)
    monkeypatch.setitem(sys.modules, "generator.pipeline", fake)
    assert main([command]) == 3
    assert main([command, "--spec", "other.yaml", "--out", "build/client"]) == 3
    # Not given: None, and the pipeline finds the project's spec and output folder.
    assert seen == [(None, None), ("other.yaml", "build/client")]


def test_a_broken_subcommand_module_does_not_break_validate(
    workdir: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    from generator import cli

    broken = cli.Subcommand.from_module(
        "broken", "generator.no_such_module", "a module that fails to import"
    )
    monkeypatch.setattr(cli, "SUBCOMMANDS", [*cli.SUBCOMMANDS, broken])
    write_spec(workdir, MINI.read_text(encoding="utf-8"))
    code, out, _ = validate(capsys, SPEC)
    assert code == 0 and out[-1].endswith(": OK")
    assert main(["--help"]) == 0 and "broken" in capsys.readouterr().out
    with pytest.raises(ModuleNotFoundError):
        main(["broken"])


def test_validate_does_not_import_the_pipeline(workdir: Path) -> None:
    """`validate` must keep working while the generator itself is broken."""
    write_spec(workdir, MINI.read_text(encoding="utf-8"))
    code = (
        "import sys; from generator.cli import main; rc = main(['validate']); "
        "sys.exit(10 + rc if 'generator.pipeline' in sys.modules else rc)"
    )
    env = dict(os.environ, PYTHONPATH=str(REPO))
    result = subprocess.run(
        [sys.executable, "-c", code],
        cwd=workdir,
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr
