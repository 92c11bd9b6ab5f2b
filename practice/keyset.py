"""Keyset (seek) pagination: a page is "the next N rows after this one", not "skip M".

An offset makes the database walk past every row before the page, so the last
page of a long list costs the most. A keyset cursor holds the sort values of the
row at the page's edge, and the next page is a range condition on them, which an
index answers as quickly deep in the list as at its start.

Every ordering ends with a unique column (``id``) so that the order is total, and
its columns must never be NULL (sort a nullable value through a coalesced
annotation). Cursors are signed: a tampered one is refused, not trusted. A page
of ``.values()`` rows works the same, as long as the ordering's columns are among
the values.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from django.core import signing
from django.db.models import Q, QuerySet

SALT = "attune.keyset"


class BadCursor(ValueError):
    """The cursor was not made by this ordering (or was altered)."""


@dataclass(frozen=True)
class Page[T]:
    rows: list[T]
    next: str | None  # cursor of the page after this one
    previous: str | None  # cursor of the page before this one


def _field(name: str) -> tuple[str, bool]:
    descending = name.startswith("-")
    name = name.lstrip("-")
    return ("pk" if name == "id" else name), descending


def _encode(value: Any) -> list[str]:
    if isinstance(value, bool):
        return ["b", "1" if value else "0"]
    if isinstance(value, datetime):
        return ["t", value.isoformat()]
    if isinstance(value, date):
        return ["d", value.isoformat()]
    if isinstance(value, int):
        return ["i", str(value)]
    if isinstance(value, float):
        return ["f", repr(value)]
    if isinstance(value, uuid.UUID):
        return ["u", str(value)]
    if isinstance(value, str):
        return ["s", value]
    raise TypeError(f"cannot page on a {type(value).__name__}")


_DECODERS = {
    "b": lambda v: v == "1",
    "t": datetime.fromisoformat,
    "d": date.fromisoformat,
    "i": int,
    "f": float,
    "u": uuid.UUID,
    "s": str,
}


def _decode(pair: Any) -> Any:
    try:
        kind, raw = pair
        return _DECODERS[kind](raw)  # type: ignore[operator]
    except (KeyError, TypeError, ValueError):
        raise BadCursor from None


def _value(row: Any, name: str) -> Any:
    """A sort column of a row: a model instance, or a ``.values()`` dict."""
    if isinstance(row, Mapping):
        return row[name.lstrip("-")]
    return getattr(row, _field(name)[0])


def _cursor(row: Any, ordering: Sequence[str], direction: str) -> str:
    values = [_encode(_value(row, name)) for name in ordering]
    return signing.dumps({"o": list(ordering), "v": values, "d": direction}, salt=SALT)


def _beyond(ordering: Sequence[str], values: list[Any], forward: bool) -> Q:
    """Rows strictly past ``values`` in the ordering (before them when not ``forward``)."""
    condition = Q()
    for depth, name in enumerate(ordering):
        field, descending = _field(name)
        later = "lt" if descending == forward else "gt"
        step = Q(**{f"{field}__{later}": values[depth]})
        for earlier, value in zip(ordering[:depth], values[:depth], strict=True):
            step &= Q(**{_field(earlier)[0]: value})
        condition |= step
    return condition


def paginate[T](
    queryset: QuerySet[Any, T], ordering: Sequence[str], cursor: str | None, size: int
) -> Page[T]:
    """One page of ``queryset`` in ``ordering``, starting at ``cursor`` (None: the first)."""
    forward = True
    if cursor:
        try:
            data = signing.loads(cursor, salt=SALT)
        except signing.BadSignature:
            raise BadCursor from None
        if not isinstance(data, dict) or data.get("o") != list(ordering):
            raise BadCursor
        values = [_decode(v) for v in data.get("v", [])]
        if len(values) != len(ordering) or data.get("d") not in {"n", "p"}:
            raise BadCursor
        forward = data["d"] == "n"
        queryset = queryset.filter(_beyond(ordering, values, forward))
    order = list(ordering)
    if not forward:
        order = [name[1:] if name.startswith("-") else f"-{name}" for name in order]
    rows = list(queryset.order_by(*order)[: size + 1])
    more = len(rows) > size
    rows = rows[:size]
    if not forward:
        rows.reverse()
    if not rows:
        return Page(rows, None, None)
    after = _cursor(rows[-1], ordering, "n")
    before = _cursor(rows[0], ordering, "p")
    if forward:
        return Page(rows, after if more else None, before if cursor else None)
    return Page(rows, after, before if more else None)
