# Copied by postmark-codegen from templates/static/postmark_client/pagination.py;
# edit it there and regenerate, not here.
"""Pages of count/offset lists, and one auto-paging iterator for all of them.

Postmark pages every list and search with `count` and `offset`, reports the number of matches
as a total, and serves at most the first 10,000 matches of one search (count + offset may not
exceed it). A page knows its operation and filters, so it can fetch the next one; the
iterators walk page by page, holding one page at a time, and stop at the total or at the cap.
At the cap they do not truncate silently: by default they raise UnreachableResultsError after
the last reachable item, naming the filters that narrow the search.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Iterator, Mapping
from typing import TYPE_CHECKING, Any, Generic, Literal, NotRequired, TypedDict, TypeVar

from ._meta import Operation, Paging
from .errors import UnreachableResultsError

if TYPE_CHECKING:
    from ._base_client import AsyncAPIClient, SyncAPIClient

__all__ = ["AsyncPage", "OnUnreachable", "PageCall", "SyncPage"]

T = TypeVar("T")

OnUnreachable = Literal["raise", "stop"]
"""What auto-paging does when a search matched more than Postmark lets it reach:
`raise` (the default) raises UnreachableResultsError after yielding every reachable item;
`stop` ends quietly after the last reachable item (check `total_count` yourself)."""

_MODES = ("raise", "stop")


class PageCall(TypedDict):
    """The keyword arguments of a client's `request_page`: which page of a list to fetch."""

    path: NotRequired[Mapping[str, Any] | None]
    query: Mapping[str, Any]
    cast_to: Callable[[Any], Any]


class _PageBase(Generic[T]):
    """What sync and async pages share: the numbers, and where the next page starts."""

    __slots__ = (
        "__weakref__",
        "_call",
        "_op",
        "_paging",
        "count",
        "items",
        "offset",
        "response",
        "total_count",
    )

    def __init__(
        self,
        *,
        op: Operation,
        paging: Paging,
        path: Mapping[str, Any] | None,
        query: Mapping[str, Any],
        cast_to: Callable[[Any], Any],
        response: Any,
        items: list[T],
        total_count: int,
    ) -> None:
        self.items = items
        """The items of this page."""
        self.total_count = total_count
        """How many results the whole search matched (may exceed what paging can reach)."""
        self.offset: int = query[paging.offset]
        self.count: int = query[paging.count]
        self.response = response
        """The full typed response this page was read from."""
        self._op = op
        self._paging = paging
        self._call: PageCall = {"path": path, "query": query, "cast_to": cast_to}
        """This page's call; the next page's differs only in its query."""

    @property
    def reachable(self) -> int:
        """How many results count/offset paging can reach at most (10,000 for searches)."""
        return self._paging.max_reachable

    def has_next_page(self) -> bool:
        """True when another page exists and is reachable."""
        start = self._next_offset()
        return bool(self.items) and start < min(self.total_count, self.reachable)

    def unreachable_error(self) -> UnreachableResultsError | None:
        """The error to raise when this is the last reachable page but more results exist."""
        if self.has_next_page() or not self.items:
            return None
        if self.total_count <= self.reachable or self._next_offset() < self.reachable:
            return None
        return UnreachableResultsError(
            f"{self._op.group}.{self._op.name}",
            self.total_count,
            self.reachable,
            narrowing_filters(self._op, self._paging),
        )

    def _next_offset(self) -> int:
        return self.offset + len(self.items)

    def _following(self) -> PageCall | None:
        """The call of the next page; None after the last one (raises UnreachableResultsError
        when more results exist than paging can reach)."""
        if self.has_next_page():
            return {**self._call, "query": self._next_query()}
        error = self.unreachable_error()
        if error is not None:
            raise error
        return None

    def _end_walk(self, on_unreachable: str) -> None:
        """After the last page of a walk: what OnUnreachable says to do at the cap."""
        error = self.unreachable_error()
        if error is not None and on_unreachable == "raise":
            raise error

    def _next_query(self) -> dict[str, Any]:
        """The same filters one page further; the last page shrinks to stay within the cap."""
        start = self._next_offset()
        query = dict(self._call["query"])
        query[self._paging.offset] = start
        query[self._paging.count] = min(self.count, self.reachable - start)
        return query

    def __repr__(self) -> str:
        return (
            f"{type(self).__name__}(operation={self._op.id!r}, offset={self.offset}, "
            f"count={self.count}, items={len(self.items)}, total_count={self.total_count})"
        )


def narrowing_filters(op: Operation, paging: Paging) -> tuple[str, ...]:
    """The filters that narrow a search, by the names callers use (`from_date`, not
    `fromdate`): what an error about the 10,000-result cap tells the caller to use."""
    python = {param.wire: param.python for param in op.query_params}
    return tuple(python.get(name, name) for name in paging.narrow_by)


def _check_mode(on_unreachable: str) -> None:
    if on_unreachable not in _MODES:
        raise ValueError(f"on_unreachable must be 'raise' or 'stop', not {on_unreachable!r}")


class SyncPage(_PageBase[T]):
    """One page of a list or search, with the way to the next."""

    __slots__ = ("_client",)

    def __init__(self, *, client: SyncAPIClient, **fields: Any) -> None:
        super().__init__(**fields)
        self._client = client

    def next_page(self) -> SyncPage[T] | None:
        """Fetch the next page; None after the last one.

        Raises UnreachableResultsError when more results exist than paging can reach.
        """
        following = self._following()
        if following is None:
            return None
        page: SyncPage[T] = self._client.request_page(self._op, **following)
        return page

    def auto_paging_iter(self, *, on_unreachable: OnUnreachable = "raise") -> Iterator[T]:
        """Every item from this page on, fetching pages as needed, one page in memory at a time.

        See OnUnreachable for what happens at Postmark's 10,000-result cap.
        """
        _check_mode(on_unreachable)
        return _walk(self, on_unreachable)


def _walk(page: SyncPage[T], on_unreachable: str) -> Iterator[T]:
    # A function, not a method, so that the frame holds only the current page.
    while True:
        yield from page.items
        following = page.next_page() if page.has_next_page() else None
        if following is None:
            break
        page = following
    page._end_walk(on_unreachable)


class AsyncPage(_PageBase[T]):
    """One page of a list or search, with the way to the next (async client)."""

    __slots__ = ("_client",)

    def __init__(self, *, client: AsyncAPIClient, **fields: Any) -> None:
        super().__init__(**fields)
        self._client = client

    async def next_page(self) -> AsyncPage[T] | None:
        """Await the next page, as SyncPage.next_page fetches it."""
        following = self._following()
        if following is None:
            return None
        page: AsyncPage[T] = await self._client.request_page(self._op, **following)
        return page

    def auto_paging_iter(self, *, on_unreachable: OnUnreachable = "raise") -> AsyncIterator[T]:
        """Every item from this page on (`async for`), one page in memory at a time.

        See OnUnreachable for what happens at Postmark's 10,000-result cap.
        """
        _check_mode(on_unreachable)
        return _walk_async(self, on_unreachable)


async def _walk_async(page: AsyncPage[T], on_unreachable: str) -> AsyncIterator[T]:
    while True:
        for item in page.items:
            yield item
        following = await page.next_page() if page.has_next_page() else None
        if following is None:
            break
        page = following
    page._end_walk(on_unreachable)
