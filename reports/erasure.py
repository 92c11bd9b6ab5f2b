"""What erasing a couple or a practice removes from reports and exports: rows and files."""

from __future__ import annotations

from typing import Any

from django.dispatch import receiver

from clients.erasure import couple_erasing
from clients.models import Couple
from practice.erasure import delete_file_after_commit, practice_erasing
from practice.models import Practice
from reports.models import PracticeExport, Report, ReportBatch


def _drop_files(names: list[str]) -> int:
    for name in names:
        delete_file_after_commit(name)
    return len(names)


@receiver(couple_erasing, dispatch_uid="reports-erase-couple")
def _erase_couple(sender: type, couple: Couple, **kwargs: Any) -> dict[str, int]:
    """The PDFs leave storage once the erasure commits; the rows go with the couple."""
    reports = Report.objects.filter(couple=couple)
    names = [name for name in reports.values_list("file", flat=True) if name]
    return {"reports": reports.count(), "files": _drop_files(names)}


@receiver(practice_erasing, dispatch_uid="reports-erase-practice")
def _erase_practice(sender: type, practice: Practice, **kwargs: Any) -> dict[str, int]:
    """Batches, whole-practice exports and their zips (reports went with the couples)."""
    exports = PracticeExport.objects.filter(practice=practice)
    names = [name for name in exports.values_list("file", flat=True) if name]
    count = exports.count()
    exports.delete()
    ReportBatch.objects.filter(practice=practice).delete()
    left = Report.objects.filter(practice=practice)
    files = _drop_files(names + [n for n in left.values_list("file", flat=True) if n])
    left.delete()
    return {"exports": count, "files": files}
