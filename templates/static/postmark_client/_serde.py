"""Wire helpers shared by the models and the client core.

Kept tiny: every model parse goes through here, so this module sits on the hot path of reading
a 500-item page. msgspec is imported on the first typed decode only, so constructing a client
does not pay for it.
"""

from __future__ import annotations

import enum
from datetime import date, datetime, tzinfo
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import msgspec

__all__ = [
    "Timestamp",
    "format_query_value",
    "parse_date",
    "parse_datetime",
    "struct_repr",
    "to_eastern",
    "typed_decoder",
]

_EASTERN_NAME = "America/New_York"
_eastern: tzinfo | None = None


def parse_datetime(value: Any) -> datetime:
    """Read a Postmark timestamp such as `2016-10-06T04:24:31.2196962-04:00`.

    Postmark sends seven fractional digits and an offset (or `Z`); `fromisoformat` reads both
    since Python 3.11 (the extra digit is truncated to microseconds). A value without an offset
    stays naive: Postmark does not send one in any recorded payload, and guessing a zone would
    invent data. Anything else raises ValueError (TypeError for a non-string), which the client
    reports as a ResponseDecodeError naming the operation.
    """
    if not isinstance(value, str):
        raise TypeError(f"expected an ISO 8601 date-time string, got {type(value).__name__}")
    return datetime.fromisoformat(value)


class Timestamp(datetime):
    """A datetime read from a Postmark timestamp, its seventh fractional digit cut.

    msgspec's own datetime decoding rounds that digit; `datetime.fromisoformat` cuts it, as the
    models have always done, so the models' datetime fields name this class and msgspec hands
    the text to `fromisoformat` through `typed_decoder`'s hook. It is a plain datetime otherwise.
    """

    __slots__ = ()


def _decode_hook(kind: type, value: Any) -> Any:
    if kind is Timestamp and isinstance(value, str):
        return Timestamp.fromisoformat(value)
    raise NotImplementedError(f"no decoding for {kind.__name__}")


_decoders: dict[type, msgspec.json.Decoder[Any]] = {}


def typed_decoder(model: type) -> msgspec.json.Decoder[Any]:
    """The msgspec decoder that reads JSON bytes straight into `model` (made once per class).

    The models refuse unknown fields when msgspec decodes them, so a body holding anything the
    spec does not describe fails here and is read by `from_dict` instead, which keeps it in
    `extra`.
    """
    decoder = _decoders.get(model)
    if decoder is None:
        import msgspec

        decoder = _decoders[model] = msgspec.json.Decoder(model, dec_hook=_decode_hook)
    return decoder


def struct_repr(value: Any, hidden: list[str]) -> str:
    """A model's repr without the fields that hold secrets (`x-postmark-secret`)."""
    shown = ", ".join(
        f"{name}={getattr(value, name)!r}" for name in value.__struct_fields__ if name not in hidden
    )
    return f"{type(value).__name__}({shown})"


def parse_date(value: Any) -> date:
    """Read a calendar day (`2014-01-01`), as the stats endpoints send it.

    A full timestamp is accepted too and cut to its day, because some stats rows carry midnight
    timestamps instead of dates.
    """
    if not isinstance(value, str):
        raise TypeError(f"expected an ISO 8601 date string, got {type(value).__name__}")
    if len(value) > 10:
        return datetime.fromisoformat(value).date()
    return date.fromisoformat(value)


def to_eastern(value: datetime) -> datetime:
    """Express an aware datetime as naive US Eastern time, the zone Postmark's filters read.

    A naive value is taken to be Eastern already and returned unchanged. The zone database is
    loaded on first use only, so importing the package does not pay for it.
    """
    if value.tzinfo is None:
        return value
    global _eastern
    if _eastern is None:
        from zoneinfo import ZoneInfo

        _eastern = ZoneInfo(_EASTERN_NAME)
    return value.astimezone(_eastern).replace(tzinfo=None)


def format_query_value(value: Any) -> str:
    """Turn a Python value into the text of a query parameter.

    Booleans become `true`/`false` (Python's `True` would be read as a string), datetimes become
    `YYYY-MM-DDTHH:MM:SS` in US Eastern time (Postmark's date filters take no offset), dates
    become `YYYY-MM-DD`, enum members their value.
    """
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, datetime):
        return to_eastern(value).replace(microsecond=0).isoformat()
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, enum.Enum):
        return str(value.value)
    return str(value)
