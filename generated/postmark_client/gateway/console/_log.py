# Copied by postmark-codegen from templates/static/postmark_client/gateway/console/_log.py;
# edit it there and regenerate, not here.
"""The audit log as the console reads it: the filters of a query string, for the store's own
`entries` filters (agent, area, decision, time)."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Final
from urllib.parse import urlencode

from ..._audit import AuditEntry

__all__ = ["DECISIONS", "PAGE_ROWS", "FilterError", "LogQuery", "to_feed"]

PAGE_ROWS: Final = 200
"""The newest rows a log page shows (exports hold every row the filters match)."""
DECISIONS: Final = ("allowed", "denied", "invalid", "held", "approved", "used", "expired", "admin")
"""The decisions a row can carry: a call's, an approval step's, or an administrator's change."""
_KEYS: Final = ("agent", "area", "decision", "since", "until")


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
        decision = found.values["decision"]
        if decision and decision not in DECISIONS:
            raise FilterError(f"decision: {decision!r} is not one of {', '.join(DECISIONS)}")
        found.filters()
        return found

    def filters(self) -> dict[str, Any]:
        """The keyword filters of `entries`."""
        values = self.values
        return {
            "agent": values["agent"] or None,
            "group": values["area"] or None,
            "decision": values["decision"] or None,
            "since": _stamp("since", values["since"]),
            "until": _stamp("until", values["until"]),
        }

    def text(self) -> str:
        """The filters as a query string (`?agent=...`), empty when there are none."""
        given = {k: v for k, v in self.values.items() if v}
        return f"?{urlencode(given)}" if given else ""


def to_feed(entries: Sequence[AuditEntry]) -> bytes:
    """Newer rows for the live log page, oldest first."""
    return json.dumps({"entries": [e.to_json() for e in entries]}, ensure_ascii=False).encode()
