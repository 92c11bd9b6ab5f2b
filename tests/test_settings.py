"""Owner settings: branding, timeout, support resources, members and roles."""

from __future__ import annotations

import json
import re

import pytest
from django.core import mail
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django_scopes import scope, scopes_disabled

from practice.models import AuditEvent, Membership, Practice, StaffInvitation, User
from tests.conftest import signed_in, signed_in_verified
from tests.factories import TEST_PASSWORD, make_couple, tiny_png


@pytest.mark.django_db
@pytest.mark.parametrize("role", ["clinician", "assistant"])
def test_only_owners_open_settings(world, role):
    client = signed_in(getattr(world.a, role))
    for path in ("settings/", "settings/members/"):
        assert client.get(f"/p/{world.a.practice.slug}/{path}").status_code == 404


def settings_form(**overrides):
    data = {
        "display_name": "Harbour Therapy",
        "accent_colour": "#224466",
        "timezone": "Europe/Madrid",
        "session_timeout_minutes": "20",
        "support_resources": "Helpline: 0800 000 000",
        "contribute_to_norms": "on",
    }
    data.update(overrides)
    return data


@pytest.mark.django_db
def test_owner_changes_branding_timeout_and_resources(world):
    client = signed_in_verified(world.a.owner)
    url = f"/p/{world.a.practice.slug}/settings/"
    logo = SimpleUploadedFile("logo.png", tiny_png(), content_type="image/png")
    response = client.post(url, {**settings_form(), "logo": logo})
    assert response.status_code == 302
    practice = Practice.objects.get(pk=world.a.practice.pk)
    assert (practice.public_name, practice.accent_colour, practice.session_timeout_minutes) == (
        "Harbour Therapy",
        "#224466",
        20,
    )
    assert practice.logo
    assert practice.couple_report_partner_totals is False
    page = client.get(f"/p/{world.a.practice.slug}/")
    assert "--accent: #224466" in page.content.decode()
    assert client.get(f"/p/{world.a.practice.slug}/settings/logo/").status_code == 200
    # The file field's "Currently:" link goes to that view, not to a public path that 404s.
    settings_page = client.get(url).content.decode()
    assert f'href="/p/{world.a.practice.slug}/settings/logo/"' in settings_page
    assert 'href="/logos/' not in settings_page
    with scope(practice=practice):
        event = AuditEvent.objects.get(action="practice.update")
    assert "accent_colour" in event.details["fields"]


@pytest.mark.django_db
def test_bad_settings_are_refused_with_clear_messages(world):
    client = signed_in_verified(world.a.owner)
    url = f"/p/{world.a.practice.slug}/settings/"
    bad = client.post(
        url,
        settings_form(accent_colour="red", session_timeout_minutes="2", timezone="Mars/Olympus"),
    )
    assert bad.status_code == 200
    errors = bad.context["form"].errors
    assert set(errors) == {"accent_colour", "session_timeout_minutes", "timezone"}
    gif = SimpleUploadedFile("logo.gif", b"GIF89a\x01\x00\x01\x00\x00\x00\x00;", "image/gif")
    assert "logo" in client.post(url, {**settings_form(), "logo": gif}).context["form"].errors
    assert Practice.objects.get(pk=world.a.practice.pk).accent_colour != "red"


@pytest.mark.django_db
@pytest.mark.parametrize("colour", ["#ffcc00", "#777777", "#f6f7f5"])
def test_an_accent_too_light_to_read_is_refused_with_its_contrast(world, colour):
    client = signed_in_verified(world.a.owner)
    url = f"/p/{world.a.practice.slug}/settings/"
    response = client.post(url, settings_form(accent_colour=colour))
    assert response.status_code == 200
    (error,) = response.context["form"].errors["accent_colour"]
    assert "4.5:1" in error and "darker" in error
    assert Practice.objects.get(pk=world.a.practice.pk).accent_colour != colour
    # A mid grey that passes against the page background is accepted.
    assert client.post(url, settings_form(accent_colour="#6E6E6E")).status_code == 302
    assert Practice.objects.get(pk=world.a.practice.pk).accent_colour == "#6e6e6e"


def test_contrast_ratios_match_wcag():
    from practice import contrast

    assert round(contrast.ratio("#000000", "#ffffff"), 2) == 21.0
    assert round(contrast.ratio("#767676", "#ffffff"), 2) == 4.54
    assert contrast.ratio("#2f6f6a", "#f6f7f5") == contrast.ratio("#f6f7f5", "#2f6f6a")
    assert contrast.lowest_ratio("#2f6f6a") >= contrast.MINIMUM


def invitation_link(message) -> str:
    return re.search(r"http://localhost:8000(/accounts/invitations/\S+/)", message.body)[1]


@pytest.mark.django_db
def test_a_new_colleague_accepts_by_creating_their_account(world, client):
    owner = signed_in_verified(world.a.owner)
    url = f"/p/{world.a.practice.slug}/settings/members/"
    response = owner.post(
        url, {"full_name": "New Person", "email": "New@Example.test", "role": "clinician"}
    )
    assert response.status_code == 302
    # Nothing exists until they accept: no account, no membership.
    assert not User.objects.filter(email="new@example.test").exists()
    assert "new@example.test" in owner.get(url).content.decode()  # listed as waiting
    link = invitation_link(mail.outbox[0])
    landing = client.get(link)
    # The secret leaves the address bar (and later log lines) at once.
    assert landing.status_code == 302
    assert landing.url == "/accounts/invitation/"
    page = client.get(landing.url)
    assert "Create your account to accept" in page.content.decode()
    short = client.post(
        landing.url, {"full_name": "New Person", "password1": "short", "password2": "short"}
    )
    assert short.status_code == 400
    joined = client.post(
        landing.url,
        {
            "full_name": "New Person",
            "password1": "a long new passphrase",
            "password2": "a long new passphrase",
        },
    )
    assert joined.url == f"/p/{world.a.practice.slug}/"
    user = User.objects.get(email="new@example.test")
    with scope(practice=world.a.practice):
        assert Membership.objects.get(user=user).role == "clinician"
    assert client.get(joined.url).status_code == 200
    # The link worked once.
    assert Client().get(link).status_code == 404
    again = owner.post(
        url, {"full_name": "New Person", "email": "new@example.test", "role": "assistant"}
    )
    assert "already a member" in again.content.decode()


@pytest.mark.django_db
def test_an_existing_account_joins_only_by_accepting_signed_in(world):
    """The probe's finding 2: an owner could attach another practice's clinician at will."""
    owner = signed_in_verified(world.a.owner)
    owner.post(
        f"/p/{world.a.practice.slug}/settings/members/",
        {"full_name": "ignored", "email": world.b.clinician.email, "role": "assistant"},
    )
    with scope(practice=world.a.practice):
        assert not Membership.objects.filter(user=world.b.clinician).exists()
    link = invitation_link(mail.outbox[0])
    # Someone else signed in cannot use it.
    intruder = signed_in(world.a.assistant)
    intruder.get(link)
    refused = intruder.post("/accounts/invitation/")
    assert refused.status_code == 403
    assert "another email address" in refused.content.decode()
    invited = Client()
    invited.get(link)
    page = invited.get("/accounts/invitation/")
    assert "Sign in to accept" in page.content.decode()
    invited.post(
        "/accounts/sign-in/?next=/accounts/invitation/",
        {"username": world.b.clinician.email, "password": TEST_PASSWORD},
    )
    assert "Accept and join" in invited.get("/accounts/invitation/").content.decode()
    assert invited.post("/accounts/invitation/").url == f"/p/{world.a.practice.slug}/"
    assert User.objects.filter(email=world.b.clinician.email).count() == 1
    with scope(practice=world.a.practice):
        assert Membership.objects.get(user=world.b.clinician).role == "assistant"
    with scopes_disabled():
        joins = AuditEvent.objects.filter(action="member.join", actor=world.b.clinician)
        assert [e.practice for e in joins] == [world.a.practice]


@pytest.mark.django_db
def test_inviting_reveals_nothing_about_an_existing_account(world):
    """Known and unknown addresses get the same page, email and API answer."""
    owner = signed_in_verified(world.a.owner)
    page_url = f"/p/{world.a.practice.slug}/settings/members/"
    api_url = f"/api/v1/p/{world.a.practice.slug}/members/"
    answers = []
    for email in (world.b.clinician.email, "nobody-yet@example.test"):
        page = owner.post(page_url, {"full_name": "X Y", "email": email, "role": "clinician"})
        assert page.status_code == 302
        body = owner.get(page.url).content.decode()
        assert world.b.clinician.full_name not in body
        api = owner.post(
            api_url, {"full_name": "X Y", "email": email, "role": "clinician"}, "application/json"
        )
        assert api.status_code == 202
        data = api.json()
        assert world.b.clinician.full_name not in json.dumps(data)
        answers.append(sorted(data))
    assert answers[0] == answers[1] == ["email", "expires_at", "role", "uuid"]
    bodies = [re.sub(r"/accounts/invitations/\S+/", "LINK", m.body) for m in mail.outbox]
    assert len(set(bodies)) == 1


@pytest.mark.django_db
def test_a_withdrawn_invitation_stops_working(world):
    owner = signed_in_verified(world.a.owner)
    owner.post(
        f"/p/{world.a.practice.slug}/settings/members/",
        {"full_name": "X Y", "email": "later@example.test", "role": "clinician"},
    )
    with scope(practice=world.a.practice):
        invitation = StaffInvitation.objects.get(email="later@example.test")
    owner.post(
        f"/p/{world.a.practice.slug}/settings/members/invitations/{invitation.uuid}/withdraw/"
    )
    assert Client().get(invitation_link(mail.outbox[0])).status_code == 404
    with scopes_disabled():
        assert AuditEvent.objects.filter(action="member.invite_revoke").count() == 1


@pytest.mark.django_db
def test_change_role_and_remove_but_never_the_last_owner(world):
    couple = make_couple(world.a.practice, world.a.clinician)
    owner = signed_in_verified(world.a.owner)
    base = f"/p/{world.a.practice.slug}/settings/members/"
    with scope(practice=world.a.practice):
        owner_row = Membership.objects.get(user=world.a.owner)
        clinician_row = Membership.objects.get(user=world.a.clinician)
    demote = owner.post(base + f"{owner_row.uuid}/", {"role": "clinician"}, follow=True)
    assert "at least one owner" in demote.content.decode()
    remove_self = owner.post(base + f"{owner_row.uuid}/", {"action": "remove"}, follow=True)
    assert "at least one owner" in remove_self.content.decode()
    owner.post(base + f"{clinician_row.uuid}/", {"role": "assistant"})
    with scope(practice=world.a.practice):
        assert Membership.objects.get(pk=clinician_row.pk).role == "assistant"
    owner.post(base + f"{clinician_row.uuid}/", {"action": "remove"})
    with scope(practice=world.a.practice):
        assert not Membership.objects.filter(pk=clinician_row.pk).exists()
        assert list(couple.clinicians.all()) == []  # the couple stays with the practice
    assert signed_in(world.a.clinician).get(f"/p/{world.a.practice.slug}/").status_code == 404


@pytest.mark.django_db
def test_a_clinician_made_assistant_leaves_their_couples(world):
    couple = make_couple(world.a.practice, world.a.clinician)
    with scope(practice=world.a.practice):
        row = Membership.objects.get(user=world.a.clinician)
    signed_in_verified(world.a.owner).post(
        f"/p/{world.a.practice.slug}/settings/members/{row.uuid}/", {"role": "assistant"}
    )
    with scope(practice=world.a.practice):
        assert list(couple.clinicians.all()) == []
