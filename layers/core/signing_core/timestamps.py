"""ISO 8601 timestamps as the product writes them: a UTC offset is spelled `Z`."""

from __future__ import annotations

from datetime import UTC, datetime


def iso(moment: datetime, timespec: str = "auto") -> str:
    return moment.isoformat(timespec=timespec).replace("+00:00", "Z")


def now_iso(timespec: str = "auto") -> str:
    return iso(datetime.now(UTC), timespec)
