"""Looking up one row from an id in a URL."""

from __future__ import annotations

from typing import Any

from django.core.exceptions import ValidationError
from django.db.models import QuerySet
from django.http import Http404


def get_or_404(queryset: QuerySet[Any], **lookup: Any) -> Any:
    """The one row matching ``lookup`` in ``queryset``, else 404.

    A row that does not exist, a malformed id and a row outside the caller's
    queryset (another practice's, another partner's) all answer the same. The API
    turns the 404 into its own error format.
    """
    try:
        return queryset.get(**lookup)
    except (queryset.model.DoesNotExist, ValueError, ValidationError):
        raise Http404 from None
