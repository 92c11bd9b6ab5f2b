"""API for erasing a couple (owners)."""

from __future__ import annotations

from typing import Any

from django.core.exceptions import ValidationError as DjangoValidationError
from drf_spectacular.utils import extend_schema, inline_serializer
from rest_framework import serializers
from rest_framework.request import Request
from rest_framework.response import Response

from clients.access import get_couple
from clients.erasure import erase_couple
from practice.api_base import StaffAPIView, StrictSerializer, capability
from practice.api_errors import drf_error
from practice.roles import Can


class Confirmation(StrictSerializer):
    confirmation = serializers.CharField(
        max_length=200, help_text="The couple's label (or the practice's name), typed exactly."
    )


ERASED = inline_serializer(
    "Erased",
    {"erased": serializers.DictField(child=serializers.IntegerField(), help_text="What went.")},
)


class CoupleEraseView(StaffAPIView):
    permission_classes = [*StaffAPIView.permission_classes, capability(Can.MANAGE_DATA)]

    @extend_schema(
        request=Confirmation,
        responses={200: ERASED},
        tags=["couples"],
        operation_id="couples_erase",
        summary="Erase a couple",
        description="Owners: erase the couple and everything of it (answers, scores, alerts, "
        "reports and their files, portal links, notes). The audit trail keeps ids only.",
    )
    def post(self, request: Request, practice_slug: str, couple_id: Any) -> Response:
        couple = get_couple(self.membership, couple_id)
        data = Confirmation(data=request.data)
        data.is_valid(raise_exception=True)
        try:
            counts = erase_couple(
                couple,
                actor=self.user,
                confirmation=data.validated_data["confirmation"],
                request=request._request,
            )
        except DjangoValidationError as exc:
            raise drf_error(exc) from None
        return Response({"erased": counts})
