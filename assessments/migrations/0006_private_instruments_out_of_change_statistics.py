"""Private screens leave change statistics: their norm estimates go, and their open
deterioration alerts are closed with a note and an entry in the practice's audit trail."""

from django.db import migrations
from django.utils import timezone

NOTE = (
    "Closed automatically: private screens are outside change statistics, so a "
    "reliable-change alert does not apply to them. Their own safety alerts are unaffected."
)


def forwards(apps, schema_editor):
    Instrument = apps.get_model("assessments", "Instrument")
    NormEstimate = apps.get_model("assessments", "NormEstimate")
    Alert = apps.get_model("assessments", "Alert")
    AuditEvent = apps.get_model("practice", "AuditEvent")
    private = [i for i in Instrument.objects.all() if i.definition.get("private")]
    if not private:
        return
    NormEstimate.objects.filter(instrument__in=private).delete()
    keys = {i.key for i in private}
    candidates = Alert.objects.filter(kind="deterioration").exclude(status="resolved")
    now = timezone.now()
    for alert in candidates.select_related("response__instrument"):
        on_private = alert.details.get("instrument") in keys or (
            alert.response is not None and alert.response.instrument.definition.get("private")
        )
        if not on_private:
            continue
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
            details={"reason": "private_instrument", "kind": "deterioration"},
        )


class Migration(migrations.Migration):
    dependencies = [
        ("assessments", "0005_split_alert_kind_and_severity"),
        ("practice", "0006_practice_is_demo"),
    ]

    operations = [migrations.RunPython(forwards, migrations.RunPython.noop)]
