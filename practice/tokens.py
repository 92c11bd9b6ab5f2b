"""Personal API tokens: created once, shown once, stored hashed, revocable."""

from __future__ import annotations

import hashlib
import secrets
from datetime import timedelta

from django.db import transaction
from django.db.models import F, FilteredRelation, Q
from django.http import HttpRequest
from django.utils import timezone
from django_scopes import scopes_disabled

from practice import audit
from practice.models import ApiToken, Membership, Practice, User

TOKEN_PREFIX = "att_"  # noqa: S105 - a public marker that starts every token, not a secret
# Writing last_used_at on every call would turn reads into writes; once a minute is enough.
LAST_USED_RESOLUTION = timedelta(minutes=1)


def _hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


@transaction.atomic
def create(
    *, practice: Practice, user: User, name: str, request: HttpRequest | None = None
) -> tuple[ApiToken, str]:
    """A new token; returns the row and the secret, which is never stored or shown again."""
    secret = TOKEN_PREFIX + secrets.token_urlsafe(32)
    token = ApiToken.objects.create(
        practice=practice,
        user=user,
        name=name.strip()[:100],
        prefix=secret[:12],
        token_hash=_hash(secret),
    )
    audit.record("token.create", request=request, actor=user, practice=practice, target=token)
    return token, secret


@transaction.atomic
def revoke(token: ApiToken, *, actor: User, request: HttpRequest | None = None) -> None:
    if ApiToken.objects.filter(pk=token.pk, revoked_at__isnull=True).update(
        revoked_at=timezone.now()
    ):
        audit.record("token.revoke", request=request, actor=actor, target=token)


def authenticate(secret: str) -> ApiToken | None:
    """The active token with this secret (its user active too), or None."""
    if not secret.startswith(TOKEN_PREFIX) or len(secret) > 100:
        return None
    # Before a token is known there is no practice to scope to; the hash decides.
    with scopes_disabled():
        token = (
            ApiToken.objects.annotate(  # type: ignore[misc]  # the stubs miss FilteredRelation
                # The owner's membership in the token's own practice (at most one), read with
                # the token so that the scope middleware needs no query of its own.
                own_membership=FilteredRelation(
                    "user__memberships", condition=Q(user__memberships__practice=F("practice"))
                )
            )
            .select_related("user", "practice", "own_membership")
            .filter(token_hash=_hash(secret), revoked_at__isnull=True, user__is_active=True)
            .first()
        )
        if token is None:
            return None
        now = timezone.now()
        if token.last_used_at is None or now - token.last_used_at > LAST_USED_RESOLUTION:
            ApiToken.objects.filter(pk=token.pk).update(last_used_at=now)
            token.last_used_at = now
    return token


def membership(token: ApiToken, practice_slug: str) -> Membership | None:
    """The token owner's membership in the practice of this slug, if it is the token's own.

    Read with the token (``authenticate``), so it costs no query: a token is good in its
    own practice only, and only while its owner is still a member there.
    """
    if token.practice.slug != practice_slug:
        return None
    found: Membership | None = getattr(token, "own_membership", None)
    if found is None:
        return None
    found.practice = token.practice
    found.user = token.user
    return found
