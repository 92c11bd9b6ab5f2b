"""Owner pages: practice settings and members."""

from __future__ import annotations

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import FileResponse, Http404, HttpRequest, HttpResponse, HttpResponseBase
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from practice import audit, two_factor
from practice import members as member_services
from practice.forms import (
    MemberInviteForm,
    MemberRoleForm,
    PracticeSettingsForm,
    add_service_errors,
)
from practice.lookups import get_or_404
from practice.models import Membership, StaffInvitation
from practice.requests import PracticeRequest, staff_view
from practice.roles import Can, require


def _step_up(request: HttpRequest, then: str | None = None) -> HttpResponse:
    """Send the owner to confirm a fresh code first; nothing was changed."""
    messages.info(request, _("Confirm it is you with a fresh code, then make the change again."))
    url = two_factor.step_up_url(request)
    if then is not None:
        url = url.split("?next=")[0] + "?next=" + then
    return redirect(url)


@staff_view()
def general(request: PracticeRequest, practice_slug: str) -> HttpResponse:
    """Branding, session timeout, report and norms preferences, support resources."""
    require(request.membership, Can.MANAGE_PRACTICE)
    practice = request.practice
    step_up = two_factor.step_up(request)
    form = PracticeSettingsForm(request.POST or None, request.FILES or None, instance=practice)
    if request.method == "POST":
        # The form is checked even when the code is missing, so every problem shows at once.
        if form.is_valid() and not step_up.needed:
            changed = sorted(form.changed_data)
            form.save()
            audit.record("practice.update", request=request, target=practice, fields=changed)
            messages.success(request, _("Settings saved."))
            return redirect("practice_settings", practice_slug=practice.slug)
        practice.refresh_from_db()
    return render(
        request,
        "practice/settings.html",
        {"form": form, "nav": "settings", "step_up": step_up},
        status=400 if step_up.error else 200,
    )


@staff_view()
def members(request: PracticeRequest, practice_slug: str) -> HttpResponse:
    """Members and their roles; invite a colleague, who joins by accepting."""
    require(request.membership, Can.MANAGE_PRACTICE)
    step_up = two_factor.step_up(request)
    form = MemberInviteForm(request.POST or None)
    if request.method == "POST" and form.is_valid() and not step_up.needed:
        try:
            member_services.invite_member(
                practice=request.practice,
                actor=request.user,
                request=request,
                **form.cleaned_data,
            )
        except ValidationError as exc:
            add_service_errors(form, exc)
        except member_services.MemberEmailFailed:
            messages.warning(
                request,
                _(
                    "The invitation to %(email)s is saved, but the email could not be sent. "
                    "Invite them again in a while."
                )
                % {"email": form.cleaned_data["email"]},
            )
            return redirect("members", practice_slug=practice_slug)
        else:
            messages.success(
                request,
                _("%(email)s has been invited. They join once they accept.")
                % {"email": form.cleaned_data["email"]},
            )
            return redirect("members", practice_slug=practice_slug)
    memberships = Membership.objects.select_related("user").order_by("user__full_name")
    invitations = StaffInvitation.objects.filter(
        accepted_at__isnull=True, revoked_at__isnull=True, expires_at__gt=timezone.now()
    ).order_by("email")
    return render(
        request,
        "practice/members.html",
        {
            "form": form,
            "memberships": memberships,
            "invitations": invitations,
            "role_form": MemberRoleForm(),
            "nav": "settings",
            "step_up": step_up,
        },
        status=400 if form.errors or step_up.error else 200,
    )


@require_POST
@staff_view()
def invitation_revoke(
    request: PracticeRequest, practice_slug: str, invitation_id: str
) -> HttpResponse:
    """Withdraw an open invitation."""
    require(request.membership, Can.MANAGE_PRACTICE)
    invitation = get_or_404(StaffInvitation.objects.all(), uuid=invitation_id)
    member_services.revoke_invitation(invitation, actor=request.user, request=request)
    messages.success(request, _("Invitation withdrawn."))
    return redirect("members", practice_slug=practice_slug)


@require_POST
@staff_view()
def member_change(request: PracticeRequest, practice_slug: str, membership_id: str) -> HttpResponse:
    """Change a member's role, or remove them (POST ``action=remove``)."""
    require(request.membership, Can.MANAGE_PRACTICE)
    membership = Membership.objects.filter(uuid=membership_id).select_related("user").first()
    if membership is None:
        raise Http404
    if two_factor.needs_step_up(request):
        return _step_up(request, then=reverse("members", args=[practice_slug]))
    try:
        if request.POST.get("action") == "remove":
            member_services.remove_member(membership, actor=request.user, request=request)
            messages.success(request, _("Removed %(name)s.") % {"name": membership.user.full_name})
        else:
            form = MemberRoleForm(request.POST)
            if not form.is_valid():
                raise ValidationError(_("Choose a valid role."))
            member_services.change_role(
                membership,
                form.cleaned_data["role"],
                actor=request.user,
                request=request,
            )
            messages.success(request, _("Role changed."))
    except ValidationError as exc:
        messages.error(request, exc.messages[0])
    return redirect("members", practice_slug=practice_slug)


@staff_view()
def logo(request: PracticeRequest, practice_slug: str) -> HttpResponseBase:
    """The practice logo, for members (never from a public URL)."""
    practice = request.practice
    if not practice.logo:
        raise Http404
    response = FileResponse(practice.logo.open("rb"))
    response["Cache-Control"] = "private, max-age=3600"
    return response


@staff_view()
def tokens_page(request: PracticeRequest, practice_slug: str) -> HttpResponse:
    """Your personal API tokens for this practice: create (shown once) and revoke."""
    from practice import tokens
    from practice.models import ApiToken

    secret = None
    step_up = two_factor.step_up(request)
    name = ""
    if request.method == "POST":
        name = (request.POST.get("name") or "").strip()
        if step_up.needed:
            pass  # the page says why, with the name kept in the form
        elif not name:
            messages.error(request, _("Give the token a name, e.g. the script that will use it."))
        else:
            _token, secret = tokens.create(
                practice=request.practice,
                user=request.user,
                name=name,
                request=request,
            )
            name = ""
    mine = ApiToken.objects.filter(user=request.user).order_by("-created_at")
    response = render(
        request,
        "practice/tokens.html",
        {"tokens": mine, "secret": secret, "step_up": step_up, "name": name},
        status=400 if step_up.error else 200,
    )
    response["Cache-Control"] = "no-store"
    return response


@require_POST
def token_revoke(request: HttpRequest, practice_slug: str, token_id: str) -> HttpResponse:
    from practice import tokens
    from practice.models import ApiToken

    token = ApiToken.objects.filter(user=request.user, uuid=token_id).first()  # type: ignore[misc]
    if token is None:
        raise Http404
    tokens.revoke(token, actor=request.user, request=request)  # type: ignore[arg-type]
    messages.success(request, _("Token revoked. Anything using it stops working now."))
    return redirect("api_tokens", practice_slug=practice_slug)
