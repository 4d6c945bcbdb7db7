"""(6) What `postmark-gateway` adds: a send through it vs straight to the same loopback server.

- latency: `POST /email` by raw `httpx.Client`, one call at a time, interleaved rounds of direct
  and through a one-worker gateway; the added median and the added p99 of the per-call times;
- throughput: 20 concurrent `httpx.AsyncClient` senders, direct vs a gateway with `--workers 2`;
- a 10 MB message dump streamed through the gateway: the growth of the gateway's peak resident
  memory (VmHWM) over its size before the dump, against the body's size.

Every gateway is a separate process with a real policy (one agent key) and a SQLite audit log
in a temporary folder, so each call includes the check and its audit row.
"""

from __future__ import annotations

import asyncio
import hashlib
import os
import select
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import canned
import httpx
from harness import Results, Row, bench_env, fmt_bytes, fmt_time

KEY = "bench-agent-key-0001"
ADDED_MEDIAN_LIMIT = 1e-3
ADDED_P99_LIMIT = 5e-3
PG_ADDED_MEDIAN_LIMIT = 1.5e-3
THROUGHPUT_SHARE = 0.70
CONCURRENCY = 20
DUMP_BYTES = 10 * 1024 * 1024
MEMORY_FACTOR = 3.0
POLICY = f"""\
audit = "audit.sqlite"

[agents.mailer]
email = "full"
messages = "read"
key_sha256 = "{hashlib.sha256(KEY.encode()).hexdigest()}"
"""


@contextmanager
def gateway(
    upstream: str, folder: Path, workers: int = 1, store: str | None = None
) -> Iterator[tuple[str, int]]:
    """A `postmark-gateway` process in front of `upstream` (its audit log in `store` when
    given): its URL and pid."""
    policy = folder / f"agents-{workers}.toml"
    policy.write_text(POLICY, encoding="utf-8")
    command = [sys.executable, "-m", "postmark_client.gateway._command", "--policy", str(policy)]
    env = bench_env(POSTMARK_API_URL=upstream, POSTMARK_SERVER_TOKEN="bench-server-token")
    process = subprocess.Popen(
        [*command, "--port", "0", "--workers", str(workers), "--no-mcp"]
        + (["--store", store] if store else []),
        env=env,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert process.stderr is not None
        ready, _, _ = select.select([process.stderr], [], [], 60)
        line = process.stderr.readline() if ready else ""
        if "listening on " not in line:
            raise RuntimeError(f"postmark-gateway did not start (said {line!r})")
        yield line.split("listening on ", 1)[1].split()[0], process.pid
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=10)


def _sender(base: str) -> Any:
    client = httpx.Client(base_url=base, headers={"X-Postmark-Server-Token": KEY})
    body = canned.send_request()

    def send() -> float:
        start = time.perf_counter()
        answer = client.post("/email", json=body)
        elapsed = time.perf_counter() - start
        if answer.status_code != 200:
            raise RuntimeError(f"POST {base}/email answered {answer.status_code}: {answer.text}")
        return elapsed

    send.close = client.close  # type: ignore[attr-defined]
    return send


def _p99(values: list[float]) -> float:
    return statistics.quantiles(values, n=100)[98]


def _latency(
    results: Results,
    direct: str,
    through: str,
    rounds: int,
    budget: float,
    store: str = "SQLite",
    limit: float = ADDED_MEDIAN_LIMIT,
) -> None:
    senders = {"direct": _sender(direct), "gateway": _sender(through)}
    times: dict[str, list[float]] = {name: [] for name in senders}
    for send in senders.values():
        for _ in range(20):  # connections open, code warm
            send()
    deadline = time.monotonic() + budget
    for round_no in range(rounds):
        if round_no >= 3 and time.monotonic() > deadline:
            break
        order = list(senders)[round_no % 2 :] + list(senders)[: round_no % 2]
        for name in order:
            times[name].extend(senders[name]() for _ in range(50))
    for send in senders.values():
        send.close()
    section = f"gateway: email.send latency (raw httpx, one at a time; {store} audit log)"
    medians = {name: statistics.median(values) for name, values in times.items()}
    p99s = {name: _p99(values) for name, values in times.items()}
    results.add(
        Row(
            section,
            "direct to the loopback server",
            medians["direct"],
            "s/call",
            note=f"p99 {fmt_time(p99s['direct'])}",
            samples=len(times["direct"]),
        )
    )
    results.add(
        Row(
            section,
            "added median through the gateway",
            medians["gateway"] - medians["direct"],
            "s/call",
            limit=limit,
            note=f"through: median {fmt_time(medians['gateway'])}",
            samples=len(times["gateway"]),
        )
    )
    results.add(Row(section, "added p99 through the gateway", p99s["gateway"] - p99s["direct"],
                    "s/call", limit=ADDED_P99_LIMIT, note=f"through: p99 {fmt_time(p99s['gateway'])}",
                    samples=len(times["gateway"])))  # fmt: skip
    print(
        f"  latency: direct {fmt_time(medians['direct'])}, through {fmt_time(medians['gateway'])}"
        f" (p99 {fmt_time(p99s['direct'])} / {fmt_time(p99s['gateway'])})"
    )


async def _throughput_of(base: str, sends: int) -> float:
    body = canned.send_request()
    limits = httpx.Limits(max_connections=CONCURRENCY, max_keepalive_connections=CONCURRENCY)
    async with httpx.AsyncClient(
        base_url=base, headers={"X-Postmark-Server-Token": KEY}, limits=limits, timeout=60
    ) as client:
        queue = iter(range(sends))

        async def worker() -> None:
            for _ in queue:
                answer = await client.post("/email", json=body)
                if answer.status_code != 200:
                    raise RuntimeError(f"{base}/email answered {answer.status_code}")

        await asyncio.gather(*(worker() for _ in range(CONCURRENCY)))  # warm
        queue = iter(range(sends))
        start = time.perf_counter()
        await asyncio.gather(*(worker() for _ in range(CONCURRENCY)))
        return sends / (time.perf_counter() - start)


def _throughput(results: Results, direct: str, through: str, sends: int) -> None:
    rates = {"direct": [], "gateway": []}  # type: dict[str, list[float]]
    for _ in range(3):
        for name, base in (("direct", direct), ("gateway", through)):
            rates[name].append(asyncio.run(_throughput_of(base, sends)))
    direct_rate = statistics.median(rates["direct"])
    through_rate = statistics.median(rates["gateway"])
    share = through_rate / direct_rate
    section = f"gateway: throughput, {CONCURRENCY} concurrent senders"
    results.add(
        Row(
            section,
            "direct to the loopback server",
            1 / direct_rate,
            "s/call",
            note=f"{direct_rate:.0f} calls/s",
            samples=3,
        )
    )
    results.add(Row(section, "through the gateway, --workers 2", 1 / through_rate, "s/call",
                    passed=share >= THROUGHPUT_SHARE, wanted=f">= {THROUGHPUT_SHARE:.0%} of direct",
                    note=f"{through_rate:.0f} calls/s = {share:.0%} of direct", samples=3))  # fmt: skip
    print(f"  throughput: direct {direct_rate:.0f}/s, through {through_rate:.0f}/s ({share:.0%})")


class _DumpServer:
    """Answers any GET with a JSON body of DUMP_BYTES (a message dump), on loopback."""

    def __init__(self) -> None:
        body = b'{"Body": "' + b"x" * (DUMP_BYTES - 12) + b'"}'

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_GET(self) -> None:
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                view = memoryview(body)
                for start in range(0, len(body), 1 << 16):
                    self.wfile.write(view[start : start + (1 << 16)])

            def do_POST(self) -> None:
                self.rfile.read(int(self.headers.get("Content-Length") or 0))
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", "2")
                self.end_headers()
                self.wfile.write(b"{}")

            def log_message(self, format: str, *args: Any) -> None:
                pass

        self.body_size = len(body)
        self._httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self._httpd.server_address[1]}"
        threading.Thread(target=self._httpd.serve_forever, daemon=True).start()

    def close(self) -> None:
        self._httpd.shutdown()
        self._httpd.server_close()


def _memory(pid: int, field: str) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1]) * 1024
    raise RuntimeError(f"/proc/{pid}/status has no {field}")


def _dump(results: Results, folder: Path) -> None:
    upstream = _DumpServer()
    try:
        with gateway(upstream.url, folder) as (url, pid):
            headers = {"X-Postmark-Server-Token": KEY}
            for _ in range(5):  # the code a call runs, loaded and warm
                httpx.post(url + "/email", json=canned.send_request(), headers=headers)
            before = _memory(pid, "VmHWM")
            received = 0
            with httpx.stream(
                "GET", url + "/messages/outbound/abc/dump", headers=headers, timeout=60
            ) as answer:
                for chunk in answer.iter_raw():
                    received += len(chunk)
            peak = _memory(pid, "VmHWM")
    finally:
        upstream.close()
    if received != upstream.body_size:
        raise RuntimeError(f"the dump arrived with {received} of {upstream.body_size} bytes")
    growth = max(peak - before, 0)
    results.add(
        Row("gateway: 10 MB message dump, streamed", "growth of the gateway's peak RSS",
            growth, "B", limit=MEMORY_FACTOR * upstream.body_size,
            note=f"{growth / upstream.body_size:.2f}x the body ({fmt_bytes(upstream.body_size)}); "
                 f"peak RSS {fmt_bytes(peak)}", samples=1)
    )  # fmt: skip
    print(f"  dump: peak RSS grew {fmt_bytes(growth)} for a {fmt_bytes(upstream.body_size)} body")


def _with_postgres(results: Results, direct: str, folder: Path, rounds: int, budget: float) -> None:
    """The latency rows again with the audit log in a real PostgreSQL (the tests' server)."""
    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "gateway"))
    try:
        from gateway_postgres import PostgresServer

        server = PostgresServer()
    except Exception as exc:  # noqa: BLE001 - the other figures still get printed
        results.note(f"gateway with PostgreSQL: not measured: {type(exc).__name__}: {exc}")
        return
    try:
        with gateway(direct, folder, store=server.database()) as (url, _):
            _latency(results, direct, url, rounds, budget, "PostgreSQL", PG_ADDED_MEDIAN_LIMIT)
    finally:
        server.close()


def run(results: Results, direct: str, *, rounds: int, budget: float, sends: int) -> None:
    if not sys.platform.startswith("linux"):
        results.note("gateway: not measured (needs /proc for memory)")
        return
    with tempfile.TemporaryDirectory() as name:
        folder = Path(name)
        with gateway(direct, folder) as (url, _):
            _latency(results, direct, url, rounds, budget)
        with gateway(direct, folder, workers=2) as (url, _):
            _throughput(results, direct, url, sends)
        _dump(results, folder)
        _with_postgres(results, direct, folder, rounds, budget)
    results.note(f"gateway: measured with {os.cpu_count()} cores shared by client, gateway, server")
