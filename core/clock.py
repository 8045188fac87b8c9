"""The platform's one notion of "now": timezone-aware UTC, always."""

from __future__ import annotations

from datetime import UTC, date, datetime


def utcnow() -> datetime:
    return datetime.now(UTC)


def isoformat_z(moment: datetime) -> str:
    """ISO-8601 in UTC with a ``Z`` suffix and second precision, as the API contract shows."""
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def long_date(moment: date | datetime) -> str:
    """A date as people write it on a document, the same in every locale: 2 December 2026."""
    day = moment.astimezone(UTC).date() if isinstance(moment, datetime) else moment
    return f"{day.day} {_MONTHS[day.month - 1]} {day.year}"


_MONTHS = (
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
)
