"""Assessment URLs, mounted under /p/<practice_slug>/."""

from django.urls import path

from assessments import (
    views,
    views_analytics,
    views_builder,
    views_caseload,
    views_fhir,
    views_protocols,
)

urlpatterns = [
    path("", views_caseload.caseload, name="caseload"),
    path("couples/<uuid:couple_id>/assign/", views.assign, name="assign"),
    path(
        "couples/<uuid:couple_id>/history/<slug:instrument_key>/",
        views.history,
        name="history",
    ),
    path(
        "assignments/<uuid:assignment_id>/status/",
        views.assignment_status,
        name="assignment_status",
    ),
    path("results/<uuid:occurrence_id>/", views.occurrence_results, name="occurrence_results"),
    path("responses/<uuid:response_id>/reopen/", views.response_reopen, name="response_reopen"),
    path(
        "couples/<uuid:couple_id>/protocol/", views_protocols.protocol_apply, name="protocol_apply"
    ),
    path("protocols/", views_protocols.protocol_list, name="protocols"),
    path("protocols/new/", views_protocols.protocol_edit, name="protocol_new"),
    path("protocols/apply/", views_protocols.protocol_apply_many, name="protocol_apply_many"),
    path("protocols/<uuid:protocol_id>/", views_protocols.protocol_edit, name="protocol_edit"),
    path(
        "protocols/<uuid:protocol_id>/retire/",
        views_protocols.protocol_retire,
        name="protocol_retire",
    ),
    path("alerts/", views.alert_list, name="alerts"),
    path("analytics/", views_analytics.analytics_page, name="analytics"),
    path("analytics/outcomes.csv", views_analytics.analytics_csv, name="analytics_csv"),
    path("analytics/scores.csv", views_analytics.analytics_scores_csv, name="analytics_scores"),
    path("alerts/<uuid:alert_id>/acknowledge/", views.alert_acknowledge, name="alert_acknowledge"),
    path("alerts/<uuid:alert_id>/resolve/", views.alert_resolve, name="alert_resolve"),
    path("instruments/", views.instrument_list, name="instruments"),
    path("instruments/upload/", views.instrument_upload, name="instrument_upload"),
    path("instruments/build/", views_builder.instrument_builder, name="instrument_builder"),
    path(
        "instruments/build/check/",
        views_builder.instrument_builder_check,
        name="instrument_builder_check",
    ),
    path(
        "instruments/<uuid:instrument_id>/build/",
        views_builder.instrument_builder,
        name="instrument_builder_edit",
    ),
    path("instruments/import/", views_fhir.fhir_import, name="instrument_import"),
    path("instruments/fhir/", views_fhir.instruments_fhir, name="instruments_fhir"),
    path(
        "instruments/<uuid:instrument_id>/scales/",
        views_fhir.instrument_scales,
        name="instrument_scales",
    ),
    path(
        "instruments/<uuid:instrument_id>/fhir/", views_fhir.instrument_fhir, name="instrument_fhir"
    ),
    path("couples/<uuid:couple_id>/fhir/", views_fhir.couple_fhir, name="couple_fhir"),
    path("couples/<uuid:couple_id>/scores.csv", views_fhir.couple_scores_csv, name="couple_scores"),
    path("instruments/<uuid:instrument_id>/", views.instrument_detail, name="instrument_detail"),
    path(
        "instruments/<uuid:instrument_id>/publish/",
        views.instrument_publish,
        name="instrument_publish",
    ),
]
