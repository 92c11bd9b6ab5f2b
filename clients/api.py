"""API for partners, portal invitations and notes.

Couples as caseload rows (list, create, read, change) are assessments/api_caseload.py.
"""

from __future__ import annotations

from typing import Any

from django.core.exceptions import ValidationError as DjangoValidationError
from drf_spectacular.utils import extend_schema
from rest_framework import serializers, status
from rest_framework.exceptions import ValidationError
from rest_framework.request import Request
from rest_framework.response import Response

from clients import services
from clients.access import get_couple, get_partner
from clients.forms import clinician_choices
from clients.models import Partner
from clients.serializers import (
    InvitationResult,
    PartnerSerializer,
    PartnerUpdate,
)
from practice import audit
from practice.api_base import StaffAPIView, StrictSerializer, capability, no_body
from practice.api_errors import Conflict, drf_error
from practice.roles import Can


def partner_email_error(exc: DjangoValidationError, emails: list[str]) -> ValidationError:
    """A create_couple email refusal under the partner it is about: ``partners[1].email``."""
    errors = exc.error_dict.get("email", []) if hasattr(exc, "error_dict") else []
    if not errors:
        return drf_error(exc)
    message = [str(m) for m in errors[0].messages]
    if errors[0].code == "same_email":
        return ValidationError({"partners[1].email": message})
    wanted = [e.strip().lower() for e in emails]
    taken = set(Partner.objects.filter(email__in=wanted).values_list("email", flat=True))
    index = next((i for i, e in enumerate(wanted) if e in taken), 0)
    return ValidationError({f"partners[{index}].email": message})


def clinicians_from(practice: Any, uuids: list[Any]) -> list[Any]:
    allowed = {u.uuid: u for u in clinician_choices(practice)}
    unknown = [str(u) for u in uuids if u not in allowed]
    if unknown:
        raise ValidationError(
            {"clinicians": [f"Not a clinician or owner of this practice: {u}" for u in unknown]}
        )
    return [allowed[u] for u in uuids]


class PartnerView(StaffAPIView):
    @extend_schema(
        responses=PartnerSerializer,
        tags=["couples"],
        operation_id="partners_retrieve",
        summary="Get a partner",
        description=("One partner's contact details, language and portal state. Audited."),
    )
    def get(
        self, request: Request, practice_slug: str, couple_id: Any, partner_id: Any
    ) -> Response:
        couple = get_couple(self.membership, couple_id)
        partner = get_partner(self.membership, couple, partner_id)
        audit.record("couple.view", request=request._request, target=partner, via="api")
        return Response(PartnerSerializer(partner).data)

    @extend_schema(
        request=PartnerUpdate,
        responses=PartnerSerializer,
        tags=["couples"],
        operation_id="partners_partial_update",
        summary="Change a partner",
        description=(
            "Change a partner's name, email, phone or language. A new email address ends "
            "portal access given through the old one."
        ),
    )
    def patch(
        self, request: Request, practice_slug: str, couple_id: Any, partner_id: Any
    ) -> Response:
        capability(Can.MANAGE_COUPLES)().has_permission(request, self)
        couple = get_couple(self.membership, couple_id)
        partner = get_partner(self.membership, couple, partner_id)
        data = PartnerUpdate(data=request.data, partial=True)
        data.is_valid(raise_exception=True)
        try:
            services.update_partner(
                partner,
                actor=self.user,
                request=request._request,
                **data.validated_data,
            )
        except DjangoValidationError as exc:
            raise drf_error(exc) from None
        partner.refresh_from_db()
        return Response(PartnerSerializer(partner).data)


class InviteView(StaffAPIView):
    permission_classes = [*StaffAPIView.permission_classes, capability(Can.INVITE)]

    @extend_schema(
        request=None,
        responses={202: InvitationResult},
        tags=["couples"],
        operation_id="partners_invite",
        summary="Invite a partner to the portal",
        description="Email the partner a single-use link to the portal (valid 7 days); "
        "sending again replaces the earlier link. The answer says when the link expires. "
        "A closed case is a 409, and so is a failed email (nothing changed then).",
    )
    @no_body
    def post(
        self, request: Request, practice_slug: str, couple_id: Any, partner_id: Any
    ) -> Response:
        couple = get_couple(self.membership, couple_id)
        partner = get_partner(self.membership, couple, partner_id)
        try:
            link = services.invite_partner(partner, actor=self.user, request=request._request)
        except DjangoValidationError as exc:
            raise Conflict(exc.messages[0]) from None
        except services.InvitationNotSent:
            raise Conflict(
                "The invitation email could not be sent; nothing changed.", code="email_failed"
            ) from None
        partner.refresh_from_db()
        return Response(
            {
                "partner": partner.uuid,
                "portal_state": partner.portal_state,
                "expires_at": link.expires_at,
            },
            status=status.HTTP_202_ACCEPTED,
        )


class RevokeView(StaffAPIView):
    permission_classes = [*StaffAPIView.permission_classes, capability(Can.INVITE)]

    @extend_schema(
        request=None,
        responses=InvitationResult,
        tags=["couples"],
        operation_id="partners_revoke",
        summary="End a partner's portal access",
        description=(
            "Withdraw every unused link and end the partner's portal sessions at once. "
            "Inviting again gives access back."
        ),
    )
    @no_body
    def post(
        self, request: Request, practice_slug: str, couple_id: Any, partner_id: Any
    ) -> Response:
        couple = get_couple(self.membership, couple_id)
        partner = get_partner(self.membership, couple, partner_id)
        partner = services.revoke_portal_access(partner, actor=self.user, request=request._request)
        return Response(
            {"partner": partner.uuid, "portal_state": partner.portal_state, "expires_at": None}
        )


class NoteSerializer(serializers.Serializer):
    uuid = serializers.UUIDField(read_only=True)
    author = serializers.CharField(source="author.full_name", read_only=True)
    body = serializers.CharField(max_length=10000, trim_whitespace=True)
    created_at = serializers.DateTimeField(read_only=True)


class NoteCreate(StrictSerializer):
    body = serializers.CharField(max_length=10000, trim_whitespace=True, allow_blank=False)


class CoupleNotesView(StaffAPIView):
    """Private clinician notes on a couple (never for assistants or the couple)."""

    permission_classes = [*StaffAPIView.permission_classes, capability(Can.VIEW_CLINICAL)]

    @extend_schema(
        responses=NoteSerializer(many=True),
        tags=["couples"],
        operation_id="notes_list",
        summary="List clinician notes",
        description=(
            "The couple's private clinician notes, newest first. Never shown to assistants or "
            "to the couple. Audited."
        ),
    )
    def get(self, request: Request, practice_slug: str, couple_id: Any) -> Response:
        couple = get_couple(self.membership, couple_id)
        notes = list(couple.notes.select_related("author").order_by("-created_at", "-id"))
        audit.record("couple.view", request=request._request, target=couple, page="notes")
        return Response(NoteSerializer(notes, many=True).data)

    @extend_schema(
        request=NoteCreate,
        responses={201: NoteSerializer},
        tags=["couples"],
        operation_id="notes_create",
        summary="Add a clinician note",
        description=("A private note on the couple, visible to clinical staff only."),
    )
    def post(self, request: Request, practice_slug: str, couple_id: Any) -> Response:
        couple = get_couple(self.membership, couple_id)
        data = NoteCreate(data=request.data)
        data.is_valid(raise_exception=True)
        note = services.add_note(
            couple,
            actor=self.user,
            body=data.validated_data["body"],
            request=request._request,
        )
        return Response(NoteSerializer(note).data, status=status.HTTP_201_CREATED)
