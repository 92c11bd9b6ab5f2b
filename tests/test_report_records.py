"""reports/records.py describes what a snapshot really holds.

Each version of a built snapshot is walked against its TypedDict: every key it has is
declared, every required key is there, and every value has the declared type. The
snapshot is stored as JSON, so it is checked after a JSON round trip, as the renderer
of a stored report reads it.
"""

from __future__ import annotations

import json
import types
import typing

import pytest
from django_scopes import scope

from reports import records, snapshot
from reports.models import Report, ReportKind
from tests.test_reports import END, START, history  # noqa: F401 (a fixture)


def mismatches(value, declared, where="snapshot"):
    """Where ``value`` differs from the ``declared`` type, as readable paths."""
    origin = typing.get_origin(declared)
    if typing.is_typeddict(declared):
        if not isinstance(value, dict):
            return [f"{where}: {type(value).__name__}, not a {declared.__name__}"]
        hints = typing.get_type_hints(declared)
        found = [f"{where}.{key}: not declared" for key in value.keys() - hints.keys()]
        found += [f"{where}.{key}: missing" for key in declared.__required_keys__ - value.keys()]
        for key in value.keys() & hints.keys():
            found += mismatches(value[key], _required(hints[key]), f"{where}.{key}")
        return found
    if origin in (typing.Union, types.UnionType):
        options = [mismatches(value, option, where) for option in typing.get_args(declared)]
        return [] if any(not found for found in options) else options[0]
    if origin is list:
        if not isinstance(value, list):
            return [f"{where}: {type(value).__name__}, not a list"]
        (item,) = typing.get_args(declared)
        return [m for i, v in enumerate(value) for m in mismatches(v, item, f"{where}[{i}]")]
    if declared is type(None):
        return [] if value is None else [f"{where}: {value!r} is not None"]
    if declared is float:
        ok = isinstance(value, int | float) and not isinstance(value, bool)
    else:
        ok = type(value) is declared
    return [] if ok else [f"{where}: {type(value).__name__}, not {declared.__name__}"]


def _required(hint):
    """The type inside NotRequired[...] (get_type_hints keeps it on some Pythons)."""
    return typing.get_args(hint)[0] if typing.get_origin(hint) is typing.NotRequired else hint


def test_the_walk_would_notice():
    good = {"at": "2026-01-01", "value": 3}
    assert mismatches(good, records.Point) == []
    assert mismatches({**good, "extra": 1}, records.Point) == ["snapshot.extra: not declared"]
    assert mismatches({"at": "x"}, records.Point) == ["snapshot.value: missing"]
    assert mismatches({"at": 1, "value": 2.5}, records.Point) == ["snapshot.at: int, not str"]
    assert mismatches({"word": "stable"}, records.CoupleChange) == []
    assert mismatches({"word": "up", "rc": "1"}, records.CoupleChange) != []


@pytest.mark.django_db
@pytest.mark.parametrize("totals", [False, True])
@pytest.mark.parametrize("kind", [ReportKind.CLINICIAN, ReportKind.COUPLE])
def test_every_snapshot_version_matches_its_records(world, history, kind, totals):  # noqa: F811
    couple = history[0]
    world.a.practice.couple_report_partner_totals = totals
    world.a.practice.save()
    with scope(practice=couple.practice):
        report = Report.objects.create(
            practice=couple.practice,
            couple=couple,
            kind=kind,
            period_start=START,
            period_end=END,
        )
        frozen = snapshot.build(Report.objects.select_related("practice").get(pk=report.pk))
    stored = json.loads(json.dumps(frozen))
    assert stored["instruments"], "the fixture has scores to freeze"
    assert mismatches(stored, records.Snapshot) == []
