"""Couples and partners: creating, editing, roles, notes, and what goes wrong."""

from __future__ import annotations

import pytest
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django_scopes import scope, scopes_disabled

from clients import services
from clients.models import Couple, CoupleStatus, Note, Partner
from practice.models import AuditEvent
from tests.conftest import signed_in
from tests.factories import make_couple


def new_couple_form(**overrides):
    data = {
        "label": "Rivera & Chen",
        "start_date": "2026-11-01",
        "status": "active",
        "one-display_name": "Ana Rivera",
        "one-email": "ana@example.test",
        "one-phone": "",
        "one-language": "en",
        "two-display_name": "Li Chen",
        "two-email": "li@example.test",
        "two-phone": "+44 20 7946 0000",
        "two-language": "es",
    }
    data.update(overrides)
    return data


@pytest.mark.django_db
def test_clinician_creates_a_couple_with_two_partners(world):
    client = signed_in(world.a.clinician)
    url = f"/p/{world.a.practice.slug}/couples/new/"
    assert client.get(url).status_code == 200
    response = client.post(url, new_couple_form(clinicians=[world.a.clinician.pk]))
    assert response.status_code == 302
    with scope(practice=world.a.practice):
        couple = Couple.objects.get(label="Rivera & Chen")
        partners = list(couple.partners.order_by("position"))
        assert [(p.display_name, p.email, p.language) for p in partners] == [
            ("Ana Rivera", "ana@example.test", "en"),
            ("Li Chen", "li@example.test", "es"),
        ]
        assert list(couple.clinicians.all()) == [world.a.clinician]
        assert AuditEvent.objects.filter(
            action="couple.create", target_id=str(couple.uuid)
        ).exists()
    assert response.url == f"/p/{world.a.practice.slug}/couples/{couple.uuid}/"


@pytest.mark.django_db
def test_duplicate_partner_email_in_the_practice_is_refused_and_nothing_saved(world):
    make_couple(world.a.practice, world.a.clinician, n=1)
    client = signed_in(world.a.clinician)
    taken = f"two1.{world.a.practice.slug}@example.test"
    response = client.post(
        f"/p/{world.a.practice.slug}/couples/new/", new_couple_form(**{"two-email": taken.upper()})
    )
    assert response.status_code == 200
    errors = response.context["partner_forms"][1].errors
    assert "already uses this email" in errors["email"][0]
    with scope(practice=world.a.practice):
        assert Couple.objects.count() == 1
        assert Partner.objects.count() == 2


@pytest.mark.django_db
def test_the_same_person_can_be_a_client_of_two_practices(world):
    make_couple(world.a.practice, world.a.clinician, n=1)
    client = signed_in(world.b.clinician)
    shared = f"one1.{world.a.practice.slug}@example.test"
    response = client.post(
        f"/p/{world.b.practice.slug}/couples/new/", new_couple_form(**{"one-email": shared})
    )
    assert response.status_code == 302
    with scopes_disabled():
        assert Partner.objects.filter(email=shared).count() == 2


@pytest.mark.django_db
def test_both_partners_need_different_addresses_and_valid_ones(world):
    client = signed_in(world.a.clinician)
    url = f"/p/{world.a.practice.slug}/couples/new/"
    same = client.post(url, new_couple_form(**{"two-email": "ana@example.test"}))
    assert "different email addresses" in same.context["partner_forms"][1].errors["email"][0]
    invalid = client.post(url, new_couple_form(**{"one-email": "not-an-email"}))
    assert "email" in invalid.context["partner_forms"][0].errors
    missing = client.post(url, new_couple_form(label=""))
    assert "label" in missing.context["form"].errors
    with scope(practice=world.a.practice):
        assert not Couple.objects.exists()


@pytest.mark.django_db
def test_a_couple_never_has_a_third_partner(world):
    with scope(practice=world.a.practice):
        with pytest.raises(ValidationError, match="exactly two"):
            services.create_couple(
                practice=world.a.practice,
                actor=world.a.owner,
                label="Three",
                clinicians=[],
                partners=[services.PartnerDetails(f"P{i}", f"p{i}@example.test") for i in range(3)],
            )
        couple = make_couple(world.a.practice, world.a.clinician)
        with pytest.raises(IntegrityError), transaction.atomic():
            Partner.objects.create(
                practice=world.a.practice,
                couple=couple,
                position=3,
                display_name="Third",
                email="third@example.test",
            )
        assert couple.partners.count() == 2


@pytest.mark.django_db
def test_clinicians_see_only_their_couples_owners_and_assistants_see_all(world):
    mine = make_couple(world.a.practice, world.a.clinician, label="Mine", n=1)
    from tests.factories import MembershipFactory

    colleague = MembershipFactory(practice=world.a.practice, role="clinician").user
    theirs = make_couple(world.a.practice, colleague, label="Theirs", n=2)
    slug = world.a.practice.slug

    clinician = signed_in(world.a.clinician)
    caseload = clinician.get(f"/p/{slug}/").content.decode()
    assert "Mine" in caseload
    assert "Theirs" not in caseload
    assert clinician.get(f"/p/{slug}/couples/{theirs.uuid}/").status_code == 404
    assert clinician.get(f"/p/{slug}/couples/{mine.uuid}/").status_code == 200

    for user in (world.a.owner, world.a.assistant):
        page = signed_in(user).get(f"/p/{slug}/").content.decode()
        assert "Mine" in page
        assert "Theirs" in page


@pytest.mark.django_db
def test_assistants_never_see_answers_scores_notes_or_alerts(world, cases):
    slug = world.a.practice.slug
    case = cases.a
    with scope(practice=world.a.practice):
        services.add_note(
            case.couple, actor=world.a.clinician, body="Private reflection on session 3"
        )
    assistant = signed_in(world.a.assistant)
    page = assistant.get(f"/p/{slug}/couples/{case.couple.uuid}/")
    assert page.status_code == 200
    html = page.content.decode()
    assert "Private reflection" not in html
    assert "Scores over time" not in html
    assert "Open alerts" not in html
    assert "Connection (1–10)" not in assistant.get(f"/p/{slug}/").content.decode()
    for url in (
        f"/p/{slug}/results/{case.occurrence.uuid}/",
        f"/p/{slug}/couples/{case.couple.uuid}/history/connection-pulse/",
        f"/p/{slug}/alerts/",
    ):
        assert assistant.get(url).status_code == 404, url
    assert (
        assistant.post(f"/p/{slug}/couples/{case.couple.uuid}/notes/", {"body": "x"}).status_code
        == 404
    )
    # But they do the admin work.
    assert assistant.get(f"/p/{slug}/couples/{case.couple.uuid}/assign/").status_code == 200
    assert assistant.get(f"/p/{slug}/couples/new/").status_code == 200


@pytest.mark.django_db
def test_clinician_notes_are_saved_audited_and_shown(world):
    couple = make_couple(world.a.practice, world.a.clinician)
    client = signed_in(world.a.clinician)
    url = f"/p/{world.a.practice.slug}/couples/{couple.uuid}/"
    client.post(url + "notes/", {"body": "Discussed the weekend routine."})
    assert "Discussed the weekend routine." in client.get(url, {"tab": "notes"}).content.decode()
    empty = client.post(url + "notes/", {"body": "   "}, follow=True)
    assert "not saved" in empty.content.decode()
    with scope(practice=world.a.practice):
        assert Note.objects.count() == 1
        assert AuditEvent.objects.filter(action="note.create").count() == 1


@pytest.mark.django_db
def test_editing_a_couple_and_a_partner(world):
    couple = make_couple(world.a.practice, world.a.clinician, n=1)
    other = make_couple(world.a.practice, world.a.clinician, label="Other", n=2)
    client = signed_in(world.a.clinician)
    base = f"/p/{world.a.practice.slug}/couples/{couple.uuid}/"
    response = client.post(
        base + "edit/",
        {
            "label": "Renamed",
            "start_date": "2026-10-01",
            "status": "paused",
            "clinicians": [world.a.clinician.pk],
        },
    )
    assert response.status_code == 302
    with scope(practice=world.a.practice):
        couple.refresh_from_db()
        assert (couple.label, couple.status) == ("Renamed", CoupleStatus.PAUSED)
        partner = couple.partners.get(position=1)
        taken = other.partners.get(position=1).email
    clash = client.post(
        base + f"partners/{partner.uuid}/",
        {"display_name": "New Name", "email": taken, "phone": "", "language": "en"},
    )
    assert clash.status_code == 200
    assert "already uses this email" in clash.content.decode()
    with scope(practice=world.a.practice):
        partner.refresh_from_db()
        assert partner.display_name == "Partner One 1"  # nothing half-saved


@pytest.mark.django_db
def test_names_with_markup_are_escaped_everywhere(world, cases):
    with scope(practice=world.a.practice):
        partner = cases.a.partner_one
        partner.display_name = '<script>alert("x")</script>'
        partner.save()
        cases.a.couple.label = "<img src=x onerror=alert(1)>"
        cases.a.couple.save()
    client = signed_in(world.a.clinician)
    for url in (
        f"/p/{world.a.practice.slug}/",
        f"/p/{world.a.practice.slug}/couples/{cases.a.couple.uuid}/",
        f"/p/{world.a.practice.slug}/results/{cases.a.occurrence.uuid}/",
    ):
        html = client.get(url).content.decode()
        assert '<script>alert("x")' not in html, url
        assert "<img src=x" not in html, url


@pytest.mark.django_db
def test_dollar_signs_in_names_are_just_text_in_charts(world, cases):
    with scope(practice=world.a.practice):
        partner = cases.a.partner_one
        partner.display_name = "Sam $x^2$ Money$"
        partner.save()
    page = signed_in(world.a.clinician).get(
        f"/p/{world.a.practice.slug}/couples/{cases.a.couple.uuid}/"
    )
    assert page.status_code == 200
    assert "Sam $x^2$ Money$" in page.content.decode()


@pytest.mark.django_db
def test_the_couple_page_opens_with_a_summary_and_one_tab_per_url(world, cases):
    from django.utils import formats

    from tests.factories import assign

    slug = world.a.practice.slug
    case = cases.a
    assign(case.couple, "connection-signs")
    with scope(practice=world.a.practice):
        services.add_note(case.couple, actor=world.a.clinician, body="Talked about Sundays")
        due = case.couple.occurrences.filter(submitted=0).order_by("due_date").first().due_date
    clinician = signed_in(world.a.clinician)
    url = f"/p/{slug}/couples/{case.couple.uuid}/"
    page = clinician.get(url)
    html = page.content.decode()
    # The summary: status, clinicians, next due, open alerts, latest change per instrument.
    assert "Next due" in html and formats.date_format(due, "SHORT_DATE_FORMAT") in html
    assert world.a.clinician.full_name in html
    assert "1 open alert" in html
    assert "Latest change" in html and "Connection Pulse" in html
    # Results is the first tab: charts here, notes and forms elsewhere.
    assert page.context["tab"] == "results"
    assert '<a href="?tab=results#couple-tabs" aria-current="page">' in html
    assert "chart-image" in html
    assert "Talked about Sundays" not in html
    notes = clinician.get(url, {"tab": "notes"}).content.decode()
    assert "Talked about Sundays" in notes and "chart-image" not in notes
    assert '<a href="?tab=notes#couple-tabs" aria-current="page">' in notes
    forms = clinician.get(url, {"tab": "forms"}).content.decode()
    assert "<h3>Connection Signs Inventory</h3>" in forms and "chart-image" not in forms
    # The activity tab lists what was done, by name, not the reading of pages.
    activity = clinician.get(url, {"tab": "activity"})
    labels = [str(e.label) for e in activity.context["activity"]]
    assert "Added a note" in labels and "Viewed a couple" not in labels
    assert world.a.clinician.full_name in activity.content.decode()
    # An unknown tab opens the first one; each opening is audited with its tab.
    assert clinician.get(url, {"tab": "nonsense"}).context["tab"] == "results"
    with scope(practice=world.a.practice):
        tabs = set(
            AuditEvent.objects.filter(action="couple.view").values_list("details__tab", flat=True)
        )
    assert {"results", "notes", "forms", "activity"} <= tabs


@pytest.mark.django_db
def test_assistants_get_only_the_forms_tab(world, cases):
    slug = world.a.practice.slug
    assistant = signed_in(world.a.assistant)
    url = f"/p/{slug}/couples/{cases.a.couple.uuid}/"
    page = assistant.get(url, {"tab": "notes"})
    assert page.context["tab"] == "forms"
    assert [key for key, _label in page.context["tabs"]] == ["forms"]
    assert "Latest change" not in page.content.decode()


@pytest.mark.django_db
def test_acting_on_an_alert_from_the_couple_page_comes_back_to_it(world, cases):
    from assessments.models import Alert, AlertStatus

    slug = world.a.practice.slug
    case = cases.a
    couple_page = f"/p/{slug}/couples/{case.couple.uuid}/"
    clinician = signed_in(world.a.clinician)
    assert f'name="next" value="{couple_page}"' in clinician.get(couple_page).content.decode()
    done = clinician.post(f"/p/{slug}/alerts/{case.alert.uuid}/acknowledge/", {"next": couple_page})
    assert done.status_code == 302 and done.url == couple_page
    with scope(practice=world.a.practice):
        assert Alert.objects.get(pk=case.alert.pk).status == AlertStatus.ACKNOWLEDGED
    # Anywhere else (another host, another practice, a scheme trick) goes to the alerts list.
    for elsewhere in (
        "https://evil.example/p/",
        "//evil.example/",
        f"/p/{world.b.practice.slug}/",
        "/p/" + slug + "\\@evil.example",
    ):
        response = clinician.post(
            f"/p/{slug}/alerts/{case.alert.uuid}/resolve/", {"next": elsewhere, "note": "Called"}
        )
        assert response.url == f"/p/{slug}/alerts/", elsewhere
