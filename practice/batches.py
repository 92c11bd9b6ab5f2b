"""Walking a cross-practice job's rows practice by practice, in bounded batches.

The nightly jobs (opening due forms, reminders, overdue alerts) look across
every practice. At a thousand practices they must neither load the whole table
nor hold one long transaction, so they walk the matching rows practice by
practice and, within a practice, in batches of ids taken by keyset (``id >``
the last one seen): each batch is read, handled and committed before the next
is read, inside the practice's scope (so row-level security follows).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

from django.db.models import QuerySet
from django_scopes import scope, scopes_disabled

from practice.models import Practice

BATCH = 500


def practice_batches(
    rows: Callable[[], QuerySet[Any]], batch: int = BATCH
) -> Iterator[tuple[Practice, list[int]]]:
    """(practice, ids) of the rows ``rows()`` selects, in batches of at most ``batch`` ids.

    ``rows`` builds the queryset afresh each time: once across practices (which
    practices have work) and then inside each practice's scope, so that the
    scope's filter applies. The caller handles a batch (in its own transaction)
    before asking for the next; the scope stays open meanwhile.
    """
    # Which practices have work is the one question asked across practices.
    with scopes_disabled():
        practice_ids = sorted(rows().order_by().values_list("practice_id", flat=True).distinct())
        practices = Practice.objects.in_bulk(practice_ids)
    for practice_id in practice_ids:
        practice = practices[practice_id]
        last = 0
        with scope(practice=practice):
            while True:
                ids = list(
                    rows()
                    .filter(practice_id=practice_id, pk__gt=last)
                    .order_by("pk")
                    .values_list("pk", flat=True)[:batch]
                )
                if not ids:
                    break
                yield practice, ids
                if len(ids) < batch:
                    break
                last = ids[-1]
