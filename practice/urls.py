"""Top-level URLs. Everything under /p/<practice_slug>/ runs inside that practice's scope."""

from django.contrib.auth import views as auth_views
from django.urls import include, path

from practice import audit_views, invitation_views, two_factor_views, views
from practice.admin import admin_site

account_patterns = [
    path("sign-in/", views.SignInView.as_view(), name="login"),
    path("sign-out/", auth_views.LogoutView.as_view(), name="logout"),
    path("password-reset/", views.PasswordResetView.as_view(), name="password_reset"),
    path(
        "password-reset/sent/",
        auth_views.PasswordResetDoneView.as_view(
            template_name="registration/password_reset_done.html"
        ),
        name="password_reset_done",
    ),
    path(
        "password-reset/<uidb64>/<token>/",
        views.PasswordResetConfirmView.as_view(),
        name="password_reset_confirm",
    ),
    path(
        "password-reset/complete/",
        auth_views.PasswordResetCompleteView.as_view(
            template_name="registration/password_reset_complete.html"
        ),
        name="password_reset_complete",
    ),
    path(
        "invitations/<str:token>/",
        invitation_views.invitation_link,
        name="staff_invitation",
    ),
    path("invitation/", invitation_views.invitation_accept, name="staff_invitation_accept"),
    path("two-factor/", two_factor_views.verify, name="two_factor_verify"),
    path("two-factor/setup/", two_factor_views.setup, name="two_factor_setup"),
    path(
        "two-factor/recovery-codes/",
        two_factor_views.recovery_codes,
        name="two_factor_recovery_codes",
    ),
]

practice_patterns = [
    path("", include("clients.urls")),
    path("", include("assessments.urls")),
    path("", include("reports.urls")),
    path("audit/", audit_views.audit_log, name="audit_log"),
    path("audit/export.csv", audit_views.audit_export, name="audit_export"),
    path("settings/", include("practice.practice_settings_urls")),
]

urlpatterns = [
    path("", views.home, name="home"),
    # set_language (POST, CSRF-checked): the language switcher before portal sign-in.
    path("i18n/", include("django.conf.urls.i18n")),
    path("practices/", views.practice_list, name="practice_list"),
    path("accounts/", include(account_patterns)),
    path("p/<slug:practice_slug>/", include(practice_patterns)),  # type: ignore[arg-type]
    path("portal/", include("clients.portal_urls")),
    path("api/v1/", include("practice.api_urls")),
    path("admin/", admin_site.urls),
    path("healthz", views.healthz, name="healthz"),
]

handler404 = views.not_found
handler500 = views.server_error
