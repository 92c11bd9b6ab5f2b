"""Whole-practice exports: what the zip holds, how it is written, downloaded once and swept;
and the scores CSV of a couple, with formula injection defused."""

from __future__ import annotations

import csv
import hashlib
import io
import json
import zipfile
from datetime import timedelta
from pathlib import Path

import pytest
import time_machine
from django.conf import settings
from django.test import TestCase
from django.utils import timezone
from django_scopes import scope, scopes_disabled
from fhir.resources.R4B.bundle import Bundle

from assessments.models import Score
from assessments.services import score_table
from clients.models import Couple
from practice import csvsafe
from practice.models import AuditEvent
from reports import exports
from reports.models import ExportStatus, PracticeExport
from tests.conftest import signed_in
from tests.factories import answer, open_form

pytestmark = pytest.mark.django_db


def storage_files() -> set[str]:
    root = Path(settings.STORAGES["default"]["OPTIONS"]["location"])
    return {str(p.relative_to(root)) for p in root.rglob("*") if p.is_file()}


def build(world) -> PracticeExport:
    with scope(practice=world.a.practice), TestCase.captureOnCommitCallbacks(execute=True):
        export = exports.request_export(world.a.practice, actor=world.a.owner)
    with scope(practice=world.a.practice):
        export.refresh_from_db()
    return export


def test_the_zip_holds_every_table_the_csv_fhir_and_pdfs_and_no_secrets(world, cases):
    before = storage_files()
    export = build(world)
    assert export.status == ExportStatus.DONE and export.progress == 100
    # Written straight to storage: the zip is the only new file, nothing temporary left.
    assert storage_files() - before == {export.file.name}
    data = Path(export.file.path).read_bytes()
    assert hashlib.sha256(data).hexdigest() == export.sha256 and len(data) == export.size
    archive = zipfile.ZipFile(io.BytesIO(data))
    names = set(archive.namelist())
    expected = {f"tables/{m._meta.label_lower}.json" for m in exports.tenant_models()}
    assert expected | {"tables/practice.practice.json", "tables/practice.user.json"} <= names
    # Every model with a practice is exported: a new one cannot be forgotten.
    assert {"clients.couple", "assessments.response", "reports.report"} <= {
        m._meta.label_lower for m in exports.tenant_models()
    }
    partners = json.loads(archive.read("tables/clients.partner.json"))
    assert {p["fields"]["display_name"] for p in partners} == {"Partner One 0", "Partner Two 0"}
    users = json.loads(archive.read("tables/practice.user.json"))
    assert users and all("password" not in u["fields"] for u in users)
    tokens = json.loads(archive.read("tables/practice.apitoken.json"))
    assert tokens and all("token_hash" not in t["fields"] for t in tokens)
    # Only this practice's rows.
    everything = b"".join(archive.read(n) for n in names if n.endswith((".json", ".csv")))
    assert b"Bravo" not in everything and world.b.owner.email.encode() not in everything
    rows = list(csv.DictReader(io.StringIO(archive.read("scores.csv").decode())))
    with scope(practice=world.a.practice):
        assert len(rows) == Score.objects.count()
    assert {r["instrument"] for r in rows} == {"connection-pulse", "safety-screen"}
    couple_bundle = json.loads(archive.read(f"fhir/couples/{cases.a.couple.uuid}.json"))
    Bundle.model_validate(couple_bundle)
    Bundle.model_validate(json.loads(archive.read("fhir/instruments.json")))
    assert f"reports/{cases.a.couple.uuid}/{cases.a.report.uuid}.pdf" in names
    manifest = json.loads(archive.read("manifest.json"))
    assert manifest["practice"] == str(world.a.practice.uuid)
    events = AuditEvent.objects.with_scopes_disabled().filter(action="practice.export_request")
    assert events.count() == 1


def test_a_duplicate_delivery_does_nothing_and_one_export_runs_at_a_time(world, cases):
    export = build(world)
    with scope(practice=world.a.practice):
        assert exports.build(export.pk) is None
        first = exports.request_export(world.a.practice, actor=world.a.owner)
        second = exports.request_export(world.a.practice, actor=world.a.owner)
    assert first.pk == second.pk != export.pk


def test_a_failure_leaves_no_partial_file(world, cases, monkeypatch):
    def broken(couple):
        def chunks():
            yield b"{"
            raise OSError("disk full")

        return exports._Member(f"fhir/couples/{couple.uuid}.json", chunks)

    monkeypatch.setattr(exports, "_couple_member", broken)
    before = storage_files()
    export = build(world)
    assert export.status == ExportStatus.FAILED and "OSError" in export.error
    assert storage_files() == before


def test_download_once_audited_then_the_file_is_gone(world, cases):
    export = build(world)
    owner = signed_in(world.a.owner)
    url = f"/p/{world.a.practice.slug}/exports/{export.uuid}/download/"
    response = owner.get(url)
    assert response.status_code == 200 and "no-store" in response["Cache-Control"]
    body = b"".join(response.streaming_content)
    assert zipfile.ZipFile(io.BytesIO(body)).testzip() is None
    assert export.file.name not in storage_files()
    with scope(practice=world.a.practice):
        export.refresh_from_db()
    assert export.downloaded_at and export.removed_at and not export.downloadable
    again = owner.get(url)
    assert again.status_code == 302
    api = owner.get(f"/api/v1/p/{world.a.practice.slug}/exports/{export.uuid}/download/")
    assert api.status_code == 409
    events = AuditEvent.objects.with_scopes_disabled().filter(action="practice.export_download")
    assert events.count() == 1 and events.get().actor == world.a.owner
    # Clinicians cannot start, see or download exports.
    clinician = signed_in(world.a.clinician)
    assert clinician.get(f"/p/{world.a.practice.slug}/exports/").status_code == 404
    assert clinician.post(f"/api/v1/p/{world.a.practice.slug}/exports/").status_code == 404


def test_the_page_follows_progress_in_the_background(world, cases):
    owner = signed_in(world.a.owner)
    with scope(practice=world.a.practice):
        export = PracticeExport.objects.create(
            practice=world.a.practice, status=ExportStatus.RUNNING, progress=40
        )
    page = owner.get(f"/p/{world.a.practice.slug}/exports/").content.decode()
    assert 'http-equiv="refresh"' not in page and "js/export-progress.js" in page
    assert f"/exports/{export.uuid}/status/" in page and 'value="40"' in page
    status = owner.get(f"/p/{world.a.practice.slug}/exports/{export.uuid}/status/").json()
    assert status == {
        "status": "running",
        "status_label": "Running",
        "progress": 40,
        "downloadable": False,
        "error": "",
        "download_url": None,
    }
    api = owner.get(f"/api/v1/p/{world.a.practice.slug}/exports/{export.uuid}/").json()
    assert api["progress"] == 40 and api["status"] == "running"


def test_the_sweeper_deletes_unclaimed_files_and_recovers_stale_runs(world, cases):
    export = build(world)
    name = export.file.name
    with scope(practice=world.a.practice):
        stale = PracticeExport.objects.create(
            practice=world.a.practice,
            status=ExportStatus.RUNNING,
            started_at=timezone.now() - timedelta(hours=1),
            attempts=1,
        )
    with time_machine.travel(timezone.now() + exports.KEEP + timedelta(minutes=1)):
        exports.sweep()
    with scopes_disabled():
        export.refresh_from_db()
        stale.refresh_from_db()
    assert export.removed_at is not None and name not in storage_files()
    assert stale.status == ExportStatus.QUEUED


def test_the_couple_csv_has_rci_rows_and_defuses_formulas(world, cases):
    couple = cases.a.couple
    with scope(practice=world.a.practice):
        one, two = list(couple.partners.order_by("position"))
        one.display_name = '=HYPERLINK("http://evil.test")'
        one.save()
        second = open_form(couple)
        answer(second, one, {"pulse": 9})
        answer(second, two, {"pulse": 3})
    clinician = signed_in(world.a.clinician)
    url = f"/p/{world.a.practice.slug}/couples/{couple.uuid}/scores.csv"
    plain = clinician.get(url)
    assert plain["Content-Type"].startswith("text/csv")
    text = b"".join(plain.streaming_content).decode()
    rows = list(csv.DictReader(io.StringIO(text)))
    assert list(rows[0]) == score_table.HEADER[:-2]  # no name columns unless asked
    assert {r["instrument"] for r in rows} == {"connection-pulse"}  # no private screen
    pulse = [r for r in rows if r["partner_position"] == "1"]
    assert [r["score"] for r in pulse] == ["7.0", "9.0"]
    assert pulse[0]["rci_from_baseline"] == "" and pulse[0]["change_class"] == ""
    named = b"".join(clinician.get(url + "?names=1&private=1").streaming_content).decode()
    assert "'=HYPERLINK" in named and "\n=HYPERLINK" not in named and ",=HYPERLINK" not in named
    assert "safety-screen" in named
    api = clinician.get(
        f"/api/v1/p/{world.a.practice.slug}/couples/{couple.uuid}/scores.csv?include_names=true"
    )
    assert "'=HYPERLINK" in b"".join(api.streaming_content).decode()
    events = AuditEvent.objects.with_scopes_disabled().filter(action="couple.scores_export")
    assert [e.details["include_private"] for e in events.order_by("pk")] == [False, True, False]


@pytest.mark.parametrize(
    ("value", "cell"),
    [
        ("=1+2", "'=1+2"),
        ("+SUM(A1)", "'+SUM(A1)"),
        ("-2+3", "'-2+3"),
        ("@cmd", "'@cmd"),
        ("\tx", "'\tx"),
        ("\rx", "'\rx"),
        ("-1.25", "-1.25"),
        (-1.25, "-1.25"),
        ("plain", "plain"),
        (None, ""),
        (True, "true"),
    ],
)
def test_formula_cells_are_defused_and_numbers_kept(value, cell):
    assert csvsafe.safe_cell(value) == cell


def test_score_rows_take_reliable_change_from_the_change_functions(world, monkeypatch):
    """Each row's RCI and class come from partner_change on the series up to that row,
    with the norms looked up once per scale (a fixed number of queries, not one per row)."""
    from assessments.models import NormEstimate
    from assessments.services import change
    from tests.factories import instrument, make_couple

    couple = make_couple(world.a.practice, world.a.clinician)
    with scope(practice=world.a.practice):
        one = couple.partners.get(position=1)
        signs = instrument("connection-signs")
        NormEstimate.objects.create(
            instrument=signs, scale="total", n=60, mean=3.0, sd=0.4, alpha=0.85
        )
        for value in (2, 3, 5):
            form = open_form(couple, "connection-signs", partner=one)
            answer(form, one, {item["link_id"]: value for item in signs.definition["items"]})
    calls = []
    real = change.partner_change

    def counting(partner, instrument_, scale, points=None, info=None):
        calls.append((scale, len(points or [])))
        return real(partner, instrument_, scale, points, info)

    monkeypatch.setattr(score_table, "partner_change", counting)
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    with scope(practice=world.a.practice), CaptureQueriesContext(connection) as queries:
        rows = list(score_table.score_rows(Couple.objects.filter(pk=couple.pk)))
    # The scores, the instrument version, its newest version, and one norms lookup for each
    # scale (six here: single-item scales look up their n too); the same for any number of rows.
    assert len(queries) == 9
    totals = [r for r in rows if r.scale == "total"]
    assert [r.norms for r in totals] == ["estimated"] * 3
    assert totals[0].rci_from_baseline is None and totals[0].change_class == ""
    expected = real(
        one, signs, "total", [change.Point(r.submitted_at, r.score, r.response) for r in totals]
    )
    assert totals[2].rci_from_baseline == round(expected.rci, 4)
    assert totals[2].change_class == expected.change_class.value
    assert totals[1].rci_from_previous is not None
    # The whole series once, then the series so far for the 2nd and 3rd rows.
    assert [n for scale, n in calls if scale == "total"] == [3, 2, 3]
    # Scales without norms: one call each, and no RCI in their rows.
    others = [r for r in rows if r.scale != "total"]
    assert others and all(r.rci_from_baseline is None and r.norms == "" for r in others)


@pytest.mark.worker
@pytest.mark.django_db(transaction=True)
def test_an_export_is_built_by_a_real_worker_and_downloaded_once(world, cases, tmp_path):
    from tests.worker import running_worker, wait_for

    owner = signed_in(world.a.owner)
    api = f"/api/v1/p/{world.a.practice.slug}/exports/"
    with running_worker(tmp_path / "worker.log") as process:
        created = owner.post(api)
        assert created.status_code == 202 and created.json()["status"] == "queued"
        url = f"{api}{created.json()['uuid']}/"
        wait_for(
            lambda: owner.get(url).json()["status"] == "done", 60, process, tmp_path / "worker.log"
        )
    state = owner.get(url).json()
    assert state["progress"] == 100 and state["downloadable"] and state["size"] > 0
    body = b"".join(owner.get(url + "download/").streaming_content)
    assert hashlib.sha256(body).hexdigest() == state["sha256"]
    assert "scores.csv" in zipfile.ZipFile(io.BytesIO(body)).namelist()
    assert owner.get(url + "download/").status_code == 409
