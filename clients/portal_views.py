"""Client portal pages about identity: entering by link, signing in and out, quick exit, home."""

from __future__ import annotations

from django import forms
from django.conf import settings
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseBase, HttpResponseRedirect
from django.shortcuts import redirect, render
from django.utils import translation
from django.utils.translation import gettext_lazy as _
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST
from django.views.i18n import JavaScriptCatalog

from clients import portal, services
from clients.portal import PortalRequest, portal_view
from practice import audit, panels

# Where "Quick exit" goes: an everyday site that reveals nothing.
NEUTRAL_SITE = "https://www.bbc.co.uk/weather"

REFUSED_STATUS = {"unknown": 404, "used": 410, "expired": 410, "revoked": 410}


def enter(request: HttpRequest, token: str) -> HttpResponse:
    """A link from an email. GET asks to continue (mail scanners only GET); POST signs in."""
    if request.method == "POST":
        try:
            partner = services.consume_link(token, request)
        except services.LinkRefused as refused:
            return render(
                request,
                "clients/portal/link_refused.html",
                {"reason": refused.reason},
                status=REFUSED_STATUS[refused.reason],
            )
        portal.sign_in(request, partner)
        return redirect("portal:home")
    return render(request, "clients/portal/enter.html", {"token": token})


class SignInForm(forms.Form):
    email = forms.EmailField(
        label=_("Your email address"),
        widget=forms.EmailInput(attrs={"autocomplete": "email"}),
    )


def sign_in(request: HttpRequest) -> HttpResponse:
    """Ask for a sign-in link by email; the answer is the same for any address."""
    form = SignInForm(request.POST or None)
    notice = request.session.pop("portal_notice", None)
    if request.method == "POST" and form.is_valid():
        try:
            services.request_sign_in_link(form.cleaned_data["email"], request)
        except services.TooManyRequests:
            return render(
                request, "clients/portal/sign_in.html", {"form": form, "too_many": True}, status=429
            )
        return redirect("portal:sign_in_sent")
    return render(request, "clients/portal/sign_in.html", {"form": form, "notice": notice})


def sign_in_sent(request: HttpRequest) -> HttpResponse:
    return render(request, "clients/portal/sign_in_sent.html")


@require_POST
@portal_view
def sign_out(request: PortalRequest) -> HttpResponse:
    """End this device's session ("Not you? Sign out")."""
    partner = request.partner
    everywhere = request.POST.get("everywhere") == "1"
    if everywhere:
        services.sign_out_everywhere(partner, request)
    else:
        audit.record_for_partner(
            "portal.sign_out",
            partner,
            request=request,
        )
    portal.sign_out(request)
    return redirect("portal:signed_out")


def signed_out(request: HttpRequest) -> HttpResponse:
    return render(request, "clients/portal/signed_out.html")


@csrf_exempt  # signing out is harmless, and the beacon cannot carry a token
def quick_exit(request: HttpRequest) -> HttpResponse:
    """Leave at once for a neutral site, ending the session on the way (works without JS).

    The portal's script leaves by itself and only tells the server with a beacon (a
    POST): that gets an empty answer, since a beacon that followed a redirect would
    reach for the neutral site from the portal page, which its policy refuses.
    """
    portal.sign_out(request)
    response: HttpResponse = (
        HttpResponse(status=204) if request.method == "POST" else HttpResponseRedirect(NEUTRAL_SITE)
    )
    response["Clear-Site-Data"] = '"cache", "storage"'
    return response


@portal_view
def home(request: PortalRequest) -> HttpResponse:
    """Forms to do, completed forms and released reports of the signed-in partner."""
    partner = request.partner
    context = {"partner": partner, **panels.PORTAL_HOME.context(request=request, partner=partner)}
    return render(request, "clients/portal/home.html", context)


@portal_view
def support(request: PortalRequest) -> HttpResponse:
    """The practice's support resources, shown discreetly."""
    partner = request.partner
    resources = [
        line.strip() for line in partner.practice.support_resources.splitlines() if line.strip()
    ]
    return render(request, "clients/portal/support.html", {"resources": resources})


@portal_view
def logo(request: PortalRequest) -> HttpResponseBase:
    """The practice's logo for portal pages."""
    from django.http import FileResponse, Http404

    practice = request.partner.practice
    if not practice.logo:
        raise Http404
    return FileResponse(practice.logo.open("rb"))


@portal_view
def account(request: PortalRequest) -> HttpResponse:
    """Sign-out options, including every device at once."""
    return render(request, "clients/portal/account.html", {"partner": request.partner})


def js_catalog(request: HttpRequest, language: str) -> HttpResponseBase:
    """The portal script's translations, for the language named in the URL."""
    if language not in dict(settings.LANGUAGES):
        raise Http404
    with translation.override(language):
        return JavaScriptCatalog.as_view(domain="djangojs")(request)
