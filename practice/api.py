"""API for practices, members and the audit log."""

from __future__ import annotations

import uuid
from datetime import date, datetime, time
from typing import Any
from zoneinfo import ZoneInfo

from django.core.exceptions import ValidationError as DjangoValidationError
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema, inline_serializer
from rest_framework import exceptions, permissions, serializers, status
from rest_framework.exceptions import ValidationError
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from practice import audit, members, two_factor
from practice.api_base import AuditCursor, StaffAPIView, StrictSerializer, capability, paged
from practice.api_errors import Conflict, drf_error
from practice.erasure import erase_practice
from practice.forms import accent_problem
from practice.lookups import get_or_404
from practice.models import AuditEvent, Membership, Practice, Role
from practice.roles import Can
from practice.tenancy import memberships_of


class SecondFactorRequired(exceptions.PermissionDenied):
    default_detail = gettext_lazy(
        "Confirm a fresh two-factor code in the browser first, or use an API token."
    )
    default_code = "second_factor_required"


def require_recent_second_factor(request: Request) -> None:
    """Role and settings changes over a browser session need a recent second factor."""
    if two_factor.needs_step_up(request._request):
        raise SecondFactorRequired


class PracticeSerializer(serializers.Serializer):
    uuid = serializers.UUIDField(source="practice.uuid")
    slug = serializers.SlugField(source="practice.slug")
    name = serializers.CharField(source="practice.name")
    timezone = serializers.CharField(source="practice.timezone")
    role = serializers.ChoiceField(choices=Role.choices)


class MyPracticesView(APIView):
    """The practices you belong to (for a token: only its practice)."""

    permission_classes = [permissions.IsAuthenticated]

    @extend_schema(
        responses=PracticeSerializer(many=True), tags=["practices"], operation_id="practices_list"
    )
    def get(self, request: Request) -> Response:
        mine = memberships_of(request.user)  # type: ignore[arg-type]
        token = getattr(request, "api_token", None)
        if token is not None:
            mine = [m for m in mine if m.practice_id == token.practice_id]
        return Response(PracticeSerializer(mine, many=True).data)


class MemberSerializer(serializers.Serializer):
    uuid = serializers.UUIDField()
    user = serializers.UUIDField(source="user.uuid")
    full_name = serializers.CharField(source="user.full_name")
    email = serializers.EmailField(source="user.email")
    role = serializers.ChoiceField(choices=Role.choices)


class InvitationSerializer(serializers.Serializer):
    """An invitation as the inviting practice sees it: only what the owner typed."""

    uuid = serializers.UUIDField()
    email = serializers.EmailField()
    role = serializers.ChoiceField(choices=Role.choices)
    expires_at = serializers.DateTimeField()


class MemberInvite(StrictSerializer):
    full_name = serializers.CharField(max_length=200)
    email = serializers.EmailField()
    role = serializers.ChoiceField(choices=Role.choices)


class MemberRole(StrictSerializer):
    role = serializers.ChoiceField(choices=Role.choices)


class MembersView(StaffAPIView):
    permission_classes = [*StaffAPIView.permission_classes, capability(Can.MANAGE_PRACTICE)]

    @extend_schema(
        responses=MemberSerializer(many=True), tags=["members"], operation_id="members_list"
    )
    def get(self, request: Request, practice_slug: str) -> Response:
        rows = Membership.objects.select_related("user").order_by("user__full_name", "id")
        return Response(MemberSerializer(rows, many=True).data)

    @extend_schema(
        request=MemberInvite,
        responses={202: InvitationSerializer},
        tags=["members"],
        operation_id="members_invite",
        description=(
            "Email an invitation; the person joins only by accepting it while signed in. "
            "The answer is the same whether or not the address has an account."
        ),
    )
    def post(self, request: Request, practice_slug: str) -> Response:
        require_recent_second_factor(request)
        data = MemberInvite(data=request.data)
        data.is_valid(raise_exception=True)
        values = dict(data.validated_data)
        values["email"] = values["email"].strip().lower()
        try:
            invitation = members.invite_member(
                practice=self.practice,
                actor=self.user,
                request=request._request,
                **values,
            )
        except DjangoValidationError as exc:
            raise drf_error(exc) from None
        except members.MemberEmailFailed as failed:
            invitation = failed.invitation  # stored; inviting again sends a fresh link
        return Response(InvitationSerializer(invitation).data, status=status.HTTP_202_ACCEPTED)


class MemberView(StaffAPIView):
    permission_classes = [*StaffAPIView.permission_classes, capability(Can.MANAGE_PRACTICE)]

    def membership_row(self, membership_id: Any) -> Membership:
        return get_or_404(Membership.objects.select_related("user"), uuid=membership_id)

    @extend_schema(
        request=MemberRole,
        responses=MemberSerializer,
        tags=["members"],
        operation_id="members_set_role",
    )
    def patch(self, request: Request, practice_slug: str, membership_id: Any) -> Response:
        row = self.membership_row(membership_id)  # a foreign id is 404 before anything else
        require_recent_second_factor(request)
        data = MemberRole(data=request.data)
        data.is_valid(raise_exception=True)
        try:
            members.change_role(
                row,
                data.validated_data["role"],
                actor=self.user,
                request=request._request,
            )
        except DjangoValidationError as exc:
            raise Conflict(exc.messages[0]) from None
        return Response(MemberSerializer(row).data)

    @extend_schema(
        request=None, responses={204: None}, tags=["members"], operation_id="members_remove"
    )
    def delete(self, request: Request, practice_slug: str, membership_id: Any) -> Response:
        row = self.membership_row(membership_id)  # a foreign id is 404 before anything else
        require_recent_second_factor(request)
        try:
            members.remove_member(row, actor=self.user, request=request._request)
        except DjangoValidationError as exc:
            raise Conflict(exc.messages[0]) from None
        return Response(status=status.HTTP_204_NO_CONTENT)


class AuditEventSerializer(serializers.Serializer):
    at = serializers.DateTimeField()
    action = serializers.CharField()
    actor = serializers.UUIDField(source="actor.uuid", allow_null=True)
    actor_label = serializers.CharField(allow_blank=True)
    target_type = serializers.CharField(allow_blank=True)
    target_id = serializers.CharField(allow_blank=True)
    ip = serializers.IPAddressField(allow_null=True)
    details = serializers.DictField(child=serializers.JSONField())


class AuditView(StaffAPIView):
    permission_classes = [*StaffAPIView.permission_classes, capability(Can.VIEW_AUDIT)]

    @extend_schema(
        parameters=[
            OpenApiParameter("actor", OpenApiTypes.UUID),
            OpenApiParameter("action", str),
            OpenApiParameter("from", OpenApiTypes.DATE),
            OpenApiParameter("to", OpenApiTypes.DATE),
            OpenApiParameter("limit", int),
        ],
        responses=paged(AuditEventSerializer, "AuditEvent"),
        tags=["audit"],
        operation_id="audit_list",
    )
    def get(self, request: Request, practice_slug: str) -> Response:
        events = AuditEvent.objects.select_related("actor")
        params = request.query_params
        errors: dict[str, list[str]] = {}
        if params.get("actor"):
            try:
                events = events.filter(actor__uuid=uuid.UUID(params["actor"]))
            except ValueError:
                errors["actor"] = ["Must be a UUID."]
        if params.get("action"):
            events = events.filter(action=params["action"])
        tz = ZoneInfo(self.practice.timezone)
        for name, lookup, moment in (("from", "at__gte", time.min), ("to", "at__lte", time.max)):
            if params.get(name):
                try:
                    day = date.fromisoformat(params[name])
                except ValueError:
                    errors[name] = ["Must be a date, YYYY-MM-DD."]
                    continue
                events = events.filter(**{lookup: datetime.combine(day, moment, tzinfo=tz)})
        if errors:
            raise ValidationError(errors)
        paginator = AuditCursor()
        page = paginator.paginate_queryset(events, request, view=self)  # type: ignore[var-annotated]
        audit.record("audit.view", request=request._request, via="api")
        return paginator.get_paginated_response(AuditEventSerializer(page, many=True).data)


SETTINGS_FIELDS = [
    "display_name",
    "accent_colour",
    "timezone",
    "session_timeout_minutes",
    "support_resources",
    "couple_report_partner_totals",
    "contribute_to_norms",
    "require_two_factor",
]


class PracticeSettingsSerializer(serializers.ModelSerializer):
    """What an owner can change about the practice (the logo is uploaded on the page)."""

    class Meta:
        model = Practice
        fields = ["name", "slug", *SETTINGS_FIELDS]
        read_only_fields = ["name", "slug"]

    def to_internal_value(self, data: Any) -> Any:
        if isinstance(data, dict):
            unknown = set(data) - set(SETTINGS_FIELDS)
            if unknown:
                raise ValidationError({name: [_("Unknown field.")] for name in sorted(unknown)})
        return super().to_internal_value(data)

    def validate_accent_colour(self, value: str) -> str:
        problem = accent_problem(value.lower())
        if problem:
            raise ValidationError(problem)
        return value.lower()


class PracticeSettingsView(StaffAPIView):
    permission_classes = [*StaffAPIView.permission_classes, capability(Can.MANAGE_PRACTICE)]

    @extend_schema(
        responses=PracticeSettingsSerializer, tags=["practices"], operation_id="settings_retrieve"
    )
    def get(self, request: Request, practice_slug: str) -> Response:
        return Response(PracticeSettingsSerializer(self.practice).data)

    @extend_schema(
        request=PracticeSettingsSerializer,
        responses=PracticeSettingsSerializer,
        tags=["practices"],
        operation_id="settings_update",
    )
    def patch(self, request: Request, practice_slug: str) -> Response:
        require_recent_second_factor(request)
        data = PracticeSettingsSerializer(self.practice, data=request.data, partial=True)
        data.is_valid(raise_exception=True)
        changed = sorted(
            name
            for name, value in data.validated_data.items()
            if getattr(self.practice, name) != value
        )
        practice = data.save()
        audit.record(
            "practice.update", request=request._request, target=practice, fields=changed, via="api"
        )
        return Response(PracticeSettingsSerializer(practice).data)


class PracticeErase(StrictSerializer):
    confirmation = serializers.CharField(
        max_length=200, help_text="The practice's name, typed exactly."
    )


class PracticeEraseView(StaffAPIView):
    permission_classes = [*StaffAPIView.permission_classes, capability(Can.MANAGE_DATA)]

    @extend_schema(
        request=PracticeErase,
        responses={
            200: inline_serializer(
                "PracticeErased",
                {"erased": serializers.DictField(child=serializers.IntegerField())},
            )
        },
        tags=["practices"],
        operation_id="practice_erase",
        description="Owners: erase everything the practice holds (couples and all their data, "
        "its own forms, exports, files, tokens and memberships). The audit trail stays, "
        "with ids only. Your token stops working with it.",
    )
    def post(self, request: Request, practice_slug: str) -> Response:
        require_recent_second_factor(request)
        data = PracticeErase(data=request.data)
        data.is_valid(raise_exception=True)
        try:
            counts = erase_practice(
                self.practice,
                actor=self.user,
                confirmation=data.validated_data["confirmation"],
                request=request._request,
            )
        except DjangoValidationError as exc:
            raise ValidationError(exc.message_dict) from None
        return Response({"erased": counts})
