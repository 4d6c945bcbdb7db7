"""`postmark email send` against a fake that fails 30% of requests never leaves a message as
"may have been sent", and `messages search-outbound --metadata KEY=VALUE` finds it by a field.

The runs are in-process (`cli.main`) against the fake served over HTTP, with the client's
waits recorded instead of slept.
"""

from __future__ import annotations

import json
from collections import Counter

import pytest
from cli_support import SERVER_TOKEN
from postmark_client import cli
from postmark_client.testing import FakePostmark

TRIES = 200


@pytest.fixture
def faulty(monkeypatch: pytest.MonkeyPatch) -> FakePostmark:
    """A fake answering 30% of requests with a fault, as `postmark-fake --fault-rate 0.3`."""
    waits: list[float] = []
    monkeypatch.setattr("time.sleep", waits.append)
    fake = FakePostmark(server_token=SERVER_TOKEN)
    fake.faults.configure(rate=0.3, seed=18)
    monkeypatch.setenv("POSTMARK_SERVER_TOKEN", SERVER_TOKEN)
    return fake


def test_email_send_never_says_may_have_been_sent_at_a_30_percent_fault_rate(
    faulty: FakePostmark, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    codes: Counter[int] = Counter()
    outputs: list[str] = []
    with faulty.serve() as server:
        monkeypatch.setenv("POSTMARK_API_URL", server.url)
        for index in range(TRIES):
            codes[cli.main(["email", "send", "--from", "sender@example.com", "--to",
                            f"u{index}@example.com", "--subject", str(index),
                            "--text-body", "x"])] += 1  # fmt: skip
            captured = capsys.readouterr()
            outputs.append(captured.out + captured.err)
    printed = "\n".join(outputs)
    assert "may have been sent" not in printed and "may or may not" not in printed
    stored = Counter(m["Subject"] for m in faulty.messages())
    assert [s for s, n in stored.items() if n != 1] == []
    # Beyond the client's 2 retries a 429/503 is an error the CLI reports (nothing was sent).
    assert len(stored) == codes[0] and codes[0] + codes[1] == TRIES
    assert faulty.faults.after_stored > 0  # some sends were reconciled after a stored 500


def test_search_outbound_takes_metadata_as_key_value(
    faulty: FakePostmark, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    faulty.faults.disable()
    with faulty.serve() as server:
        monkeypatch.setenv("POSTMARK_API_URL", server.url)
        for order in ("42", "43"):
            assert cli.main(["email", "send", "--from", "sender@example.com", "--to",
                             "jane@example.com", "--text-body", "x", "--metadata",
                             json.dumps({"order": order})]) == 0  # fmt: skip
        capsys.readouterr()
        assert cli.main(["messages", "search-outbound", "--metadata", "order=42",
                         "--compact"]) == 0  # fmt: skip
        found = json.loads(capsys.readouterr().out)
        assert [m["Metadata"]["order"] for m in found["Messages"]] == ["42"]
        with pytest.raises(SystemExit) as exited:
            cli.main(["messages", "search-outbound", "--metadata", "order"])
        assert exited.value.code == 2
        assert "expected KEY=VALUE" in capsys.readouterr().err
