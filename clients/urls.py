"""Clinician workspace URLs, mounted under /p/<practice_slug>/."""

from django.urls import path

from clients import views, views_erasure

urlpatterns = [
    path("couples/new/", views.couple_create, name="couple_new"),
    path("couples/<uuid:couple_id>/", views.couple_detail, name="couple_detail"),
    path("couples/<uuid:couple_id>/edit/", views.couple_edit, name="couple_edit"),
    path("couples/<uuid:couple_id>/notes/", views.note_create, name="note_create"),
    path("couples/<uuid:couple_id>/erase/", views_erasure.couple_erase, name="couple_erase"),
    path(
        "couples/<uuid:couple_id>/partners/<uuid:partner_id>/",
        views.partner_edit,
        name="partner_edit",
    ),
    path(
        "couples/<uuid:couple_id>/partners/<uuid:partner_id>/invite/",
        views.partner_invite,
        name="partner_invite",
    ),
    path(
        "couples/<uuid:couple_id>/partners/<uuid:partner_id>/revoke/",
        views.partner_revoke,
        name="partner_revoke",
    ),
]
