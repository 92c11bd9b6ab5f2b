"""The one way to write to the audit trail."""

from __future__ import annotations

import ipaddress
import logging
from typing import TYPE_CHECKING, Any

from django.conf import settings
from django.db import models
from django.http import HttpRequest
from django.utils.translation import gettext_lazy as _
from django_scopes import scopes_disabled

from practice.models import AuditEvent, Practice, User

if TYPE_CHECKING:
    from django.utils.functional import _StrOrPromise

log = logging.getLogger(__name__)

# Every action the product records, with the label owners see in the log.
ACTIONS: dict[str, _StrOrPromise] = {
    "auth.sign_in": _("Signed in"),
    "auth.sign_in_failed": _("Failed sign-in"),
    "auth.sign_in_locked": _("Sign-in refused: locked"),
    "auth.sign_out": _("Signed out"),
    "auth.second_factor": _("Confirmed sign-in with a second factor"),
    "auth.second_factor_failed": _("Wrong two-factor code"),
    "auth.recovery_code_used": _("Used a recovery code"),
    "auth.two_factor_enrolled": _("Set up two-factor sign-in"),
    "auth.idle_sign_out": _("Signed out after being idle"),
    "auth.password_reset_requested": _("Password reset requested"),
    "auth.password_reset_done": _("Password reset completed"),
    "audit.view": _("Viewed the audit log"),
    "audit.export": _("Downloaded the audit log (CSV)"),
    "security.refused": _("Refused: data of another practice or partner, or no such record"),
    "practice.update": _("Changed practice settings"),
    "member.invite": _("Invited a member"),
    "member.invite_revoke": _("Withdrew an invitation"),
    "member.join": _("Accepted an invitation"),
    "member.role_change": _("Changed a member's role"),
    "member.remove": _("Removed a member"),
    "token.create": _("Created an API token"),
    "token.revoke": _("Revoked an API token"),
    "practice.erase": _("Erased the practice and all its data"),
}


def register_actions(actions: dict[str, _StrOrPromise]) -> None:
    """Let a domain app add its own actions (called from its AppConfig.ready)."""
    ACTIONS.update(actions)


def _trusted_proxy(address: str) -> bool:
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return False
    return any(ip in network for network in settings.TRUSTED_PROXY_NETWORKS)


def client_ip(request: HttpRequest | None) -> str | None:
    """The caller's address, for the audit trail and the per-address lockout.

    ``X-Forwarded-For`` is believed only when the connection comes from a
    trusted proxy (``FORWARDED_ALLOW_IPS``), and then only the entry
    ``TRUSTED_PROXY_HOPS`` from the right: each trusted proxy appends the
    address it saw, so entries further left are whatever the client sent.
    """
    if request is None:
        return None
    remote = request.META.get("REMOTE_ADDR") or None
    hops = settings.TRUSTED_PROXY_HOPS
    if hops < 1 or remote is None or not _trusted_proxy(remote):
        return remote
    forwarded = [entry.strip() for entry in request.META.get("HTTP_X_FORWARDED_FOR", "").split(",")]
    forwarded = [entry for entry in forwarded if entry]
    if len(forwarded) < hops:
        return remote
    candidate = forwarded[-hops]
    try:
        return str(ipaddress.ip_address(candidate))
    except ValueError:
        return remote


def record(
    action: str,
    *,
    request: HttpRequest | None = None,
    actor: User | None = None,
    practice: Practice | None = None,
    target: models.Model | None = None,
    actor_label: str = "",
    **details: Any,
) -> AuditEvent:
    """Append one event to the audit trail.

    ``actor`` and ``practice`` default to the request's user and practice.
    ``details`` must hold identifiers and counts only, never client names,
    contact details or answers.
    """
    if action not in ACTIONS:
        raise ValueError(f"Unknown audit action {action!r}; add it to ACTIONS.")
    if request is not None:
        if actor is None and getattr(request, "user", None) is not None:
            user = request.user
            actor = user if isinstance(user, User) and user.is_authenticated else None
        if practice is None:
            practice = getattr(request, "practice", None)
    if practice is None and target is not None:
        practice = getattr(target, "practice", None)
    target_type = target_id = ""
    if target is not None:
        target_type = target._meta.label_lower
        target_id = str(getattr(target, "uuid", None) or target.pk)
    # An event may belong to another practice than the open scope (a refused reach for
    # practice A logged for A's owners) or to none: the one write that crosses the
    # database's tenant wall, and only to append (practice/rls.py).
    with scopes_disabled():
        event = AuditEvent.objects.create(
            practice=practice,
            actor=actor,
            actor_label=actor_label or (actor.email if actor else ""),
            action=action,
            target_type=target_type,
            target_id=target_id,
            ip=client_ip(request),
            details=details,
        )
    log.info(
        "audit %s practice=%s target=%s:%s",
        action,
        getattr(practice, "pk", None),
        target_type,
        target_id,
    )
    return event


def record_for_partner(
    action: str,
    partner: Any,
    *,
    request: HttpRequest | None = None,
    target: models.Model | None = None,
    **details: Any,
) -> AuditEvent:
    """An event done by a partner in the portal: named by id only, never by name."""
    return record(
        action,
        request=request,
        practice=partner.practice,
        target=target if target is not None else partner,
        actor_label=f"partner:{partner.uuid}",
        **details,
    )
