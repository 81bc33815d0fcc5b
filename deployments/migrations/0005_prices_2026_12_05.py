"""The shipped prices gain seed 003's machine (a3-edgegpu-8g-nolssd). A database still on
the shipped 2026-11-22 table moves to 2026-12-05, which adds only that machine; one whose
admins set prices of their own keeps them (they add the machine in the admin)."""

import json
from pathlib import Path
from typing import Any

from django.db import migrations

SHIPPED = "2026-11-22"
NEW = Path(__file__).resolve().parent.parent / "pricing" / "prices-2026-12-05.json"


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
    added = price_table.objects.filter(version="2026-12-05", created_by=None).first()
    if added is None:
        return
    was_active = added.active
    added.delete()
    if was_active:
        price_table.objects.filter(version=SHIPPED).update(active=True)


class Migration(migrations.Migration):
    dependencies = [("deployments", "0004_deployment_advance_due_at")]

    operations = [migrations.RunPython(forwards, backwards)]
