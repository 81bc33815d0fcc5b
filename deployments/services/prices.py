"""The active price table, and how admins change it (a new version, on the record)."""

import json
from pathlib import Path
from typing import Any

from django.db import transaction

from deployments.models import PriceTable
from portal.audit import audit_record
from portal.exceptions import ValidationFailed

PRICE_FILE = Path(__file__).resolve().parent.parent / "pricing" / "prices-2026-12-08.json"


def price_file_data() -> dict[str, Any]:
    data: dict[str, Any] = json.loads(PRICE_FILE.read_text())
    return data


def price_table_active() -> PriceTable:
    """The prices estimates use now. Loaded from the shipped data file the first time."""
    table = PriceTable.objects.filter(active=True).first()
    if table is not None:
        return table
    data = price_file_data()
    with transaction.atomic():
        table, _ = PriceTable.objects.get_or_create(
            version=data["version"], defaults={"data": data, "active": True}
        )
    return table


@transaction.atomic
def price_table_update(*, data: dict[str, Any], by: Any, reason: str) -> PriceTable:
    """Make `data` the active prices. Deployments keep the estimate they were approved with."""
    version = str(data.get("version", ""))
    if not version or PriceTable.objects.filter(version=version).exists():
        raise ValidationFailed(
            "Give the new prices a version of their own.",
            fields={"version": ["Every change needs a new version (e.g. the date read)."]},
        )
    previous = price_table_active()
    PriceTable.objects.filter(active=True).update(active=False)
    table = PriceTable.objects.create(version=version, data=data, active=True, created_by=by)
    audit_record(
        action="prices.update",
        obj=table,
        actor=by,
        reason=reason,
        before={"version": previous.version, "data": previous.data},
        after={"version": version, "data": data},
    )
    return table
