"""Staff two-factor sign-in through the real pages: enrolment with a code computed from the
secret, the second sign-in step, recovery codes, lockout, the practice requirement, step-up."""

from __future__ import annotations

import base64
import re
from datetime import timedelta

import pytest
import time_machine
from django.conf import settings
from django.test import Client
from django.utils import timezone
from django_otp.oath import totp
from django_scopes import scopes_disabled

from practice.models import AuditEvent, Practice
from tests.conftest import signed_in, with_second_factor
from tests.factories import TEST_PASSWORD, MembershipFactory

SIGN_IN = "/accounts/sign-in/"
VERIFY = "/accounts/two-factor/"
SETUP = "/accounts/two-factor/setup/"


def code_for(secret: str) -> str:
    """What an authenticator app shows for this base32 secret now (time_machine moves now)."""
    key = base64.b32decode(secret + "=" * (-len(secret) % 8))
    return f"{totp(key, t0=0, step=30, digits=6):06d}"


def enrol(client: Client) -> tuple[str, list[str]]:
    """Set up an authenticator through the page; returns its secret and the recovery codes."""
    page = client.get(SETUP).content.decode()
    assert 'src="data:image/svg+xml;base64,' in page
    secret = re.search(r'id="totp-secret">([A-Z2-7]+)<', page)[1]
    done = client.post(SETUP, {"code": code_for(secret)})
    assert done.status_code == 302, done.content[:300]
    codes_page = client.get(done.url).content.decode()
    codes = re.findall(r"<li>([0-9a-f]{10})</li>", codes_page)
    assert len(codes) == 10
    assert client.get(done.url).content.decode().count("<li>") == 0  # shown once
    return secret, codes


def events(action: str) -> list[AuditEvent]:
    with scopes_disabled():
        return list(AuditEvent.objects.filter(action=action))


def password_step(user, **extra) -> tuple[Client, object]:
    client = Client()
    response = client.post(SIGN_IN, {"username": user.email, "password": TEST_PASSWORD}, **extra)
    return client, response


@pytest.mark.django_db
def test_enrol_then_sign_in_needs_the_code_from_the_app(world):
    clinician = world.a.clinician
    secret, _codes = enrol(signed_in(clinician))
    assert [e.practice for e in events("auth.two_factor_enrolled")] == [world.a.practice]
    with time_machine.travel(timezone.now() + timedelta(minutes=1), tick=False) as traveller:
        client, response = password_step(clinician)
        # The password alone opens only the second step: nothing of the practice yet.
        assert response.url == VERIFY
        assert client.get(f"/p/{world.a.practice.slug}/").status_code == 302
        wrong = client.post(VERIFY, {"code": "000000"})
        assert wrong.status_code == 400
        assert "not right" in wrong.content.decode()
        traveller.shift(timedelta(seconds=2))  # django-otp slows guessing after a miss
        done = client.post(VERIFY, {"code": code_for(secret)})
        assert done.status_code == 302
        assert client.get(f"/p/{world.a.practice.slug}/").status_code == 200
    assert [e.details["method"] for e in events("auth.second_factor")] == ["totp", "totp"]
    assert len(events("auth.second_factor_failed")) == 1


@pytest.mark.django_db
def test_a_recovery_code_signs_in_once(world):
    owner = world.a.owner
    _secret, codes = enrol(signed_in(owner))
    client, _ = password_step(owner)
    assert client.post(VERIFY, {"code": codes[3].upper()}).status_code == 302
    assert client.get(f"/p/{world.a.practice.slug}/").status_code == 200
    again, _ = password_step(owner)
    assert again.post(VERIFY, {"code": codes[3]}).status_code == 400
    used = events("auth.recovery_code_used")
    assert [(e.practice, e.details["left"]) for e in used] == [(world.a.practice, 9)]


@pytest.mark.django_db
def test_wrong_codes_count_toward_the_lockout(world):
    clinician = world.a.clinician
    secret, _ = enrol(signed_in(clinician))
    with time_machine.travel(timezone.now() + timedelta(minutes=1), tick=False):
        client, _ = password_step(clinician)
        for _ in range(settings.LOCKOUT_FAILURES_PER_ACCOUNT - 1):
            assert "not right" in client.post(VERIFY, {"code": "123456"}).content.decode()
        locked = client.post(VERIFY, {"code": "123456"})
        assert "sign-in is paused" in locked.content.decode()
        # The right password now waits out the lock too, so no code is even asked for.
        fresh, refused = password_step(clinician)
        assert "sign-in is paused" in refused.content.decode()
        assert fresh.post(VERIFY, {"code": code_for(secret)}).url == SIGN_IN
        assert fresh.get(f"/p/{world.a.practice.slug}/").status_code == 302


@pytest.mark.django_db
def test_a_practice_that_requires_two_factor_sends_members_to_set_it_up(world):
    Practice.objects.filter(pk=world.a.practice.pk).update(require_two_factor=True)
    # Member of both practices: only the practice that requires it asks.
    MembershipFactory(practice=world.b.practice, user=world.a.clinician, role="clinician")
    client = signed_in(world.a.clinician)
    assert client.get(f"/p/{world.b.practice.slug}/").status_code == 200
    page = client.get(f"/p/{world.a.practice.slug}/")
    assert page.status_code == 302
    assert page.url.startswith(SETUP + "?next=/p/alpha-practice/")
    api = client.get(f"/api/v1/p/{world.a.practice.slug}/couples/")
    assert api.status_code == 403
    assert api.json()["error"]["code"] == "two_factor_required"
    enrol(client)
    assert client.get(f"/p/{world.a.practice.slug}/").status_code == 200


@pytest.mark.django_db
def test_tokens_roles_and_settings_need_a_recent_second_factor(world, cases):
    owner = world.a.owner
    slug = world.a.practice.slug
    client = with_second_factor(signed_in(owner), owner)
    with time_machine.travel(
        timezone.now() + timedelta(minutes=settings.SECOND_FACTOR_RECENT_MINUTES + 1)
    ):
        token = client.post(f"/p/{slug}/settings/tokens/", {"name": "script"})
        # Refused in place: the page asks for the code beside the name it kept.
        assert token.status_code == 400
        page = token.content.decode()
        assert 'name="step_up_code"' in page and 'value="script"' in page
        assert "Enter a code from your authenticator app to save this." in page
        row = world.a.membership(world.a.clinician)
        role = client.post(f"/p/{slug}/settings/members/{row.uuid}/", {"role": "assistant"})
        assert role.url.startswith(VERIFY)
        assert world.a.membership(world.a.clinician).role == "clinician"
        api = client.patch(
            f"/api/v1/p/{slug}/settings/", {"display_name": "X"}, content_type="application/json"
        )
        assert api.status_code == 403
        assert api.json()["error"]["code"] == "second_factor_required"
        # An API token (made after a fresh code) is its own credential.
        by_token = Client(HTTP_AUTHORIZATION=f"Token {cases.a.token_secret}").patch(
            f"/api/v1/p/{slug}/settings/", {"display_name": "X"}, content_type="application/json"
        )
        assert by_token.status_code == 200
    assert Practice.objects.get(pk=world.a.practice.pk).display_name == "X"


@pytest.mark.django_db
def test_a_stale_code_keeps_what_was_typed_and_one_post_with_a_code_saves_it(world):
    """The owner types a new name and colour, is asked for a code on the same page, and
    saves with it; a wrong code keeps everything typed and counts as a failed code."""
    owner = world.a.owner
    slug = world.a.practice.slug
    client = signed_in(owner)
    secret, _codes = enrol(client)
    settings_url = f"/p/{slug}/settings/"
    changes = {
        "display_name": "Alpha Couples Clinic",
        "accent_colour": "#2f6f6a",
        "timezone": "Europe/London",
        "session_timeout_minutes": "30",
        "support_resources": "",
    }
    later = timezone.now() + timedelta(minutes=settings.SECOND_FACTOR_RECENT_MINUTES + 1)
    with time_machine.travel(later, tick=False) as clock:
        asked = client.get(settings_url).content.decode()
        assert 'name="step_up_code"' in asked  # said before anything is typed
        wrong = client.post(settings_url, {**changes, "step_up_code": "000000"})
        assert wrong.status_code == 400
        page = wrong.content.decode()
        assert 'value="Alpha Couples Clinic"' in page and "That code is not right" in page
        assert Practice.objects.get(pk=world.a.practice.pk).display_name != "Alpha Couples Clinic"
        assert len(events("auth.second_factor_failed")) == 1
        clock.shift(5)  # django-otp throttles a device for a second after a wrong code
        saved = client.post(settings_url, {**changes, "step_up_code": code_for(secret)})
        assert saved.status_code == 302
    assert Practice.objects.get(pk=world.a.practice.pk).display_name == "Alpha Couples Clinic"
