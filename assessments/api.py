"""API for instruments, assignments, responses, results, history and alerts."""

from __future__ import annotations

from typing import Any

from django.core.exceptions import ValidationError as DjangoValidationError
from django.db.models import Prefetch, QuerySet
from django.http import Http404
from django.utils.translation import get_language
from django.utils.translation import gettext as _
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import serializers, status
from rest_framework.exceptions import NotFound, ValidationError
from rest_framework.request import Request
from rest_framework.response import Response

from assessments import definition as defn
from assessments import models
from assessments.access import (
    get_alert,
    get_response,
    visible_alerts,
    visible_assignments,
)
from assessments.alert_text import explain
from assessments.form_results import form_results
from assessments.history import couple_history
from assessments.models import (
    Alert,
    AlertStatus,
    Instrument,
    InstrumentStatus,
    Occurrence,
    ResponseState,
)
from assessments.serializers import (
    AlertSerializer,
    AssignmentCreate,
    AssignmentSerializer,
    AssignmentStatusChange,
    HistorySerializer,
    InstrumentDetailSerializer,
    InstrumentSerializer,
    InstrumentUpload,
    ResolveAlert,
    ResponseSerializer,
    ResultsSerializer,
)
from assessments.services import alerts as alert_services
from assessments.services import assignments as assignment_services
from assessments.services import instruments as instrument_services
from assessments.services import responses as response_services
from clients.access import get_couple
from practice import audit
from practice.api_base import (
    PAGE_PARAMETERS,
    ByStart,
    StaffAPIView,
    UrgentFirst,
    capability,
    no_body,
    paged,
)
from practice.api_errors import Conflict, drf_error
from practice.lookups import get_or_404
from practice.models import Membership
from practice.roles import Can


class InstrumentListView(StaffAPIView):
    permission_classes = [*StaffAPIView.permission_classes, capability(Can.ASSIGN)]

    @extend_schema(
        responses=InstrumentSerializer(many=True),
        tags=["instruments"],
        operation_id="instruments_list",
        summary="List instruments",
        description=(
            "Every instrument this practice can assign: built-in ones and its own, newest "
            "version first, retired ones left out."
        ),
    )
    def get(self, request: Request, practice_slug: str) -> Response:
        instruments = Instrument.objects.exclude(status=InstrumentStatus.RETIRED).order_by(
            "title", "-version"
        )
        return Response(InstrumentSerializer(instruments, many=True).data)

    @extend_schema(
        request=InstrumentUpload,
        responses={201: InstrumentDetailSerializer},
        tags=["instruments"],
        operation_id="instruments_upload",
        summary="Upload an instrument",
        description=(
            "Owners: store a practice instrument from its JSON definition as a draft; publish "
            "it to assign it. Problems are 400s under `definition.<path>`."
        ),
    )
    def post(self, request: Request, practice_slug: str) -> Response:
        capability(Can.MANAGE_INSTRUMENTS)().has_permission(request, self)
        data = InstrumentUpload(data=request.data)
        data.is_valid(raise_exception=True)
        try:
            instrument = instrument_services.upload(
                practice=self.practice,
                actor=self.user,
                definition=data.validated_data["definition"],
                request=request._request,
            )
        except defn.DefinitionError as exc:
            fields: dict[str, list[str]] = {}
            for problem in exc.problems:
                name = f"definition.{problem.path}" if problem.path else "definition"
                fields.setdefault(name, []).append(problem.message)
            raise ValidationError(fields) from None
        return Response(InstrumentDetailSerializer(instrument).data, status=status.HTTP_201_CREATED)


class InstrumentDetailView(StaffAPIView):
    permission_classes = [*StaffAPIView.permission_classes, capability(Can.ASSIGN)]

    @extend_schema(
        responses=InstrumentDetailSerializer,
        tags=["instruments"],
        operation_id="instruments_retrieve",
        summary="Get an instrument",
        description=(
            "One instrument version with its full definition (items, scales, bands, languages)."
        ),
    )
    def get(self, request: Request, practice_slug: str, instrument_id: Any) -> Response:
        instrument = get_or_404(Instrument.objects.all(), uuid=instrument_id)
        return Response(InstrumentDetailSerializer(instrument).data)


class InstrumentPublishView(StaffAPIView):
    permission_classes = [*StaffAPIView.permission_classes, capability(Can.MANAGE_INSTRUMENTS)]

    @extend_schema(
        request=None,
        responses=InstrumentDetailSerializer,
        tags=["instruments"],
        operation_id="instruments_publish",
        summary="Publish an instrument",
        description=(
            "Owners: make a draft assignable. A FHIR import must have its scales step first "
            "(409 otherwise); publishing what is already published is a 409 too."
        ),
    )
    @no_body
    def post(self, request: Request, practice_slug: str, instrument_id: Any) -> Response:
        instrument = get_or_404(
            Instrument.objects.filter(practice=self.practice), uuid=instrument_id
        )
        try:
            instrument = instrument_services.publish(
                instrument,
                actor=self.user,
                request=request._request,
            )
        except DjangoValidationError as exc:
            raise Conflict(exc.messages[0]) from None
        return Response(InstrumentDetailSerializer(instrument).data)


def _assignments(membership: Membership) -> QuerySet[models.Assignment]:
    return (
        visible_assignments(membership)
        .select_related("couple", "instrument", "partner")
        .prefetch_related(
            Prefetch("occurrences", queryset=Occurrence.objects.order_by("-due_date"))
        )
    )


REPEAT_FIELDS = {
    "repeat_every": "repeat.every",
    "repeat_unit": "repeat.unit",
    "repeat_until": "repeat.until",
    "repeat_count": "repeat.count",
}


class CoupleAssignmentsView(StaffAPIView):
    permission_classes = [*StaffAPIView.permission_classes, capability(Can.ASSIGN)]

    @extend_schema(
        responses=AssignmentSerializer(many=True),
        tags=["assignments"],
        operation_id="assignments_list",
        summary="List a couple's assignments",
        description=(
            "Every assessment scheduled for the couple, with its schedule, status and up to "
            "20 most recent forms (occurrences). Audited."
        ),
    )
    def get(self, request: Request, practice_slug: str, couple_id: Any) -> Response:
        couple = get_couple(self.membership, couple_id)
        assignments = list(_assignments(self.membership).filter(couple=couple))
        audit.record(
            "assignment.view", request=request._request, target=couple, count=len(assignments)
        )
        return Response(AssignmentSerializer(assignments, many=True).data)

    @extend_schema(
        request=AssignmentCreate,
        responses={201: AssignmentSerializer},
        tags=["assignments"],
        operation_id="assignments_create",
        summary="Assign an assessment",
        description=(
            "Schedule a published instrument for both partners (or one): once, or repeating "
            "by `repeat` until a date or a number of forms. The first form opens on "
            "`first_due`; partners get an email when a form opens if `reminders` is on. A "
            "one-off assignment stays `active` until its form is closed."
        ),
    )
    def post(self, request: Request, practice_slug: str, couple_id: Any) -> Response:
        couple = get_couple(self.membership, couple_id)
        data = AssignmentCreate(data=request.data)
        data.is_valid(raise_exception=True)
        values = data.validated_data
        instrument = Instrument.objects.filter(uuid=values["instrument"]).first()
        if instrument is None:
            raise ValidationError({"instrument": ["No such instrument."]})
        partner = None
        if values.get("partner"):
            partner = couple.partners.filter(uuid=values["partner"]).first()
            if partner is None:
                raise ValidationError({"partner": ["Not a partner in this couple."]})
        repeat = values.get("repeat")
        try:
            assignment = assignment_services.assign(
                couple=couple,
                instrument=instrument,
                actor=self.user,
                first_due=values["first_due"],
                partner=partner,
                recurrence=assignment_services.Recurrence(**repeat) if repeat else None,
                reminders=values["reminders"],
                request=request._request,
            )
        except DjangoValidationError as exc:
            error = drf_error(exc)
            # The service names the model's columns; the API's body nests them in `repeat`.
            if isinstance(error.detail, dict):
                error = ValidationError(
                    {
                        REPEAT_FIELDS.get(str(name), str(name)): messages
                        for name, messages in error.detail.items()
                    }
                )
            raise error from None
        assignment = _assignments(self.membership).get(pk=assignment.pk)
        return Response(AssignmentSerializer(assignment).data, status=status.HTTP_201_CREATED)


class AssignmentView(StaffAPIView):
    permission_classes = [*StaffAPIView.permission_classes, capability(Can.ASSIGN)]

    @extend_schema(
        responses=AssignmentSerializer,
        tags=["assignments"],
        operation_id="assignments_retrieve",
        summary="Get an assignment",
        description=("One assignment with its schedule, status and recent forms. Audited."),
    )
    def get(self, request: Request, practice_slug: str, assignment_id: Any) -> Response:
        assignment = get_or_404(_assignments(self.membership), uuid=assignment_id)
        audit.record("assignment.view", request=request._request, target=assignment)
        return Response(AssignmentSerializer(assignment).data)


class AssignmentStatusView(StaffAPIView):
    permission_classes = [*StaffAPIView.permission_classes, capability(Can.ASSIGN)]

    @extend_schema(
        request=AssignmentStatusChange,
        responses=AssignmentSerializer,
        tags=["assignments"],
        operation_id="assignments_set_status",
        summary="Pause, resume or cancel an assignment",
        description=(
            "`paused` stops new forms opening (open ones stay open); `active` resumes; "
            "`cancelled` ends it and withdraws its forms that nobody has submitted. A "
            "finished or cancelled assignment cannot change, and a closed case cannot resume "
            "(409)."
        ),
    )
    def post(self, request: Request, practice_slug: str, assignment_id: Any) -> Response:
        assignment = get_or_404(_assignments(self.membership), uuid=assignment_id)
        data = AssignmentStatusChange(data=request.data)
        data.is_valid(raise_exception=True)
        try:
            assignment_services.set_status(
                assignment,
                data.validated_data["status"],
                actor=self.user,
                request=request._request,
            )
        except DjangoValidationError as exc:
            raise Conflict(exc.messages[0]) from None
        return Response(
            AssignmentSerializer(_assignments(self.membership).get(pk=assignment.pk)).data
        )


def _response_payload(response: models.Response) -> dict[str, Any]:
    return ResponseSerializer(
        {
            "uuid": response.uuid,
            "occurrence": response.occurrence,
            "partner": response.partner,
            "instrument": response.instrument,
            "state": response.state,
            "submitted_at": response.submitted_at,
            "answers": response.answers,
            "scores": list(response.scores.all()),
            "scored_at": response.scored_at,
            "scoring_error": response.scoring_error,
            "scoring_attempts": response.scoring_attempts,
            "scoring_retry_at": response.scoring_retry_at,
        }
    ).data


class CoupleResponsesView(StaffAPIView):
    permission_classes = [*StaffAPIView.permission_classes, capability(Can.VIEW_CLINICAL)]

    @extend_schema(
        responses=paged(ResponseSerializer, "Response"),
        tags=["responses"],
        operation_id="responses_list",
        summary="List a couple's submitted answers",
        description=(
            "Submitted answer sets of both partners, newest first, with their scores and "
            "scoring state. Drafts are the partner's own and never listed. Clinical staff "
            "only. Audited."
        ),
        parameters=PAGE_PARAMETERS,
    )
    def get(self, request: Request, practice_slug: str, couple_id: Any) -> Response:
        couple = get_couple(self.membership, couple_id)
        # Drafts are the partner's to change; clinicians read what was submitted.
        answer_sets = (
            models.Response.objects.filter(couple=couple, state=ResponseState.SUBMITTED)
            .select_related("occurrence", "partner", "instrument")
            .prefetch_related("scores")
        )
        paginator = ByStart()
        page = paginator.paginate_queryset(answer_sets, request, view=self)
        audit.record(
            "response.view",
            request=request._request,
            target=couple,
            count=len(page),
            via="api",
        )
        return paginator.get_paginated_response([_response_payload(r) for r in page])


class ResultsView(StaffAPIView):
    permission_classes = [*StaffAPIView.permission_classes, capability(Can.VIEW_CLINICAL)]

    @extend_schema(
        responses=ResultsSerializer,
        tags=["results"],
        operation_id="results_retrieve",
        summary="Get a form's results",
        description=(
            "Both partners' scores for one form side by side and, once both have submitted, "
            "the couple comparison: per scale and per item, with gaps, strengths and growth "
            "areas. Clinical staff only. Audited."
        ),
    )
    def get(self, request: Request, practice_slug: str, occurrence_id: Any) -> Response:
        # The API names scales and items in English whatever the request's language.
        record = form_results(self.membership, occurrence_id, "en")
        audit.record("results.view", request=request._request, target=record.occurrence, via="api")
        return Response(ResultsSerializer(record).data)


class HistoryView(StaffAPIView):
    permission_classes = [*StaffAPIView.permission_classes, capability(Can.VIEW_CLINICAL)]

    @extend_schema(
        responses=HistorySerializer,
        tags=["results"],
        operation_id="history_retrieve",
        summary="Get a couple's history on an instrument",
        description=(
            "Each partner's series on one scale of an instrument (the total by default) with "
            "reliable change since the start and since the previous score, any open "
            "deterioration alert, the norms used, and the couple composite. Clinical staff "
            "only. Audited."
        ),
        parameters=[OpenApiParameter("scale", str, description="Default: the total.")],
    )
    def get(
        self, request: Request, practice_slug: str, couple_id: Any, instrument_key: str
    ) -> Response:
        couple = get_couple(self.membership, couple_id)
        instrument = (
            Instrument.objects.filter(key=instrument_key)
            .exclude(status=InstrumentStatus.DRAFT)
            .order_by("-version")
            .first()
        )
        if instrument is None:
            raise NotFound
        scale = request.query_params.get("scale") or instrument.total_key
        if scale not in {s["key"] for s in instrument.definition["scales"]}:
            raise ValidationError({"scale": ["Not a scale of this instrument."]})
        partners = list(couple.partners.order_by("position"))
        history = couple_history(couple, partners, instrument, scale)
        norms = history.changes[0].norms
        audit.record(
            "history.view",
            request=request._request,
            target=couple,
            instrument=instrument.key,
            via="api",
        )
        return Response(
            HistorySerializer(
                {
                    "instrument": instrument,
                    "scale": scale,
                    "norms": norms.record(),
                    "partners": [
                        {
                            "partner": change.partner.uuid,
                            "points": [
                                {
                                    "at": p.at,
                                    "value": p.value,
                                    "response": p.response_uuid,
                                    "rci_from_previous": p.rci_from_previous,
                                }
                                for p in change.points
                            ],
                            "rci": change.rci,
                            "change_class": change.change_class.value
                            if change.change_class
                            else None,
                            "since_start": change.since_start,
                            "since_previous": change.since_previous,
                            "open_deterioration_alert_at": change.open_alert,
                        }
                        for change in history.changes
                    ],
                    "couple": None
                    if history.couple is None
                    else {
                        "points": [
                            {"at": p.at, "one": p.one, "two": p.two, "mean": p.mean, "gap": p.gap}
                            for p in history.couple.points
                        ],
                        "since_start": history.couple.since_start,
                        "since_previous": history.couple.since_previous,
                    },
                }
            ).data
        )


ALERT_PARAMETERS = [
    OpenApiParameter(
        "status",
        str,
        enum=["open", "acknowledged", "resolved", "unresolved", "all"],
        description="Default: unresolved (open and acknowledged).",
    ),
    OpenApiParameter("couple", OpenApiTypes.UUID, description="Only this couple's alerts."),
    *PAGE_PARAMETERS,
]


class AlertListView(StaffAPIView):
    permission_classes = [*StaffAPIView.permission_classes, capability(Can.VIEW_CLINICAL)]

    @extend_schema(
        parameters=ALERT_PARAMETERS,
        responses=paged(AlertSerializer, "Alert"),
        tags=["alerts"],
        operation_id="alerts_list",
        summary="List alerts",
        description=(
            "Alerts on the couples this member may see: safety first, then by urgency and "
            "age. Each has `details` (the rule and its numbers) and `text` (the explanation "
            "the dashboard shows, in the request's language). Clinical staff only. Audited."
        ),
    )
    def get(self, request: Request, practice_slug: str) -> Response:
        alerts = visible_alerts(self.membership).select_related("couple", "partner")
        wanted = request.query_params.get("status", "unresolved")
        if wanted == "unresolved":
            alerts = alerts.exclude(status=AlertStatus.RESOLVED)
        elif wanted in AlertStatus.values:
            alerts = alerts.filter(status=wanted)
        elif wanted != "all":
            raise ValidationError({"status": ["Unknown status filter."]})
        couple = request.query_params.get("couple")
        if couple:
            try:
                alerts = alerts.filter(couple=get_couple(self.membership, couple))
            except Http404:
                raise ValidationError({"couple": [_("No such couple.")]}) from None
        paginator = UrgentFirst()
        page = explain(paginator.paginate_queryset(alerts, request, view=self), get_language())
        audit.record("alert.view", request=request._request, count=len(page), via="api")
        return paginator.get_paginated_response(AlertSerializer(page, many=True).data)


class AlertActionView(StaffAPIView):
    permission_classes = [*StaffAPIView.permission_classes, capability(Can.VIEW_CLINICAL)]
    action = ""

    def alert(self, alert_id: Any) -> Alert:
        return get_alert(self.membership, alert_id, select=("couple", "partner"))


class AlertAcknowledgeView(AlertActionView):
    @extend_schema(
        request=None,
        responses=AlertSerializer,
        tags=["alerts"],
        operation_id="alerts_acknowledge",
        summary="Acknowledge an alert",
        description=(
            "Mark an open alert as seen; it stays on the list until resolved. Takes no body. "
            "Acknowledging again changes nothing."
        ),
    )
    @no_body
    def post(self, request: Request, practice_slug: str, alert_id: Any) -> Response:
        alert = alert_services.acknowledge(
            self.alert(alert_id),
            actor=self.user,
            request=request._request,
        )
        return Response(AlertSerializer(alert).data)


class AlertResolveView(AlertActionView):
    @extend_schema(
        request=ResolveAlert,
        responses=AlertSerializer,
        tags=["alerts"],
        operation_id="alerts_resolve",
        summary="Resolve an alert",
        description=(
            "Close an alert with a note saying what was done. Resolving again changes nothing."
        ),
    )
    def post(self, request: Request, practice_slug: str, alert_id: Any) -> Response:
        alert = self.alert(alert_id)
        data = ResolveAlert(data=request.data)
        data.is_valid(raise_exception=True)
        alert = alert_services.resolve(
            alert,
            actor=self.user,
            note=data.validated_data["note"],
            request=request._request,
        )
        return Response(AlertSerializer(alert).data)


class ReopenResult(serializers.Serializer):
    uuid = serializers.UUIDField()
    state = serializers.ChoiceField(choices=ResponseState.choices)
    reopened_at = serializers.DateTimeField(allow_null=True)


class ResponseReopenView(StaffAPIView):
    """Let the partner change a submitted form (audited); its scores go until resubmitted."""

    permission_classes = [*StaffAPIView.permission_classes, capability(Can.VIEW_CLINICAL)]

    @extend_schema(
        request=None,
        responses=ReopenResult,
        tags=["responses"],
        operation_id="responses_reopen",
        summary="Reopen a submitted form",
        description=(
            "Let the partner change a submitted form; its scores are withdrawn until it is "
            "submitted again. Audited."
        ),
    )
    @no_body
    def post(self, request: Request, practice_slug: str, response_id: Any) -> Response:
        answer_set = get_response(self.membership, response_id, select=("occurrence",))
        if answer_set.occurrence.cancelled:
            raise Conflict(_("This form was cancelled and cannot be reopened."))
        if not answer_set.is_submitted:
            raise Conflict(_("This form is not submitted, so there is nothing to reopen."))
        reopened = response_services.reopen(
            answer_set,
            actor=self.user,
            request=request._request,
        )
        return Response(ReopenResult(reopened).data)
