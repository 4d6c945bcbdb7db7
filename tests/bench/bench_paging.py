"""(4) Paging 10,000 messages with auto_paging_iter in flat memory.

tracemalloc measures two things in one process: the memory one typed 500-item page holds, and
the peak while iterating all 10,000 items over 20 pages (items are counted, not kept, as a
streaming consumer would). The peak is recorded for every page window, so growth shows up as
later windows peaking above earlier ones: flat means the last windows stay within FLAT of the
early ones, and the overall peak stays a small multiple of one page (the page being read plus
the next one being parsed), whatever the number of pages: at most PEAK_LIMIT.
"""

from __future__ import annotations

import gc
import time
import tracemalloc

from clients import TOKEN
from harness import Results, Row, fmt_bytes, fmt_time

PAGE = 500
TOTAL = 10_000
FLAT = 1.2
PEAK_LIMIT = 3 * 1024 * 1024
"""Bytes: the peak while paging through all 10,000 results."""


def run(results: Results, *, url: str) -> None:
    try:
        from postmark_client import ServerClient
    except ImportError as exc:
        results.note(f"paging: not measured: {exc}")
        return
    with ServerClient(token=TOKEN, base_url=url) as client:
        client.messages.search_outbound(count=PAGE, offset=0)  # warm: connection, caches
        gc.collect()
        tracemalloc.start()
        try:
            one_page, windows, seen, elapsed, leftover = _measure(client)
        finally:
            tracemalloc.stop()
    if seen != TOTAL:
        results.note(f"paging: auto_paging_iter yielded {seen} items, expected {TOTAL}")
    if len(windows) < 4:
        results.note(f"paging: only {len(windows)} full pages, too few to judge growth")
        return
    peak = max(windows)
    early, late = max(windows[1:3]), max(windows[-2:])
    results.add(Row("paging 10,000", "one typed 500-item page (held)", one_page, "B"))
    results.add(
        Row("paging 10,000", f"peak while iterating {seen} items / {len(windows)} pages", peak, "B",
            ratio=peak / one_page, limit=PEAK_LIMIT,
            note=f"ratio: peak / one page; took {fmt_time(elapsed)}; "
            f"{fmt_bytes(leftover)} still allocated after the loop")
    )  # fmt: skip
    results.add(
        Row("paging 10,000", "growth: peak of the last 2 pages / pages 2-3", late / early, "x",
            ratio=late / early, target=FLAT, note=f"{fmt_bytes(late)} vs {fmt_bytes(early)}")
    )  # fmt: skip
    print(
        f"  paging: one page {fmt_bytes(one_page)}, peak {fmt_bytes(peak)}, growth {late / early:.2f}"
    )


def _measure(client: object) -> tuple[int, list[int], int, float, int]:
    """One page's held size, the peak of every page window, items seen, seconds, leftover bytes."""
    messages = client.messages  # type: ignore[attr-defined]
    base, _ = tracemalloc.get_traced_memory()
    page = messages.search_outbound(count=PAGE, offset=0)
    one_page = tracemalloc.get_traced_memory()[0] - base
    del page
    gc.collect()
    base, _ = tracemalloc.get_traced_memory()
    tracemalloc.reset_peak()
    windows: list[int] = []
    seen = 0
    start = time.perf_counter()
    for _item in messages.search_outbound(count=PAGE, offset=0).auto_paging_iter():
        seen += 1
        if seen % PAGE == 0:  # the last item of a page: the window closes before the next fetch
            windows.append(tracemalloc.get_traced_memory()[1] - base)
            tracemalloc.reset_peak()
        if seen > TOTAL:
            break
    elapsed = time.perf_counter() - start
    _item = None
    gc.collect()
    leftover = tracemalloc.get_traced_memory()[0] - base
    return one_page, windows, seen, elapsed, leftover
