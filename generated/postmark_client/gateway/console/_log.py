# Copied by postmark-codegen from templates/static/postmark_client/gateway/console/_log.py;
# edit it there and regenerate, not here.
"""The audit log as the console reads it: filters from a query, newest first, exports."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Final
from urllib.parse import urlencode

from ..._audit import AuditEntry, dumps
from ..._store import AuditStore

__all__ = ["PAGE_ROWS", "FilterError", "LogQuery", "to_csv", "to_jsonl"]

PAGE_ROWS: Final = 200
"""The newest rows a log page shows (exports hold every row the filters match)."""
_KEYS: Final = ("agent", "area", "decision", "since", "until")
# A spreadsheet runs a cell starting with one of these as a formula.
_FORMULA: Final = ("=", "+", "-", "@", "\t", "\r")


class FilterError(ValueError):
    """A filter value that cannot be read (named in the message)."""


def _stamp(name: str, text: str) -> float | None:
    if not text:
        return None
    try:
        moment = datetime.fromisoformat(text.removesuffix("Z"))
    except ValueError:
        raise FilterError(f"{name}: {text!r} is not a date and time (YYYY-MM-DDTHH:MM)") from None
    return moment.replace(tzinfo=moment.tzinfo or UTC).timestamp()


@dataclass(frozen=True)
class LogQuery:
    """The log's filters: agent, area (group), decision, and a time range (UTC)."""

    values: Mapping[str, str]

    @classmethod
    def of(cls, query: Mapping[str, str]) -> LogQuery:
        found = cls({key: query.get(key, "").strip() for key in _KEYS})
        found.bounds()
        return found

    def bounds(self) -> tuple[float | None, float | None]:
        return _stamp("since", self.values["since"]), _stamp("until", self.values["until"])

    def text(self) -> str:
        """The filters as a query string (`?agent=...`), empty when there are none."""
        given = {k: v for k, v in self.values.items() if v}
        return f"?{urlencode(given)}" if given else ""

    def entries(self, log: AuditStore | None, after_id: int = 0) -> list[AuditEntry]:
        """Matching rows in the order written."""
        if log is None:
            return []
        since, until = self.bounds()
        values = self.values
        found = log.entries(
            agent=values["agent"] or None,
            since=since,
            denied=values["decision"] in ("denied", "invalid"),
            after_id=after_id,
        )
        return [
            entry
            for entry in found
            if (not values["area"] or entry.group == values["area"])
            and (not values["decision"] or entry.decision == values["decision"])
            and (until is None or entry.ts <= until)
        ]


def _cell(value: Any) -> str:
    text = (
        ", ".join(map(str, value))
        if isinstance(value, list)
        else "" if value is None else str(value)
    )
    return f"'{text}" if text.startswith(_FORMULA) else text


def to_csv(entries: Sequence[AuditEntry]) -> bytes:
    """The rows as CSV, one header line of the JSON field names (formula-like cells quoted)."""
    out = io.StringIO()
    writer = csv.writer(out)
    names: list[str] = []
    for entry in entries:
        data = entry.to_json()
        if not names:
            names = list(data)
            writer.writerow(names)
        writer.writerow([_cell(data[name]) for name in names])
    if not names:
        writer.writerow(list(_EMPTY_HEADER))
    return out.getvalue().encode("utf-8")


def to_jsonl(entries: Sequence[AuditEntry]) -> bytes:
    """The rows as JSON Lines, as `postmark audit --json` prints them."""
    return "".join(dumps(entry) + "\n" for entry in entries).encode("utf-8")


def to_feed(entries: Sequence[AuditEntry]) -> bytes:
    """The newer rows for the live log page."""
    return json.dumps({"entries": [e.to_json() for e in entries]}, ensure_ascii=False).encode()


_EMPTY_HEADER: Final = (
    "id", "time", "agent", "operation", "group", "access", "token", "message_stream",
    "recipients", "domains", "addresses", "messages", "decision", "rule", "outcome",
    "error_code", "detail", "request_id", "policy_hash", "sentence",
)  # fmt: skip
