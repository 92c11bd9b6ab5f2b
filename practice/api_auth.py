"""Authentication for the API: staff session or personal token, and the partner's portal session."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from rest_framework import authentication, permissions
from rest_framework.request import Request


@dataclass(frozen=True)
class PartnerPrincipal:
    """Stands in for request.user on portal API calls: a partner, never a staff user."""

    partner: Any
    is_authenticated: bool = True
    is_staff: bool = False
    is_superuser: bool = False
    is_active: bool = True
    pk: None = None

    def __str__(self) -> str:
        return f"partner:{self.partner.uuid}"


class ApiTokenAuthentication(authentication.BaseAuthentication):
    """The staff member of a personal token, already checked by ApiTokenMiddleware."""

    def authenticate(self, request: Request) -> tuple[Any, Any] | None:
        token = getattr(request._request, "api_token", None)
        if token is None:
            return None
        return token.user, token

    def authenticate_header(self, request: Request) -> str:
        return 'Token realm="api", Bearer realm="api"'


class PortalSessionAuthentication(authentication.SessionAuthentication):
    """The signed-in partner of the portal session (resolved by the portal middleware).

    CSRF is enforced exactly as for staff sessions.
    """

    def authenticate(self, request: Request) -> tuple[PartnerPrincipal, None] | None:
        partner = getattr(request._request, "partner", None)
        if partner is None:
            return None
        self.enforce_csrf(request)
        return PartnerPrincipal(partner), None

    def authenticate_header(self, request: Request) -> str:
        return 'Session realm="portal"'


class IsPartner(permissions.BasePermission):
    message = "Sign in to the portal first."

    def has_permission(self, request: Request, view: Any) -> bool:
        return isinstance(request.user, PartnerPrincipal)
