"""The client portal, namespace ``portal``, mounted at /portal/."""

from django.urls import path

from assessments import portal_views as form_views
from clients import portal_views as views
from reports import portal as report_views

app_name = "portal"

urlpatterns = [
    path("", views.home, name="home"),
    path("enter/<str:token>/", views.enter, name="enter"),
    path("sign-in/", views.sign_in, name="sign_in"),
    path("sign-in/sent/", views.sign_in_sent, name="sign_in_sent"),
    path("sign-out/", views.sign_out, name="sign_out"),
    path("signed-out/", views.signed_out, name="signed_out"),
    path("exit/", views.quick_exit, name="exit"),
    path("account/", views.account, name="account"),
    path("support/", views.support, name="support"),
    path("logo/", views.logo, name="logo"),
    path("i18n/<str:language>.js", views.js_catalog, name="js_catalog"),
    path("forms/<uuid:occurrence_id>/", form_views.form, name="form"),
    path("forms/<uuid:occurrence_id>/review/", form_views.review, name="form_review"),
    path("forms/<uuid:occurrence_id>/done/", form_views.done, name="form_done"),
    path("reports/<uuid:report_id>/download/", report_views.download, name="report_download"),
]
