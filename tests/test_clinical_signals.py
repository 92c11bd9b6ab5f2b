"""Issue #11: every number, alert and sentence a clinician or a couple reads is right and
says why. Each test drives the real services and reads what people read: pages, the
API, alerts and both PDFs."""

from __future__ import annotations

import base64
import copy
import importlib
import re
import subprocess
from datetime import timedelta
from html import unescape

import pytest
from django.test import TestCase
from django.utils import timezone
from django_scopes import scope, scopes_disabled

from assessments.models import Alert, AlertKind, AlertStatus, NormEstimate
from assessments.services import alerts as alert_services
from assessments.services import change
from assessments.services import instruments as instrument_services
from practice.models import AuditEvent
from reports import services
from reports.models import Report, ReportKind, ReportStatus
from tests.conftest import signed_in
from tests.factories import (
    CUSTOM_DEFINITION,
    SAFE_ANSWERS,
    answer,
    instrument,
    make_couple,
    open_form,
)
from tests.test_portal import portal_client

START = timezone.localdate() - timedelta(days=60)
END = timezone.localdate()
# Reverse-keyed items of the other two twelve-item library forms (recoded low + high - x).
REVERSED_BY_KEY = {
    "connection-signs": ({"cs02", "cs10", "cs11"}, "cs", 1, 5),
    "elements-of-connection": ({"ec08", "ec11"}, "ec", 1, 5),
    "everyday-bond": ({"eb06", "eb12"}, "eb", 0, 4),
}


def answers_for(key: str, recoded_sum: int) -> dict[str, int]:
    """Answers to a twelve-item library form whose recoded items add up to recoded_sum."""
    reversed_items, prefix, low, high = REVERSED_BY_KEY[key]
    base, extra = divmod(recoded_sum, 12)
    answers = {}
    for index in range(1, 13):
        value = base + (1 if index <= extra else 0)
        assert low <= value <= high, recoded_sum
        link_id = f"{prefix}{index:02d}"
        answers[link_id] = low + high - value if link_id in reversed_items else value
    return answers


def norms(key: str, sd: float, alpha: float | None, n: int = 40, scale: str = "total") -> None:
    """A trusted shared-pool estimate for a library form's scale."""
    with scopes_disabled():
        NormEstimate.objects.create(
            instrument=instrument(key), scale=scale, n=n, mean=3.0, sd=sd, alpha=alpha
        )


def make_report(couple, kind, actor) -> Report:
    with scope(practice=couple.practice), TestCase.captureOnCommitCallbacks(execute=True):
        report = services.request_report(
            couple=couple, kind=kind, period_start=START, period_end=END, actor=actor
        )
    with scope(practice=couple.practice):
        report = Report.objects.get(pk=report.pk)
        assert report.status == ReportStatus.READY, report.error
        return report


def report_text(report: Report, tmp_path) -> str:
    """The PDF's text in reading order (table cells one after another), spaces collapsed."""
    path = tmp_path / f"{report.uuid}.pdf"
    with scope(practice=report.practice):
        path.write_bytes(report.file.read())
    text = subprocess.run(
        ["pdftotext", "-raw", str(path), "-"], capture_output=True, text=True, check=True
    ).stdout
    return " ".join(text.split())


def page_text(response) -> str:
    html = re.sub(r"<(script|style)[^>]*>.*?</\1>", " ", response.content.decode(), flags=re.S)
    html = re.sub(r"<svg.*?</svg>", " ", html, flags=re.S)
    return " ".join(unescape(re.sub(r"<[^>]+>", " ", html)).split())


@pytest.fixture
def pair(world):
    couple = make_couple(world.a.practice, world.a.clinician, label="Signal & Noise")
    with scope(practice=world.a.practice):
        one, two = couple.partners.order_by("position")
    return couple, one, two


# --- 1. the private safety screen is outside change statistics ----------------------------


@pytest.mark.pdf
@pytest.mark.django_db
def test_the_safety_screen_has_no_norms_rci_or_deterioration_anywhere(world, pair, tmp_path):
    couple, one, two = pair
    # The numbers: a stale estimate of SD .365 and alpha .625, under which one
    # more "yes" was an RCI of 3.16 and a "reliable deterioration".
    norms("safety-screen", 0.365, 0.625, scale="concerns")
    for yes in ({"ss01": 1}, {"ss01": 1, "ss02": 1}, {"ss01": 1, "ss02": 1}):
        form = open_form(couple, "safety-screen", partner=one)
        answer(form, one, {**SAFE_ANSWERS, **yes})
    pulse = open_form(couple)
    answer(pulse, one, {"pulse": 6})
    answer(pulse, two, {"pulse": 7})
    change.estimate_norms()
    with scope(practice=world.a.practice):
        kinds = sorted(Alert.objects.filter(couple=couple).values_list("kind", flat=True))
        info = change.norms_for(instrument("safety-screen"), "concerns", world.a.practice)
    assert kinds == ["safety", "safety", "safety"]  # its own alerts, nothing else
    assert info.norms is None and "private screen" in info.reason
    with scopes_disabled():
        # The nightly estimate wrote nothing new for it (only the stale row is left).
        assert NormEstimate.objects.filter(instrument__key="safety-screen").count() == 1

    clinician = signed_in(world.a.clinician)
    base = f"/p/{world.a.practice.slug}/couples/{couple.uuid}/"
    history = page_text(clinician.get(base + "history/safety-screen/"))
    assert "private screen" in history and "How this screen is read" in history
    assert not re.search(r"RCI [−-]?\d", history)
    for said_of_change_scores in ("RCI from previous", "Stars mark", "How change is judged"):
        assert said_of_change_scores not in history
    assert "Reliably" not in history and "reliable" not in history.replace("reliable change", "")
    couple_page = page_text(clinician.get(base))
    assert "Private Safety Check-in: full history" not in couple_page  # no trend card for it
    assert "Reliable deterioration" not in page_text(
        clinician.get(f"/p/{world.a.practice.slug}/alerts/")
    )

    api = clinician.get(
        f"/api/v1/p/{world.a.practice.slug}/couples/{couple.uuid}/history/safety-screen/"
    )
    data = api.json()
    assert data["norms"]["source"] == "" and data["norms"]["reliability"] is None
    assert "private screen" in data["norms"]["reason"]
    assert data["couple"] is None
    mine = data["partners"][0]
    assert (mine["rci"], mine["change_class"], mine["since_start"], mine["since_previous"]) == (
        None,
        None,
        None,
        None,
    )
    assert [p["rci_from_previous"] for p in mine["points"]] == [None, None, None]
    alerts = clinician.get(f"/api/v1/p/{world.a.practice.slug}/alerts/").json()["results"]
    assert {a["kind"] for a in alerts} == {"safety"}

    clinician_pdf = report_text(
        make_report(couple, ReportKind.CLINICIAN, world.a.clinician), tmp_path
    )
    assert "Private safety check-ins" in clinician_pdf  # read answer by answer, as before
    assert "Reliable deterioration" not in clinician_pdf
    methods = clinician_pdf[clinician_pdf.index("Norms used") :]
    assert "Private Safety Check-in" not in methods
    couple_pdf = report_text(make_report(couple, ReportKind.COUPLE, world.a.clinician), tmp_path)
    assert "Safety" not in couple_pdf and "RCI" not in couple_pdf


@pytest.mark.django_db
def test_the_migration_drops_private_norms_and_closes_their_alerts_in_the_audit_trail(world, pair):
    couple, one, _ = pair
    norms("safety-screen", 0.365, 0.625, scale="concerns")
    norms("connection-signs", 0.5, 0.9)
    with scope(practice=world.a.practice):
        private = Alert.objects.create(
            practice=world.a.practice,
            couple=couple,
            partner=one,
            kind=AlertKind.DETERIORATION,
            severity=2,
            dedupe_key="old:private",
            details={"instrument": "safety-screen", "rci": 3.16},
        )
        shared = Alert.objects.create(
            practice=world.a.practice,
            couple=couple,
            partner=one,
            kind=AlertKind.DETERIORATION,
            severity=2,
            dedupe_key="old:shared",
            details={"instrument": "connection-signs", "rci": -4.11},
        )
    migration = importlib.import_module(
        "assessments.migrations.0006_private_instruments_out_of_change_statistics"
    )
    from django.apps import apps

    with scopes_disabled():
        migration.forwards(apps, None)
        assert list(NormEstimate.objects.values_list("instrument__key", flat=True)) == [
            "connection-signs"
        ]
        private.refresh_from_db()
        shared.refresh_from_db()
    assert private.status == AlertStatus.RESOLVED and "private screens" in private.resolution_note
    assert shared.status == AlertStatus.OPEN
    with scopes_disabled():
        event = AuditEvent.objects.get(action="alert.resolve_automatic")
    assert (event.practice, event.target_id) == (world.a.practice, str(private.uuid))
    log = page_text(signed_in(world.a.owner).get(f"/p/{world.a.practice.slug}/audit/"))
    assert "Alert closed automatically" in log


@pytest.mark.django_db
def test_the_migration_closes_one_item_disagreements_only_the_totals_rule_raised(world, pair):
    couple, _one, _two = pair
    form = open_form(couple)

    def disagreement(key: str, gap: float) -> Alert:
        return Alert.objects.create(
            practice=world.a.practice,
            couple=couple,
            occurrence=form,
            kind=AlertKind.DISAGREEMENT,
            severity=4,
            dedupe_key=key,
            details={
                "instrument": "connection-pulse",
                "rule": "totals",
                "n_items": 1,
                "total_gap": gap,
                "total_range": 9,
            },
        )

    with scope(practice=world.a.practice):
        small, large = disagreement("old:small", 3), disagreement("old:large", 6)
        signs = Alert.objects.create(
            practice=world.a.practice,
            couple=couple,
            occurrence=form,
            kind=AlertKind.DISAGREEMENT,
            severity=4,
            dedupe_key="old:signs",
            details={
                "instrument": "connection-signs",
                "rule": "totals",
                "n_items": 12,
                "total_gap": 1.2,
                "total_range": 4,
            },
        )
    migration = importlib.import_module("assessments.migrations.0011_one_item_disagreements")
    from django.apps import apps

    with scopes_disabled():
        migration.forwards(apps, None)
        for alert in (small, large, signs):
            alert.refresh_from_db()
        events = list(AuditEvent.objects.filter(action="alert.resolve_automatic"))
    assert small.status == AlertStatus.RESOLVED and "one-item form" in small.resolution_note
    assert large.status == AlertStatus.OPEN  # five or more apart: the item rule agrees
    assert signs.status == AlertStatus.OPEN  # twelve items: the totals rule still holds
    assert [e.target_id for e in events] == [str(small.uuid)]


# --- 4, 5, 7. alerts explain themselves; confirmed once per episode; split -----------------


@pytest.mark.django_db
def test_deterioration_needs_confirmation_is_raised_once_per_episode_and_explains_itself(
    world, pair
):
    couple, one, _two = pair
    # SD 0.5, alpha 0.9: S_diff = sqrt(2) * 0.5 * sqrt(0.1) = 0.2236.
    norms("connection-signs", 0.5, 0.9)

    def form(recoded_sum: int) -> None:
        answer(
            open_form(couple, "connection-signs"), one, answers_for("connection-signs", recoded_sum)
        )

    def deteriorations() -> list[Alert]:
        with scope(practice=world.a.practice):
            return list(Alert.objects.filter(kind=AlertKind.DETERIORATION).order_by("pk"))

    form(48)  # 4.0, the baseline
    form(42)  # 3.5: RCI -2.24, reliable but not yet confirmed
    assert deteriorations() == []
    form(41)  # 3.42: RCI -2.61, the second reliably worse form in a row
    (alert,) = deteriorations()
    assert alert.details["rule"] == "confirmed"
    assert (alert.details["x1"], alert.details["x2"], alert.details["rci"]) == (4.0, 3.42, -2.61)
    assert (alert.details["previous"], alert.details["previous_rci"]) == (3.5, -2.24)
    assert alert.details["partner"] == str(one.uuid)
    assert alert.details["scale"] == "total"
    page = page_text(signed_in(world.a.clinician).get(f"/p/{world.a.practice.slug}/alerts/"))
    assert (
        "Connection Signs Inventory · Overall connection: Partner One 0 4 → 3.42, RCI −2.61, "
        "after 3.5 (RCI −2.24) on the form before: reliably worse than the first score on two "
        "forms in a row (reliable change needs |RCI| > 1.96)."
    ) in page
    form(41)  # still in the same episode: nothing new
    with scope(practice=world.a.practice):
        alert_services.resolve(alert, actor=world.a.clinician, note="Talked it through.")
    form(42)  # resolved, but the same episode: still nothing new
    assert len(deteriorations()) == 1
    form(47)  # 3.92: not reliably worse, the episode is over
    form(42)
    form(42)  # a new episode, confirmed: a new alert
    assert len(deteriorations()) == 2
    # Partner two never answered: no alert names them.
    assert all(a.partner == one for a in deteriorations())


@pytest.mark.django_db
def test_a_split_is_raised_once_with_both_rcis_and_ranks_after_safety(world, pair):
    couple, one, two = pair
    norms("connection-signs", 0.5, 0.9)
    first = open_form(couple, "connection-signs")
    answer(first, one, answers_for("connection-signs", 36))  # 3.0
    answer(first, two, answers_for("connection-signs", 48))  # 4.0
    second = open_form(couple, "connection-signs")
    answer(second, one, answers_for("connection-signs", 42))  # 3.5: RCI +2.24
    answer(second, two, answers_for("connection-signs", 42))  # 3.5: RCI -2.24
    with scope(practice=world.a.practice):
        (split,) = Alert.objects.filter(kind=AlertKind.SPLIT)
        # One reliably worse form is not yet a deterioration: the split is the signal.
        assert not Alert.objects.filter(kind=AlertKind.DETERIORATION).exists()
    assert split.severity == 2 and split.partner is None
    assert split.details["rule"] == "since_start" and split.details["improved"] == 1
    assert [(p["x1"], p["x2"], p["rci"]) for p in split.details["partners"]] == [
        (3.0, 3.5, 2.24),
        (4.0, 3.5, -2.24),
    ]
    page = page_text(signed_in(world.a.clinician).get(f"/p/{world.a.practice.slug}/alerts/"))
    assert (
        "Connection Signs Inventory · Overall connection, since each partner's first score: "
        "Partner One 0 reliably better (3 → 3.5, RCI 2.24) while Partner Two 0 reliably worse "
        "(4 → 3.5, RCI −2.24); reliable change needs |RCI| > 1.96."
    ) in page
    third = open_form(couple, "connection-signs")
    answer(third, one, answers_for("connection-signs", 42))
    answer(third, two, answers_for("connection-signs", 42))
    with scope(practice=world.a.practice):
        assert Alert.objects.filter(kind=AlertKind.SPLIT).count() == 1  # same episode

    # On the caseload a split comes after a safety alert and before a deterioration.
    safety = make_couple(world.a.practice, world.a.clinician, label="Zz Safety", n=2)
    worse = make_couple(world.a.practice, world.a.clinician, label="Aa Worse", n=3)
    with scope(practice=world.a.practice):
        target = safety.partners.get(position=1)
        Alert.objects.create(
            practice=world.a.practice,
            couple=worse,
            kind=AlertKind.DETERIORATION,
            severity=3,
            dedupe_key="t:worse",
        )
    answer(open_form(safety, "safety-screen", partner=target), target, {**SAFE_ANSWERS, "ss01": 1})
    rows = signed_in(world.a.clinician).get(f"/p/{world.a.practice.slug}/").context["rows"]
    assert [r["couple"].label for r in rows] == ["Zz Safety", "Signal & Noise", "Aa Worse"]


@pytest.mark.django_db
def test_disagreement_alerts_say_whether_totals_or_items_fired(world, pair):
    couple, one, two = pair
    pulse = open_form(couple)
    answer(pulse, one, {"pulse": 9})
    answer(pulse, two, {"pulse": 3})
    # Totals close, items far apart: 2s against 4s and the other way round, half each.
    signs = open_form(couple, "connection-signs")
    crossed = {f"cs{i:02d}": (2 if i % 2 else 4) for i in range(1, 13)}
    answer(signs, one, crossed)
    answer(signs, two, {k: 6 - v for k, v in crossed.items()})
    # Items close, totals far apart: every answer one point apart, all the same way.
    elements = open_form(couple, "elements-of-connection")
    reversed_items = {"ec08", "ec11"}
    answer(
        elements, one, {f"ec{i:02d}": 5 for i in range(1, 13)} | dict.fromkeys(reversed_items, 1)
    )
    answer(
        elements, two, {f"ec{i:02d}": 4 for i in range(1, 13)} | dict.fromkeys(reversed_items, 2)
    )
    with scope(practice=world.a.practice):
        rules = dict(
            Alert.objects.filter(kind=AlertKind.DISAGREEMENT).values_list(
                "details__instrument", "details__rule"
            )
        )
    assert rules == {
        "connection-pulse": "items",
        "connection-signs": "items",
        "elements-of-connection": "totals",
    }
    page = page_text(signed_in(world.a.clinician).get(f"/p/{world.a.practice.slug}/alerts/"))
    assert (
        "Connection Pulse: the partners' answers are far apart: 1 of 1 item is at least half "
        "its answer range apart (1 or more count)."
    ) in page
    assert (
        "Connection Signs Inventory: the partners' answers are far apart: 12 of 12 items are "
        "at least half their answer range apart (4 or more count)."
    ) in page
    assert (
        "the partners' answers are far apart: the totals are 1 apart on a range of 4 (a "
        "quarter of the range or more counts)."
    ) in page
    assert "0 items two or more points apart" not in page


# --- 3. both horizons, and no unqualified "improved" beside an open alert -------------------


@pytest.mark.pdf
@pytest.mark.django_db
def test_both_horizons_everywhere_and_an_open_alert_is_never_beside_a_bare_improved(
    world, pair, tmp_path
):
    couple, one, two = pair
    norms("connection-signs", 0.5, 0.9)
    for total_one, total_two in ((36, 36), (48, 37), (42, 38)):  # 3 -> 4 -> 3.5 for one
        form = open_form(couple, "connection-signs")
        answer(form, one, answers_for("connection-signs", total_one))
        answer(form, two, answers_for("connection-signs", total_two))
    with scope(practice=world.a.practice):
        # The alert the old step rule raised on the latest form (the case).
        Alert.objects.create(
            practice=world.a.practice,
            couple=couple,
            partner=one,
            kind=AlertKind.DETERIORATION,
            severity=3,
            dedupe_key="old:step",
            details={"instrument": "connection-signs", "rci": -2.24},
        )
    clinician = signed_in(world.a.clinician)
    base = f"/p/{world.a.practice.slug}/couples/{couple.uuid}/"
    raised = timezone.localdate().strftime("%-d %b %Y")

    history = page_text(clinician.get(base + "history/connection-signs/"))
    # 3 -> 3.5: RCI +2.24 since the start; 4 -> 3.5: RCI -2.24 since the previous form.
    assert "Since the first score Reliably improved (3 → 3.5, RCI 2.24)" in history
    assert "Since the previous score Reliably worse (4 → 3.5, RCI −2.24)" in history
    assert f"deterioration alert of {raised} still open" in history

    couple_page = clinician.get(base).content.decode()
    # The couple trend beside the partners' lines: the composite and the partners' gap.
    # Charts are SVG images (data: URLs, for the strict CSP): read inside them.
    charts = " ".join(
        base64.b64decode(data).decode()
        for data in re.findall(r'src="data:image/svg\+xml;base64,([^"]+)"', couple_page)
    )
    assert "Couple average (shared questions)" in charts
    assert 'alt="Gap between the partners: Connection Signs Inventory"' in couple_page
    card = page_text(clinician.get(base))
    assert (
        "since the start: reliably improved (RCI 2.24) · since the previous form: reliably "
        f"worse (RCI −2.24) · deterioration alert of {raised} still open"
    ) in card
    # Partner two: 3 -> 3.08 -> 3.17, nothing reliable; the couple average beside them.
    assert "since the start: no reliable change (RCI 0.75)" in card
    assert "Couple average 3.33: since the start stronger (RC 2.11)" in card

    data = clinician.get(
        f"/api/v1/p/{world.a.practice.slug}/couples/{couple.uuid}/history/connection-signs/"
    ).json()
    mine = data["partners"][0]
    assert (mine["since_start"]["change_class"], mine["since_start"]["rci"]) == (
        "improved",
        pytest.approx(2.236, abs=0.001),
    )
    assert mine["since_previous"]["change_class"] == "deteriorated"
    assert mine["open_deterioration_alert_at"] is not None
    assert data["partners"][1]["open_deterioration_alert_at"] is None
    assert [round(p["mean"], 3) for p in data["couple"]["points"]] == [3.0, 3.542, 3.333]
    assert data["couple"]["since_start"]["word"] == "stronger"
    assert data["couple"]["since_previous"]["word"] == "about_the_same"

    text = report_text(make_report(couple, ReportKind.CLINICIAN, world.a.clinician), tmp_path)
    summary = text[text.index("Summary") : text.index("Alerts")]
    assert "since start: reliably improved RCI 2.24" in summary
    assert "since previous: reliably worse RCI −2.24" in summary
    assert f"deterioration alert of {timezone.localdate().strftime('%-d %B')} open" in summary


# --- 2. couple words come from the composite's reliable change ----------------------------


@pytest.mark.pdf
@pytest.mark.django_db
def test_the_couple_report_words_follow_the_composites_reliable_change(world, pair, tmp_path):
    """The issue's cases with the demo's norms (SD .698, alpha .958: SE .143). Band
    positions said "Stronger" for 2.46 -> 2.50 and "About the same" for 2.5 -> 3.46."""
    couple, one, two = pair
    norms("connection-signs", 0.698, 0.958)
    norms("elements-of-connection", 0.698, 0.958)
    norms("everyday-bond", 7.85, 0.95)
    plan = {
        # composite (sum of both partners' recoded sums / 24): 59 / 24 = 2.46 -> 60 / 24 = 2.5
        "connection-signs": ((30, 29), (30, 30)),
        # 60 / 24 = 2.5 -> 83 / 24 = 3.46
        "elements-of-connection": ((30, 30), (42, 41)),
        # a sum scale: (30 + 30) / 2 = 30 -> (20 + 20) / 2 = 20, RC = -10 / 1.755 = -5.7
        "everyday-bond": ((30, 30), (20, 20)),
    }
    for key, rounds in plan.items():
        for total_one, total_two in rounds:
            form = open_form(couple, key)
            answer(form, one, answers_for(key, total_one))
            answer(form, two, answers_for(key, total_two))
    text = report_text(make_report(couple, ReportKind.COUPLE, world.a.clinician), tmp_path)
    # At a glance: since the start of the period, then since the previous answers.
    assert re.search(r"Connection Signs Inventory About the same About the same", text)
    assert re.search(r"Elements of Connection Scale Stronger Stronger", text)
    assert re.search(r"Everyday Bond Scale Less strong Less strong", text)
    assert "than at the start" not in text
    for band in ("Some signs", "Few signs", "Many signs", "Developing", "Growing"):
        assert band not in text


# --- 9. labels, the Methods text and n for single items -------------------------------------


@pytest.mark.pdf
@pytest.mark.django_db
def test_labels_methods_and_norms_table_follow_each_instrument(world, pair, tmp_path):
    couple, one, two = pair
    practice = world.a.practice
    validated = copy.deepcopy(CUSTOM_DEFINITION)
    validated.update(
        key="validated-check",
        title={"en": "Validated check"},
        practice_authored=True,
        validated=True,
        norms={
            "total": {
                "mean": 6,
                "sd": 1.5,
                "reliability": 0.8,
                "n": 120,
                "source": "Test manual 2020",
            }
        },
    )
    plain = copy.deepcopy(CUSTOM_DEFINITION)
    plain.update(key="plain-check", title={"en": "Plain check"}, practice_authored=False)
    for definition in (validated, plain):
        definition["items"].append(
            {"link_id": "q3", "type": "rating", "text": {"en": "How warm were you?"}}
        )
        definition["scales"][0]["items"] = ["q1", "q2", "q3"]
        with scope(practice=practice):
            custom = instrument_services.upload(
                practice=practice, actor=world.a.owner, definition=definition
            )
            instrument_services.publish(custom, actor=world.a.owner)
        form = open_form(couple, definition["key"])
        answer(form, one, {"q1": 5, "q2": 6, "q3": 7})
        answer(form, two, {"q1": 6, "q2": 6, "q3": 6})
    norms("connection-pulse", 1.466, None, n=30, scale="connection")
    norms("connection-signs", 0.5, 0.9)
    for key, values in (("connection-pulse", ({"pulse": 6}, {"pulse": 7})),):
        form = open_form(couple, key)
        answer(form, one, values[0])
        answer(form, two, values[1])
    signs = open_form(couple, "connection-signs")
    answer(signs, one, answers_for("connection-signs", 40))
    answer(signs, two, answers_for("connection-signs", 44))

    text = report_text(make_report(couple, ReportKind.CLINICIAN, world.a.clinician), tmp_path)
    assert "Validated check Validated measure · published norms" in text
    assert "Plain check Not validated" in text
    assert "Connection Signs Inventory Practice-authored measure, not validated" in text
    methods = text[text.index("Norms used") :]
    assert "published reliability 0.80 (Test manual 2020)" in methods
    assert "Cronbach's alpha 0.90, estimated from 40 first administrations" in methods
    # The pulse's 30 first administrations, and why there is still no RCI.
    assert re.search(
        r"Connection Pulse .*?single-item scale has no internal consistency.*? 30 ", methods
    )
    assert "Validated check: a validated measure; its published norms are used." in methods
    assert "Plain check: not validated: read its scores" in methods

    couple_text = report_text(make_report(couple, ReportKind.COUPLE, world.a.clinician), tmp_path)
    assert (
        "Validated check A validated questionnaire, with published research behind it."
        in couple_text
    )
    assert "Plain check This questionnaire has not been scientifically validated." in couple_text
    assert (
        "Connection Signs Inventory Written by practice staff as a starting point for "
        "conversation; it has not been scientifically validated."
    ) in couple_text

    with scope(practice=practice):
        form = open_form(couple, "validated-check")
    portal = page_text(portal_client(one).get(f"/portal/forms/{form.uuid}/"))
    assert "A validated questionnaire, with published research behind it." in portal
    assert "not been scientifically validated" not in portal


@pytest.mark.pdf
@pytest.mark.django_db
def test_a_one_item_pulse_says_it_has_no_change_statistics_not_too_early(world, pair, tmp_path):
    couple, one, two = pair
    for a, b in ((6, 7), (7, 7)):
        form = open_form(couple)
        answer(form, one, {"pulse": a})
        answer(form, two, {"pulse": b})
    clinician = signed_in(world.a.clinician)
    page = page_text(clinician.get(f"/p/{world.a.practice.slug}/couples/{couple.uuid}/"))
    card = page[page.index("Couple average") :]
    assert "no change statistics" in card and "too early to tell" not in card
    assert "Practice-authored measure, not validated" in page  # each card says what it is
    text = report_text(make_report(couple, ReportKind.CLINICIAN, world.a.clinician), tmp_path)
    summary = text[: text.index("Alerts")]
    assert "no RCI (see Methods)" in summary
    assert "no RC (see Methods)" in summary
