"""Practice membership changes made by owners: invite, change role, remove."""

from __future__ import annotations

from django.conf import settings
from django.contrib.auth.tokens import default_token_generator
from django.core.exceptions import ValidationError
from django.db import transaction
from django.http import HttpRequest
from django.urls import reverse
from django.utils.encoding import force_bytes
from django.utils.http import urlsafe_base64_encode
from django.utils.translation import gettext as _

from practice import audit, mail
from practice.models import Membership, Practice, Role, User


class MemberEmailFailed(Exception):
    """The member was added but the email could not be sent."""

    def __init__(self, membership: Membership) -> None:
        self.membership = membership
        super().__init__("member email failed")


def _owners_left(practice: Practice, without: Membership) -> int:
    return Membership.objects.filter(role=Role.OWNER).exclude(pk=without.pk).count()


def invite_member(
    *,
    practice: Practice,
    actor: User,
    email: str,
    full_name: str,
    role: str,
    request: HttpRequest | None = None,
) -> Membership:
    """Add a colleague; a new account gets an email link to choose a password."""
    with transaction.atomic():
        user = User.objects.filter(email=email).first()
        created = user is None
        if user is None:
            user = User.objects.create_user(email, None, full_name=full_name)
        if Membership.objects.filter(user=user).exists():
            raise ValidationError({"email": _("This person is already a member of the practice.")})
        membership = Membership.objects.create(practice=practice, user=user, role=role)
        audit.record(
            "member.invite",
            request=request,
            actor=actor,
            practice=practice,
            target=user,
            role=role,
            new_account=created,
        )
    if created:
        uid = urlsafe_base64_encode(force_bytes(user.pk))
        token = default_token_generator.make_token(user)
        url = settings.SITE_URL + reverse(
            "password_reset_confirm", kwargs={"uidb64": uid, "token": token}
        )
    else:
        url = settings.SITE_URL + reverse("login")
    try:
        mail.send(
            to=user.email,
            template="practice/email/member_invite",
            context={
                "user": user,
                "inviter": actor,
                "url": url,
                "new_account": created,
                "role": Role(role).label,
            },
            practice=practice,
        )
    except Exception as exc:
        raise MemberEmailFailed(membership) from exc
    return membership


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
