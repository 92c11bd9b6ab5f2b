"""Staff sign-in: email login, lockout, idle sign-out, session rotation, password reset."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
import time_machine
from django.conf import settings
from django.core import mail
from django.test import Client, TestCase
from django.utils import timezone
from django_scopes import scopes_disabled

from practice.models import AuditEvent, SignInFailure
from tests.factories import TEST_PASSWORD

SIGN_IN = "/accounts/sign-in/"


def attempt(client, email, password, ip="203.0.113.5"):
    return client.post(SIGN_IN, {"username": email, "password": password}, REMOTE_ADDR=ip)


def events(action):
    with scopes_disabled():
        return list(AuditEvent.objects.filter(action=action))


@pytest.mark.django_db
def test_sign_in_with_email_in_any_case_and_land_on_the_caseload(client, world):
    response = attempt(client, world.a.clinician.email.upper(), TEST_PASSWORD)
    assert response.status_code == 302
    assert client.get("/").url == f"/p/{world.a.practice.slug}/"
    assert [e.practice for e in events("auth.sign_in")] == [world.a.practice]


@pytest.mark.django_db
def test_session_key_rotates_on_sign_in(client, world):
    client.get(SIGN_IN)
    client.session["anything"] = 1
    session = client.session
    session.save()
    before = session.session_key
    attempt(client, world.a.owner.email, TEST_PASSWORD)
    assert client.session.session_key != before


@pytest.mark.django_db
def test_wrong_password_is_refused_and_audited_for_the_accounts_practice(client, world):
    response = attempt(client, world.a.clinician.email, "wrong")
    assert response.status_code == 200
    assert "do not match an account" in response.content.decode()
    failed = events("auth.sign_in_failed")
    assert [(e.practice, e.actor, e.actor_label) for e in failed] == [
        (world.a.practice, None, world.a.clinician.email)
    ]


@pytest.mark.django_db
def test_account_locks_after_repeated_failures_then_unlocks_after_cool_down(client, world):
    email = world.a.clinician.email
    limit = settings.LOCKOUT_FAILURES_PER_ACCOUNT
    with time_machine.travel(timezone.now(), tick=False) as traveller:
        for _ in range(limit - 1):
            assert "do not match" in attempt(client, email, "wrong").content.decode()
        locked = attempt(client, email, "wrong").content.decode()
        assert "sign-in is paused for 15 minutes" in locked
        # The right password does not get through while locked, from anywhere.
        still = attempt(Client(), email, TEST_PASSWORD, ip="198.51.100.9")
        assert still.status_code == 200
        assert "sign-in is paused" in still.content.decode()
        assert events("auth.sign_in_locked")
        traveller.shift(settings.LOCKOUT_WINDOW + timedelta(seconds=1))
        assert attempt(client, email, TEST_PASSWORD).status_code == 302
    assert not SignInFailure.objects.filter(email=email).exists()


@pytest.mark.django_db
def test_one_address_guessing_many_accounts_is_locked(client, world, settings):
    settings.LOCKOUT_FAILURES_PER_IP = 3
    for n in range(3):
        attempt(client, f"nobody{n}@example.test", "guess", ip="192.0.2.66")
    response = attempt(client, world.a.owner.email, TEST_PASSWORD, ip="192.0.2.66")
    assert "sign-in is paused" in response.content.decode()
    # Another address is unaffected.
    assert attempt(Client(), world.a.owner.email, TEST_PASSWORD, ip="192.0.2.67").status_code == 302


@pytest.mark.django_db
def test_forwarded_addresses_count_only_from_the_trusted_proxy(client, world, settings):
    """The probe's finding 3: rotating X-Forwarded-For spread 25 failures over 25 addresses."""
    import ipaddress

    settings.LOCKOUT_FAILURES_PER_IP = 20
    settings.TRUSTED_PROXY_HOPS = 1
    settings.TRUSTED_PROXY_NETWORKS = [ipaddress.ip_network("172.30.8.10/32")]
    for n in range(25):
        # The proxy appends the address it saw; what the client sent stays on the left.
        client.post(
            SIGN_IN,
            {"username": f"guess{n}@example.test", "password": "guess"},
            REMOTE_ADDR="172.30.8.10",
            HTTP_X_FORWARDED_FOR=f"10.0.0.{n}, 198.51.100.77",
        )
    assert set(SignInFailure.objects.values_list("ip", flat=True)) == {"198.51.100.77"}
    blocked = Client().post(
        SIGN_IN,
        {"username": world.a.owner.email, "password": TEST_PASSWORD},
        REMOTE_ADDR="172.30.8.10",
        HTTP_X_FORWARDED_FOR="198.51.100.77",
    )
    assert "sign-in is paused" in blocked.content.decode()
    # Straight to the app, not through the proxy: the header is the caller's word, ignored.
    direct = Client().post(
        SIGN_IN,
        {"username": "x@example.test", "password": "guess"},
        REMOTE_ADDR="203.0.113.9",
        HTTP_X_FORWARDED_FOR="192.0.2.1",
    )
    assert direct.status_code == 200
    assert SignInFailure.objects.filter(ip="203.0.113.9").exists()
    assert not SignInFailure.objects.filter(ip="192.0.2.1").exists()


@pytest.mark.django_db
def test_idle_staff_are_signed_out_after_the_practice_timeout(world, login):
    practice = world.a.practice
    practice.session_timeout_minutes = 10
    practice.save()
    client = login(world.a.clinician)
    url = f"/p/{practice.slug}/"
    with time_machine.travel(timezone.now(), tick=False) as traveller:
        assert client.get(url).status_code == 200
        traveller.shift(timedelta(minutes=9))
        assert client.get(url).status_code == 200
        traveller.shift(timedelta(minutes=10, seconds=30))
        response = client.get(url)
    assert response.status_code == 302
    assert response.url.startswith("/accounts/sign-in/")
    follow = client.get(response.url)
    assert "signed out after 10 minutes without activity" in follow.content.decode()
    assert client.get(url).status_code == 302  # really signed out
    assert events("auth.idle_sign_out")


@pytest.mark.django_db
def test_one_practices_idle_timeout_never_signs_out_work_in_another(world, login):
    """The probe's finding 2: practice A's 5-minute timeout ended B's clinician's B session."""
    from tests.factories import MembershipFactory

    strict = world.a.practice
    strict.session_timeout_minutes = 5
    strict.save()
    MembershipFactory(practice=strict, user=world.b.clinician, role="assistant")
    client = login(world.b.clinician)
    own = f"/p/{world.b.practice.slug}/"
    with time_machine.travel(timezone.now(), tick=False) as traveller:
        assert client.get(f"/p/{strict.slug}/").status_code == 200
        for _ in range(2):
            traveller.shift(timedelta(minutes=6))
            assert client.get(own).status_code == 200
        assert client.get("/practices/").status_code == 200
        # Twelve minutes since they last worked in A: only A's door closes, logged in A.
        response = client.get(f"/p/{strict.slug}/")
        assert response.status_code == 302
    assert [e.practice for e in events("auth.idle_sign_out")] == [strict]
    assert events("auth.idle_sign_out")[0].details == {"idle_minutes": 5}


@pytest.mark.django_db
def test_default_idle_timeout_is_thirty_minutes(world, login):
    client = login(world.a.assistant)
    url = f"/p/{world.a.practice.slug}/"
    with time_machine.travel(timezone.now(), tick=False) as traveller:
        client.get(url)
        traveller.shift(timedelta(minutes=29))
        assert client.get(url).status_code == 200
        traveller.shift(timedelta(minutes=31))
        assert client.get(url).status_code == 302


@pytest.mark.django_db
def test_password_reset_by_email(client, world):
    with TestCase.captureOnCommitCallbacks(execute=True):
        response = client.post("/accounts/password-reset/", {"email": world.a.owner.email})
    assert response.status_code == 302
    assert len(mail.outbox) == 1
    link = re.search(r"http://localhost:8000(/accounts/password-reset/\S+/)", mail.outbox[0].body)[
        1
    ]
    form_page = client.get(link, follow=True)
    new_password = "a brand new passphrase 42"
    done = client.post(
        form_page.redirect_chain[-1][0],
        {"new_password1": new_password, "new_password2": new_password},
    )
    assert done.status_code == 302
    assert attempt(Client(), world.a.owner.email, new_password).status_code == 302
    assert events("auth.password_reset_done")


@pytest.mark.django_db
def test_password_reset_does_the_same_work_for_known_and_unknown_addresses(client, world):
    """The probe's finding 4: mail was sent inside the request, so timing told them apart."""
    with TestCase.captureOnCommitCallbacks() as queued:
        known = client.post("/accounts/password-reset/", {"email": world.a.owner.email})
        unknown = client.post("/accounts/password-reset/", {"email": "nobody@example.test"})
    assert known.status_code == unknown.status_code == 302
    assert known.url == unknown.url
    # Neither request mailed or looked anything up: both queued one task, alike.
    assert mail.outbox == []
    assert len(queued) == 2
    for task in queued:
        task()
    assert [m.to for m in mail.outbox] == [[world.a.owner.email]]


@pytest.mark.django_db
def test_password_reset_is_rate_limited_per_address_and_per_ip(client, world, settings):
    settings.PASSWORD_RESET_REQUESTS_PER_ADDRESS = 2
    settings.PASSWORD_RESET_REQUESTS_PER_IP = 4
    email = world.a.owner.email
    with TestCase.captureOnCommitCallbacks(execute=True):
        for n in range(3):
            response = client.post(
                "/accounts/password-reset/", {"email": email}, REMOTE_ADDR=f"192.0.2.{n}"
            )
            assert response.status_code == 302  # the same answer past the address limit
    assert len(mail.outbox) == 2
    with TestCase.captureOnCommitCallbacks(execute=True):
        for n in range(4):
            client.post("/accounts/password-reset/", {"email": f"x{n}@example.test"})
        refused = client.post("/accounts/password-reset/", {"email": "y@example.test"})
    assert refused.status_code == 429
    assert "Too many reset requests" in refused.content.decode()


def test_argon2_hashes_passwords_in_production_settings():
    from practice import settings as production

    assert production.PASSWORD_HASHERS[0].endswith("Argon2PasswordHasher")


@pytest.mark.django_db
def test_sign_out_is_a_post_and_is_audited(world, login):
    client = login(world.a.owner)
    response = client.post("/accounts/sign-out/")
    assert response.status_code == 302
    assert client.get(f"/p/{world.a.practice.slug}/").status_code == 302
    assert events("auth.sign_out")
