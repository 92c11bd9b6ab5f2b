"""Finding a user's practices. The only unscoped reads of memberships live here."""

from __future__ import annotations

from django.db.models import Max
from django_scopes import scopes_disabled

from practice.models import Membership, Practice, User


def memberships_of(user: User) -> list[Membership]:
    """All of a user's memberships, with their practices, ordered by practice name."""
    # Unscoped on purpose: the user's own memberships decide which scope to open.
    with scopes_disabled():
        return list(
            Membership.objects.filter(user=user)
            .select_related("practice")
            .order_by("practice__name")
        )


def membership_in(user: User, practice_slug: str) -> Membership | None:
    """The user's membership in the practice with this slug, or None."""
    # Unscoped on purpose: this lookup is what the scope middleware opens the scope from.
    with scopes_disabled():
        return (
            Membership.objects.filter(user=user, practice__slug=practice_slug, user__is_active=True)
            .select_related("practice", "user")
            .first()
        )


def most_lenient_idle_timeout(user: User, default: int) -> int:
    """The longest idle timeout among the user's practices (for pages outside any practice)."""
    value = Practice.objects.filter(memberships__user=user).aggregate(
        m=Max("session_timeout_minutes")
    )["m"]
    return int(value) if value else default
