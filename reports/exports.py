"""The whole-practice export: a zip of everything the practice holds, made by a worker.

The zip is written straight into private storage through Django's storage API,
chunk by chunk as it is compressed (``ZipFile`` on an unseekable sink, read by
the storage like any uploaded file): no temporary file, and a failure removes
what was written. It holds:

- ``tables/<app>.<model>.json``: every row of every model that belongs to the
  practice (Django's serializer format), staff members without their passwords,
  and no token hashes;
- ``scores.csv``: every score with reliable change, names and private screens
  included (see ``assessments.services.score_table``);
- ``fhir/instruments.json`` and ``fhir/couples/<uuid>.json``: FHIR R4 Bundles;
- ``reports/<couple>/<report>.pdf``: every rendered report, and the logo;
- ``manifest.json``: what is where, with counts.

It is the practice's complete record, so names and private answers are in it;
only owners can ask for it, and it can be downloaded once (audited), after which
the file is deleted. Unclaimed files are deleted after ``KEEP``.
"""

from __future__ import annotations

import hashlib
import io
import json
import logging
import zipfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from django.apps import apps
from django.core import serializers
from django.core.cache import cache
from django.core.files import File
from django.core.files.storage import default_storage
from django.db import models, transaction
from django.db.models import F
from django.http import HttpRequest, StreamingHttpResponse
from django.utils import timezone
from django.utils.translation import gettext as _
from django_scopes import scope, scopes_disabled

from assessments.models import Instrument, InstrumentStatus
from assessments.services import fhir as fhir_services
from assessments.services import score_table
from clients.models import Couple
from practice import audit
from practice.celery import REQUEUE_QUIET_SECONDS
from practice.models import Practice, User
from reports.models import ExportStatus, PracticeExport, Report, ReportStatus

log = logging.getLogger(__name__)

FORMAT = 1
CHUNK = 256 * 1024
KEEP = timedelta(hours=24)  # an export not downloaded by then is deleted
STALE_RUNNING = timedelta(minutes=30)
MAX_ATTEMPTS = 3
# Fields never exported: password hashes and the hashes of secrets.
LEFT_OUT = {
    "practice.user": {"password", "last_login", "is_superuser", "is_staff", "groups"},
    "practice.apitoken": {"token_hash"},
    "clients.accesslink": {"token_hash"},
}


def _queue(export: PracticeExport) -> None:
    from reports.tasks import build_export

    build_export.delay_on_commit(practice_id=export.practice_id, export_id=export.pk)  # type: ignore[attr-defined]


@transaction.atomic
def request_export(
    practice: Practice, *, actor: User, request: HttpRequest | None = None
) -> PracticeExport:
    """Queue an export, or return the one already on its way."""
    running = PracticeExport.objects.filter(
        practice=practice, status__in=[ExportStatus.QUEUED, ExportStatus.RUNNING]
    ).first()
    if running is not None:
        return running
    export = PracticeExport.objects.create(practice=practice, created_by=actor)
    audit.record("practice.export_request", request=request, actor=actor, target=export)
    _queue(export)
    return export


def tenant_models() -> list[type[models.Model]]:
    """Every model with a ``practice`` foreign key: what belongs to a practice."""
    found = []
    for model in apps.get_models():
        field = next((f for f in model._meta.concrete_fields if f.name == "practice"), None)
        if field is not None and field.is_relation and field.related_model is Practice:
            found.append(model)
    return sorted(found, key=lambda m: m._meta.label_lower)


@dataclass
class _Member:
    name: str
    chunks: Callable[[], Iterator[bytes]]  # the member's bytes, produced when written


class _Sink:
    """Where the zip is written: bytes wait here until the storage reads them."""

    def __init__(self) -> None:
        self.buffer = bytearray()
        self.offset = 0

    def write(self, data: bytes) -> int:
        self.buffer += data
        self.offset += len(data)
        return len(data)

    def tell(self) -> int:
        return self.offset

    def flush(self) -> None:
        """Nothing to flush: the reader drains the buffer."""

    def take(self) -> bytes:
        data = bytes(self.buffer)
        self.buffer.clear()
        return data


class _Reader(io.RawIOBase):
    """A read-only file over generated chunks, hashing and counting what passes."""

    def __init__(self, chunks: Iterator[bytes]) -> None:
        self._chunks = chunks
        self._pending = b""
        self.digest = hashlib.sha256()
        self.size = 0

    def readable(self) -> bool:
        return True

    def read(self, size: int = -1) -> bytes:
        while size < 0 or len(self._pending) < size:
            chunk = next(self._chunks, None)
            if chunk is None:
                break
            self._pending += chunk
        if size < 0:
            data, self._pending = self._pending, b""
        else:
            data, self._pending = self._pending[:size], self._pending[size:]
        self.digest.update(data)
        self.size += len(data)
        return data


def _json_member(name: str, value: Callable[[], Any]) -> _Member:
    def chunks() -> Iterator[bytes]:
        yield json.dumps(value(), ensure_ascii=False, default=str).encode()

    return _Member(name, chunks)


def _table_member(queryset: Any, label: str) -> _Member:
    """One table as Django's JSON serializer writes it, a thousand rows at a time."""
    model = queryset.model
    left_out = LEFT_OUT.get(label, set())
    fields = [
        f.name
        for f in [*model._meta.concrete_fields, *model._meta.many_to_many]
        if f.name not in left_out
    ]
    many = [f.name for f in model._meta.many_to_many if f.name not in left_out]
    if many:
        queryset = queryset.prefetch_related(*many)

    def encode(batch: list[Any], first: bool) -> bytes:
        text = serializers.serialize("json", batch, fields=fields).strip()
        return (b"" if first else b",\n") + text[1:-1].strip().encode()

    def chunks() -> Iterator[bytes]:
        yield b"["
        batch: list[Any] = []
        first = True
        for row in queryset.order_by("pk").iterator(chunk_size=1000):
            batch.append(row)
            if len(batch) == 1000:
                yield encode(batch, first)
                batch, first = [], False
        if batch:
            yield encode(batch, first)
        yield b"]"

    return _Member(f"tables/{label}.json", chunks)


def _members(practice: Practice) -> list[_Member]:
    members = [
        _table_member(Practice.objects.filter(pk=practice.pk), "practice.practice"),
        _table_member(
            User.objects.filter(memberships__practice=practice).distinct(), "practice.user"
        ),
    ]
    for model in tenant_models():
        # Instruments' manager also shows built-ins; only the practice's own are its rows.
        manager = Instrument.objects if model is Instrument else model._default_manager
        members.append(_table_member(manager.filter(practice=practice), model._meta.label_lower))
    couples = Couple.objects.filter(practice=practice)

    def scores() -> Iterator[bytes]:
        rows = score_table.score_rows(couples, include_private=True, include_names=True)
        batch: list[str] = []
        for line in score_table.csv_lines(rows, include_names=True):
            batch.append(line)
            if len(batch) == 500:
                yield "".join(batch).encode()
                batch = []
        yield "".join(batch).encode()

    members.append(_Member("scores.csv", scores))
    instruments = Instrument.objects.filter(practice=practice) | Instrument.objects.filter(
        practice__isnull=True
    ).exclude(status=InstrumentStatus.DRAFT)
    members.append(
        _json_member(
            "fhir/instruments.json",
            lambda: fhir_services.instruments_bundle(instruments.select_related("practice")),
        )
    )
    for couple in couples.order_by("pk"):
        members.append(_couple_member(couple))
    for report in (
        Report.objects.filter(practice=practice, status=ReportStatus.READY)
        .exclude(file="")
        .select_related("couple")
    ):
        members.append(_file_member(f"reports/{report.couple.uuid}/{report.uuid}.pdf", report.file))
    if practice.logo:
        members.append(_file_member(f"logo/{practice.logo.name.rsplit('/', 1)[-1]}", practice.logo))  # type: ignore[union-attr]
    return members


def _couple_member(couple: Couple) -> _Member:
    return _json_member(
        f"fhir/couples/{couple.uuid}.json",
        lambda: (
            fhir_services.couple_bundle(couple, include_private=True, include_names=True).bundle
        ),
    )


def _file_member(name: str, field: Any) -> _Member:
    def chunks() -> Iterator[bytes]:
        with field.storage.open(field.name, "rb") as source:
            yield from iter(lambda: source.read(CHUNK), b"")

    return _Member(name, chunks)


def _zip_chunks(export: PracticeExport, members: list[_Member]) -> Iterator[bytes]:
    """The zip, a chunk at a time, with progress written to the export row."""
    sink = _Sink()
    reported = -1
    names = [m.name for m in members]
    with zipfile.ZipFile(sink, "w", compression=zipfile.ZIP_DEFLATED) as archive:  # type: ignore[call-overload]
        for index, member in enumerate(members):
            with archive.open(member.name, "w", force_zip64=True) as out:
                for piece in member.chunks():
                    out.write(piece)
                    # Compressed bytes reach the sink as they are made: pass them on.
                    if len(sink.buffer) >= CHUNK:
                        yield sink.take()
            percent = int(100 * (index + 1) / (len(members) + 1))
            if percent != reported:
                reported = percent
                PracticeExport.objects.filter(pk=export.pk).update(
                    progress=min(percent, 99), step=member.name.split("/")[0][:32]
                )
        manifest = {
            "format": FORMAT,
            "practice": str(export.practice.uuid),
            "created_at": timezone.now().isoformat(),
            "files": names,
            "contents": "tables/: every row of the practice (Django JSON); scores.csv; "
            "fhir/: FHIR R4 Bundles; reports/: PDFs. Names and private answers included.",
        }
        archive.writestr("manifest.json", json.dumps(manifest, indent=1))
    yield sink.take()


def build(export_id: int) -> PracticeExport | None:
    """Claim a queued export and write its zip to storage; a duplicate delivery does nothing."""
    claimed = PracticeExport.objects.filter(pk=export_id, status=ExportStatus.QUEUED).update(
        status=ExportStatus.RUNNING,
        started_at=timezone.now(),
        attempts=F("attempts") + 1,
        error="",
        progress=0,
    )
    if not claimed:
        return None
    export = PracticeExport.objects.select_related("practice").get(pk=export_id)
    name = f"exports/{export.practice.uuid}/{export.uuid}.zip"
    reader = _Reader(_zip_chunks(export, _members(export.practice)))
    try:
        stored = default_storage.save(name, File(reader, name=name))  # type: ignore[arg-type]
    except Exception as exc:
        log.exception("export %s failed", export.uuid)
        default_storage.delete(name)
        PracticeExport.objects.filter(pk=export.pk).update(
            status=ExportStatus.FAILED,
            finished_at=timezone.now(),
            error=_("The export could not be written (%(error)s). Start a new one.")
            % {"error": type(exc).__name__},
        )
        return PracticeExport.objects.get(pk=export.pk)
    finished = PracticeExport.objects.filter(pk=export.pk, status=ExportStatus.RUNNING).update(
        status=ExportStatus.DONE,
        file=stored,
        size=reader.size,
        sha256=reader.digest.hexdigest(),
        progress=100,
        step="",
        finished_at=timezone.now(),
    )
    if not finished:
        # Erased, or given up as stale, while it was being written: keep nothing.
        default_storage.delete(stored)
        return None
    log.info("export %s ready (%d bytes)", export.uuid, reader.size)
    return PracticeExport.objects.get(pk=export.pk)


def _remove_file(export_id: int, name: str) -> None:
    default_storage.delete(name)
    PracticeExport.objects.filter(pk=export_id).update(removed_at=timezone.now())


def download(
    export: PracticeExport, *, actor: User, request: HttpRequest | None = None
) -> StreamingHttpResponse | None:
    """The zip, once: the first caller claims it; the file is deleted when the stream ends.

    None when it is not ready, was already downloaded, or is gone.
    """
    claimed = PracticeExport.objects.filter(
        pk=export.pk, status=ExportStatus.DONE, downloaded_at__isnull=True, removed_at__isnull=True
    ).update(downloaded_at=timezone.now(), downloaded_by=actor)
    if not claimed:
        return None
    export.refresh_from_db()
    audit.record(
        "practice.export_download", request=request, actor=actor, target=export, size=export.size
    )
    name = export.file.name
    practice = export.practice

    def stream() -> Iterator[bytes]:
        try:
            with default_storage.open(name, "rb") as source:  # type: ignore[arg-type]
                yield from iter(lambda: source.read(CHUNK), b"")
        finally:
            # The response is sent after the view (and its scope) ended: open it again.
            with scope(practice=practice):
                _remove_file(export.pk, name)  # type: ignore[arg-type]

    response = StreamingHttpResponse(stream(), content_type="application/zip")
    stamp = timezone.localtime(export.created_at).strftime("%Y-%m-%d")
    response["Content-Disposition"] = (
        f'attachment; filename="attune-{export.practice.slug}-{stamp}.zip"'
    )
    if export.size:
        response["Content-Length"] = str(export.size)
    response["Cache-Control"] = "no-store"
    return response


def sweep(now: Any = None) -> int:
    """Beat: delete unclaimed files after KEEP, re-send lost exports, fail dead ones."""
    from reports.tasks import build_export

    now = now or timezone.now()
    count = 0
    # Across practices: each row is handled inside its own practice's scope.
    with scopes_disabled():
        rows = list(
            PracticeExport.objects.filter(
                status=ExportStatus.DONE, removed_at__isnull=True, finished_at__lt=now - KEEP
            ).select_related("practice")
        )
        stale = list(
            PracticeExport.objects.filter(
                status=ExportStatus.RUNNING, started_at__lt=now - STALE_RUNNING
            ).select_related("practice")
        )
        lost = list(
            PracticeExport.objects.filter(
                status=ExportStatus.QUEUED, created_at__lt=now - timedelta(minutes=10)
            ).values_list("practice_id", "pk")
        )
    for export in rows:
        with scope(practice=export.practice):
            _remove_file(export.pk, export.file.name)  # type: ignore[arg-type]
            count += 1
    for export in stale:
        with scope(practice=export.practice):
            default_storage.delete(f"exports/{export.practice.uuid}/{export.uuid}.zip")
            back = ExportStatus.QUEUED if export.attempts < MAX_ATTEMPTS else ExportStatus.FAILED
            PracticeExport.objects.filter(pk=export.pk, status=ExportStatus.RUNNING).update(
                status=back,
                error=""
                if back == ExportStatus.QUEUED
                else _("The export stopped %(n)d times before finishing.") % {"n": export.attempts},
            )
            count += 1
    for practice_id, export_id in lost:
        if cache.add(f"requeued:export:{export_id}", 1, REQUEUE_QUIET_SECONDS):
            build_export.delay(practice_id=practice_id, export_id=export_id)
            count += 1
    return count
