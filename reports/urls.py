"""Report URLs, mounted under /p/<practice_slug>/."""

from django.urls import path

from reports import views, views_exports

urlpatterns = [
    path("reports/", views.report_list, name="reports"),
    path("reports/batches/<uuid:batch_id>/", views.report_batch, name="report_batch"),
    path(
        "reports/batches/<uuid:batch_id>/status/",
        views.report_batch_status,
        name="report_batch_status",
    ),
    path("reports/<uuid:report_id>/", views.report_detail, name="report_detail"),
    path("reports/<uuid:report_id>/status/", views.report_status, name="report_status"),
    path("reports/<uuid:report_id>/preview/", views.report_preview, name="report_preview"),
    path("reports/<uuid:report_id>/release/", views.report_release, name="report_release"),
    path("reports/<uuid:report_id>/download/", views.download, name="report_download"),
    path("reports/<uuid:report_id>/action/", views.report_action, name="report_action"),
    path("couples/<uuid:couple_id>/reports/new/", views.report_create, name="report_create"),
    path("exports/", views_exports.export_list, name="exports"),
    path("exports/<uuid:export_id>/status/", views_exports.export_status, name="export_status"),
    path(
        "exports/<uuid:export_id>/download/",
        views_exports.export_download,
        name="export_download",
    ),
]
