"""PDF reports: real WeasyPrint renders, privacy of the couple version, the job's status
machine, safe fetching, downloads, release to the portal, batches and monthly reports."""

from __future__ import annotations

import copy
import hashlib
import re
import shutil
import subprocess
import zlib
from datetime import date, timedelta

import pytest
import time_machine
from django.core import mail
from django.test import TestCase
from django.utils import timezone
from django_scopes import scope

from assessments.models import Score
from assessments.services import instruments as instrument_services
from practice.celery import app as celery_app
from practice.models import AuditEvent
from reports import render, services, snapshot
from reports.models import Report, ReportBatch, ReportKind, ReportStatus
from tests.conftest import signed_in
from tests.factories import CUSTOM_DEFINITION, SAFE_ANSWERS, answer, make_couple, open_form
from tests.test_portal import portal_client

pdf = pytest.mark.pdf
START = timezone.localdate() - timedelta(days=60)
END = timezone.localdate()


def pdftotext(data: bytes, tmp_path) -> str:
    path = tmp_path / "r.pdf"
    path.write_bytes(data)
    return subprocess.run(
        ["pdftotext", "-layout", str(path), "-"], capture_output=True, text=True, check=True
    ).stdout


def pages_text(data: bytes, tmp_path) -> list[str]:
    """The text of each page (pdftotext separates pages with a form feed)."""
    return pdftotext(data, tmp_path).split("\f")[:-1]


def pdfinfo(data: bytes, tmp_path) -> str:
    path = tmp_path / "i.pdf"
    path.write_bytes(data)
    return subprocess.run(["pdfinfo", str(path)], capture_output=True, text=True, check=True).stdout


def image_count(data: bytes, tmp_path) -> int:
    path = tmp_path / "img.pdf"
    path.write_bytes(data)
    listing = subprocess.run(
        ["pdfimages", "-list", str(path)], capture_output=True, text=True, check=True
    ).stdout.splitlines()[2:]
    return sum(1 for row in listing if row.split()[2] == "image")  # soft masks are not images


def figure_alt_texts(data: bytes) -> tuple[int, list[str]]:
    """How many Figure structure elements the PDF has, and their /Alt texts.

    WeasyPrint writes the structure tree into compressed object streams, so each
    Flate stream is inflated before looking (pdfinfo does not print /Alt).
    """
    inflated = [data]
    for match in re.finditer(rb"stream\r?\n(.*?)\r?\nendstream", data, re.S):
        try:
            inflated.append(zlib.decompress(match.group(1)))
        except zlib.error:
            continue  # not Flate, or an image
    blob = b"\n".join(inflated)
    figures = len(re.findall(rb"/S\s*/Figure\b", blob))
    alts = [m.decode() for m in re.findall(rb"/Alt\s*\(([^)]*)\)", blob)]
    return figures, alts


@pytest.fixture
def history(world):
    """A couple with a few weeks of answers, a subscale instrument and a positive safety screen."""
    couple = make_couple(world.a.practice, world.a.clinician, label="Juniper & Quill")
    with scope(practice=world.a.practice):
        one, two = couple.partners.order_by("position")
    for value_one, value_two in ((4, 6), (6, 7), (7, 7)):
        form = open_form(couple)
        answer(form, one, {"pulse": value_one})
        answer(form, two, {"pulse": value_two})
    signs = open_form(couple, "connection-signs")
    answer(signs, one, {f"cs{i:02d}": 4 for i in range(1, 13)})
    answer(signs, two, {f"cs{i:02d}": 2 for i in range(1, 13)})
    safety = open_form(couple, "safety-screen", partner=two)
    answer(safety, two, {**SAFE_ANSWERS, "ss01": 1, "ss06": "A private note about last week"})
    return couple, one, two


def make_report(couple, kind, actor, **kwargs) -> Report:
    with scope(practice=couple.practice), TestCase.captureOnCommitCallbacks(execute=True):
        report = services.request_report(
            couple=couple, kind=kind, period_start=START, period_end=END, actor=actor, **kwargs
        )
    with scope(practice=couple.practice):
        return Report.objects.get(pk=report.pk)


@pdf
@pytest.mark.django_db
def test_clinician_report_renders_for_real_with_scores_charts_and_safety(world, history, tmp_path):
    couple, one, two = history
    report = make_report(couple, ReportKind.CLINICIAN, world.a.clinician)
    assert report.status == ReportStatus.READY, report.error
    with scope(practice=couple.practice):
        data = report.file.read()
    assert report.size == len(data)
    assert report.sha256 == hashlib.sha256(data).hexdigest()
    assert data.startswith(b"%PDF")
    info = pdfinfo(data, tmp_path)
    assert re.search(r"Tagged:\s+yes", info)
    assert "Clinician progress report: Juniper & Quill" in info
    # PDF/UA: every chart is a Figure with alternative text (the chart's title).
    figures, alts = figure_alt_texts(data)
    assert figures == 5
    assert sorted(alts) == [
        "Connection Pulse",
        "Connection Signs Inventory",
        "Connection Signs Inventory: areas",
        "Gap between the partners: Connection Pulse",
        "Gap between the partners: Connection Signs Inventory",
    ]
    text = pdftotext(data, tmp_path)
    for expected in (
        "Juniper & Quill",
        one.display_name,
        two.display_name,
        "Connection Pulse",
        "Connection Signs Inventory",
        "Date answered",
        "Methods",
        "Reliable Change Index",
        "practice-authored",
        "Private safety check-ins",
        "I have felt afraid of my partner",
    ):
        assert expected in text, expected
    # Summary rows: each partner's latest score and band, then the couple mean. The
    # pulse went 4→7 and 6→7; the signs totals are 3.5 (all 4s, three reversed
    # items to 2) and 2.5 (all 2s, reversed to 4), a couple mean of 3.
    assert re.search(r"Connection Pulse\s+7\s+Strong\s+7\s+Strong\s+7\s+Strong", text)
    assert re.search(
        r"Connection Signs Inventory\s+3\.5\s+Many signs\s+2\.5\s+Some signs\s+3\s+Some signs",
        text,
    )
    # First and latest pulse per partner in the trend table.
    assert re.search(r"Partner One\s+4\s+7\s+No reliable-change statistics: a single-item", text)
    assert re.search(r"Partner Two\s+6\s+7\s+No reliable-change statistics: a single-item", text)
    # The couple average beside them: (4 + 6) / 2 = 5 at the first form, 7 at the latest.
    assert re.search(r"Couple\s+5\s+7\s+no RC", text)
    # The agreement table compares the latest form both answered (7 and 7), not the
    # first (4 and 6), though all three were due the same day.
    # The pulse item with both partners' latest answers (pdftotext may wrap the question).
    assert re.search(r"emotional connection between(?: my)?\s+7\s+7\s", text)
    # The private free-text answer is never printed, even in the clinician version.
    assert "A private note" not in text


@pdf
@pytest.mark.django_db
def test_couple_report_has_no_item_answers_private_items_safety_or_partner_numbers(
    world, history, tmp_path
):
    couple, one, two = history
    report = make_report(couple, ReportKind.COUPLE, world.a.clinician)
    assert report.status == ReportStatus.READY, report.error
    with scope(practice=couple.practice):
        data = report.file.read()
    text = pdftotext(data, tmp_path)
    assert "Juniper & Quill" in text
    assert "Our progress together" in text
    assert "Connection Signs Inventory" in text
    # One form both answered and no norms yet: no number and no band, only the honest
    # words from the couple composite's reliable change.
    assert re.search(r"Connection Signs Inventory\s+Too early to tell\s+Too early to tell", text)
    assert "Some signs" not in text and "Couple average" not in text
    # The one-item pulse shows only how often both answered: from a couple mean of one
    # answer, each partner could work out the other's answer.
    assert re.search(r"You both answered the Connection Pulse\s+3 times", text)
    assert "Connection Pulse" not in text.replace("answered the Connection Pulse", "")
    # The summary page, in plain words.
    assert "Your summary" in text and "How things have changed" in text
    for page in pages_text(data, tmp_path)[1:]:
        assert len(page.split()) >= 40, f"a near-empty page:\n{page}"
    definition_texts = []
    with scope(practice=couple.practice):
        from assessments.models import Instrument

        for instrument in Instrument.objects.filter(practice__isnull=True):
            definition_texts += [item["text"]["en"] for item in instrument.definition["items"]]
            definition_texts += [
                o["label"]["en"]
                for s in instrument.definition.get("answer_sets", {}).values()
                for o in s
            ]
    leaked = [t for t in definition_texts if t in text]
    assert leaked == []
    for forbidden in (
        "safety",
        "Safety",
        "afraid",
        "Private",
        one.display_name,
        two.display_name,
        "RCI",
    ):
        assert forbidden not in text, forbidden
    frozen = report.snapshot
    signs = next(i for i in frozen["instruments"] if i["key"] == "connection-signs")
    assert signs["bands"] == [] and signs["couple"]["band"] == ""
    assert signs["couple"]["series"] == [] and signs["couple"]["latest_mean"] is None
    # The words travel without the numbers they come from.
    assert signs["couple"]["since_start"] == {"word": "too_early"}
    assert all(sub["mean"] is None for sub in signs["couple"]["subscales"])
    assert {sub["since_start"] for sub in signs["couple"]["subscales"]} == {"too_early"}
    assert {sub["label"] for sub in signs["couple"]["subscales"]} == {
        "Responsiveness",
        "Openness",
        "Engagement",
    }  # one-item areas are left out
    assert "alerts" not in frozen
    assert "safety" not in frozen
    assert "partners" not in frozen
    for instrument in frozen["instruments"]:
        assert "partners" not in instrument
        assert "agreement" not in instrument
        assert instrument["key"] != "safety-screen"


@pdf
@pytest.mark.django_db
def test_couple_report_shows_partner_totals_only_when_the_practice_allows(world, history, tmp_path):
    couple, one, _ = history
    world.a.practice.couple_report_partner_totals = True
    world.a.practice.save()
    with scope(practice=couple.practice):
        report = Report.objects.create(
            practice=couple.practice,
            couple=couple,
            kind=ReportKind.COUPLE,
            period_start=START,
            period_end=END,
        )
        frozen = snapshot.build(Report.objects.select_related("practice").get(pk=report.pk))
    assert frozen["partners"] == [one.display_name, "Partner Two 0"]
    # A one-item measure never appears, totals or not: its total is the answer itself.
    assert [i["key"] for i in frozen["instruments"]] == ["connection-signs"]
    signs = frozen["instruments"][0]
    # All 4s and all 2s with three reverse-keyed items: 3.5 and 2.5, a couple mean of 3.
    assert [p["latest"] for p in signs["partners"]] == [3.5, 2.5]
    assert signs["couple"]["latest_mean"] == 3.0
    # Partners' change statistics never reach the couple version, numbers or not.
    assert all(set(p) == {"series", "reliable", "latest", "first"} for p in signs["partners"])
    assert "agreement" not in signs
    # Subscales of one item (conflict, self-awareness) stay out even with numbers on.
    assert [s["label"] for s in signs["couple"]["subscales"]] == [
        "Responsiveness",
        "Openness",
        "Engagement",
    ]
    report = make_report(couple, ReportKind.COUPLE, world.a.clinician)
    with scope(practice=couple.practice):
        data = report.file.read()
    text = " ".join(pdftotext(data, tmp_path).split())
    # Couple average, the change words, then each partner (pdftotext wraps the long title).
    assert "Connection Signs 3 Too early to tell Too early to tell 3.5 2.5" in text
    assert "Some signs" not in text
    # Even with totals on, the one-item pulse is only counted, never charted or scored.
    assert "Connection Pulse" not in text.replace("answered the Connection Pulse", "")
    assert "Handling disagreement" not in text
    info = pdfinfo(data, tmp_path)
    assert re.search(r"Tagged:\s+yes", info)
    assert "Our progress together: Juniper & Quill" in info


def couple_with_totals_shown_on(world, definition, label):
    """Practice A shows partners' totals in couple reports and publishes ``definition``;
    a new couple has a form of it open. Returns the couple, its partners and the form."""
    practice = world.a.practice
    practice.couple_report_partner_totals = True
    practice.save()
    couple = make_couple(practice, world.a.clinician, label=label)
    with scope(practice=practice):
        custom = instrument_services.upload(
            practice=practice, actor=world.a.owner, definition=definition
        )
        instrument_services.publish(custom, actor=world.a.owner)
        one, two = couple.partners.order_by("position")
    return couple, one, two, open_form(couple, definition["key"])


@pdf
@pytest.mark.django_db
def test_private_items_never_move_a_couple_number(world, tmp_path):
    """A practice's own form with three shared items and a private one that the scale
    needs all four of: the couple version leaves the private one out of every number
    (its missing-data rule is capped at the shared items), and the clinician report's
    couple average matches."""
    definition = copy.deepcopy(CUSTOM_DEFINITION)
    definition["items"] += [
        {"link_id": "q3", "type": "rating", "private": True, "text": {"en": "A private one"}},
        {"link_id": "q4", "type": "rating", "text": {"en": "How kind were you to each other?"}},
    ]
    definition["scales"][0]["items"] = ["q1", "q2", "q3", "q4"]
    definition["scales"][0]["min_answered"] = 4
    definition["scales"][0]["bands"] = [
        {"key": "low", "min": 1, "max": 5.5, "label": {"en": "Low"}},
        {"key": "high", "min": 5.5, "max": 10, "label": {"en": "High"}},
    ]
    practice = world.a.practice
    couple, one, two, form = couple_with_totals_shown_on(world, definition, "Private & Shared")
    answer(form, one, {"q1": 6, "q2": 6, "q3": 1, "q4": 6})
    answer(form, two, {"q1": 4, "q2": 4, "q3": 10, "q4": 4})
    with scope(practice=practice):
        # The stored totals count the private item: 19/4 and 22/4.
        assert sorted(
            Score.objects.filter(couple=couple, is_total=True).values_list("value", flat=True)
        ) == [pytest.approx(4.75), pytest.approx(5.5)]
    couple_version = make_report(couple, ReportKind.COUPLE, world.a.clinician)
    clinician_version = make_report(couple, ReportKind.CLINICIAN, world.a.clinician)
    frozen = couple_version.snapshot["instruments"][0]
    # Shared items only: 6 and 4, a couple mean of 5.
    assert [p["latest"] for p in frozen["partners"]] == [6.0, 4.0]
    assert frozen["couple"]["latest_mean"] == 5.0
    assert frozen["couple"]["series"][0]["value"] == 5.0
    assert clinician_version.snapshot["instruments"][0]["couple"]["latest_mean"] == 5.0
    with scope(practice=practice):
        text = " ".join(pdftotext(couple_version.file.read(), tmp_path).split())
    # pdftotext may wrap the title ("Weekly check-" … "in").
    assert re.search(r"Weekly check-(in)?\s+5 Too early to tell Too early to tell 6 4", text)
    assert "private one" not in text


@pytest.mark.django_db
def test_a_scale_short_of_shared_items_stays_out_of_the_couple_version(world):
    """Three items but only one shared: with partners' totals on, each total would be
    that partner's answer, so the couple version leaves the scale out."""
    definition = copy.deepcopy(CUSTOM_DEFINITION)
    definition["items"][1]["private"] = True
    definition["items"].append(
        {"link_id": "q3", "type": "rating", "private": True, "text": {"en": "Another"}}
    )
    definition["scales"][0]["items"] = ["q1", "q2", "q3"]
    practice = world.a.practice
    couple, one, two, form = couple_with_totals_shown_on(world, definition, "Mostly Private")
    answer(form, one, {"q1": 7, "q2": 2, "q3": 3})
    answer(form, two, {"q1": 3, "q2": 9, "q3": 8})
    with scope(practice=practice):
        report = Report.objects.create(
            practice=practice,
            couple=couple,
            kind=ReportKind.COUPLE,
            period_start=START,
            period_end=END,
        )
        frozen = snapshot.build(Report.objects.select_related("practice").get(pk=report.pk))
    assert frozen["instruments"] == []


@pytest.mark.django_db
def test_strengths_and_growth_areas_carry_both_answers(world):
    """A reverse-worded strength is only clear with the answers: both disagreed."""
    couple = make_couple(world.a.practice, world.a.clinician, label="Reverse & Co")
    with scope(practice=couple.practice):
        one, two = couple.partners.order_by("position")
    form = open_form(couple, "connection-signs")
    answers = {f"cs{i:02d}": 3 for i in range(1, 13)}
    answer(form, one, {**answers, "cs02": 1, "cs05": 1})
    answer(form, two, {**answers, "cs02": 1, "cs05": 2})
    with scope(practice=couple.practice):
        report = Report.objects.create(
            practice=couple.practice,
            couple=couple,
            kind=ReportKind.CLINICIAN,
            period_start=START,
            period_end=END,
        )
        frozen = snapshot.build(Report.objects.select_related("practice").get(pk=report.pk))
    agreement = frozen["instruments"][0]["agreement"]
    assert [(s["text"][:28], s["answers"]) for s in agreement["strengths"]] == [
        ("I keep my true beliefs or ho", "Strongly disagree · Strongly disagree")
    ]
    growth = agreement["growth"]
    assert [
        (g["text"][:20], g["answers"], g["reason"])
        for g in growth
        if g["reason"] != "both_undecided"
    ] == [("I show real interest", "Strongly disagree · Disagree", "both_low")]
    # The ten items both answered with the middle option are growth areas too.
    undecided = [g["answers"] for g in growth if g["reason"] == "both_undecided"]
    assert undecided == ["Neither agree nor disagree · Neither agree nor disagree"] * 10


@pdf
def test_the_url_fetcher_fetches_nothing_from_outside(tmp_path):
    fetcher = render.safe_fetcher()
    hostile = """<html lang="en"><head><title>t</title>
      <link rel="stylesheet" href="file:///etc/passwd">
      <style>body { background: url(http://127.0.0.1:9/bg.png); }
             @import url("https://example.com/x.css");</style></head>
      <body><p>Hello</p><img src="http://127.0.0.1:9/pixel.png" alt="">
      <img src="file:///etc/passwd" alt=""><img src="/etc/hostname" alt="">
      <object data="file:///etc/shadow"></object></body></html>"""
    data = render.html_to_pdf(hostile, fetcher)
    assert set(fetcher.refused) >= {"http", "file"}
    assert image_count(data, tmp_path) == 0
    text = pdftotext(data, tmp_path)
    assert "Hello" in text
    assert "root:" not in text


@pdf
def test_the_url_fetcher_allows_data_uris_and_our_static_files(tmp_path, settings):
    from django.contrib.staticfiles import finders

    png = (
        "data:image/png;base64,iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk"
        "+M9QDwADhgGAWjR9awAAAABJRU5ErkJggg=="
    )
    static_css = finders.find("css/report.css")
    fetcher = render.safe_fetcher()
    data = render.html_to_pdf(
        f'<html lang="en"><head><title>t</title><link rel="stylesheet" href="file://{static_css}">'
        f'</head><body><img src="{png}" alt="dot"></body></html>',
        fetcher,
    )
    assert fetcher.refused == []
    assert image_count(data, tmp_path) == 1


@pdf
@pytest.mark.django_db
def test_markup_in_a_label_or_name_is_printed_as_text_and_fetches_nothing(
    world, history, tmp_path, monkeypatch
):
    couple, one, _ = history
    with scope(practice=couple.practice):
        couple.label = '<img src="http://127.0.0.1:9/x.png"> & <style>*{background:url(file:///etc/passwd)}</style>'
        couple.save()
        one.display_name = "<b>Bold</b> Name"
        one.save()
    fetchers = []
    real = render.safe_fetcher

    def spy():
        fetcher = real()
        fetchers.append(fetcher)
        return fetcher

    monkeypatch.setattr(render, "safe_fetcher", spy)
    report = make_report(couple, ReportKind.CLINICIAN, world.a.clinician)
    assert report.status == ReportStatus.READY
    assert [f.refused for f in fetchers] == [[]]  # nothing was even attempted
    with scope(practice=couple.practice):
        data = report.file.read()
    assert image_count(data, tmp_path) == 0
    text = pdftotext(data, tmp_path)
    assert '<img src="http://127.0.0.1:9/x.png">' in text.replace("\n", " ") or "<img src=" in text
    assert "<b>Bold</b> Name" in text


@pytest.mark.django_db
def test_a_duplicate_delivery_does_nothing(world, history):
    couple, _, _ = history
    report = make_report(couple, ReportKind.COUPLE, world.a.clinician)
    with scope(practice=couple.practice):
        assert services.generate(report.pk) is None
        again = Report.objects.get(pk=report.pk)
    assert (again.sha256, again.attempts, again.status) == (report.sha256, 1, ReportStatus.READY)


@pytest.mark.django_db
def test_a_failed_render_says_why_and_can_be_retried(world, history, monkeypatch):
    couple, _, _ = history

    def explode(snapshot):
        raise MemoryError

    monkeypatch.setattr(render, "render", explode)
    report = make_report(couple, ReportKind.CLINICIAN, world.a.clinician)
    assert report.status == ReportStatus.FAILED
    assert "MemoryError" in report.error
    assert not report.file
    client = signed_in(world.a.clinician)
    page = client.get(f"/p/{world.a.practice.slug}/reports/{report.uuid}/").content.decode()
    assert "could not be drawn" in page
    assert "Try again" in page
    monkeypatch.undo()
    with TestCase.captureOnCommitCallbacks(execute=True):
        client.post(
            f"/p/{world.a.practice.slug}/reports/{report.uuid}/action/", {"action": "retry"}
        )
    with scope(practice=couple.practice):
        report.refresh_from_db()
    # A person asked again: the report gets fresh attempts.
    assert (report.status, report.attempts, report.error) == (ReportStatus.READY, 1, "")


def rendering_report(couple, *, attempts=1, lease_left=timedelta(seconds=-5), **fields) -> Report:
    """A report some renderer claimed; by default its lease lapsed five seconds ago."""
    now = timezone.now()
    with scope(practice=couple.practice):
        return Report.objects.create(
            practice=couple.practice,
            couple=couple,
            kind=ReportKind.COUPLE,
            period_start=START,
            period_end=END,
            status=ReportStatus.RENDERING,
            attempts=attempts,
            started_at=now - timedelta(seconds=40),
            lease_expires_at=now + lease_left,
            **fields,
        )


@pytest.mark.django_db
def test_stale_renders_are_requeued_then_failed_after_three_attempts(world, history):
    couple, _, _ = history
    report = rendering_report(couple)
    with TestCase.captureOnCommitCallbacks(execute=True):
        assert services.requeue_stale() == 1
    with scope(practice=couple.practice):
        report.refresh_from_db()
        assert (report.status, report.attempts) == (ReportStatus.READY, 2)  # eager: re-claimed
        assert report.lease_expires_at is None
        Report.objects.filter(pk=report.pk).update(
            status=ReportStatus.RENDERING,
            attempts=3,
            lease_expires_at=timezone.now() - timedelta(seconds=1),
        )
    with time_machine.travel(timezone.now() + timedelta(minutes=5)):
        services.requeue_stale()
    with scope(practice=couple.practice):
        report.refresh_from_db()
    assert report.status == ReportStatus.FAILED
    assert report.error_code == "stopped"
    assert "stopped 3 times" in report.error_message


@pytest.mark.django_db
def test_a_redelivered_render_waits_for_a_live_lease_then_takes_over(world, history):
    couple, _, _ = history
    report = rendering_report(couple, lease_left=timedelta(seconds=20))
    with scope(practice=couple.practice):
        # The first renderer may still be alive: the new delivery must not render beside it.
        with pytest.raises(services.LeaseHeld) as held:
            services.generate(report.pk)
        assert 19 <= held.value.seconds <= 20
        with time_machine.travel(timezone.now() + timedelta(seconds=21), tick=False):
            done = services.generate(report.pk)
        assert done is not None and done.status == ReportStatus.READY
        assert done.attempts == 2
        # The first renderer, had it lived, could not overwrite the result: its claim is gone.
        assert services.generate(report.pk) is None


@pytest.mark.django_db
def test_requeue_sends_each_report_at_most_once_per_run(world, history, monkeypatch):
    from reports import tasks

    couple, _, _ = history
    sent = []
    monkeypatch.setattr(tasks.render_report, "apply_async", lambda *a, **k: sent.append(a[1]))
    # Rendering under a lapsed lease and queued long ago: both of the sweeper's lists.
    old = timezone.now() - timedelta(minutes=30)
    stale = rendering_report(couple, created_at=old)
    with scope(practice=couple.practice):
        lost = Report.objects.create(
            practice=couple.practice,
            couple=couple,
            kind=ReportKind.CLINICIAN,
            period_start=START,
            period_end=END,
            created_at=old,
        )
    assert services.requeue_stale() == 2
    assert sorted(k["report_id"] for k in sent) == sorted([stale.pk, lost.pk])


@pytest.mark.django_db
def test_a_full_disk_fails_the_report_clearly_leaves_no_partial_file_and_can_retry(
    world, history, monkeypatch, tmp_path
):
    import errno
    import os

    couple, _, _ = history
    real_fsync = os.fsync

    def disk_full(fd):
        raise OSError(errno.ENOSPC, "No space left on device")

    # The write has happened; the flush to disk is refused, as on a full filesystem.
    monkeypatch.setattr(services.os, "fsync", disk_full)
    report = make_report(couple, ReportKind.CLINICIAN, world.a.clinician)
    assert (report.status, report.error_code, report.error) == (
        ReportStatus.FAILED,
        "storage",
        "ENOSPC",
    )
    assert not report.file and report.lease_expires_at is None
    assert [p for p in (tmp_path / "private").rglob("*") if p.is_file()] == []
    client = signed_in(world.a.clinician)
    page = client.get(f"/p/{world.a.practice.slug}/reports/{report.uuid}/").content.decode()
    assert "could not be saved" in page and "(ENOSPC)" in page
    assert "Try again" in page
    api = client.get(f"/api/v1/p/{world.a.practice.slug}/reports/{report.uuid}/").json()
    assert api["error_code"] == "storage" and "could not be saved" in api["error"]
    monkeypatch.setattr(services.os, "fsync", real_fsync)
    with TestCase.captureOnCommitCallbacks(execute=True):
        client.post(
            f"/p/{world.a.practice.slug}/reports/{report.uuid}/action/", {"action": "retry"}
        )
    with scope(practice=couple.practice):
        report.refresh_from_db()
    assert report.status == ReportStatus.READY
    files = [p.name for p in (tmp_path / "private").rglob("*") if p.is_file()]
    assert files == [f"{report.uuid}.pdf"]


@pytest.mark.django_db
def test_try_again_works_on_a_report_whose_renderer_went_quiet(world, history):
    couple, _, _ = history
    report = rendering_report(couple)
    client = signed_in(world.a.clinician)
    page = client.get(f"/p/{world.a.practice.slug}/reports/{report.uuid}/").content.decode()
    assert "Try again" in page
    with TestCase.captureOnCommitCallbacks(execute=True):
        client.post(
            f"/p/{world.a.practice.slug}/reports/{report.uuid}/action/", {"action": "retry"}
        )
    with scope(practice=couple.practice):
        report.refresh_from_db()
    assert (report.status, report.attempts) == (ReportStatus.READY, 1)
    live = rendering_report(couple, lease_left=timedelta(seconds=20))
    page = client.get(f"/p/{world.a.practice.slug}/reports/{live.uuid}/").content.decode()
    assert "Try again" not in page


@pytest.mark.django_db
def test_a_report_whose_task_was_lost_is_requeued_once_per_quiet_period(
    world, history, monkeypatch
):
    from reports import tasks
    from reports.services import REQUEUE_REPORT_QUIET_SECONDS

    couple, _, _ = history
    sent = []
    monkeypatch.setattr(tasks.render_report, "apply_async", lambda *a, **k: sent.append(k))
    with scope(practice=couple.practice):
        Report.objects.create(
            practice=couple.practice,
            couple=couple,
            kind=ReportKind.COUPLE,
            period_start=START,
            period_end=END,
            created_at=timezone.now() - timedelta(minutes=30),
        )
    assert services.requeue_stale() == 1
    assert services.requeue_stale() == 0
    with time_machine.travel(timezone.now() + timedelta(seconds=REQUEUE_REPORT_QUIET_SECONDS + 1)):
        assert services.requeue_stale() == 1
    assert len(sent) == 2


@pytest.mark.django_db
def test_downloads_are_authorised_audited_named_and_not_cached(world, history):
    couple, _, _ = history
    report = make_report(couple, ReportKind.CLINICIAN, world.a.clinician)
    url = f"/p/{world.a.practice.slug}/reports/{report.uuid}/download/"
    for user in (world.a.clinician, world.a.owner):
        response = signed_in(user).get(url)
        assert response.status_code == 200
        assert response["Content-Type"] == "application/pdf"
        assert "no-store" in response["Cache-Control"]
        # Couple, kind, period, language and the day it was made.
        made = timezone.localdate().isoformat()
        assert (
            f'filename="attune-juniper-quill-clinician-report-{START.isoformat()}-to-'
            f'{END.isoformat()}-en-made-{made}.pdf"' in response["Content-Disposition"]
        )
        assert b"".join(response.streaming_content).startswith(b"%PDF")
    assert signed_in(world.a.assistant).get(url).status_code == 404
    from tests.factories import MembershipFactory

    colleague = MembershipFactory(practice=world.a.practice, role="clinician").user
    assert signed_in(colleague).get(url).status_code == 404
    with scope(practice=couple.practice):
        assert AuditEvent.objects.filter(action="report.download").count() == 2


@pytest.mark.django_db
def test_release_to_the_portal_emails_partners_and_withdraw_takes_it_back(world, history):
    couple, one, two = history
    clinician_report = make_report(couple, ReportKind.CLINICIAN, world.a.clinician)
    couple_report = make_report(couple, ReportKind.COUPLE, world.a.clinician)
    staff = signed_in(world.a.clinician)
    base = f"/p/{world.a.practice.slug}/reports/"
    refused = staff.post(
        base + f"{clinician_report.uuid}/action/", {"action": "release"}, follow=True
    )
    assert "Only the couple version" in refused.content.decode()
    partner = portal_client(one)  # invited, so the release email reaches them
    with scope(practice=couple.practice):
        two.portal_state = "active"
        two.save()
    mail.outbox.clear()
    with TestCase.captureOnCommitCallbacks(execute=True):  # the emails go out from a task
        staff.post(base + f"{couple_report.uuid}/action/", {"action": "release"})
    assert sorted(m.to[0] for m in mail.outbox) == sorted([one.email, two.email])
    for message in mail.outbox:
        assert "Juniper" not in message.body
        assert "/portal/" in message.body
    home = partner.get("/portal/").content.decode()
    download = f"/portal/reports/{couple_report.uuid}/download/"
    assert download in home
    response = partner.get(download)
    assert response.status_code == 200
    assert "no-store" in response["Cache-Control"]
    assert partner.get(f"/portal/reports/{clinician_report.uuid}/download/").status_code == 404
    staff.post(base + f"{couple_report.uuid}/action/", {"action": "withdraw"})
    assert partner.get(download).status_code == 404
    with scope(practice=couple.practice):
        actions = set(
            AuditEvent.objects.filter(action__startswith="report.").values_list("action", flat=True)
        )
    assert {"report.release", "report.withdraw", "report.portal_download"} <= actions


@pytest.mark.django_db
def test_another_couples_partner_cannot_download(world, history):
    couple, _, _ = history
    report = make_report(couple, ReportKind.COUPLE, world.a.clinician)
    with scope(practice=couple.practice):
        services.release(report, actor=world.a.clinician)
    other = make_couple(world.a.practice, world.a.clinician, label="Other", n=7)
    with scope(practice=couple.practice):
        stranger = other.partners.get(position=1)
    client = portal_client(stranger)
    assert client.get(f"/portal/reports/{report.uuid}/download/").status_code == 404


@pytest.mark.django_db
def test_bulk_reports_for_all_active_couples_with_a_progress_page(world, history):
    couple, _, _ = history
    make_couple(world.a.practice, world.a.clinician, label="Second", n=5)
    closed = make_couple(world.a.practice, world.a.clinician, label="Closed", n=6)
    with scope(practice=couple.practice):
        closed.status = "closed"
        closed.save()
    client = signed_in(world.a.clinician)
    with TestCase.captureOnCommitCallbacks(execute=True):
        response = client.post(
            f"/p/{world.a.practice.slug}/reports/",
            {
                "kind": "clinician",
                "period_start": str(START),
                "period_end": str(END),
                "language": "en",
            },
        )
    assert response.status_code == 302
    page = client.get(response.url)
    assert page.context["total"] == 2
    assert page.context["counts"]["ready"] == 2
    assert not page.context["in_progress"]
    bad = client.post(
        f"/p/{world.a.practice.slug}/reports/",
        {"kind": "clinician", "period_start": str(END), "period_end": str(START), "language": "en"},
    )
    assert "before its start" in bad.content.decode()


@pytest.mark.django_db
def test_monthly_reports_on_the_first_for_opted_in_couples_once(world, history):
    couple, _, _ = history
    with scope(practice=couple.practice):
        couple.monthly_report = True
        couple.save()
    first = date(2026, 12, 1)
    assert services.monthly_reports(first - timedelta(days=1)) == 0
    with time_machine.travel(first):
        assert services.monthly_reports(first) == 1
        assert services.monthly_reports(first) == 0
    with scope(practice=couple.practice):
        report = Report.objects.get(automatic=True)
    assert (report.period_start, report.period_end) == (date(2026, 11, 1), date(2026, 11, 30))


def test_reports_run_on_their_own_queue_with_recycled_workers():
    route = celery_app.amqp.router.route({}, "reports.tasks.render_report")
    assert route["queue"].name.endswith("reports")
    assert celery_app.conf.worker_max_tasks_per_child > 0
    assert celery_app.conf.worker_max_memory_per_child > 0


def test_poppler_is_installed_for_these_tests():
    assert shutil.which("pdftotext"), "install poppler-utils (scripts/test_deps.py does)"


@pytest.mark.django_db
def test_a_batch_is_all_or_nothing(world, history, monkeypatch):
    """A failure on the third couple leaves no batch and no reports behind."""
    couple, _, _ = history
    others = [
        make_couple(world.a.practice, world.a.clinician, label=f"Batch {n}", n=10 + n)
        for n in range(3)
    ]
    real = services.request_report
    calls = []

    def fail_on_third(**kwargs):
        calls.append(kwargs["couple"].pk)
        if len(calls) == 3:
            raise RuntimeError("database went away")
        return real(**kwargs)

    monkeypatch.setattr(services, "request_report", fail_on_third)
    with scope(practice=couple.practice), pytest.raises(RuntimeError):
        services.request_batch(
            couples=[couple, *others],
            practice=world.a.practice,
            kind=ReportKind.CLINICIAN,
            period_start=START,
            period_end=END,
            actor=world.a.clinician,
        )
    with scope(practice=couple.practice):
        assert len(calls) == 3
        assert not ReportBatch.objects.exists()
        assert not Report.objects.exists()


@pytest.mark.django_db
def test_report_pages_follow_progress_in_the_background_not_by_reloading(world, history):
    """No meta refresh: a script polls a status that carries no content, and a polite
    live region says what changed."""
    couple, _, _ = history
    report = rendering_report(couple, lease_left=timedelta(minutes=5))
    with scope(practice=couple.practice):
        batch = ReportBatch.objects.create(
            practice=couple.practice,
            kind=ReportKind.COUPLE,
            period_start=START,
            period_end=END,
            created_by=world.a.clinician,
        )
        report.batch = batch
        report.save()
    client = signed_in(world.a.clinician)
    base = f"/p/{world.a.practice.slug}/reports/"
    for path in (f"{report.uuid}/", f"batches/{batch.uuid}/"):
        page = client.get(base + path).content.decode()
        assert 'http-equiv="refresh"' not in page
        assert "js/report-progress.js" in page
        assert 'id="live-progress" aria-live="polite"' in page
        assert '<dd role="status">' not in page
    status = client.get(base + f"{report.uuid}/status/").json()
    assert status == {
        "in_progress": True,
        "message": "Report status: Rendering. The page updates itself when it is ready.",
    }
    assert client.get(base + f"batches/{batch.uuid}/status/").json() == {
        "in_progress": True,
        "finished": 0,
        "total": 1,
        "message": "0 of 1 ready",
    }
    with scope(practice=couple.practice):
        Report.objects.filter(pk=report.pk).update(status=ReportStatus.FAILED)
    assert client.get(base + f"batches/{batch.uuid}/status/").json()["message"] == (
        "0 of 1 ready, 1 failed"
    )
    finished = client.get(base + f"{report.uuid}/").content.decode()
    assert "js/report-progress.js" not in finished
    # Outsiders: another practice's clinician gets 404 for both, as for the pages.
    outsider = signed_in(world.b.clinician)
    other = f"/p/{world.b.practice.slug}/reports/"
    assert outsider.get(other + f"{report.uuid}/status/").status_code == 404
    assert outsider.get(other + f"batches/{batch.uuid}/status/").status_code == 404


@pdf
@pytest.mark.django_db
def test_a_couple_report_is_previewed_then_released_after_naming_who_will_see_it(world, history):
    couple, one, two = history
    report = make_report(couple, ReportKind.COUPLE, world.a.clinician)
    with scope(practice=couple.practice):
        two.portal_state = "invited"
        two.save()
    client = signed_in(world.a.clinician)
    base = f"/p/{world.a.practice.slug}/reports/{report.uuid}/"
    detail = client.get(base).content.decode()
    # The detail page no longer releases in one click: it links to the confirmation.
    assert 'value="release"' not in detail and f"{base}release/" in detail
    preview = client.get(base + "preview/")
    assert preview.status_code == 200
    images = re.findall(r'<img src="data:image/png;base64,', preview.content.decode())
    assert len(images) == len(preview.context["pages"]) >= 2
    assert "Page 1 of" in preview.content.decode()
    confirm = client.get(base + "release/").content.decode()
    # Only the partner with portal access is named; the other is not told anything.
    assert two.display_name in confirm and two.email in confirm
    assert one.display_name not in confirm
    with scope(practice=couple.practice):
        assert Report.objects.get(pk=report.pk).released_at is None
        assert AuditEvent.objects.filter(
            action="report.preview", target_id=str(report.uuid)
        ).exists()
    with TestCase.captureOnCommitCallbacks(execute=True):
        client.post(base + "action/", {"action": "release"})
    with scope(practice=couple.practice):
        assert Report.objects.get(pk=report.pk).released_at is not None
    # An assistant may not preview; another practice gets 404.
    assert signed_in(world.a.assistant).get(base + "preview/").status_code == 404
    assert (
        signed_in(world.b.owner)
        .get(f"/p/{world.b.practice.slug}/reports/{report.uuid}/preview/")
        .status_code
        == 404
    )


def test_the_couple_summary_names_strengths_growth_and_change_from_levels():
    from reports import summary

    assert summary.level(4.6, 1, 5, True) == "strength"  # 0.9 of the range
    assert summary.level(2.2, 1, 5, True) == "growth"  # 0.3
    assert summary.level(3.4, 1, 5, True) == ""  # 0.6: neither
    assert summary.level(1.4, 1, 5, False) == "strength"  # lower is better
    assert summary.level(None, 1, 5, True) == ""
    built = summary.build(
        [
            {
                "key": "elements-of-connection",
                "title": "Elements of Connection",
                "scale_label": "Overall connection",
                "couple": {
                    "since_start": {"word": "stronger"},
                    "subscales": [
                        {"key": "empathy", "label": "Empathy", "level": "strength"},
                        {
                            "key": "communication",
                            "label": "Emotional communication",
                            "level": "growth",
                        },
                        {"key": "attachment", "label": "Secure bond", "level": ""},
                    ],
                },
            },
            {
                "key": "everyday-bond",
                "title": "Everyday Bond",
                "scale_label": "Everyday bond",
                "couple": {"since_start": {"word": "about_the_same"}, "level": "growth"},
            },
        ],
        [{"title": "Connection Pulse", "forms": 4}],
    )
    assert [a["label"] for a in built["strengths"]] == ["Empathy"]
    assert built["strengths"][0]["about"].startswith("Feeling what the other feels")
    assert [a["label"] for a in built["growth"]] == ["Emotional communication", "Everyday bond"]
    assert built["changes"] == [
        {"instrument": "Elements of Connection", "word": "stronger"},
        {"instrument": "Everyday Bond", "word": "about_the_same"},
    ]
    assert built["check_ins"] == [{"title": "Connection Pulse", "forms": 4}]
