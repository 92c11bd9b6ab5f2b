"""The caseload: what each row says, filters and sorting, and a constant query count."""

from __future__ import annotations

from datetime import timedelta
from urllib.parse import quote

import pytest
import time_machine
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from django.utils.formats import date_format
from django_scopes import scope

from assessments import summary
from assessments.models import (
    ALERT_SEVERITY,
    Alert,
    AlertKind,
    Assignment,
    Occurrence,
    Response,
    ResponseState,
    Score,
)
from assessments.services.assignments import Recurrence
from clients.models import Couple, CoupleStatus, Partner
from tests.conftest import signed_in
from tests.factories import SAFE_ANSWERS, answer, instrument, make_couple, open_form


def bulk_couples(practice, clinician, count, start=0):
    """Many couples quickly, each with data in every caseload column: two partners, a
    scored pulse both answered, a repeating assignment with an open form, an alert."""
    now = timezone.now()
    today = timezone.localdate()
    with scope(practice=practice):
        pulse = instrument("connection-pulse")
        couples = Couple.objects.bulk_create(
            [Couple(practice=practice, label=f"Bulk {i:04d}") for i in range(start, start + count)]
        )
        partners = Partner.objects.bulk_create(
            [
                Partner(
                    practice=practice,
                    couple=c,
                    position=p,
                    display_name=f"P{p} {c.label}",
                    email=f"p{p}.{c.label.replace(' ', '')}@example.test".lower(),
                )
                for c in couples
                for p in (1, 2)
            ]
        )
        through = Couple.clinicians.through
        through.objects.bulk_create(
            [through(couple_id=c.pk, user_id=clinician.pk) for c in couples]
        )
        assignments = Assignment.objects.bulk_create(
            [
                Assignment(
                    practice=practice,
                    couple=c,
                    instrument=pulse,
                    first_due=today - timedelta(days=7),
                    repeat_every=7,
                    repeat_unit="days",
                    next_due=today + timedelta(days=7 + n % 5),
                    created_by=clinician,
                )
                for n, c in enumerate(couples)
            ]
        )
        done, _open = (
            Occurrence.objects.bulk_create(
                [
                    Occurrence(
                        practice=practice,
                        assignment=a,
                        couple=a.couple,
                        instrument=pulse,
                        sequence=sequence,
                        due_date=due,
                        expected=2,
                        submitted=submitted,
                    )
                    for a in assignments
                ]
            )
            for sequence, due, submitted in ((1, today - timedelta(days=7), 2), (2, today, 0))
        )
        responses = Response.objects.bulk_create(
            [
                Response(
                    practice=practice,
                    occurrence=o,
                    partner=p,
                    couple=o.couple,
                    instrument=pulse,
                    state=ResponseState.SUBMITTED,
                    answers={"pulse": 3 + p.position},
                    submitted_at=now - timedelta(days=6),
                    scored_at=now - timedelta(days=6),
                )
                for o, pair in zip(
                    done, zip(partners[::2], partners[1::2], strict=True), strict=True
                )
                for p in pair
            ]
        )
        Score.objects.bulk_create(
            [
                Score(
                    practice=practice,
                    response=r,
                    partner=r.partner,
                    couple=r.couple,
                    instrument=pulse,
                    instrument_key=pulse.key,
                    submitted_at=r.submitted_at,
                    scale="connection",
                    is_total=True,
                    value=r.answers["pulse"],
                    answered=1,
                    n_items=1,
                    scoring_version="test",
                )
                for r in responses
            ]
        )
        Alert.objects.bulk_create(
            [
                Alert(
                    practice=practice,
                    couple=c,
                    kind=AlertKind.DISAGREEMENT,
                    severity=ALERT_SEVERITY[AlertKind.DISAGREEMENT],
                    dedupe_key=f"bulk:{c.pk}",
                )
                for c in couples
            ]
        )
        # Written row by row above, past the services: their caseload rows, as the
        # services (or `manage.py rebuild_summaries`) would write them.
        summary.refresh(c.pk for c in couples)
    return couples


def caseload_queries(client, url):
    with CaptureQueriesContext(connection) as ctx:
        response = client.get(url)
    assert response.status_code == 200
    return len(ctx.captured_queries), response


@pytest.mark.django_db
def test_caseload_and_its_rows_run_a_constant_number_of_queries(world):
    practice = world.a.practice
    first = make_couple(practice, world.a.clinician, label="Aardvark & Co", n=1)
    with scope(practice=practice):
        one, two = first.partners.order_by("position")
    answer(open_form(first), one, {"pulse": 7})
    answer(open_form(first), one, {"pulse": 5})
    answer(open_form(first, "safety-screen", partner=two), two, {**SAFE_ANSWERS, "ss03": 1})
    bulk_couples(practice, world.a.clinician, 4)
    client = signed_in(world.a.clinician)
    url = f"/p/{practice.slug}/"
    client.get(url)  # warm the session
    few, response = caseload_queries(client, url)
    assert len(response.context["rows"]) == 5
    bulk_couples(practice, world.a.clinician, 295, start=4)
    many, response = caseload_queries(client, url)
    assert len(response.context["rows"]) == 25
    assert response.context["total"] == 300
    assert many == few, (few, many)
    # The bulk rows really carry data in every column the count covers.
    bulk = next(r for r in response.context["rows"] if r["couple"].label.startswith("Bulk"))
    assert [v for _, v, _ in bulk["scores"]] == [4.0, 5.0]
    assert bulk["couple"].alert_count == 1
    assert bulk["couple"].next_due == timezone.localdate()
    # Sorting by a computed column and filtering keep the count too.
    sorted_count, _ = caseload_queries(client, url + "?sort=-connection&q=bulk&status=all")
    assert sorted_count == few


@pytest.mark.django_db
def test_row_shows_progress_latest_scores_with_direction_alerts_and_next_due(world):
    practice = world.a.practice
    couple = make_couple(practice, world.a.clinician, label="Rowan & Reed")
    with scope(practice=practice):
        one, two = couple.partners.order_by("position")
    first = open_form(couple, first_due=timezone.localdate())
    answer(first, one, {"pulse": 3})
    answer(first, two, {"pulse": 8})
    second = open_form(couple, first_due=timezone.localdate() + timedelta(days=6))
    answer(second, one, {"pulse": 7})
    answer(second, two, {"pulse": 6})
    third = open_form(couple, first_due=timezone.localdate() + timedelta(days=9))
    answer(third, one, {"pulse": 7})
    client = signed_in(world.a.clinician)
    response = client.get(f"/p/{practice.slug}/")
    row = response.context["rows"][0]
    assert row["couple"].label == "Rowan & Reed"
    assert [(v, t) for _, v, t in row["scores"]] == [(7.0, "flat"), (6.0, "down")]
    # Nothing due today is unanswered: the third form is in the portal but due later.
    assert str(row["progress_label"]) == "Up to date"
    when = date_format(third.due_date, "MONTH_DAY_FORMAT")
    assert [forms.label for _, forms in row["forms"]] == [
        "Up to date",
        f"Up to date; next due {when}",
    ]
    assert row["couple"].next_due == third.due_date
    assert row["couple"].alert_count == 1  # 3 vs 8 on the first pulse: a large disagreement
    html = response.content.decode()
    assert f"Up to date; next due {when}" in html


@pytest.mark.django_db
def test_a_couple_who_just_finished_their_forms_is_not_called_not_started(world):
    """The issue's case: three forms done, only a later one (due next week) untouched.
    The caseload used to call this couple "Not started"."""
    practice = world.a.practice
    couple = make_couple(practice, world.a.clinician, label="Just Done")
    with scope(practice=practice):
        one, two = couple.partners.order_by("position")
    today = timezone.localdate()
    for key in ("connection-pulse", "connection-signs", "everyday-bond"):
        form = open_form(couple, key, first_due=today)
        values = {"connection-pulse": {"pulse": 7}}.get(key) or (
            {f"cs{i:02d}": 4 for i in range(1, 13)}
            if key == "connection-signs"
            else {f"eb{i:02d}": 3 for i in range(1, 13)}
        )
        answer(form, one, values)
        answer(form, two, values)
    later = open_form(couple, first_due=today + timedelta(days=7))
    page = signed_in(world.a.clinician).get(f"/p/{practice.slug}/")
    row = page.context["rows"][0]
    assert str(row["progress_label"]) == "Up to date"
    when = date_format(later.due_date, "MONTH_DAY_FORMAT")
    assert [forms.label for _, forms in row["forms"]] == [f"Up to date; next due {when}"] * 2
    assert "Not started" not in page.content.decode()
    # The API says the same, per partner.
    api = signed_in(world.a.clinician).get(f"/api/v1/p/{practice.slug}/couples/")
    listed = api.json()["results"][0]
    assert listed["progress"] == "both_done"
    assert [(f["due"], f["done"], f["coming"]) for f in listed["forms"]] == [
        (0, 3, later.due_date.isoformat())
    ] * 2


@pytest.mark.django_db
def test_each_partner_shows_what_is_open_now_for_them(world):
    practice = world.a.practice
    couple = make_couple(practice, world.a.clinician, label="Half & Half")
    with scope(practice=practice):
        one, two = couple.partners.order_by("position")
    today = timezone.localdate()
    form = open_form(couple, first_due=today)
    answer(form, one, {"pulse": 6})
    # A screen for partner two alone, due today: only partner two has something open.
    open_form(couple, "safety-screen", partner=two, first_due=today)
    row = signed_in(world.a.clinician).get(f"/p/{practice.slug}/").context["rows"][0]
    assert str(row["progress_label"]) == "Waiting on one partner"
    assert [forms.label for _, forms in row["forms"]] == ["Up to date", "2 due today"]
    with time_machine.travel(timezone.now() + timedelta(days=2)):
        row = signed_in(world.a.clinician).get(f"/p/{practice.slug}/").context["rows"][0]
    assert str(row["progress_label"]) == "Overdue"
    assert [forms.label for _, forms in row["forms"]] == ["Up to date", "2 overdue"]
    fresh = make_couple(practice, world.a.clinician, label="Zz Fresh", n=5)
    open_form(fresh, first_due=today + timedelta(days=3))
    rows = signed_in(world.a.clinician).get(f"/p/{practice.slug}/?sort=label").context["rows"]
    fresh_row = next(r for r in rows if r["couple"].label == "Zz Fresh")
    assert str(fresh_row["progress_label"]) == "Nothing due yet"


@pytest.mark.django_db
def test_next_due_counts_the_next_form_of_a_repeating_assignment_not_yet_open(world):
    practice = world.a.practice
    couple = make_couple(practice, world.a.clinician, label="Weekly & Co")
    with scope(practice=practice):
        one, two = couple.partners.order_by("position")
    today = timezone.localdate()
    form = open_form(
        couple, first_due=today + timedelta(days=3), recurrence=Recurrence(7, "days", count=4)
    )
    answer(form, one, {"pulse": 6})
    answer(form, two, {"pulse": 6})
    row = signed_in(world.a.clinician).get(f"/p/{practice.slug}/").context["rows"][0]
    # No form is open; the next one opens on its own, a week after the first.
    assert [forms.label for _, forms in row["forms"]] == ["Up to date", "Up to date"]
    assert row["couple"].next_due == today + timedelta(days=10)


@pytest.mark.django_db
def test_filters_search_and_sorting(world):
    practice = world.a.practice
    alpha = make_couple(practice, world.a.clinician, label="Alpha", n=1)
    beta = make_couple(practice, world.a.clinician, label="Beta", n=2)
    gamma = make_couple(practice, world.a.owner, label="Gamma", n=3)
    with scope(practice=practice):
        gamma.status = CoupleStatus.CLOSED
        gamma.save()
        Alert.objects.create(
            practice=practice, couple=beta, kind=AlertKind.OVERDUE, severity=4, dedupe_key="t"
        )
        summary.refresh_couple(beta)  # written past the services
    client = signed_in(world.a.owner)
    base = f"/p/{practice.slug}/"

    def labels(query=""):
        return [r["couple"].label for r in client.get(base + query).context["rows"]]

    assert labels() == ["Beta", "Alpha"]  # active only; open alerts first by default
    assert labels("?sort=label") == ["Alpha", "Beta"]
    assert labels("?status=all&sort=label") == ["Alpha", "Beta", "Gamma"]
    assert labels("?status=closed") == ["Gamma"]
    assert labels("?q=partner one 2") == ["Beta"]  # partner names are searched
    assert labels(f"?q=one1.{practice.slug}") == ["Alpha"]  # and their emails
    assert labels("?attention=1") == ["Beta"]
    assert labels(f"?clinician={world.a.owner.uuid}&status=all") == ["Gamma"]
    assert labels("?sort=-label") == ["Beta", "Alpha"]
    assert labels("?sort=alerts") == ["Beta", "Alpha"]
    for key in ("partners", "clinician", "progress", "connection", "due", "status", "nonsense"):
        assert client.get(base + f"?sort={key}").status_code == 200
        assert client.get(base + f"?sort=-{key}").status_code == 200
    assert labels("?cursor=stale&sort=label") == ["Alpha", "Beta"]  # a bad cursor: page one
    del alpha


@pytest.mark.django_db
def test_empty_states_say_what_to_do_next(world):
    owner_page = signed_in(world.a.owner).get(f"/p/{world.a.practice.slug}/").content.decode()
    assert "Your caseload is empty." in owner_page
    assert "Add your first couple" in owner_page
    make_couple(world.a.practice, world.a.clinician)
    filtered = signed_in(world.a.owner).get(f"/p/{world.a.practice.slug}/?q=zzz").content.decode()
    assert "No couples match these filters." in filtered


@pytest.mark.django_db
def test_owners_are_warned_when_the_worker_is_silent(world):
    from practice.models import Heartbeat

    page = signed_in(world.a.owner).get(f"/p/{world.a.practice.slug}/").content.decode()
    assert "background worker has not checked in" in page
    Heartbeat.objects.create(name="worker", at=timezone.now())
    page = signed_in(world.a.owner).get(f"/p/{world.a.practice.slug}/").content.decode()
    assert "background worker has not checked in" not in page


@pytest.mark.django_db
def test_a_couple_with_a_safety_alert_comes_first_with_a_banner_for_clinical_staff(world):
    practice = world.a.practice
    make_couple(practice, world.a.clinician, label="Alder", n=1)
    overdue = make_couple(practice, world.a.clinician, label="Birch", n=2)
    safety = make_couple(practice, world.a.clinician, label="Zelkova", n=3)
    with scope(practice=practice):
        Alert.objects.create(
            practice=practice, couple=overdue, kind=AlertKind.OVERDUE, severity=4, dedupe_key="o"
        )
        summary.refresh_couple(overdue)  # written past the services
        partner = safety.partners.get(position=2)
    occurrence = open_form(safety, "safety-screen", partner=partner)
    answer(occurrence, partner, {**SAFE_ANSWERS, "ss01": 1})
    url = f"/p/{practice.slug}/"
    clinician = signed_in(world.a.clinician)

    page = clinician.get(url)
    assert [r["couple"].label for r in page.context["rows"]] == ["Zelkova", "Birch", "Alder"]
    banner = "1 couple has a safety alert that nobody has acknowledged yet."
    assert banner in page.content.decode()
    # Any other order is one click away, and the banner stays until someone acknowledges.
    by_name = clinician.get(url + "?sort=label")
    assert [r["couple"].label for r in by_name.context["rows"]] == ["Alder", "Birch", "Zelkova"]
    assert banner in by_name.content.decode()

    # Assistants see no clinical information: names in order, no banner.
    assistant = signed_in(world.a.assistant).get(url)
    assert [r["couple"].label for r in assistant.context["rows"]] == ["Alder", "Birch", "Zelkova"]
    assert "safety alert" not in assistant.content.decode()

    with scope(practice=practice):
        alert = Alert.objects.get(couple=safety)
    clinician.post(f"/p/{practice.slug}/alerts/{alert.uuid}/acknowledge/")
    page = clinician.get(url)
    assert banner not in page.content.decode()
    assert page.context["rows"][0]["couple"].label == "Zelkova"  # still open, still first


@pytest.mark.django_db
@pytest.mark.parametrize("sort", ["label", "-connection", "due", "alerts", "progress", "-partners"])
def test_pages_follow_each_other_by_cursor_forward_and_back_without_offsets(world, sort):
    practice = world.a.practice
    bulk_couples(practice, world.a.clinician, 60)
    client = signed_in(world.a.clinician)
    url = f"/p/{practice.slug}/?sort={sort}"
    client.get(url)  # warm the session
    first_count, response = caseload_queries(client, url)
    pages = [response.context]
    while pages[-1]["page"].next:
        cursor = pages[-1]["page"].next
        with CaptureQueriesContext(connection) as ctx:
            response = client.get(url + "&cursor=" + quote(cursor))
        # A deep page is a range condition on the sort keys, not a walk past the rows before.
        assert not any(" OFFSET " in q["sql"] for q in ctx.captured_queries)
        assert len(ctx.captured_queries) == first_count
        pages.append(response.context)
    labels = [r["couple"].label for page in pages for r in page["rows"]]
    assert len(pages) == 3 and len(labels) == len(set(labels)) == 60
    # Back from the last page gives the same pages in reverse.
    back = [r["couple"].label for r in pages[-1]["rows"]]
    context = pages[-1]
    while context["page"].previous:
        context = client.get(url + "&cursor=" + quote(context["page"].previous)).context
        back = [r["couple"].label for r in context["rows"]] + back
    assert back == labels
    # A cursor made for another order starts again at page one.
    other = client.get(f"/p/{practice.slug}/?sort=status&cursor=" + quote(pages[0]["page"].next))
    assert [r["couple"].label for r in other.context["rows"]][:1] == labels[:1] or sort != "label"
