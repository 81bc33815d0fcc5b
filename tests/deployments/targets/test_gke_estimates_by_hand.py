"""Seed 003's and seed 004's estimates equal the hand computation from the shipped price
rows, term by term, to the cent (issue 23, item 4). Each term names the row it reads and
where that row comes from (prices-2026-12-08.json "sources")."""

import json
from dataclasses import replace
from decimal import Decimal
from pathlib import Path

from deployments.pricing.estimator import cents
from deployments.targets import gke_inference_gateway as gateway
from deployments.targets import gke_vllm as autopilot
from deployments.targets.gke_vllm.spec import GkeVllmSpec
from tests.deployments.targets.test_gke_inference_gateway_plan import SEED

PRICES = json.loads(
    (Path(__file__).resolve().parents[3] / "deployments/pricing/prices-2026-12-08.json").read_text()
)
GKE = PRICES["gke"]
MONTH_HOURS = Decimal(730)  # Google's calculators' month; disks bill by the GB-month


def row(*keys: str) -> Decimal:
    value = GKE
    for key in keys:
        value = value[key]
    return Decimal(value)


def test_seed_004_regional_standard_cluster_by_hand():
    # Seed 004: `clusters create --location=us-central1 --num-nodes=1` (regional) and
    # `node-pools create --machine-type=a3-highgpu-2g --num-nodes=1
    # --node-locations=us-central1-a`, bought on demand as the seed's command does.
    shape = replace(SEED, provisioning="on-demand")
    assert shape.location == "us-central1" and shape.machine_type == "a3-highgpu-2g"
    # 1 GPU node: a3-highgpu-2g list price, $22.1225/h (gke.md 6, pricing.md).
    gpu_pool = 1 * row("machines_per_hour", "a3-highgpu-2g")
    # Its boot disk: Hangar's 200 GB of pd-balanced (node_pools.py), $0.10/GB-month
    # (Compute Engine disk pricing) over 730 h: 200 × 0.10 / 730.
    gpu_disk = 1 * 200 * row("boot_disk_gb_month", "pd-balanced") / MONTH_HOURS
    # Default pool: 1 node in each of a regional cluster's 3 zones, GKE's e2-medium,
    # $0.033503/h (E2 us-central1: 1 vCPU × $0.021811 + 4 GB × $0.002923).
    default_pool = 3 * row("machines_per_hour", "e2-medium")
    # Their boot disks: GKE's default 100 GB pd-balanced each (NodeConfig.diskSizeGb;
    # custom-boot-disks): 3 × 100 × 0.10 / 730.
    default_disks = 3 * 100 * row("boot_disk_gb_month", "pd-balanced") / MONTH_HOURS
    # Cluster management fee: $0.10 per cluster-hour (GKE pricing); the free tier credit
    # does not cover a regional Standard cluster.
    fee = row("cluster_fee_per_hour")
    by_hand = gpu_pool + gpu_disk + default_pool + default_disks + fee

    estimate = gateway.estimate(shape, PRICES, Decimal(8))

    assert cents(estimate.hourly_max) == cents(by_hand) == Decimal("22.39")
    assert cents(estimate.monthly) == cents(by_hand * MONTH_HOURS) == Decimal("16345.80")
    assert [cents(cost) for _, cost in estimate.lines] == [
        cents(gpu_pool),
        cents(default_pool),
        cents(gpu_disk),
        cents(default_disks),
        cents(fee),
    ]
    assert estimate.warnings == []


def test_a_zonal_cluster_pays_for_one_default_node_and_its_disk():
    zonal = replace(
        SEED, provisioning="on-demand", cluster_name="projects/p/locations/us-central1-a/clusters/c"
    )
    assert zonal.location == "us-central1-a"
    estimate = gateway.estimate(zonal, PRICES, Decimal(8))
    one_disk = 100 * row("boot_disk_gb_month", "pd-balanced") / MONTH_HOURS
    assert ("1 × e2-medium default pool node", row("machines_per_hour", "e2-medium")) in (
        estimate.lines
    )
    assert ("1 × 100 GB pd-balanced boot disk (default pool)", one_disk) in estimate.lines


def test_seed_003_autopilot_by_hand():
    # Seed 003: an Autopilot cluster; the pod asks for 1 H100 through the ComputeClass
    # a3-edgegpu-8g-nolssd. GPU pods of a ComputeClass with a machine type are billed by
    # the node (gke.md 6: "Accelerator class = node-based billing": the VM + a premium).
    spec = GkeVllmSpec(model="gemma-4-26b-a4b-it")
    assert spec.machine_type == "a3-edgegpu-8g-nolssd"
    # 1 node, 8 × H100, billed whole: $88.49/h (a3-edgegpu-8g list, pricing.md).
    node = 1 * row("machines_per_hour", "a3-edgegpu-8g-nolssd")
    # Autopilot's management premium: modelled as a percentage of the node, 0 by default
    # (it could not be read: pricing.md).
    premium = node * row("autopilot_gpu_premium_percent") / 100
    # Cluster management fee: $0.10 per cluster-hour, Autopilot too (GKE pricing).
    fee = row("cluster_fee_per_hour")
    by_hand = node + premium + fee

    estimate = autopilot.estimate(spec, PRICES, Decimal(8))

    assert cents(estimate.hourly_max) == cents(by_hand) == Decimal("88.59")
    assert cents(estimate.monthly) == cents(by_hand * MONTH_HOURS) == Decimal("64670.70")
    assert [cents(cost) for _, cost in estimate.lines] == [cents(node), cents(premium), cents(fee)]


def test_a_table_without_the_disk_rows_names_the_disks_unpriced():
    prices = json.loads(json.dumps(PRICES))
    del prices["gke"]["boot_disk_gb_month"]
    estimate = gateway.estimate(replace(SEED, provisioning="on-demand"), prices, Decimal(8))
    assert not any("boot disk" in label for label, _ in estimate.lines)
    assert [w for w in estimate.warnings if w.startswith("Boot disks not priced")] == [
        "Boot disks not priced: 1 × 200 GB pd-balanced boot disk (GPU pool); the price table "
        "has no pd-balanced price.",
        "Boot disks not priced: 3 × 100 GB pd-balanced boot disk (default pool); the price "
        "table has no pd-balanced price.",
    ]


def test_the_migration_moves_a_database_on_the_shipped_table_and_only_that(db):
    from importlib import import_module

    from django.apps import apps

    from deployments.models import PriceTable

    migration = import_module("deployments.migrations.0009_prices_2026_12_08")
    shipped = json.loads(
        (
            Path(__file__).resolve().parents[3] / "deployments/pricing/prices-2026-12-05.json"
        ).read_text()
    )
    PriceTable.objects.create(version="2026-12-05", data=shipped, active=True)
    migration.forwards(apps, None)
    active = PriceTable.objects.get(active=True)
    assert active.version == "2026-12-08"
    assert active.data["gke"]["machines_per_hour"]["e2-medium"] == "0.033503"
    assert active.data["gke"]["boot_disk_gb_month"]["pd-balanced"] == "0.10"
    migration.backwards(apps, None)
    assert PriceTable.objects.get(active=True).version == "2026-12-05"

    PriceTable.objects.all().delete()
    PriceTable.objects.create(version="ours", data=shipped, active=True)
    migration.forwards(apps, None)
    assert PriceTable.objects.get(active=True).version == "ours"
