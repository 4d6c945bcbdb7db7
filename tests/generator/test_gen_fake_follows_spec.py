"""The fake Postmark answers in the spec's shapes: a field a spec edit adds to an answer is
answered after regenerating, with no change to the fake."""

from __future__ import annotations

import importlib
from pathlib import Path

from gen_support import import_generated
from test_gen_fake_coverage import real, write

from generator.pipeline import generate


def test_a_field_added_to_the_send_answer_is_answered_after_regenerating(tmp_path: Path) -> None:
    doc = real()
    answer = doc["components"]["schemas"]["SendEmailResponse"]
    answer["properties"]["Tag"] = {"type": "string", "description": "The message's tag."}
    spec = write(doc, tmp_path / "spec" / "postmark.yaml")
    out = tmp_path / "generated"
    assert generate(spec, out) == 0
    package = import_generated(out, "postmark_client_send_tag")
    testing = importlib.import_module("postmark_client_send_tag.testing")

    fake = testing.FakePostmark()
    with package.ServerClient(fake.server_token, transport=fake.transport()) as client:
        sent = client.email.send(
            from_="a@example.com", to="b@example.com", subject="Hi", text_body="Hi", tag="welcome"
        )
        untagged = client.email.send(
            from_="a@example.com", to="b@example.com", subject="Hi", text_body="Hi"
        )
    assert sent.tag == "welcome"
    assert untagged.tag is None and sent.error_code == 0
