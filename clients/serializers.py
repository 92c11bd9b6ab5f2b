"""API shapes of couples and partners."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.utils.translation import gettext_lazy as _
from rest_framework import serializers

from clients.models import CoupleStatus, PortalState
from practice.api_base import StrictSerializer


class PersonRef(serializers.Serializer):
    uuid = serializers.UUIDField(read_only=True)
    full_name = serializers.CharField(read_only=True)


class PartnerSerializer(serializers.Serializer):
    uuid = serializers.UUIDField(read_only=True)
    position = serializers.IntegerField(read_only=True)
    display_name = serializers.CharField(read_only=True)
    email = serializers.EmailField(read_only=True)
    phone = serializers.CharField(read_only=True)
    language = serializers.CharField(read_only=True)
    portal_state = serializers.ChoiceField(choices=PortalState.choices, read_only=True)


class PartnerInput(StrictSerializer):
    display_name = serializers.CharField(max_length=120)
    email = serializers.EmailField(max_length=254)
    phone = serializers.CharField(max_length=40, required=False, allow_blank=True, default="")
    language = serializers.ChoiceField(choices=settings.LANGUAGES, required=False, default="en")


class PartnerUpdate(StrictSerializer):
    display_name = serializers.CharField(max_length=120, required=False)
    email = serializers.EmailField(max_length=254, required=False)
    phone = serializers.CharField(max_length=40, required=False, allow_blank=True)
    language = serializers.ChoiceField(choices=settings.LANGUAGES, required=False)


class CoupleCreate(StrictSerializer):
    label = serializers.CharField(max_length=120)  # type: ignore[assignment]
    start_date = serializers.DateField(required=False)
    clinicians = serializers.ListField(
        child=serializers.UUIDField(),
        required=False,
        default=list,
        max_length=20,
        help_text="UUIDs of owners or clinicians of the practice. Omitted or empty, a "
        "clinician creating the couple becomes its clinician; owners and assistants leave "
        "it unassigned.",
    )
    partners = PartnerInput(many=True)

    def validate_partners(self, value: list[dict[str, Any]]) -> list[dict[str, Any]]:
        if len(value) != 2:
            raise serializers.ValidationError(_("A couple has exactly two partners."))
        return value


class CoupleUpdate(StrictSerializer):
    label = serializers.CharField(max_length=120, required=False)  # type: ignore[assignment]
    status = serializers.ChoiceField(choices=CoupleStatus.choices, required=False)
    start_date = serializers.DateField(required=False)
    monthly_report = serializers.BooleanField(required=False)
    clinicians = serializers.ListField(child=serializers.UUIDField(), required=False, max_length=20)


class InvitationResult(serializers.Serializer):
    partner = serializers.UUIDField()
    portal_state = serializers.ChoiceField(choices=PortalState.choices)
    expires_at = serializers.DateTimeField(allow_null=True)
