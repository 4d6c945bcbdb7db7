"""(2) Per-call time of `email.send` and of a 500-item `messages.search_outbound` page.

Every contender is a warm client on its own keep-alive connection to the same loopback server;
rounds are interleaved and the figure is the median seconds per call. The ratio is against raw
httpx making the same request and decoding the body with json.loads, in the same run.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping

import clients
from harness import Results, Row, fmt_time, interleaved, median, spread

TARGETS = {
    ("sync", "send"): 1.05,
    ("async", "send"): 1 / 0.97,  # at least 0.97x raw httpx.AsyncClient's speed
    # A typed page costs no more than raw httpx + json.loads (msgspec decodes into the models).
    ("sync", "page"): 1.0,
    ("async", "page"): 1.0,
}
"""Ours / raw httpx (+ json.loads), per call, same run."""
OPERATIONS = {
    "send": ("email.send", 40),
    "page": ("messages.search_outbound, 500 items", 3),
}


def _build(
    factories: Mapping[str, Callable[[str], clients.Contender]],
    url: str,
    results: Results,
    mode: str,
) -> dict[str, clients.Contender]:
    built: dict[str, clients.Contender] = {}
    for key, factory in factories.items():
        try:
            built[key] = clients.build(factory, url)
        except clients.Unavailable as exc:
            results.note(f"calls ({mode}): {factory.__name__} not measured: {exc}")
    return built


def run(results: Results, *, url: str, rounds: int, budget: float) -> None:
    for mode, factories in (("sync", clients.SYNC), ("async", clients.ASYNC)):
        built = _build(factories, url, results, mode)
        try:
            if "raw" not in built:
                results.note(f"calls ({mode}): no raw httpx baseline, nothing to compare")
                continue
            for operation, (label, per_round) in OPERATIONS.items():
                _measure(results, built, mode, operation, label, per_round, rounds, budget)
        finally:
            for contender in built.values():
                contender.close()


def _measure(
    results: Results,
    built: dict[str, clients.Contender],
    mode: str,
    operation: str,
    label: str,
    per_round: int,
    rounds: int,
    budget: float,
) -> None:
    batches = {key: getattr(contender, operation) for key, contender in built.items()}
    samples = interleaved(batches, rounds=rounds, per_round=per_round, budget=budget)
    raw, raw_cpu = median(samples["raw"].wall), median(samples["raw"].cpu)
    section = f"{label} ({mode})"
    for key, contender in built.items():
        value, cpu = median(samples[key].wall), median(samples[key].cpu)
        cpu_note = f"client CPU {fmt_time(cpu)}/call = {cpu / raw_cpu:.2f}x raw's"
        results.add(
            Row(section, contender.name, value, "s/call", ratio=value / raw,
                target=TARGETS[mode, operation] if key == "ours" else None,
                note="; ".join(filter(None, [cpu_note, spread(samples[key].wall), contender.note])),
                samples=len(samples[key].wall))
        )  # fmt: skip
    summary = ", ".join(f"{key} {fmt_time(median(s.wall))}" for key, s in samples.items())
    print(f"  {section}: {summary}")
