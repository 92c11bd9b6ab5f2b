"""Assessment URLs, mounted under /p/<practice_slug>/."""

from django.urls import path

from assessments import views

urlpatterns = [
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
    path("alerts/", views.alert_list, name="alerts"),
    path("alerts/<uuid:alert_id>/acknowledge/", views.alert_acknowledge, name="alert_acknowledge"),
    path("alerts/<uuid:alert_id>/resolve/", views.alert_resolve, name="alert_resolve"),
    path("instruments/", views.instrument_list, name="instruments"),
    path("instruments/upload/", views.instrument_upload, name="instrument_upload"),
    path("instruments/<uuid:instrument_id>/", views.instrument_detail, name="instrument_detail"),
    path(
        "instruments/<uuid:instrument_id>/publish/",
        views.instrument_publish,
        name="instrument_publish",
    ),
]
