"""Portal API for the partner's form: autosave answer by answer, and submit."""

from __future__ import annotations

from typing import Any

from django.utils.translation import gettext as _
from drf_spectacular.utils import extend_schema, inline_serializer
from rest_framework import serializers, status
from rest_framework.exceptions import ValidationError
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from assessments import models
from assessments.portal import forms_to_do, occurrence_for
from assessments.presentation import error_message
from assessments.services import responses as response_services
from practice.api_auth import IsPartner, PortalSessionAuthentication
from practice.api_base import StrictSerializer, no_body
from practice.api_errors import Conflict


class AnswersSerializer(StrictSerializer):
    answers = serializers.DictField(
        child=serializers.JSONField(allow_null=True),
        help_text="Answers by item link id; null clears an answer.",
        allow_empty=False,
    )

    def validate_answers(self, value: dict[str, Any]) -> dict[str, Any]:
        if len(value) > 200:
            raise serializers.ValidationError(_("Too many answers in one request."))
        return value


PROGRESS = inline_serializer(
    "FormProgress",
    {
        "answered": serializers.IntegerField(),
        "total": serializers.IntegerField(),
        "submitted": serializers.BooleanField(),
    },
)


class PortalView(APIView):
    authentication_classes = [PortalSessionAuthentication]
    permission_classes = [IsPartner]

    def occurrence(self, request: Request, occurrence_id: str) -> Any:
        return occurrence_for(request.user.partner, occurrence_id)  # type: ignore[union-attr]


def _progress(response: models.Response) -> dict[str, Any]:
    return {
        "answered": len(response.answers),
        "total": len(response.instrument.definition["items"]),
        "submitted": response.is_submitted,
    }


def _answer_errors(errors: dict[str, str]) -> ValidationError:
    return ValidationError({"answers": {k: [error_message(v)] for k, v in errors.items()}})


class OpenForm(serializers.Serializer):
    occurrence = serializers.UUIDField(source="occurrence.uuid")
    instrument = serializers.UUIDField(source="occurrence.instrument.uuid")
    title = serializers.CharField(help_text="As the portal names it (private screens neutrally).")
    due_date = serializers.DateField(source="occurrence.due_date")
    minutes = serializers.IntegerField(help_text="About how long it takes.")
    answered = serializers.IntegerField(help_text="Answers saved in the draft so far.")
    total = serializers.IntegerField(help_text="Items on the form.")


class FormsView(PortalView):
    @extend_schema(
        responses=OpenForm(many=True),
        tags=["portal"],
        operation_id="portal_forms_list",
        summary="List my open forms",
        description="The signed-in partner's forms that are open and not yet submitted, "
        "soonest due first, with how far the draft has got. Only the partner's own: the "
        "other partner's forms and answers are never listed.",
    )
    def get(self, request: Request) -> Response:
        rows = forms_to_do(request.user.partner)  # type: ignore[union-attr]
        return Response(OpenForm(rows, many=True).data)


class AnswersView(PortalView):
    """Save some answers to the partner's draft."""

    @extend_schema(
        request=AnswersSerializer,
        responses={200: PROGRESS},
        tags=["portal"],
        operation_id="portal_forms_answers_partial_update",
        summary="Save answers to my form",
        description=(
            "Portal: save some answers to the signed-in partner's draft (autosave); null "
            "clears one. Answers are checked item by item: problems are 400s under "
            "`answers.<link_id>`. A submitted or cancelled form answers 409 `closed`."
        ),
    )
    def patch(self, request: Request, occurrence_id: str) -> Response:
        occurrence = self.occurrence(request, occurrence_id)
        payload = AnswersSerializer(data=request.data)
        payload.is_valid(raise_exception=True)
        draft = response_services.draft_for(occurrence, request.user.partner)  # type: ignore[union-attr]
        try:
            draft = response_services.save_answers(draft, payload.validated_data["answers"])
        except response_services.AnswerErrors as exc:
            raise _answer_errors(exc.errors) from None
        except response_services.ResponseClosed:
            raise Conflict(_("This form can no longer be changed."), code="closed") from None
        return Response(_progress(draft))


class SubmitView(PortalView):
    """Submit the partner's answers; repeating it returns the first result."""

    @extend_schema(
        request=None,
        responses={200: PROGRESS, 201: PROGRESS},
        tags=["portal"],
        operation_id="portal_forms_submit_create",
        summary="Submit my form",
        description=(
            "Portal: submit the partner's draft. Every required item must be answered (400 "
            "under `answers.<link_id>` otherwise). Submitting again answers the first result "
            "with 200, so a retried request is harmless. A cancelled form answers 409 "
            "`closed`."
        ),
    )
    @no_body
    def post(self, request: Request, occurrence_id: str) -> Response:
        occurrence = self.occurrence(request, occurrence_id)
        draft = response_services.draft_for(occurrence, request.user.partner)  # type: ignore[union-attr]
        try:
            response, created = response_services.submit(draft)
        except response_services.AnswerErrors as exc:
            raise _answer_errors(exc.errors) from None
        except response_services.ResponseClosed:
            raise Conflict(_("This form was cancelled."), code="closed") from None
        return Response(
            _progress(response), status=status.HTTP_201_CREATED if created else status.HTTP_200_OK
        )
