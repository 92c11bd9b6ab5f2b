"""Owner settings: branding, timeout, support resources, members and roles."""

from __future__ import annotations

import re

import pytest
from django.core import mail
from django.core.files.uploadedfile import SimpleUploadedFile
from django_scopes import scope

from practice.models import AuditEvent, Membership, Practice, User
from tests.conftest import signed_in
from tests.factories import make_couple, tiny_png


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
    client = signed_in(world.a.owner)
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
    with scope(practice=practice):
        event = AuditEvent.objects.get(action="practice.update")
    assert "accent_colour" in event.details["fields"]


@pytest.mark.django_db
def test_bad_settings_are_refused_with_clear_messages(world):
    client = signed_in(world.a.owner)
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
def test_invite_a_new_colleague_who_sets_a_password(world, client):
    owner = signed_in(world.a.owner)
    url = f"/p/{world.a.practice.slug}/settings/members/"
    response = owner.post(
        url, {"full_name": "New Person", "email": "New@Example.test", "role": "clinician"}
    )
    assert response.status_code == 302
    user = User.objects.get(email="new@example.test")
    assert not user.has_usable_password()
    with scope(practice=world.a.practice):
        assert Membership.objects.get(user=user).role == "clinician"
    link = re.search(r"http://localhost:8000(/accounts/password-reset/\S+/)", mail.outbox[0].body)[
        1
    ]
    form = client.get(link, follow=True)
    client.post(
        form.redirect_chain[-1][0],
        {"new_password1": "a long new passphrase", "new_password2": "a long new passphrase"},
    )
    assert (
        client.post(
            "/accounts/sign-in/",
            {"username": "new@example.test", "password": "a long new passphrase"},
        ).status_code
        == 302
    )
    again = owner.post(
        url, {"full_name": "New Person", "email": "new@example.test", "role": "assistant"}
    )
    assert "already a member" in again.content.decode()


@pytest.mark.django_db
def test_an_existing_account_from_another_practice_is_added_not_duplicated(world):
    owner = signed_in(world.a.owner)
    owner.post(
        f"/p/{world.a.practice.slug}/settings/members/",
        {"full_name": "ignored", "email": world.b.clinician.email, "role": "assistant"},
    )
    assert User.objects.filter(email=world.b.clinician.email).count() == 1
    assert "/accounts/sign-in/" in mail.outbox[0].body
    with scope(practice=world.a.practice):
        assert Membership.objects.get(user=world.b.clinician).role == "assistant"


@pytest.mark.django_db
def test_change_role_and_remove_but_never_the_last_owner(world):
    couple = make_couple(world.a.practice, world.a.clinician)
    owner = signed_in(world.a.owner)
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
    signed_in(world.a.owner).post(
        f"/p/{world.a.practice.slug}/settings/members/{row.uuid}/", {"role": "assistant"}
    )
    with scope(practice=world.a.practice):
        assert list(couple.clinicians.all()) == []
