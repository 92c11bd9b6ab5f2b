"""The verbs that change couples, partners, notes and portal access. Each one is audited."""

from __future__ import annotations

import logging
import secrets
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

from django.core.cache import cache
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.db.models import F
from django.http import HttpRequest
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django_scopes import scope, scopes_disabled

from clients.models import (
    AccessLink,
    AccessLinkPurpose,
    Couple,
    CoupleStatus,
    Note,
    Partner,
    PortalState,
    hash_token,
)
from clients.signals import couple_changed, couple_closed
from practice import audit, mail
from practice.models import Practice, User

log = logging.getLogger(__name__)


def invitation_lifetime() -> timedelta:
    """How long an invitation link works (``PORTAL_INVITATION_DAYS``, default 7)."""
    from django.conf import settings

    return timedelta(days=settings.PORTAL_INVITATION_DAYS)


SIGN_IN_LINK_LIFETIME = timedelta(minutes=30)


@dataclass(frozen=True)
class PartnerDetails:
    display_name: str
    email: str
    phone: str = ""
    language: str = "en"


class InvitationNotSent(Exception):
    """The invitation email could not be sent; nothing changed."""


def _check_partner_emails(
    practice: Practice, details: list[PartnerDetails], exclude: list[int]
) -> None:
    emails = [d.email.strip().lower() for d in details]
    if len(set(emails)) != len(emails):
        raise ValidationError(
            {
                "email": ValidationError(
                    _("The two partners need different email addresses."), code="same_email"
                )
            }
        )
    taken = Partner.objects.filter(email__in=emails).exclude(pk__in=exclude)
    if taken.exists():
        raise ValidationError(
            {"email": _("Another client of this practice already uses this email address.")},
            code="email_taken",
        )


@transaction.atomic
def create_couple(
    *,
    practice: Practice,
    actor: User,
    label: str,
    partners: list[PartnerDetails],
    clinicians: list[User],
    start_date: date | None = None,
    request: HttpRequest | None = None,
) -> Couple:
    """Create a couple with exactly two partners, all or nothing."""
    if len(partners) != 2:
        raise ValidationError(_("A couple has exactly two partners."), code="two_partners")
    _check_partner_emails(practice, partners, exclude=[])
    couple = Couple.objects.create(
        practice=practice, label=label.strip(), start_date=start_date or timezone.localdate()
    )
    couple.clinicians.set(clinicians)
    try:
        with transaction.atomic():
            for position, details in enumerate(partners, start=1):
                Partner.objects.create(
                    practice=practice,
                    couple=couple,
                    position=position,
                    display_name=details.display_name.strip(),
                    email=details.email,
                    phone=details.phone.strip(),
                    language=details.language,
                )
    except IntegrityError:
        # Another request took the address between our check and our insert.
        raise ValidationError(
            {"email": _("Another client of this practice already uses this email address.")},
            code="email_taken",
        ) from None
    audit.record("couple.create", request=request, actor=actor, practice=practice, target=couple)
    couple_changed.send(sender=Couple, couple=couple)
    return couple


@transaction.atomic
def update_couple(
    couple: Couple,
    *,
    actor: User,
    request: HttpRequest | None = None,
    clinicians: list[User] | None = None,
    **fields: Any,
) -> Couple:
    """Change a couple's label, status or start date, and its clinicians."""
    changed = sorted(k for k, v in fields.items() if getattr(couple, k) != v)
    for name, value in fields.items():
        setattr(couple, name, value)
    couple.save()
    if clinicians is not None:
        before = set(couple.clinicians.values_list("pk", flat=True))
        couple.clinicians.set(clinicians)
        if before != {c.pk for c in clinicians}:
            changed.append("clinicians")
    audit.record("couple.update", request=request, actor=actor, target=couple, fields=changed)
    if fields.get("status") == CoupleStatus.CLOSED:
        _close_portal_access(couple)
    couple_changed.send(sender=Couple, couple=couple)
    return couple


def _close_portal_access(couple: Couple) -> None:
    """A closed case ends its partners' open links and (through ``couple_closed``, which
    assessments receives) its unfinished forms.

    Partners can still sign in by asking for a link, to download released reports.
    """
    AccessLink.objects.filter(
        partner__couple=couple, used_at__isnull=True, revoked_at__isnull=True
    ).update(revoked_at=timezone.now())
    couple_closed.send(sender=Couple, couple=couple)


@transaction.atomic
def update_partner(
    partner: Partner, *, actor: User, request: HttpRequest | None = None, **fields: Any
) -> Partner:
    """Change a partner's contact details or language.

    A new email address ends portal access given through the old one: its
    unused links stop working and open sessions end, and the partner is
    invited again at the new address.
    """
    # Compare with what is stored: a bound ModelForm may already have changed the instance.
    stored = Partner.objects.get(pk=partner.pk)
    new_email = fields["email"].strip().lower() if "email" in fields else stored.email
    email_changed = new_email != stored.email
    if email_changed:
        other = Partner.objects.filter(email=new_email).exclude(pk=partner.pk)
        if other.exists():
            raise ValidationError(
                {"email": _("Another client of this practice already uses this email address.")}
            )
    changed = sorted(k for k, v in fields.items() if getattr(stored, k) != v)
    for name, value in fields.items():
        setattr(partner, name, value)
    if email_changed:
        partner.session_epoch = stored.session_epoch + 1
        partner.sign_in_link_requested_at = None  # asked for at the old address
        if partner.portal_state in {PortalState.INVITED, PortalState.ACTIVE}:
            partner.portal_state = PortalState.NOT_INVITED
    try:
        with transaction.atomic():
            partner.save()
            if email_changed:
                AccessLink.objects.filter(
                    partner=partner, used_at__isnull=True, revoked_at__isnull=True
                ).update(revoked_at=timezone.now())
    except IntegrityError:
        raise ValidationError(
            {"email": _("Another client of this practice already uses this email address.")}
        ) from None
    audit.record("partner.update", request=request, actor=actor, target=partner, fields=changed)
    return partner


@transaction.atomic
def add_note(couple: Couple, *, actor: User, body: str, request: HttpRequest | None = None) -> Note:
    """Add a private clinician note."""
    note = Note.objects.create(practice=couple.practice, couple=couple, author=actor, body=body)
    audit.record("note.create", request=request, actor=actor, target=couple, note=str(note.uuid))
    return note


def new_access_link(
    partner: Partner, purpose: str, lifetime: timedelta, actor: User | None = None
) -> tuple[AccessLink, str]:
    """Create a single-use link; returns the row and the raw token (shown once, in the email)."""
    token = secrets.token_urlsafe(32)
    link = AccessLink.objects.create(
        practice=partner.practice,
        partner=partner,
        purpose=purpose,
        token_hash=hash_token(token),
        expires_at=timezone.now() + lifetime,
        created_by=actor,
    )
    return link, token


def portal_url(token: str) -> str:
    """The absolute address of a portal link."""
    from django.conf import settings

    return settings.SITE_URL + reverse("portal:enter", kwargs={"token": token})


def invite_partner(
    partner: Partner, *, actor: User, request: HttpRequest | None = None
) -> AccessLink:
    """Send (or resend) the portal invitation; any earlier unused link stops working.

    If the email cannot be sent, the new link is withdrawn, the earlier state
    is restored and ``InvitationNotSent`` is raised.
    """
    if partner.couple.is_closed:
        raise ValidationError(_("This couple's case is closed. Reopen it to invite partners."))
    now = timezone.now()
    with transaction.atomic():
        partner = Partner.objects.select_for_update().get(pk=partner.pk)
        previous_state = partner.portal_state
        replaced = list(
            AccessLink.objects.filter(
                partner=partner,
                purpose=AccessLinkPurpose.INVITATION,
                used_at__isnull=True,
                revoked_at__isnull=True,
            ).values_list("pk", flat=True)
        )
        AccessLink.objects.filter(pk__in=replaced).update(revoked_at=now)
        link, token = new_access_link(
            partner, AccessLinkPurpose.INVITATION, invitation_lifetime(), actor
        )
        if partner.portal_state != PortalState.ACTIVE:
            partner.portal_state = PortalState.INVITED
            partner.save(update_fields=["portal_state"])
    try:
        mail.send(
            to=partner.email,
            template="clients/email/invitation",
            context={"partner": partner, "url": portal_url(token), "expires": link.expires_at},
            language=partner.language,
            practice=partner.practice,
        )
    except Exception as exc:
        log.warning("invitation email failed for partner %s: %s", partner.uuid, type(exc).__name__)
        with transaction.atomic():
            link.revoked_at = timezone.now()
            link.save(update_fields=["revoked_at"])
            AccessLink.objects.filter(pk__in=replaced).update(revoked_at=None)
            partner.portal_state = previous_state
            partner.save(update_fields=["portal_state"])
        raise InvitationNotSent from exc
    audit.record(
        "partner.invite",
        request=request,
        actor=actor,
        practice=partner.practice,
        target=partner,
        resend=bool(replaced),
    )
    return link


@transaction.atomic
def revoke_portal_access(
    partner: Partner, *, actor: User, request: HttpRequest | None = None
) -> Partner:
    """End the partner's portal access now: links dead, sessions ended."""
    partner = Partner.objects.select_for_update().get(pk=partner.pk)
    AccessLink.objects.filter(
        partner=partner, revoked_at__isnull=True, used_at__isnull=True
    ).update(revoked_at=timezone.now())
    partner.portal_state = PortalState.REVOKED
    partner.session_epoch += 1
    partner.save(update_fields=["portal_state", "session_epoch"])
    audit.record("partner.revoke", request=request, actor=actor, target=partner)
    return partner


class LinkRefused(Exception):
    """A portal link that cannot be used; ``reason`` is unknown, used, expired or revoked."""

    def __init__(self, reason: str) -> None:
        self.reason = reason
        super().__init__(reason)


MAX_TOKEN_LENGTH = 100


def consume_link(token: str, request: HttpRequest | None = None) -> Partner:
    """Use a single-use portal link; returns the partner it signs in, or raises LinkRefused."""
    if not token or len(token) > MAX_TOKEN_LENGTH:
        raise LinkRefused("unknown")
    # Nobody is signed in yet: the link's hash is what identifies partner and practice.
    with scopes_disabled(), transaction.atomic():
        link = (
            AccessLink.objects.select_for_update()
            .select_related("partner", "practice")
            .filter(token_hash=hash_token(token))
            .first()
        )
        if link is None:
            raise LinkRefused("unknown")
        partner = link.partner
        state = link.state()
        if state == "usable" and partner.portal_state == PortalState.REVOKED:
            state = "revoked"
        if state != "usable":
            audit.record_for_partner(
                "portal.sign_in_refused",
                partner,
                request=request,
                reason=state,
            )
            raise LinkRefused(state)
        link.used_at = timezone.now()
        link.save(update_fields=["used_at"])
        if partner.portal_state != PortalState.ACTIVE:
            partner.portal_state = PortalState.ACTIVE
            partner.save(update_fields=["portal_state"])
        audit.record_for_partner(
            "portal.sign_in",
            partner,
            request=request,
            via=link.purpose,
        )
    return partner


SIGN_IN_REQUESTS_PER_ADDRESS = 3
SIGN_IN_REQUESTS_PER_IP = 10
SIGN_IN_REQUEST_WINDOW = 15 * 60


def _bump(key: str) -> int:
    cache.add(key, 0, SIGN_IN_REQUEST_WINDOW)
    try:
        return cache.incr(key)
    except ValueError:  # expired between add and incr
        cache.set(key, 1, SIGN_IN_REQUEST_WINDOW)
        return 1


class TooManyRequests(Exception):
    """This address (IP) asked for too many sign-in links."""


def request_sign_in_link(email: str, request: HttpRequest | None = None) -> None:
    """Email a 30-minute sign-in link to every portal-enabled partner with this address.

    Says nothing about whether the address is known. Raises TooManyRequests
    when the caller's IP has asked too often; quietly sends nothing when the
    address itself has asked too often.
    """
    email = email.strip().lower()
    ip = audit.client_ip(request) or "unknown"
    if _bump(f"portal-link:ip:{ip}") > SIGN_IN_REQUESTS_PER_IP:
        raise TooManyRequests
    address_key = "portal-link:email:" + hash_token(email)
    if _bump(address_key) > SIGN_IN_REQUESTS_PER_ADDRESS:
        return
    # The address may belong to partners in several practices; each gets its own link.
    with scopes_disabled():
        partners = list(
            Partner.objects.filter(
                email=email, portal_state__in=[PortalState.INVITED, PortalState.ACTIVE]
            ).select_related("practice")
        )
    for partner in partners:
        with scope(practice=partner.practice):
            audit.record_for_partner("portal.link_requested", partner, request=request)
            # The request is a committed row first (the outbox); the link is made and
            # mailed by the worker, so a known address answers as fast as an unknown one
            # (an SMTP round trip in the request would tell them apart). With the broker
            # down the row waits for the sweeper.
            Partner.objects.filter(pk=partner.pk).update(sign_in_link_requested_at=timezone.now())
        from clients.tasks import send_sign_in_link

        send_sign_in_link.delay_on_commit(practice_id=partner.practice_id, partner_id=partner.pk)  # type: ignore[attr-defined]


# Wait this long before the sweeper sends a link its task has not sent yet.
SIGN_IN_LINK_GRACE = timedelta(seconds=30)


def unsent_sign_in_links(now: datetime | None = None) -> list[tuple[int, int]]:
    """(practice id, partner id) of sign-in links asked for but not sent (the sweeper's list)."""
    now = now or timezone.now()
    # The sweeper looks across practices; each task it queues runs in its own scope.
    with scopes_disabled():
        return list(
            Partner.objects.filter(
                sign_in_link_requested_at__lt=now - SIGN_IN_LINK_GRACE,
                portal_state__in=[PortalState.INVITED, PortalState.ACTIVE],
            ).values_list("practice_id", "pk")[:1000]
        )


def send_sign_in_link_now(partner_id: int) -> bool:
    """Email the sign-in link this partner asked for, once; False when there is none to send.

    Runs inside the partner's practice scope. The outbox row is locked, the link
    made, the mail sent and the row cleared in one transaction: a duplicate task
    finds nothing to send, and a mail error (or a worker killed mid-send) leaves
    the request pending, with no usable link made, for the retry or the sweeper.
    """
    with transaction.atomic():
        partner = (
            Partner.objects.select_for_update()
            .filter(
                pk=partner_id,
                sign_in_link_requested_at__isnull=False,
                portal_state__in=[PortalState.INVITED, PortalState.ACTIVE],
            )
            .first()
        )
        if partner is None:
            return False  # already sent, or access revoked since the request
        _link, token = new_access_link(partner, AccessLinkPurpose.SIGN_IN, SIGN_IN_LINK_LIFETIME)
        mail.send(
            to=partner.email,
            template="clients/email/sign_in_link",
            context={"partner": partner, "url": portal_url(token)},
            language=partner.language,
            practice=partner.practice,
        )
        Partner.objects.filter(pk=partner.pk).update(sign_in_link_requested_at=None)
    return True


@transaction.atomic
def sign_out_everywhere(partner: Partner, request: HttpRequest | None = None) -> None:
    """End every portal session of this partner, on every device."""
    Partner.objects.filter(pk=partner.pk).update(session_epoch=F("session_epoch") + 1)
    audit.record_for_partner(
        "portal.sign_out",
        partner,
        request=request,
        everywhere=True,
    )
