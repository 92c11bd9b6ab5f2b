"""Portal invitations: single-use, expiring, hashed links; resend and revoke."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
import time_machine
from django.core import mail
from django.test import Client
from django.utils import timezone
from django_scopes import scope

from clients.models import AccessLink, CoupleStatus, PortalState, hash_token
from practice.models import AuditEvent
from tests.conftest import signed_in
from tests.factories import make_couple


def invite(client, practice, couple, partner):
    return client.post(
        f"/p/{practice.slug}/couples/{couple.uuid}/partners/{partner.uuid}/invite/", follow=True
    )


def link_in(message):
    return re.search(r"http://localhost:8000(/portal/enter/(\S+)/)", message.body)


@pytest.fixture
def setup(world):
    couple = make_couple(world.a.practice, world.a.clinician)
    with scope(practice=world.a.practice):
        partner = couple.partners.get(position=1)
    return world, couple, partner


@pytest.mark.django_db
def test_invitation_email_carries_a_single_use_link_whose_hash_alone_is_stored(setup, client):
    world, couple, partner = setup
    staff = signed_in(world.a.clinician)
    page = invite(staff, world.a.practice, couple, partner)
    assert "Invitation sent" in page.content.decode()
    assert len(mail.outbox) == 1
    message = mail.outbox[0]
    assert message.to == [partner.email]
    assert world.a.practice.name in message.from_email
    path, token = link_in(message).groups()
    with scope(practice=world.a.practice):
        link = AccessLink.objects.get(partner=partner)
        partner.refresh_from_db()
        assert partner.portal_state == PortalState.INVITED
        assert link.token_hash == hash_token(token)
        assert token not in str(AccessLink.objects.values_list())
        assert link.expires_at - timezone.now() > timedelta(days=6, hours=23)
        assert AuditEvent.objects.filter(action="partner.invite").count() == 1
    # The link signs in once, and never again.
    assert client.get(path).status_code == 200  # the "continue" page consumes nothing
    assert client.post(path).status_code == 302
    with scope(practice=world.a.practice):
        partner.refresh_from_db()
        assert partner.portal_state == PortalState.ACTIVE
    again = client.post(path)
    assert again.status_code == 410
    assert "already been used" in again.content.decode()


@pytest.mark.django_db
def test_resend_issues_a_new_link_and_kills_the_old_one(setup, client):
    world, couple, partner = setup
    staff = signed_in(world.a.clinician)
    invite(staff, world.a.practice, couple, partner)
    invite(staff, world.a.practice, couple, partner)
    old_path, new_path = (link_in(m).group(1) for m in mail.outbox)
    refused = client.post(old_path)
    assert refused.status_code == 410
    assert "replaced by a newer one" in refused.content.decode()
    assert client.post(new_path).status_code == 302


@pytest.mark.django_db
def test_an_expired_invitation_is_refused_with_a_clear_page(setup, client):
    world, couple, partner = setup
    invite(signed_in(world.a.clinician), world.a.practice, couple, partner)
    path = link_in(mail.outbox[0]).group(1)
    with time_machine.travel(timezone.now() + timedelta(days=7, minutes=1)):
        response = client.post(path)
    assert response.status_code == 410
    assert "expired" in response.content.decode()
    assert "Get a new link" in response.content.decode()


@pytest.mark.django_db
def test_the_invitation_lifetime_is_a_setting(setup, client, settings):
    settings.PORTAL_INVITATION_DAYS = 2
    world, couple, partner = setup
    page = invite(signed_in(world.a.clinician), world.a.practice, couple, partner)
    path = link_in(mail.outbox[0]).group(1)
    with time_machine.travel(timezone.now() + timedelta(days=1, hours=23)):
        assert client.get(path).status_code == 200  # the "Continue" page: still good
    with time_machine.travel(timezone.now() + timedelta(days=2, minutes=1)):
        assert client.post(path).status_code == 410
    assert "expires in 2 days" in page.content.decode()


@pytest.mark.django_db
def test_a_tampered_link_is_not_recognised(setup, client):
    world, couple, partner = setup
    invite(signed_in(world.a.clinician), world.a.practice, couple, partner)
    path = link_in(mail.outbox[0]).group(1)
    tampered = path[:-3] + ("A" if path[-3] != "A" else "B") + path[-2:]
    response = client.post(tampered)
    assert response.status_code == 404
    assert "could not recognise this link" in response.content.decode()
    assert client.post("/portal/enter/" + "x" * 300 + "/").status_code == 404


@pytest.mark.django_db
def test_revoke_ends_access_at_once(setup, client):
    world, couple, partner = setup
    staff = signed_in(world.a.clinician)
    invite(staff, world.a.practice, couple, partner)
    path = link_in(mail.outbox[0]).group(1)
    client.post(path)
    assert client.get("/portal/").status_code == 200
    staff.post(f"/p/{world.a.practice.slug}/couples/{couple.uuid}/partners/{partner.uuid}/revoke/")
    with scope(practice=world.a.practice):
        partner.refresh_from_db()
        assert partner.portal_state == PortalState.REVOKED
    assert client.get("/portal/").status_code == 302  # the live session is over
    invite(staff, world.a.practice, couple, partner)  # and can be restored
    with scope(practice=world.a.practice):
        partner.refresh_from_db()
        assert partner.portal_state == PortalState.INVITED


@pytest.mark.django_db
def test_a_failed_email_changes_nothing(setup, monkeypatch):
    world, couple, partner = setup

    def broken(*args, **kwargs):
        raise ConnectionRefusedError

    monkeypatch.setattr("practice.mail.EmailMessage.send", broken)
    page = invite(signed_in(world.a.clinician), world.a.practice, couple, partner)
    assert "could not be sent" in page.content.decode()
    with scope(practice=world.a.practice):
        partner.refresh_from_db()
        assert partner.portal_state == PortalState.NOT_INVITED
        assert not AccessLink.objects.filter(revoked_at__isnull=True).exists()


@pytest.mark.django_db
def test_a_closed_case_cannot_invite(setup):
    world, couple, partner = setup
    with scope(practice=world.a.practice):
        couple.status = CoupleStatus.CLOSED
        couple.save()
    page = invite(signed_in(world.a.clinician), world.a.practice, couple, partner)
    assert "case is closed" in page.content.decode()
    assert mail.outbox == []


@pytest.mark.django_db
def test_invitations_go_out_in_the_partners_language(setup):
    world, couple, partner = setup
    with scope(practice=world.a.practice):
        partner.language = "es"
        partner.save()
    invite(signed_in(world.a.assistant), world.a.practice, couple, partner)
    assert len(mail.outbox) == 1
    assert mail.outbox[0].body.startswith("Hola")


@pytest.mark.django_db
def test_a_new_email_address_ends_access_through_the_old_one(setup, client):
    world, couple, partner = setup
    staff = signed_in(world.a.clinician)
    invite(staff, world.a.practice, couple, partner)
    first_path = link_in(mail.outbox[0]).group(1)
    invite(staff, world.a.practice, couple, partner)
    unused_path = link_in(mail.outbox[1]).group(1)
    client.post(unused_path)  # a session opened through the (mistyped) old address
    assert client.get("/portal/").status_code == 200
    staff.post(
        f"/p/{world.a.practice.slug}/couples/{couple.uuid}/partners/{partner.uuid}/",
        {
            "display_name": partner.display_name,
            "email": "right@example.test",
            "phone": "",
            "language": "en",
        },
    )
    assert client.get("/portal/").status_code == 302
    assert Client().post(first_path).status_code == 410
    with scope(practice=world.a.practice):
        partner.refresh_from_db()
        assert partner.portal_state == PortalState.NOT_INVITED
        assert not AccessLink.objects.filter(
            partner=partner, revoked_at__isnull=True, used_at__isnull=True
        ).exists()
