"""(5) What an agent's access costs: `email.send` against the in-process fake Postmark, with and
without an access object (policy check + audit row written before and completed after).

Both contenders are `ServerClient`s on `FakePostmark().transport()` (no network, so the figure
is the client's and the fake's work only, the hardest case for the check's share). The audit log
is a fresh SQLite file in a temporary folder. Target: at most 1.10x the send without access.
"""

from __future__ import annotations

import tempfile
from pathlib import Path

from harness import Results, Row, fmt_time, interleaved, median, spread

TARGET = 1.10
PER_ROUND = 40
POLICY = """\
audit = "audit.sqlite"

[agents.mailer]
email = "full"
recipients = ["*@example.com"]
"""
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
        checked.email.send(**MESSAGE)  # creates the log; both checked to work before timing

        def batch(client: ServerClient) -> object:
            def send(n: int) -> None:
                for _ in range(n):
                    client.email.send(**MESSAGE)
                fake.calls.clear()

            return send

        samples = interleaved(
            {"plain": batch(plain), "checked": batch(checked)},
            rounds=rounds,
            per_round=PER_ROUND,
            budget=budget,
        )
        rows = len(policy.log.entries()) if policy.log is not None else 0
        plain.close()
        checked.close()
        if policy.log is not None:
            policy.log.close()
    base, base_cpu = median(samples["plain"].wall), median(samples["plain"].cpu)
    section = "email.send, in-process fake (sync)"
    for key, name in (("plain", "no access object"), ("checked", "agent access + audit row")):
        value, cpu = median(samples[key].wall), median(samples[key].cpu)
        cpu_note = f"client CPU {fmt_time(cpu)}/call = {cpu / base_cpu:.2f}x"
        results.add(
            Row(section, name, value, "s/call", ratio=value / base,
                target=TARGET if key == "checked" else None,
                note="; ".join(filter(None, [cpu_note, spread(samples[key].wall)])),
                samples=len(samples[key].wall))
        )  # fmt: skip
    results.note(f"access: {rows} audit rows written during the run")
    print(
        f"  {section}: plain {fmt_time(base)}, checked {fmt_time(median(samples['checked'].wall))}"
    )
