"""GKE rows made before names carried a tag keep the names they were made with.

Commit ab1e7f9 named every object a GKE deployment makes `<slug>-<tag>` and labelled it
with the deployment's id (deployments/targets/gke/names.py). A deployment rolled out before
that has objects named after its slug alone, without the id label: its tear down, planned
with the new names, would find nothing to delete and leave its GPU node pool running and
billed. Each such row is marked (`legacy_names` in its spec, DeploymentRef.legacy_names), so
its plans keep the old names and labels; rows made from here on get tags, and so do rows
still waiting to start (pending approval, or approved and queued): they have made nothing
yet, and marked they would make slug-named objects that no owner check guards. An adapter's row
also records its base's mark, as the values it was bound with (its plans name the base's
objects from them).
"""

from typing import Any

from django.db import migrations

GKE_TARGETS = ("gke-vllm", "gke-inference-gateway")
ADAPTER_TARGET = "gke-inference-gateway-adapter"
LEGACY_NAMES = "legacy_names"  # deployments.targets.plan.LEGACY_NAMES, frozen here
# Statuses a row has made no object in yet (deployments.choices.Status, frozen here).
NOT_STARTED = ("pending_approval", "approved")


def mark_legacy(apps: Any, schema_editor: Any) -> None:
    deployment = apps.get_model("deployments", "Deployment")
    rows = list(
        deployment.objects.filter(target__in=(*GKE_TARGETS, ADAPTER_TARGET)).only(
            "pk", "target", "status", "spec"
        )
    )
    for row in rows:
        spec = dict(row.spec or {})
        if row.status not in NOT_STARTED:
            spec[LEGACY_NAMES] = True
        if row.target == ADAPTER_TARGET:
            # Every base an existing adapter names was made before the change too.
            spec["base_values"] = {**(spec.get("base_values") or {}), LEGACY_NAMES: True}
        row.spec = spec
    deployment.objects.bulk_update(rows, ["spec"], batch_size=1000)


def unmark(apps: Any, schema_editor: Any) -> None:
    deployment = apps.get_model("deployments", "Deployment")
    rows = list(deployment.objects.filter(target__in=(*GKE_TARGETS, ADAPTER_TARGET)))
    for row in rows:
        spec = dict(row.spec or {})
        spec.pop(LEGACY_NAMES, None)
        if isinstance(spec.get("base_values"), dict):
            spec["base_values"] = {
                k: v for k, v in spec["base_values"].items() if k != LEGACY_NAMES
            }
        row.spec = spec
    deployment.objects.bulk_update(rows, ["spec"], batch_size=1000)


class Migration(migrations.Migration):
    dependencies = [("deployments", "0009_prices_2026_12_08")]

    operations = [migrations.RunPython(mark_legacy, unmark)]
