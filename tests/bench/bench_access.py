"""(5) What an agent's access costs: `email.send` against the in-process fake Postmark, with and
without an access object (policy check + audit row written before and completed after), and
with a send quota counted on a log that already holds a busy hour's sends.

Both contenders are `ServerClient`s on `FakePostmark().transport()` (no network, so the figure
is the client's and the fake's work only, the hardest case for the check's share). The audit log
is a fresh SQLite file in a temporary folder. Target: at most 1.10x the send without access.
"""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import TYPE_CHECKING

from harness import Results, Row, fmt_time, interleaved, median, spread

if TYPE_CHECKING:
    from postmark_client.access import Policy

TARGET = 1.10
PER_ROUND = 40
POLICY = """\
audit = "audit.sqlite"

[agents.mailer]
email = "full"
recipients = ["*@example.com"]

[agents.counted]
email = "full"
recipients = ["*@example.com"]
sends_per_hour = 1000000
sends_per_day = 10000000
"""
BUSY_HOUR = 3000
"""Sends already in the quota's window when timing starts (about one a second for an hour)."""
MESSAGE = {
    "from_": "sender@example.com",
    "to": "jane@example.com",
    "subject": "Hello",
    "text_body": "Hello",
}


def run(results: Results, *, rounds: int, budget: float) -> None:
    from postmark_client import ServerClient
    from postmark_client.access import Policy
    from postmark_client.testing import FakePostmark

    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "agents.toml"
        path.write_text(POLICY, encoding="utf-8")
        policy = Policy.load(path)
        fake = FakePostmark()
        plain = ServerClient(fake.server_token, transport=fake.transport())
        checked = ServerClient(
            fake.server_token, transport=fake.transport(), access=policy.access("mailer")
        )
        plain.email.send(**MESSAGE)
        counted = ServerClient(
            fake.server_token, transport=fake.transport(), access=policy.access("counted")
        )
        checked.email.send(**MESSAGE)  # creates the log; each checked to work before timing
        _fill(policy, BUSY_HOUR)
        counted.email.send(**MESSAGE)
        fake.calls.clear()

        def batch(client: ServerClient) -> object:
            def send(n: int) -> None:
                for _ in range(n):
                    client.email.send(**MESSAGE)
                fake.calls.clear()

            return send

        samples = interleaved(
            {"plain": batch(plain), "checked": batch(checked), "counted": batch(counted)},
            rounds=rounds,
            per_round=PER_ROUND,
            budget=budget,
        )
        rows = len(policy.log.entries()) if policy.log is not None else 0
        for client in (plain, checked, counted):
            client.close()
        if policy.log is not None:
            policy.log.close()
    base, base_cpu = median(samples["plain"].wall), median(samples["plain"].cpu)
    section = "email.send, in-process fake (sync)"
    contenders = (
        ("plain", "no access object"),
        ("checked", "agent access + audit row"),
        ("counted", f"the same with a send quota ({BUSY_HOUR} sends in its hour)"),
    )
    for key, name in contenders:
        value, cpu = median(samples[key].wall), median(samples[key].cpu)
        cpu_note = f"client CPU {fmt_time(cpu)}/call = {cpu / base_cpu:.2f}x"
        results.add(
            Row(section, name, value, "s/call", ratio=value / base,
                target=None if key == "plain" else TARGET,
                note="; ".join(filter(None, [cpu_note, spread(samples[key].wall)])),
                samples=len(samples[key].wall))
        )  # fmt: skip
    results.note(f"access: {rows} audit rows written during the run")
    print(
        f"  {section}: plain {fmt_time(base)}, checked {fmt_time(median(samples['checked'].wall))}"
    )


def _fill(policy: Policy, sends: int) -> None:
    """Write `sends` allowed sends of the quota's agent into the log, as its calls would."""
    from postmark_client._operations import OPERATIONS

    access = policy.access("counted")
    op = OPERATIONS["send_email"]
    data = {"From": "sender@example.com", "To": "jane@example.com"}
    for _ in range(sends):
        access.begin(op, data, None, None, "server token x").done(None, None)
