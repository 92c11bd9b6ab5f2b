"""Practice membership: owners invite, the invited person accepts; roles and removal."""

from __future__ import annotations

import hashlib
import secrets
from datetime import timedelta

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import transaction
from django.http import HttpRequest
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django_scopes import scope, scopes_disabled

from practice import audit, mail
from practice.models import Membership, Practice, Role, StaffInvitation, User


class MemberEmailFailed(Exception):
    """The invitation was stored but the email could not be sent."""

    def __init__(self, invitation: StaffInvitation) -> None:
        self.invitation = invitation
        super().__init__("invitation email failed")


def _owners_left(practice: Practice, without: Membership) -> int:
    return Membership.objects.filter(role=Role.OWNER).exclude(pk=without.pk).count()


def _hash(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def invite_member(
    *,
    practice: Practice,
    actor: User,
    email: str,
    full_name: str,
    role: str,
    request: HttpRequest | None = None,
) -> StaffInvitation:
    """Invite a colleague by email; they join only by accepting while signed in.

    Nothing here looks at accounts outside this practice, so the answer (and
    the email sent) is the same whether or not the address already has an
    account elsewhere. A newer invitation to the same address replaces an open one.
    """
    email = email.strip().lower()
    secret = secrets.token_urlsafe(32)
    now = timezone.now()
    with transaction.atomic():
        # Scoped: only members of this practice are looked at.
        if Membership.objects.filter(user__email=email).exists():
            raise ValidationError({"email": _("This person is already a member of the practice.")})
        StaffInvitation.objects.filter(
            email=email, accepted_at__isnull=True, revoked_at__isnull=True
        ).update(revoked_at=now)
        invitation = StaffInvitation.objects.create(
            practice=practice,
            email=email,
            full_name=full_name.strip(),
            role=role,
            token_hash=_hash(secret),
            invited_by=actor,
            expires_at=now + timedelta(days=settings.STAFF_INVITATION_DAYS),
        )
        audit.record(
            "member.invite",
            request=request,
            actor=actor,
            practice=practice,
            target=invitation,
            role=role,
        )
    url = settings.SITE_URL + reverse("staff_invitation", kwargs={"token": secret})
    try:
        mail.send(
            to=email,
            template="practice/email/member_invite",
            context={
                "inviter": actor,
                "url": url,
                "role": Role(role).label,
                "days": settings.STAFF_INVITATION_DAYS,
            },
            practice=practice,
        )
    except Exception as exc:
        raise MemberEmailFailed(invitation) from exc
    return invitation


def open_invitation(secret: str) -> StaffInvitation | None:
    """The open invitation with this secret, or None (unknown, used, revoked or expired)."""
    if not secret or len(secret) > 100:
        return None
    # The secret is the only key; no scope exists before it names a practice.
    with scopes_disabled():
        invitation = (
            StaffInvitation.objects.select_related("practice")
            .filter(token_hash=_hash(secret))
            .first()
        )
    return invitation if invitation is not None and invitation.is_open else None


def invitation_by_id(invitation_id: int) -> StaffInvitation | None:
    """An open invitation by its row id (kept in the session after the link is opened)."""
    # The invited person belongs to no practice yet: the row id from the session is the key.
    with scopes_disabled():
        invitation = (
            StaffInvitation.objects.select_related("practice").filter(pk=invitation_id).first()
        )
    return invitation if invitation is not None and invitation.is_open else None


def accept_invitation(
    invitation: StaffInvitation, *, user: User, request: HttpRequest | None = None
) -> Membership:
    """Join the practice as the signed-in invited person; the address must be theirs."""
    if user.email.lower() != invitation.email.lower():
        raise ValidationError(_("This invitation was sent to another email address."))
    with scope(practice=invitation.practice), transaction.atomic():
        claimed = StaffInvitation.objects.filter(
            pk=invitation.pk,
            accepted_at__isnull=True,
            revoked_at__isnull=True,
            expires_at__gt=timezone.now(),
        ).update(accepted_at=timezone.now())
        if not claimed:
            raise ValidationError(_("This invitation is no longer valid."))
        membership, _created = Membership.objects.get_or_create(
            practice=invitation.practice, user=user, defaults={"role": invitation.role}
        )
        audit.record(
            "member.join",
            request=request,
            actor=user,
            practice=invitation.practice,
            target=invitation,
            role=membership.role,
        )
    return membership


@transaction.atomic
def revoke_invitation(
    invitation: StaffInvitation, *, actor: User, request: HttpRequest | None = None
) -> None:
    """Withdraw an open invitation; its link stops working."""
    if StaffInvitation.objects.filter(
        pk=invitation.pk, accepted_at__isnull=True, revoked_at__isnull=True
    ).update(revoked_at=timezone.now()):
        audit.record("member.invite_revoke", request=request, actor=actor, target=invitation)


@transaction.atomic
def change_role(
    membership: Membership, role: str, *, actor: User, request: HttpRequest | None = None
) -> Membership:
    if (
        membership.role == Role.OWNER
        and role != Role.OWNER
        and not _owners_left(membership.practice, membership)
    ):
        raise ValidationError(_("A practice needs at least one owner."))
    before = membership.role
    membership.role = role
    membership.save(update_fields=["role"])
    if role == Role.ASSISTANT:
        # Assistants never hold a caseload: their couples (and alert emails) go.
        user = membership.user
        user.couples.remove(*user.couples.filter(practice=membership.practice))
    audit.record(
        "member.role_change",
        request=request,
        actor=actor,
        target=membership.user,
        before=before,
        after=role,
    )
    return membership


@transaction.atomic
def remove_member(
    membership: Membership, *, actor: User, request: HttpRequest | None = None
) -> None:
    if membership.role == Role.OWNER and not _owners_left(membership.practice, membership):
        raise ValidationError(_("A practice needs at least one owner."))
    user = membership.user
    # Their couples stay with the practice; they just lose access.
    user.couples.remove(*user.couples.filter(practice=membership.practice))
    audit.record("member.remove", request=request, actor=actor, target=user)
    membership.delete()
