"""Owner settings, mounted under /p/<practice_slug>/settings/."""

from django.urls import path

from practice import erasure_views
from practice import practice_settings_views as views

urlpatterns = [
    path("", views.general, name="practice_settings"),
    path("members/", views.members, name="members"),
    path("members/<uuid:membership_id>/", views.member_change, name="member_change"),
    path(
        "members/invitations/<uuid:invitation_id>/withdraw/",
        views.invitation_revoke,
        name="member_invitation_revoke",
    ),
    path("logo/", views.logo, name="practice_logo"),
    path("tokens/", views.tokens_page, name="api_tokens"),
    path("tokens/<uuid:token_id>/revoke/", views.token_revoke, name="api_token_revoke"),
    path("erase/", erasure_views.practice_erase, name="practice_erase"),
]
