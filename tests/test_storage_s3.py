"""Private files in an S3-compatible bucket: reports, logos and exports stored there,
streamed back through the app with the audit kept, written whole or not at all.

They run against the server named by S3_TEST_ENDPOINT_URL (`.ci/run` starts moto's
from the dev dependencies); without one they are skipped, except under CI, where a
skip would hide that the S3 path went untested.
"""

from __future__ import annotations

import hashlib
import io
import os
import urllib.error
import urllib.request
import uuid
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import boto3
import pytest
from django.core.files.storage import default_storage, storages
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import TestCase
from django_scopes import scope

from practice.env import private_storage_from_env
from practice.models import AuditEvent, Practice
from reports import exports, services
from reports.models import ExportStatus, PracticeExport, Report, ReportKind, ReportStatus
from tests.conftest import signed_in, signed_in_verified
from tests.factories import tiny_png
from tests.test_reports import history, make_report
from tests.test_settings import settings_form

__all__ = ["history"]  # a fixture this module uses

ENDPOINT = os.environ.get("S3_TEST_ENDPOINT_URL", "")

if not ENDPOINT and os.environ.get("CI"):
    pytest.fail("CI must run the S3 storage tests: set S3_TEST_ENDPOINT_URL", pytrace=False)
pytestmark = [
    pytest.mark.django_db,
    pytest.mark.skipif(not ENDPOINT, reason="S3_TEST_ENDPOINT_URL is not set"),
]


@dataclass
class Bucket:
    name: str
    client: object

    def objects(self) -> set[str]:
        listing = self.client.list_objects_v2(Bucket=self.name)
        return {item["Key"] for item in listing.get("Contents", [])}

    def read(self, key: str) -> bytes:
        return self.client.get_object(Bucket=self.name, Key=key)["Body"].read()


def s3_env(bucket: str) -> dict[str, str]:
    return {
        "PRIVATE_STORAGE": "s3",
        "S3_BUCKET": bucket,
        "S3_ENDPOINT_URL": ENDPOINT,
        "S3_REGION": "us-east-1",
        "S3_ACCESS_KEY_ID": os.environ.get("S3_TEST_ACCESS_KEY_ID", "attune-test"),
        "S3_SECRET_ACCESS_KEY": os.environ.get("S3_TEST_SECRET_ACCESS_KEY", "attune-test"),
        "S3_PREFIX": "private",
    }


@pytest.fixture
def bucket(settings, private_root) -> Iterator[Bucket]:
    """A fresh private bucket, made the default storage for this test."""
    env = s3_env(f"attune-test-{uuid.uuid4().hex[:12]}")
    client = boto3.client(
        "s3",
        endpoint_url=ENDPOINT,
        region_name=env["S3_REGION"],
        aws_access_key_id=env["S3_ACCESS_KEY_ID"],
        aws_secret_access_key=env["S3_SECRET_ACCESS_KEY"],
    )
    client.create_bucket(Bucket=env["S3_BUCKET"])
    settings.STORAGES = {**settings.STORAGES, "default": private_storage_from_env(env, Path())}
    yield Bucket(env["S3_BUCKET"], client)
    # Nothing went to the local disk on the way.
    assert not private_root.exists() or not any(p.is_file() for p in private_root.rglob("*"))
    for key in Bucket(env["S3_BUCKET"], client).objects():
        client.delete_object(Bucket=env["S3_BUCKET"], Key=key)
    client.delete_bucket(Bucket=env["S3_BUCKET"])


def test_the_storage_in_use_is_the_bucket(bucket):
    assert type(storages["default"]).__name__ == "S3Storage"
    with pytest.raises(NotImplementedError):
        default_storage.path("anything")


def test_a_report_is_stored_in_the_bucket_and_streamed_through_the_app(bucket, world, history):
    couple, _, _ = history
    report = make_report(couple, ReportKind.CLINICIAN, world.a.clinician)
    assert report.status == ReportStatus.READY
    key = f"private/{world.a.practice.uuid}/{report.uuid}.pdf"
    assert bucket.objects() == {key}
    stored = bucket.read(key)
    assert hashlib.sha256(stored).hexdigest() == report.sha256 and len(stored) == report.size
    url = f"/p/{world.a.practice.slug}/reports/{report.uuid}/download/"
    response = signed_in(world.a.clinician).get(url)
    # Streamed by the app, never a redirect to a bucket URL.
    assert response.status_code == 200 and "Location" not in response
    assert b"".join(response.streaming_content) == stored
    assert signed_in(world.b.clinician).get(url).status_code == 404
    with scope(practice=couple.practice):
        assert AuditEvent.objects.filter(action="report.download").count() == 1


def test_the_bucket_gives_nothing_to_an_anonymous_request(bucket, world, history):
    couple, _, _ = history
    make_report(couple, ReportKind.CLINICIAN, world.a.clinician)
    (key,) = bucket.objects()
    with pytest.raises(urllib.error.HTTPError) as refused:
        urllib.request.urlopen(f"{ENDPOINT}/{bucket.name}/{key}", timeout=10)  # noqa: S310
    assert refused.value.code == 403


def test_a_store_that_refuses_fails_the_report_with_nothing_half_saved(bucket, world, history):
    couple, _, _ = history
    bucket.client.delete_bucket(Bucket=bucket.name)
    report = make_report(couple, ReportKind.CLINICIAN, world.a.clinician)
    assert (report.status, report.error_code, report.error) == (
        ReportStatus.FAILED,
        "storage",
        "NoSuchBucket",
    )
    assert not report.file
    bucket.client.create_bucket(Bucket=bucket.name)
    assert bucket.objects() == set()
    with scope(practice=couple.practice), TestCase.captureOnCommitCallbacks(execute=True):
        services.retry(report, actor=world.a.clinician)
    with scope(practice=couple.practice):
        report.refresh_from_db()
    assert report.status == ReportStatus.READY
    assert bucket.objects() == {f"private/{report.file.name}"}


def test_a_renderer_taken_over_leaves_no_copy_behind(bucket, world, history, monkeypatch):
    couple, _, _ = history
    report = make_report(couple, ReportKind.CLINICIAN, world.a.clinician)
    real_store = services._store

    def store_then_lose_the_claim(report_, pdf):
        name = real_store(report_, pdf)
        # Another renderer takes the report over while this one was storing.
        Report.objects.filter(pk=report_.pk).update(started_at=None)
        return name

    with scope(practice=couple.practice):
        Report.objects.filter(pk=report.pk).update(status=ReportStatus.QUEUED)
        monkeypatch.setattr(services, "_store", store_then_lose_the_claim)
        assert services.generate(report.pk) is None
    # The first render's file stays; the loser's copy under a suffixed name is gone.
    assert bucket.objects() == {f"private/{report.file.name}"}


def test_logos_of_two_practices_with_one_file_name_stay_apart(bucket, world):
    images = {}
    for staff, colour in ((world.a, b"\x01"), (world.b, b"\x02")):
        client = signed_in_verified(staff.owner)
        image = tiny_png() + colour  # trailing bytes keep each a valid, distinct PNG
        images[staff.practice.pk] = image
        logo = SimpleUploadedFile("logo.png", image, content_type="image/png")
        response = client.post(
            f"/p/{staff.practice.slug}/settings/", {**settings_form(), "logo": logo}
        )
        assert response.status_code == 302
    names = {p.logo.name for p in Practice.objects.filter(pk__in=images)}
    assert len(names) == 2
    assert {f"private/{name}" for name in names} <= bucket.objects()
    for staff in (world.a, world.b):
        response = signed_in_verified(staff.owner).get(f"/p/{staff.practice.slug}/settings/logo/")
        assert response.status_code == 200
        assert b"".join(response.streaming_content) == images[staff.practice.pk]


def test_an_export_goes_to_the_bucket_and_is_gone_after_its_one_download(bucket, world, cases):
    with scope(practice=world.a.practice), TestCase.captureOnCommitCallbacks(execute=True):
        export = exports.request_export(world.a.practice, actor=world.a.owner)
    with scope(practice=world.a.practice):
        export = PracticeExport.objects.get(pk=export.pk)
    assert export.status == ExportStatus.DONE
    key = f"private/{export.file.name}"
    assert key in bucket.objects()
    assert hashlib.sha256(bucket.read(key)).hexdigest() == export.sha256
    response = signed_in(world.a.owner).get(
        f"/p/{world.a.practice.slug}/exports/{export.uuid}/download/"
    )
    assert response.status_code == 200
    body = b"".join(response.streaming_content)
    assert zipfile.ZipFile(io.BytesIO(body)).testzip() is None
    assert key not in bucket.objects()
    events = AuditEvent.objects.with_scopes_disabled().filter(action="practice.export_download")
    assert events.count() == 1
