"""The one couple comparison: when a pair of answer sets is compared, and that every
reader (pages, API, alerts, history, reports) goes through it."""

from __future__ import annotations

import copy
import re
from datetime import timedelta
from pathlib import Path

import pytest
from django.utils import timezone
from django_scopes import scope

from assessments.comparison import compare
from assessments.models import Response, ResponseState, ScoringError
from reports import snapshot
from reports.models import Report, ReportKind
from tests.factories import answer, instrument, make_couple, open_form

ROOT = Path(__file__).resolve().parent.parent
APPS = ["practice", "clients", "assessments", "reports", "demo"]
ARITHMETIC = {"assessments/results.py", "assessments/comparison.py"}


@pytest.fixture
def pair(world):
    """Both partners of a practice A couple answered the pulse: 7 and 4."""
    couple = make_couple(world.a.practice, world.a.clinician)
    with scope(practice=couple.practice):
        one, two = couple.partners.order_by("position")
    form = open_form(couple)
    first, second = answer(form, one, {"pulse": 7}), answer(form, two, {"pulse": 4})
    with scope(practice=couple.practice):
        return form.instrument, first, second


@pytest.mark.django_db
def test_two_submitted_answer_sets_are_compared_in_partner_order(pair):
    pulse, first, second = pair
    result = compare(pulse, [first, second])
    assert result is not None
    assert (result.total.one, result.total.two, result.total.difference) == (7, 4, 3)
    swapped = compare(pulse, (second, first))
    assert swapped is not None and (swapped.total.one, swapped.total.two) == (4, 7)


@pytest.mark.django_db
def test_a_missing_unsubmitted_or_unscorable_answer_set_is_not_compared(pair):
    pulse, first, second = pair
    draft = copy.copy(second)
    draft.state = ResponseState.DRAFT
    unscorable = copy.copy(second)
    unscorable.scoring_error = ScoringError.FAILED
    for partial in ([first, None], [first], [first, draft], [unscorable, first], []):
        assert compare(pulse, partial) is None, partial


@pytest.mark.django_db
def test_a_private_instrument_has_no_comparison(pair):
    _pulse, first, second = pair
    with scope(practice=first.practice):
        screen = instrument("safety-screen")
    assert compare(screen, [first, second]) is None


def test_nothing_but_the_comparison_module_calls_the_arithmetic():
    calls = re.compile(r"\bcouple_result\(")
    offenders = []
    for app in APPS:
        for path in sorted((ROOT / app).rglob("*.py")):
            relative = str(path.relative_to(ROOT))
            if relative not in ARITHMETIC and calls.search(path.read_text(encoding="utf-8")):
                offenders.append(relative)
    assert offenders == []


@pytest.mark.django_db
def test_a_report_compares_no_pair_with_an_answer_set_that_could_not_be_scored(world):
    """The snapshot's agreement follows the same rule as the history beside it."""
    couple = make_couple(world.a.practice, world.a.clinician, label="Scored & Not")
    with scope(practice=couple.practice):
        one, two = couple.partners.order_by("position")
    form = open_form(couple, "connection-signs")
    answers = {f"cs{i:02d}": 4 for i in range(1, 13)}
    answer(form, one, answers)
    answer(form, two, {**answers, "cs01": 1})

    def agreement():
        with scope(practice=couple.practice):
            report = Report.objects.create(
                practice=couple.practice,
                couple=couple,
                kind=ReportKind.CLINICIAN,
                period_start=timezone.localdate() - timedelta(days=7),
                period_end=timezone.localdate() + timedelta(days=7),
            )
            frozen = snapshot.build(Report.objects.select_related("practice").get(pk=report.pk))
        return frozen["instruments"][0]["agreement"]

    assert agreement() is not None
    with scope(practice=couple.practice):
        Response.objects.filter(partner=two, occurrence=form).update(
            scoring_error=ScoringError.FAILED
        )
    assert agreement() is None
