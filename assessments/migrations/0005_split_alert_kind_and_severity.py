"""The "split" alert kind, and severities renumbered so a split ranks after safety."""

from django.db import migrations, models

# Severity of each kind after this migration (assessments.models.ALERT_SEVERITY);
# frozen here because the model's map may change again later.
SEVERITY = {
    "safety": 1,
    "split": 2,
    "clinical": 3,
    "deterioration": 3,
    "disagreement": 4,
    "overdue": 5,
}
BEFORE = {"safety": 1, "clinical": 2, "deterioration": 2, "disagreement": 3, "overdue": 4}


def _set(apps, schema_editor, severity):
    Alert = apps.get_model("assessments", "Alert")
    for kind, value in severity.items():
        Alert.objects.filter(kind=kind).update(severity=value)


def forwards(apps, schema_editor):
    _set(apps, schema_editor, SEVERITY)


def backwards(apps, schema_editor):
    _set(apps, schema_editor, BEFORE)


class Migration(migrations.Migration):
    dependencies = [
        ("assessments", "0004_assignment_finished_label"),
    ]

    operations = [
        migrations.AlterField(
            model_name="alert",
            name="kind",
            field=models.CharField(
                choices=[
                    ("safety", "Safety concern"),
                    ("split", "Partners moving apart"),
                    ("clinical", "Clinical flag"),
                    ("deterioration", "Reliable deterioration"),
                    ("disagreement", "Large partner disagreement"),
                    ("overdue", "Overdue form"),
                ],
                max_length=16,
            ),
        ),
        migrations.RunPython(forwards, backwards),
    ]
