import django.db.models.deletion
from django.db import migrations, models


def derive_runs_on(apps, schema_editor):
    """Every existing row's base, from its spec as its target reads it."""
    from deployments.targets import spec_for, target_for

    deployment = apps.get_model("deployments", "Deployment")
    rows = list(
        deployment.objects.only("pk", "target", "model", "region", "gpu_type", "gpu_count", "spec")
    )
    for row in rows:
        row.runs_on_id = target_for(row).depends_on(spec_for(row))
    deployment.objects.bulk_update(rows, ["runs_on"], batch_size=1000)


class Migration(migrations.Migration):
    dependencies = [("deployments", "0007_deployment_gpus_held")]

    operations = [
        migrations.AddField(
            model_name="deployment",
            name="runs_on",
            field=models.ForeignKey(
                blank=True,
                db_constraint=False,
                editable=False,
                null=True,
                on_delete=django.db.models.deletion.DO_NOTHING,
                related_name="dependents",
                to="deployments.deployment",
            ),
        ),
        migrations.RunPython(derive_runs_on, migrations.RunPython.noop),
    ]
