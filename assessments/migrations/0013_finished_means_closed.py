"""An assignment is finished only when its last form is closed. Assignments marked finished
when their last form opened (every one-off, and each series at its final date) while that
last form is still open, in a case that is not closed, become active again, so they can be paused
or cancelled like any other; each change is written to the practice's audit trail. The
status reads "Finished" again, since it now means it."""

from django.db import migrations, models


def forwards(apps, schema_editor):
    Assignment = apps.get_model("assessments", "Assignment")
    Occurrence = apps.get_model("assessments", "Occurrence")
    AuditEvent = apps.get_model("practice", "AuditEvent")
    candidates = Assignment.objects.filter(status="finished", next_due__isnull=True).exclude(
        couple__status="closed"
    )
    for assignment in candidates:
        last = Occurrence.objects.filter(assignment=assignment).order_by("-sequence").first()
        if last is None or last.cancelled or last.submitted >= last.expected:
            continue
        assignment.status = "active"
        assignment.save(update_fields=["status"])
        # The same row practice.audit.record writes; a migration uses the historical model.
        AuditEvent.objects.create(
            practice_id=assignment.practice_id,
            actor_label="Attune",
            action="assignment.active",
            target_type="assessments.assignment",
            target_id=str(assignment.uuid),
            details={"automatic": True, "reason": "last_form_open"},
        )


class Migration(migrations.Migration):
    dependencies = [
        ("assessments", "0012_caseload_summary"),
        ("practice", "0009_require_two_factor"),
    ]

    operations = [
        migrations.AlterField(
            model_name="assignment",
            name="status",
            field=models.CharField(
                choices=[
                    ("active", "Active"),
                    ("paused", "Paused"),
                    ("cancelled", "Cancelled"),
                    ("finished", "Finished"),
                ],
                default="active",
                max_length=16,
            ),
        ),
        migrations.RunPython(forwards, migrations.RunPython.noop),
    ]
