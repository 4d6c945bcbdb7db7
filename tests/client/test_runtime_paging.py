"""Pages and auto-paging: across pages, at the total, and at Postmark's 10,000-result cap."""

from __future__ import annotations

import weakref
from typing import Any

import httpx
import pytest
from postmark_client.errors import UnreachableResultsError
from postmark_client.pagination import AsyncPage, SyncPage
from runtime_support import KINDS, LIST_BOUNCES, Bounce, BounceList, Harness

pytestmark = pytest.mark.parametrize("kind", KINDS)


class BounceStore:
    """A fake /bounces over `total` bounces, answering any count/offset like Postmark."""

    def __init__(self, total: int) -> None:
        self.total = total
        self.queries: list[tuple[int, int]] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        count = int(request.url.params["count"])
        offset = int(request.url.params["offset"])
        self.queries.append((count, offset))
        assert count + offset <= 10000, "the client never asks beyond the cap"
        stop = min(offset + count, self.total)
        page = [{"ID": i, "Email": f"user{i}@example.com"} for i in range(offset, stop)]
        return httpx.Response(200, json={"TotalCount": self.total, "Bounces": page})


def first_page(harness: Harness, **query: Any) -> Any:
    query.setdefault("count", 100)
    query.setdefault("offset", 0)
    return harness.request_page(LIST_BOUNCES, query=query, cast_to=BounceList.from_dict)


def test_a_page_has_items_total_offset_count_and_response(kind: str) -> None:
    store = BounceStore(250)
    page = first_page(Harness(kind, store), count=100, offset=0)
    assert isinstance(page, SyncPage if kind == "sync" else AsyncPage)
    assert [bounce.id for bounce in page.items] == list(range(100))
    assert isinstance(page.items[0], Bounce)
    assert (page.total_count, page.offset, page.count) == (250, 0, 100)
    assert isinstance(page.response, BounceList)
    assert page.has_next_page()
    assert "total_count=250" in repr(page)


def test_next_page_follows_the_filters(kind: str) -> None:
    store = BounceStore(250)
    harness = Harness(kind, store)
    page = first_page(harness, count=100, offset=0, type="HardBounce")
    second = harness.next_page(page)
    assert [bounce.id for bounce in second.items] == list(range(100, 200))
    third = harness.next_page(second)
    assert [bounce.id for bounce in third.items] == list(range(200, 250))
    assert not third.has_next_page()
    assert harness.next_page(third) is None
    assert store.queries == [(100, 0), (100, 100), (100, 200)]


def test_auto_paging_walks_to_the_total(kind: str) -> None:
    store = BounceStore(1234)
    harness = Harness(kind, store)
    page = first_page(harness, count=500)
    ids = [bounce.id for bounce in harness.collect(page.auto_paging_iter())]
    assert ids == list(range(1234))
    assert store.queries == [(500, 0), (500, 500), (500, 1000)]


def test_auto_paging_from_a_later_offset(kind: str) -> None:
    store = BounceStore(300)
    harness = Harness(kind, store)
    page = first_page(harness, count=100, offset=150)
    ids = [bounce.id for bounce in harness.collect(page.auto_paging_iter())]
    assert ids == list(range(150, 300))


def test_an_empty_result(kind: str) -> None:
    store = BounceStore(0)
    harness = Harness(kind, store)
    page = first_page(harness)
    assert harness.collect(page.auto_paging_iter()) == []
    assert not page.has_next_page()
    assert len(store.queries) == 1


def test_over_10000_yields_every_reachable_item_then_raises_naming_filters(kind: str) -> None:
    store = BounceStore(12345)
    harness = Harness(kind, store)
    page = first_page(harness, count=300)
    seen: list[int] = []
    with pytest.raises(UnreachableResultsError) as caught:
        harness.collect(page.auto_paging_iter(), each=lambda b: seen.append(b.id), keep=False)
    assert seen == list(range(10000))
    error = caught.value
    assert (error.total, error.reachable) == (12345, 10000)
    assert error.narrow_by == ("from_date", "to_date", "type")
    assert error.operation == "bounces.list"
    assert "from_date, to_date, type" in str(error)
    assert "12,345" in str(error) and "2,345" in str(error)
    # The last page shrinks so that count + offset lands exactly on the cap.
    assert store.queries[-1] == (100, 9900)
    assert max(count + offset for count, offset in store.queries) == 10000


def test_on_unreachable_stop_ends_quietly_at_the_cap(kind: str) -> None:
    store = BounceStore(20000)
    harness = Harness(kind, store)
    page = first_page(harness, count=500)
    items = harness.collect(page.auto_paging_iter(on_unreachable="stop"), keep=False)
    assert items == []  # nothing kept; the point is that no error was raised
    assert store.queries[-1] == (500, 9500)
    assert len(store.queries) == 20


def test_exactly_10000_results_is_no_error(kind: str) -> None:
    store = BounceStore(10000)
    harness = Harness(kind, store)
    count = 0

    def tally(_: Any) -> None:
        nonlocal count
        count += 1

    harness.collect(first_page(harness, count=500).auto_paging_iter(), each=tally, keep=False)
    assert count == 10000


def test_next_page_at_the_cap_raises_instead_of_returning_nothing(kind: str) -> None:
    store = BounceStore(10500)
    harness = Harness(kind, store)
    page = first_page(harness, count=500, offset=9500)
    assert not page.has_next_page()
    with pytest.raises(UnreachableResultsError):
        harness.next_page(page)


def test_unknown_mode_is_refused(kind: str) -> None:
    page = first_page(Harness(kind, BounceStore(1)))
    with pytest.raises(ValueError, match="on_unreachable"):
        page.auto_paging_iter(on_unreachable="truncate")


def test_auto_paging_holds_one_page_at_a_time(kind: str) -> None:
    """Walking 10,000 results keeps one page alive, not all of them (flat memory)."""
    store = BounceStore(10000)
    harness = Harness(kind, store)
    alive: list[weakref.ref[BounceList]] = []

    def parse(data: Any) -> BounceList:
        response = BounceList.from_dict(data)
        alive.append(weakref.ref(response))
        return response

    page = harness.request_page(LIST_BOUNCES, query={"count": 500, "offset": 0}, cast_to=parse)
    iterator = page.auto_paging_iter()
    del page  # from here on only the iterator holds a page
    most = 0

    def check(_: Any) -> None:
        nonlocal most
        most = max(most, sum(1 for ref in alive if ref() is not None))

    harness.collect(iterator, each=check, keep=False)
    assert len(alive) == 20
    assert most == 1
