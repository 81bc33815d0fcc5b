"""The shipped prices gain what a GKE estimate left out: GKE's default node machine
(e2-medium, a Standard cluster's default pool) and the nodes' boot disks per GB-month
(pd-standard, pd-balanced, pd-ssd). A database still on the shipped 2026-12-05 table moves
to 2026-12-08, which adds only those rows; one whose admins set prices of their own keeps
them (they add the rows in the admin)."""

import json
from pathlib import Path
from typing import Any

from django.db import migrations

SHIPPED = "2026-12-05"
NEW = Path(__file__).resolve().parent.parent / "pricing" / "prices-2026-12-08.json"


def forwards(apps: Any, schema_editor: Any) -> None:
    price_table = apps.get_model("deployments", "PriceTable")
    active = price_table.objects.filter(active=True).first()
    data = json.loads(NEW.read_text())
    if active is None or active.version != SHIPPED:
        return
    if price_table.objects.filter(version=data["version"]).exists():
        return
    price_table.objects.filter(pk=active.pk).update(active=False)
    price_table.objects.create(version=data["version"], data=data, active=True)


def backwards(apps: Any, schema_editor: Any) -> None:
    price_table = apps.get_model("deployments", "PriceTable")
    added = price_table.objects.filter(version="2026-12-08", created_by=None).first()
    if added is None:
        return
    was_active = added.active
    added.delete()
    if was_active:
        price_table.objects.filter(version=SHIPPED).update(active=True)


class Migration(migrations.Migration):
    dependencies = [("deployments", "0008_deployment_runs_on")]

    operations = [migrations.RunPython(forwards, backwards)]
