"""A one-item form is judged by the item rule alone: open large-disagreement alerts that
only the old totals rule raised on such a form (a gap the item view never flagged) are
closed with a note and an entry in the practice's audit trail."""

from django.db import migrations
from django.utils import timezone

NOTE = (
    "Closed automatically: on a one-item form a large disagreement now needs the item's "
    "own gap rule (at least half its answer range), and this gap is smaller."
)


def forwards(apps, schema_editor):
    Alert = apps.get_model("assessments", "Alert")
    AuditEvent = apps.get_model("practice", "AuditEvent")
    now = timezone.now()
    candidates = (
        Alert.objects.filter(kind="disagreement", occurrence__isnull=False)
        .exclude(status="resolved")
        .select_related("occurrence__instrument")
    )
    for alert in candidates:
        details = alert.details or {}
        if details.get("n_items") != 1 or "items" in str(details.get("rule", "")):
            continue
        gap, span = details.get("total_gap"), details.get("total_range")
        if gap is not None and span and float(gap) >= 0.5 * float(span):
            continue  # the item rule would have raised it too
        alert.status = "resolved"
        alert.acknowledged_at = alert.acknowledged_at or now
        alert.resolved_at = now
        alert.resolution_note = NOTE
        alert.save(update_fields=["status", "acknowledged_at", "resolved_at", "resolution_note"])
        # The same row practice.audit.record writes; a migration uses the historical model.
        AuditEvent.objects.create(
            practice_id=alert.practice_id,
            actor_label="Attune",
            action="alert.resolve_automatic",
            target_type="assessments.alert",
            target_id=str(alert.uuid),
            details={"reason": "one_item_rule", "kind": "disagreement"},
        )


class Migration(migrations.Migration):
    dependencies = [
        ("assessments", "0010_instrument_import_fields"),
        ("practice", "0009_require_two_factor"),
    ]

    operations = [migrations.RunPython(forwards, migrations.RunPython.noop)]
