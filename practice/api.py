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
from drf_spectacular.utils import (
    OpenApiParameter,
    extend_schema,
    extend_schema_field,
    inline_serializer,
)
from rest_framework import exceptions, permissions, serializers, status
from rest_framework.exceptions import ValidationError
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from practice import audit, members, two_factor
from practice.api_base import (
    PAGE_PARAMETERS,
    AuditCursor,
    StaffAPIView,
    StrictSerializer,
    capability,
    no_body,
    paged,
)
from practice.api_errors import Conflict, drf_error
from practice.erasure import erase_practice
from practice.forms import accent_problem
from practice.lookups import get_or_404
from practice.models import AuditEvent, Membership, Practice, Role
from practice.roles import Can, can
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
        responses=PracticeSerializer(many=True),
        tags=["practices"],
        operation_id="practices_list",
        summary="List my practices",
        description=(
            "Every practice the caller belongs to, with the role held there; a token sees "
            "only the practice it was created in. The `slug` is the `<practice_slug>` of "
            "every staff call."
        ),
    )
    def get(self, request: Request) -> Response:
        mine = memberships_of(request.user)  # type: ignore[arg-type]
        token = getattr(request, "api_token", None)
        if token is not None:
            mine = [m for m in mine if m.practice_id == token.practice_id]
        return Response(PracticeSerializer(mine, many=True).data)


class MyMembershipSerializer(serializers.Serializer):
    uuid = serializers.UUIDField(help_text="The membership (what members calls address).")
    practice = serializers.SlugField(
        source="practice.slug", help_text="The practice slug for /api/v1/p/<slug>/…."
    )
    practice_name = serializers.CharField(source="practice.name")
    role = serializers.ChoiceField(choices=Role.choices)
    capabilities = serializers.SerializerMethodField(
        help_text="What the role may do here; anything else answers 404."
    )
    practice_requires_two_factor = serializers.BooleanField(
        source="practice.require_two_factor",
        help_text="Browser sessions in this practice need two-factor sign-in.",
    )

    @extend_schema_field(serializers.ListField(child=serializers.ChoiceField(choices=list(Can))))
    def get_capabilities(self, membership: Membership) -> list[str]:
        return [c.value for c in Can if can(membership, c)]


class MeSerializer(serializers.Serializer):
    uuid = serializers.UUIDField(help_text="Your user id (what couple `clinicians` take).")
    email = serializers.EmailField()
    full_name = serializers.CharField()
    authenticated_by = serializers.ChoiceField(
        choices=["token", "session"], help_text="How this call was signed in."
    )
    two_factor_enabled = serializers.BooleanField(
        help_text="You have a confirmed authenticator app."
    )
    two_factor_verified = serializers.BooleanField(
        allow_null=True,
        help_text="This browser session proved a second factor; null for token calls "
        "(creating the token needed one).",
    )
    memberships = MyMembershipSerializer(
        many=True, help_text="Your practices and roles (for a token: only its practice)."
    )


class MeView(APIView):
    """Who the caller is: user, practices, roles and two-factor state."""

    permission_classes = [permissions.IsAuthenticated]

    @extend_schema(
        responses=MeSerializer,
        tags=["practices"],
        operation_id="me_retrieve",
        summary="Who am I",
        description="The signed-in user (id, name, email), how the call was authenticated, "
        "two-factor state, and each practice membership with its role and what that role "
        "may do. A token sees only its own practice. Use `uuid` wherever a clinician's id "
        "is asked for.",
    )
    def get(self, request: Request) -> Response:
        user = request.user
        token = getattr(request._request, "api_token", None)
        mine = memberships_of(user)  # type: ignore[arg-type]
        if token is not None:
            mine = [m for m in mine if m.practice_id == token.practice_id]
        return Response(
            MeSerializer(
                {
                    "uuid": user.uuid,  # type: ignore[union-attr]
                    "email": user.email,  # type: ignore[union-attr]
                    "full_name": user.full_name,  # type: ignore[union-attr]
                    "authenticated_by": "token" if token is not None else "session",
                    "two_factor_enabled": two_factor.has_two_factor(user),  # type: ignore[arg-type]
                    "two_factor_verified": None
                    if token is not None
                    else two_factor.is_verified(request._request),
                    "memberships": mine,
                }
            ).data
        )


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
        responses=MemberSerializer(many=True),
        tags=["members"],
        operation_id="members_list",
        summary="List members",
        description=("Owners: everyone in the practice with their role."),
    )
    def get(self, request: Request, practice_slug: str) -> Response:
        rows = Membership.objects.select_related("user").order_by("user__full_name", "id")
        return Response(MemberSerializer(rows, many=True).data)

    @extend_schema(
        request=MemberInvite,
        responses={202: InvitationSerializer},
        tags=["members"],
        operation_id="members_invite",
        summary="Invite a member",
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
        summary="Change a member's role",
        description=(
            "Owners: change a member's role. The last owner cannot be demoted (409). Over a "
            "browser session it needs a fresh two-factor code."
        ),
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
        request=None,
        responses={204: None},
        tags=["members"],
        operation_id="members_remove",
        summary="Remove a member",
        description=(
            "Owners: remove someone from the practice; their tokens for it stop working. The "
            "last owner cannot be removed (409). Over a browser session it needs a fresh "
            "two-factor code."
        ),
    )
    @no_body
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
            *PAGE_PARAMETERS,
        ],
        responses=paged(AuditEventSerializer, "AuditEvent"),
        tags=["audit"],
        operation_id="audit_list",
        summary="Read the audit log",
        description=(
            "Owners: every recorded action in the practice, newest first, filtered by actor, "
            "action and dates (in the practice's time zone). Entries hold ids, never client "
            "names or answers. Reading it is audited too."
        ),
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
        page = paginator.paginate_queryset(events, request, view=self)
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
        responses=PracticeSettingsSerializer,
        tags=["practices"],
        operation_id="settings_retrieve",
        summary="Get practice settings",
        description=(
            "Owners: the practice's display name, accent colour, time zone, idle sign-out, "
            "support resources, report and norm options and its two-factor requirement."
        ),
    )
    def get(self, request: Request, practice_slug: str) -> Response:
        return Response(PracticeSettingsSerializer(self.practice).data)

    @extend_schema(
        request=PracticeSettingsSerializer,
        responses=PracticeSettingsSerializer,
        tags=["practices"],
        operation_id="settings_update",
        summary="Change practice settings",
        description=(
            "Owners: change any of the settings; fields left out stay as they are. Over a "
            "browser session it needs a fresh two-factor code. Audited with the names of the "
            "fields that changed."
        ),
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
        summary="Erase the practice",
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
            raise drf_error(exc) from None
        return Response({"erased": counts})
