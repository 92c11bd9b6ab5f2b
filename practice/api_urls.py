"""The JSON API at /api/v1/: staff routes carry the practice slug, portal routes a session."""

from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerSplitView

from assessments import api as assessments
from assessments import api_analytics, api_caseload, api_fhir, api_portal
from clients import api as clients
from clients import api_erasure
from clients import api_portal as clients_portal
from practice import api as practice
from reports import api as reports
from reports import api_exports

app_name = "api"

portal_patterns = [
    path("session/", clients_portal.PortalSessionView.as_view(), name="portal-session"),
    path("forms/", api_portal.FormsView.as_view(), name="portal-forms"),
    path(
        "forms/<uuid:occurrence_id>/answers/",
        api_portal.AnswersView.as_view(),
        name="portal-answers",
    ),
    path(
        "forms/<uuid:occurrence_id>/submit/", api_portal.SubmitView.as_view(), name="portal-submit"
    ),
]

practice_patterns = [
    path("settings/", practice.PracticeSettingsView.as_view(), name="settings"),
    path("members/", practice.MembersView.as_view(), name="members"),
    path("members/<uuid:membership_id>/", practice.MemberView.as_view(), name="member"),
    path("audit/", practice.AuditView.as_view(), name="audit"),
    path("erase/", practice.PracticeEraseView.as_view(), name="practice-erase"),
    path("exports/", api_exports.ExportsView.as_view(), name="exports"),
    path("exports/<uuid:export_id>/", api_exports.ExportView.as_view(), name="export"),
    path(
        "exports/<uuid:export_id>/download/",
        api_exports.ExportDownloadView.as_view(),
        name="export-download",
    ),
    path("analytics/", api_analytics.AnalyticsView.as_view(), name="analytics"),
    path("analytics/outcomes.csv", api_analytics.AnalyticsCsvView.as_view(), name="analytics-csv"),
    path("couples/", api_caseload.CoupleListView.as_view(), name="couples"),
    path("couples/fhir/", api_fhir.CouplesFhirImportView.as_view(), name="couples-fhir-import"),
    path("couples/<uuid:couple_id>/", api_caseload.CoupleDetailView.as_view(), name="couple"),
    path(
        "couples/<uuid:couple_id>/partners/<uuid:partner_id>/",
        clients.PartnerView.as_view(),
        name="partner",
    ),
    path(
        "couples/<uuid:couple_id>/partners/<uuid:partner_id>/invite/",
        clients.InviteView.as_view(),
        name="partner-invite",
    ),
    path(
        "couples/<uuid:couple_id>/partners/<uuid:partner_id>/revoke/",
        clients.RevokeView.as_view(),
        name="partner-revoke",
    ),
    path("couples/<uuid:couple_id>/notes/", clients.CoupleNotesView.as_view(), name="notes"),
    path("couples/<uuid:couple_id>/fhir/", api_fhir.CoupleFhirView.as_view(), name="couple-fhir"),
    path(
        "couples/<uuid:couple_id>/scores.csv",
        api_fhir.CoupleScoresCsvView.as_view(),
        name="couple-scores",
    ),
    path(
        "couples/<uuid:couple_id>/erase/",
        api_erasure.CoupleEraseView.as_view(),
        name="couple-erase",
    ),
    path(
        "couples/<uuid:couple_id>/assignments/",
        assessments.CoupleAssignmentsView.as_view(),
        name="couple-assignments",
    ),
    path(
        "couples/<uuid:couple_id>/responses/",
        assessments.CoupleResponsesView.as_view(),
        name="couple-responses",
    ),
    path(
        "couples/<uuid:couple_id>/history/<slug:instrument_key>/",
        assessments.HistoryView.as_view(),
        name="history",
    ),
    path(
        "couples/<uuid:couple_id>/reports/",
        reports.CoupleReportsView.as_view(),
        name="couple-reports",
    ),
    path("instruments/", assessments.InstrumentListView.as_view(), name="instruments"),
    path("instruments/fhir/", api_fhir.InstrumentsFhirView.as_view(), name="instruments-fhir"),
    path(
        "instruments/<uuid:instrument_id>/fhir/",
        api_fhir.InstrumentFhirView.as_view(),
        name="instrument-fhir",
    ),
    path(
        "instruments/<uuid:instrument_id>/scales/",
        api_fhir.InstrumentScalesView.as_view(),
        name="instrument-scales",
    ),
    path(
        "instruments/<uuid:instrument_id>/",
        assessments.InstrumentDetailView.as_view(),
        name="instrument",
    ),
    path(
        "instruments/<uuid:instrument_id>/publish/",
        assessments.InstrumentPublishView.as_view(),
        name="instrument-publish",
    ),
    path(
        "assignments/<uuid:assignment_id>/", assessments.AssignmentView.as_view(), name="assignment"
    ),
    path(
        "assignments/<uuid:assignment_id>/status/",
        assessments.AssignmentStatusView.as_view(),
        name="assignment-status",
    ),
    path(
        "responses/<uuid:response_id>/reopen/",
        assessments.ResponseReopenView.as_view(),
        name="response-reopen",
    ),
    path("results/<uuid:occurrence_id>/", assessments.ResultsView.as_view(), name="results"),
    path("alerts/", assessments.AlertListView.as_view(), name="alerts"),
    path(
        "alerts/<uuid:alert_id>/acknowledge/",
        assessments.AlertAcknowledgeView.as_view(),
        name="alert-acknowledge",
    ),
    path(
        "alerts/<uuid:alert_id>/resolve/",
        assessments.AlertResolveView.as_view(),
        name="alert-resolve",
    ),
    path("report-batches/", reports.BatchCreateView.as_view(), name="report-batches"),
    path("report-batches/<uuid:batch_id>/", reports.BatchView.as_view(), name="report-batch"),
    path("reports/", reports.ReportListView.as_view(), name="reports"),
    path("reports/<uuid:report_id>/", reports.ReportDetailView.as_view(), name="report"),
]

urlpatterns = [
    path("schema/", SpectacularAPIView.as_view(), name="schema"),
    # The split view serves its start-up script as a file, so the strict CSP holds here too.
    path("schema/docs/", SpectacularSwaggerSplitView.as_view(url_name="api:schema"), name="docs"),
    path("me/", practice.MeView.as_view(), name="me"),
    path("practices/", practice.MyPracticesView.as_view(), name="practices"),
    path("files/reports/", reports.ReportFileView.as_view(), name="report-file"),
    path("portal/", include((portal_patterns, "portal_api"))),
    path("p/<slug:practice_slug>/", include(practice_patterns)),
]
