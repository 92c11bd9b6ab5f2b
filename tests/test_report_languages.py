"""A couple report is drawn once per language its partners read; each downloads their own."""

from __future__ import annotations

import pytest
from django.core import mail
from django.core.files.base import ContentFile
from django.test import TestCase
from django_scopes import scope

from practice.models import AuditEvent
from reports import services
from reports.models import Report, ReportKind, ReportStatus
from tests.conftest import signed_in_quickly as signed_in
from tests.factories import answer, make_couple, open_form
from tests.test_portal import portal_client
from tests.test_reports import END, START, make_report, pdf, pdftotext


@pytest.fixture
def couple(world):
    couple = make_couple(world.a.practice, world.a.clinician, label="Ivanova & Ortega")
    with scope(practice=world.a.practice):
        one, two = couple.partners.order_by("position")
        one.language, two.language = "ru", "es"
        one.save()
        two.save()
    # The couple version leaves out one-item forms: a twelve-item one, twice.
    for value_one, value_two in ((2, 4), (4, 4)):
        form = open_form(couple, "connection-signs")
        answer(form, one, {f"cs{i:02d}": value_one for i in range(1, 13)})
        answer(form, two, {f"cs{i:02d}": value_two for i in range(1, 13)})
    return couple, one, two


@pytest.mark.django_db
def test_one_rendering_per_partner_language_and_none_for_the_clinician_version(world, couple):
    couple, _one, _two = couple
    report = make_report(couple, ReportKind.COUPLE, world.a.clinician, language="en")
    clinician = make_report(couple, ReportKind.CLINICIAN, world.a.clinician, language="en")
    with scope(practice=couple.practice):
        family = services.family(report)
        assert [r.language for r in family] == ["en", "es", "ru"]
        assert all(r.status == ReportStatus.READY and r.file for r in family)
        assert services.family(clinician) == [clinician]
        # Staff lists show the report once; its languages are on its page.
        page = signed_in(world.a.clinician).get(
            f"/p/{couple.practice.slug}/couples/{couple.uuid}/", {"tab": "reports"}
        )
    assert page.content.decode().count(f"/reports/{report.uuid}/") >= 1
    for other in family[1:]:
        assert f'/reports/{other.uuid}/"' not in page.content.decode()


@pdf
@pytest.mark.django_db
def test_each_partner_downloads_the_report_in_their_own_language(world, couple, tmp_path):
    couple, one, two = couple
    report = make_report(couple, ReportKind.COUPLE, world.a.clinician, language="en")
    russian, spanish = portal_client(one), portal_client(two)  # invited: they get the email
    mail.outbox.clear()
    with scope(practice=couple.practice), TestCase.captureOnCommitCallbacks(execute=True):
        services.release(report, actor=world.a.clinician)
    url = f"/portal/reports/{report.uuid}/download/"
    ru_text = pdftotext(russian.get(url).getvalue(), tmp_path)
    es_text = pdftotext(spanish.get(url).getvalue(), tmp_path)
    assert "Признаки эмоциональной связи" in ru_text  # the instrument's Russian title
    assert "Inventario de señales de conexión" in es_text
    assert "Inventario" not in ru_text and "Признаки" not in es_text
    # One email per partner, in their language, for the whole release.
    assert sorted(m.to[0] for m in mail.outbox) == sorted([one.email, two.email])
    with scope(practice=couple.practice):
        assert services.unannounced_releases() == []
        served = set(
            AuditEvent.objects.filter(action="report.portal_download").values_list(
                "target_id", flat=True
            )
        )
        languages = {str(r.uuid): r.language for r in services.family(report)}
    assert sorted(languages[uuid] for uuid in served) == ["es", "ru"]


@pytest.mark.django_db
def test_release_waits_for_every_language_and_withdraw_takes_all_back(world, couple):
    couple, one, _two = couple
    report = make_report(couple, ReportKind.COUPLE, world.a.clinician, language="en")
    with scope(practice=couple.practice):
        russian = report.translations.get(language="ru")
        Report.objects.filter(pk=russian.pk).update(status=ReportStatus.FAILED)
        with pytest.raises(Exception, match="Russian"):
            services.release(report, actor=world.a.clinician)
        assert not Report.objects.filter(released_at__isnull=False).exists()
        Report.objects.filter(pk=russian.pk).update(status=ReportStatus.READY)
        # Releasing (or withdrawing) from any language acts on the whole report.
        services.release(russian, actor=world.a.clinician)
        assert all(r.released_at for r in services.family(report))
        services.withdraw(russian, actor=world.a.clinician)
        assert not any(r.released_at for r in services.family(report))
    client = portal_client(one)
    assert client.get(f"/portal/reports/{report.uuid}/download/").status_code == 404
    assert client.get(f"/portal/reports/{russian.uuid}/download/").status_code == 404


@pytest.mark.django_db
def test_a_report_from_before_translations_is_served_as_it_is(world, couple):
    couple, one, _two = couple
    with scope(practice=couple.practice):
        old = Report.objects.create(
            practice=couple.practice,
            couple=couple,
            kind=ReportKind.COUPLE,
            period_start=START,
            period_end=END,
            language="en",
            status=ReportStatus.READY,
        )
        old.file.save("old.pdf", ContentFile(b"%PDF-1.7 old"), save=True)
        Report.objects.filter(pk=old.pk).update(released_at=old.created_at)
        old.refresh_from_db()
        assert services.for_reader(old, "ru") == old
    response = portal_client(one).get(f"/portal/reports/{old.uuid}/download/")
    assert response.status_code == 200
    assert response.getvalue() == b"%PDF-1.7 old"
