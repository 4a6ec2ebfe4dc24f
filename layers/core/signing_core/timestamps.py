"""ISO 8601 timestamps as the product writes them: a UTC offset is spelled `Z`."""

from __future__ import annotations

from datetime import UTC, datetime


def iso(moment: datetime, timespec: str = "auto") -> str:
    return moment.isoformat(timespec=timespec).replace("+00:00", "Z")


def now_iso(timespec: str = "auto") -> str:
    return iso(datetime.now(UTC), timespec)


def parse(moment: object) -> datetime | None:
    """An ISO 8601 moment (a trailing Z included) as an aware datetime; None when absent or unreadable."""
    if not isinstance(moment, str) or not moment:
        return None
    try:
        parsed = datetime.fromisoformat(moment.replace("Z", "+00:00"))
    except ValueError:
        return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)
