from django.db import migrations, models


def derive_gpus_held(apps, schema_editor):
    """Every existing row's holding, from its spec as its target reads it."""
    from deployments.targets import spec_for

    deployment = apps.get_model("deployments", "Deployment")
    rows = list(
        deployment.objects.only("pk", "target", "model", "region", "gpu_type", "gpu_count", "spec")
    )
    for row in rows:
        row.gpus_held = spec_for(row).gpus_held
    deployment.objects.bulk_update(rows, ["gpus_held"], batch_size=1000)


class Migration(migrations.Migration):
    dependencies = [("deployments", "0006_steps_to_runbook_ledger")]

    operations = [
        migrations.AddField(
            model_name="deployment",
            name="gpus_held",
            field=models.PositiveIntegerField(default=0, editable=False),
        ),
        migrations.RunPython(derive_gpus_held, migrations.RunPython.noop),
    ]
