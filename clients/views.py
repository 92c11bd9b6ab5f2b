"""Clinician workspace pages: couples, partners, notes and invitations.

The caseload page is assessments/views_caseload.py, next to the data it reads.
"""

from __future__ import annotations

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import ngettext
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_POST

from clients import services
from clients.access import get_couple, get_partner
from clients.forms import CoupleForm, NewCoupleForm, NoteForm, PartnerForm
from clients.models import CoupleStatus, Partner
from practice import audit, panels
from practice.audit_names import couple_filter, names_for
from practice.forms import add_service_errors
from practice.models import AuditEvent, Role
from practice.requests import PracticeRequest, staff_view
from practice.roles import Can, can


@staff_view(Can.MANAGE_COUPLES)
def couple_create(request: PracticeRequest, practice_slug: str) -> HttpResponse:
    """Create a couple and its two partners in one step."""
    membership = request.membership
    practice = request.practice
    initial = {"start_date": timezone.localdate(), "status": CoupleStatus.ACTIVE}
    if membership.role in {Role.CLINICIAN, Role.OWNER}:
        initial["clinicians"] = [request.user]
    form = NewCoupleForm(request.POST or None, practice=practice, initial=initial)
    one = PartnerForm(request.POST or None, prefix="one")
    two = PartnerForm(request.POST or None, prefix="two")
    if request.method == "POST" and form.is_valid() and one.is_valid() and two.is_valid():
        try:
            couple = services.create_couple(
                practice=practice,
                actor=request.user,
                label=form.cleaned_data["label"],
                start_date=form.cleaned_data["start_date"],
                clinicians=list(form.cleaned_data["clinicians"]),
                partners=[services.PartnerDetails(**p.cleaned_data) for p in (one, two)],
                request=request,
            )
        except ValidationError as exc:
            _attach_partner_errors(exc, one, two)
        else:
            messages.success(request, _("Couple created. Invite each partner to the portal next."))
            return redirect("couple_detail", practice_slug=practice.slug, couple_id=couple.uuid)
    return render(
        request,
        "clients/couple_form.html",
        {"form": form, "partner_forms": [one, two], "creating": True, "nav": "caseload"},
    )


def _attach_partner_errors(exc: ValidationError, one: PartnerForm, two: PartnerForm) -> None:
    """Put a create_couple error next to the partner field it is about."""
    errors = exc.error_dict.get("email", []) if hasattr(exc, "error_dict") else exc.error_list
    if not errors:
        one.add_error(None, exc.messages[0])
        return
    error = errors[0]
    message = error.messages[0]
    if error.code == "same_email":
        two.add_error("email", message)
        return
    taken = set(
        Partner.objects.filter(
            email__in=[f.cleaned_data.get("email", "") for f in (one, two)]
        ).values_list("email", flat=True)
    )
    for form in (one, two):
        if form.cleaned_data.get("email") in taken:
            form.add_error("email", message)
            return
    one.add_error("email", message)


@never_cache
@staff_view(Can.MANAGE_COUPLES)
def couple_edit(request: PracticeRequest, practice_slug: str, couple_id: str) -> HttpResponse:
    membership = request.membership
    couple = get_couple(membership, couple_id)
    initial = {
        "label": couple.label,
        "start_date": couple.start_date,
        "status": couple.status,
        "clinicians": list(couple.clinicians.all()),
        "monthly_report": couple.monthly_report,
    }
    form = CoupleForm(request.POST or None, practice=request.practice, initial=initial)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        services.update_couple(
            couple,
            actor=request.user,
            request=request,
            clinicians=list(data["clinicians"]),
            label=data["label"],
            start_date=data["start_date"],
            status=data["status"],
            monthly_report=data["monthly_report"],
        )
        messages.success(request, _("Saved."))
        return redirect("couple_detail", practice_slug=practice_slug, couple_id=couple.uuid)
    audit.record("couple.view", request=request, target=couple, page="edit")
    return render(
        request,
        "clients/couple_form.html",
        {"form": form, "couple": couple, "creating": False, "nav": "caseload"},
    )


# The couple page's tabs, each its own URL (?tab=…): what the member's role may open.
COUPLE_TABS = (
    ("results", Can.VIEW_CLINICAL),
    ("forms", None),
    ("reports", Can.VIEW_CLINICAL),
    ("notes", Can.VIEW_CLINICAL),
    ("activity", Can.VIEW_CLINICAL),
)
# What the activity tab leaves out: reading (views, downloads of lists) and portal sessions.
QUIET_ACTIONS = ("portal.sign_in", "portal.sign_out", "portal.link_requested", "portal.form_view")
ACTIVITY_LIMIT = 50


def _couple_tabs(membership: object) -> list[tuple[str, str]]:
    labels = {
        "results": _("Results"),
        "forms": _("Forms"),
        "reports": _("Reports and data"),
        "notes": _("Notes"),
        "activity": _("Activity"),
    }
    return [
        (key, labels[key])
        for key, needs in COUPLE_TABS
        if needs is None or can(membership, needs)  # type: ignore[arg-type]
    ]


def couple_activity(membership: object, couple: object) -> list[object]:
    """What happened to this couple lately (no reads), named for this member."""
    events = list(
        AuditEvent.objects.filter(couple_filter(membership, str(couple.uuid)))  # type: ignore[arg-type,attr-defined]
        .exclude(action__endswith=".view")
        .exclude(action__in=QUIET_ACTIONS)
        .select_related("actor")[:ACTIVITY_LIMIT]
    )
    names_for(membership, events)  # type: ignore[arg-type]
    for event in events:
        event.label = audit.ACTIONS.get(event.action, event.action)  # type: ignore[attr-defined]
    return events  # type: ignore[return-value]


def couple_tab_url(practice_slug: str, couple: object, tab: str) -> str:
    """The couple page opened at one tab, scrolled to the tabs."""
    url = reverse("couple_detail", args=[practice_slug, couple.uuid])  # type: ignore[attr-defined]
    return f"{url}?tab={tab}#couple-tabs"


@never_cache
@staff_view()
def couple_detail(request: PracticeRequest, practice_slug: str, couple_id: str) -> HttpResponse:
    """One couple: a summary on top, then one tab (its own URL) of what this member may see."""
    membership = request.membership
    couple = get_couple(membership, couple_id)
    tabs = _couple_tabs(membership)
    tab = request.GET.get("tab", "")
    if tab not in {key for key, _label in tabs}:
        tab = tabs[0][0]
    partners = list(couple.partners.order_by("position"))
    context = {
        "couple": couple,
        "partners": partners,
        "clinicians": list(couple.clinicians.all()),
        "nav": "caseload",
        "tabs": tabs,
        "tab": tab,
    }
    if tab == "notes":
        context["notes"] = list(couple.notes.select_related("author"))
        context["note_form"] = NoteForm()
    elif tab == "activity":
        context["activity"] = couple_activity(membership, couple)
    context.update(
        panels.COUPLE_PAGE.context(
            request=request, couple=couple, partners=partners, membership=membership, tab=tab
        )
    )
    audit.record("couple.view", request=request, target=couple, tab=tab)
    return render(request, "clients/couple_detail.html", context)


@never_cache
@staff_view(Can.MANAGE_COUPLES)
def partner_edit(
    request: PracticeRequest, practice_slug: str, couple_id: str, partner_id: str
) -> HttpResponse:
    membership = request.membership
    couple = get_couple(membership, couple_id)
    partner = get_partner(membership, couple, partner_id)
    form = PartnerForm(request.POST or None, instance=partner)
    if request.method == "POST" and form.is_valid():
        try:
            services.update_partner(
                partner,
                actor=request.user,
                request=request,
                **{f: form.cleaned_data[f] for f in PartnerForm.Meta.fields},
            )
        except ValidationError as exc:
            add_service_errors(form, exc)
        else:
            messages.success(request, _("Saved."))
            return redirect("couple_detail", practice_slug=practice_slug, couple_id=couple.uuid)
    # A failed save must not leave the in-memory instance half-changed on screen.
    partner.refresh_from_db()
    if request.method == "GET":
        audit.record("couple.view", request=request, target=partner)
    return render(
        request,
        "clients/partner_form.html",
        {"form": form, "couple": couple, "partner": partner, "nav": "caseload"},
    )


@require_POST
@staff_view(Can.INVITE)
def partner_invite(
    request: PracticeRequest, practice_slug: str, couple_id: str, partner_id: str
) -> HttpResponse:
    """Send or resend the portal invitation."""
    membership = request.membership
    couple = get_couple(membership, couple_id)
    partner = get_partner(membership, couple, partner_id)
    try:
        services.invite_partner(partner, actor=request.user, request=request)
    except ValidationError as exc:
        messages.error(request, exc.messages[0])
    except services.InvitationNotSent:
        messages.error(
            request,
            _("The invitation email could not be sent, so nothing changed. Please try again."),
        )
    else:
        days = services.invitation_lifetime().days
        messages.success(
            request,
            ngettext(
                "Invitation sent to %(name)s. The link works once and expires in %(days)d day.",
                "Invitation sent to %(name)s. The link works once and expires in %(days)d days.",
                days,
            )
            % {"name": partner.display_name, "days": days},
        )
    return redirect("couple_detail", practice_slug=practice_slug, couple_id=couple.uuid)


@require_POST
@staff_view(Can.INVITE)
def partner_revoke(
    request: PracticeRequest, practice_slug: str, couple_id: str, partner_id: str
) -> HttpResponse:
    """End a partner's portal access now."""
    membership = request.membership
    couple = get_couple(membership, couple_id)
    partner = get_partner(membership, couple, partner_id)
    services.revoke_portal_access(partner, actor=request.user, request=request)
    messages.success(
        request,
        _("%(name)s's portal access has ended. Invite them again to restore it.")
        % {"name": partner.display_name},
    )
    return redirect("couple_detail", practice_slug=practice_slug, couple_id=couple.uuid)


@require_POST
@staff_view(Can.VIEW_CLINICAL)
def note_create(request: PracticeRequest, practice_slug: str, couple_id: str) -> HttpResponse:
    membership = request.membership
    couple = get_couple(membership, couple_id)
    form = NoteForm(request.POST)
    if form.is_valid():
        services.add_note(
            couple, actor=request.user, body=form.cleaned_data["body"], request=request
        )
        messages.success(request, _("Note added."))
    else:
        messages.error(request, _("The note was empty or too long, so it was not saved."))
    return redirect(couple_tab_url(practice_slug, couple, "notes"))
