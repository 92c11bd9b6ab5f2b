"""What the FHIR commands share: the practice and the member they act as."""

from __future__ import annotations

from django.core.management.base import CommandError
from django_scopes import scopes_disabled

from practice.models import Membership, Practice, Role, User


def practice_and_owner(slug: str, email: str | None) -> tuple[Practice, User]:
    """The practice by slug and an owner of it (the one named, else the first)."""
    # Commands run outside any request: the practice they name is looked up unscoped.
    with scopes_disabled():
        practice = Practice.objects.filter(slug=slug, erased_at__isnull=True).first()
        if practice is None:
            raise CommandError(f"No practice with the address name {slug!r}.")
        owners = Membership.objects.filter(practice=practice, role=Role.OWNER).select_related(
            "user"
        )
        if email:
            owners = owners.filter(user__email__iexact=email)
        membership = owners.order_by("created_at").first()
    if membership is None:
        raise CommandError(
            f"{email} is not an owner of {slug}." if email else f"{slug} has no owner."
        )
    return practice, membership.user
