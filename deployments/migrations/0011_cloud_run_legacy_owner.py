"""Cloud Run rows made before their objects carried an owner keep being taken by name.

A Cloud Run vLLM deployment's service account now carries its owner in its description and
its weights bucket the deployment's id label; a 409 adopts, and a delete removes, only what
names the deployment (runbook/ownership.py). A row rolled out before has an account with no
note and a bucket without the id: checked, its tear down would refuse them and leave the
bucket billed. Each such row is marked with the mark GKE's older rows carry (migration 0010,
DeploymentRef.legacy_names), and its plans skip the owner check as they did when it was made.
Cloud Run Ollama rows are marked too: they are as old, should their service be checked.
Rows still waiting to start (pending approval, or approved and queued) have made nothing
and are not marked: their account and bucket are made owned, as any new row's.
"""

from typing import Any

from django.db import migrations

CLOUD_RUN_TARGETS = ("cloud-run-vllm", "cloud-run-ollama")
LEGACY_NAMES = "legacy_names"  # deployments.targets.plan.LEGACY_NAMES, frozen here
# Statuses a row has made no object in yet (deployments.choices.Status, frozen here).
NOT_STARTED = ("pending_approval", "approved")


def _set_mark(apps: Any, marked: bool) -> None:
    deployment = apps.get_model("deployments", "Deployment")
    rows = list(
        deployment.objects.filter(target__in=CLOUD_RUN_TARGETS).only("pk", "status", "spec")
    )
    for row in rows:
        spec = {k: v for k, v in (row.spec or {}).items() if k != LEGACY_NAMES}
        row.spec = (
            {**spec, LEGACY_NAMES: True} if marked and row.status not in NOT_STARTED else spec
        )
    deployment.objects.bulk_update(rows, ["spec"], batch_size=1000)


def mark_legacy(apps: Any, schema_editor: Any) -> None:
    _set_mark(apps, True)


def unmark(apps: Any, schema_editor: Any) -> None:
    _set_mark(apps, False)


class Migration(migrations.Migration):
    dependencies = [("deployments", "0010_gke_legacy_names")]

    operations = [migrations.RunPython(mark_legacy, unmark)]
