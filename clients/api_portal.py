"""Portal API for the partner's identity: exchange a link from an email for a session."""

from __future__ import annotations

from typing import Any

from django.middleware.csrf import get_token, rotate_token
from django.utils.translation import gettext as _
from drf_spectacular.utils import extend_schema
from rest_framework import exceptions, serializers, status
from rest_framework.permissions import AllowAny
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from clients import portal, services
from practice.api_base import StrictSerializer


class LinkToken(StrictSerializer):
    token = serializers.CharField(
        max_length=services.MAX_TOKEN_LENGTH,
        help_text="The last part of the link in the invitation or sign-in email "
        "(…/portal/enter/<token>/).",
    )


class PortalSession(serializers.Serializer):
    partner = serializers.UUIDField()
    display_name = serializers.CharField()
    language = serializers.CharField()
    csrf_token = serializers.CharField(
        help_text="Send it as X-CSRFToken on every portal write, with the session cookie."
    )


class LinkGone(exceptions.APIException):
    status_code = status.HTTP_410_GONE
    default_detail = "This link can no longer be used; ask for a new one."


def _gone(reason: str) -> LinkGone:
    messages = {
        "used": _("This link was already used; ask for a new one."),
        "expired": _("This link has expired; ask for a new one."),
        "revoked": _("This link was withdrawn; ask for a new one."),
    }
    return LinkGone(messages.get(reason), code=reason)


class PortalSessionView(APIView):
    """Sign a partner in with a single-use link, the way opening it in a browser does."""

    # No session exists yet, so there is none to protect from CSRF; JSON only, so a
    # cross-site form cannot post here without the browser asking first.
    authentication_classes: list[Any] = []
    permission_classes = [AllowAny]

    @extend_schema(
        request=LinkToken,
        responses={201: PortalSession},
        tags=["portal"],
        operation_id="portal_session_create",
        auth=[],
        summary="Sign a partner in with an emailed link",
        description="Exchanges the token of an invitation or sign-in link for a portal "
        "session (the `sessionid` cookie) bound to that partner, exactly as opening the link "
        "in a browser and pressing Continue does. The link is single-use. Portal calls then "
        "send the cookie, and `csrf_token` as X-CSRFToken on writes.",
    )
    def post(self, request: Request) -> Response:
        data = LinkToken(data=request.data)
        data.is_valid(raise_exception=True)
        try:
            partner = services.consume_link(data.validated_data["token"], request._request)
        except services.LinkRefused as refused:
            if refused.reason == "unknown":
                raise exceptions.NotFound from None
            raise _gone(refused.reason) from None
        portal.sign_in(request._request, partner)
        rotate_token(request._request)  # a new identity gets a new CSRF token
        return Response(
            PortalSession(
                {
                    "partner": partner.uuid,
                    "display_name": partner.display_name,
                    "language": partner.language,
                    "csrf_token": get_token(request._request),
                }
            ).data,
            status=status.HTTP_201_CREATED,
        )
