"""What a seed 004 deployment costs: its GPU pool, the cluster's default pool and fee."""

import json
from dataclasses import replace
from decimal import Decimal
from pathlib import Path

from deployments.targets.gke_inference_gateway.cost import default_pool_nodes, estimate
from tests.deployments.targets.test_gke_inference_gateway_plan import SEED

PRICES = json.loads(
    (Path(__file__).resolve().parents[3] / "deployments/pricing/prices-2026-12-08.json").read_text()
)


def test_the_seed_counts_its_gpu_pool_and_the_cluster_fee_and_names_the_rest():
    prices = json.loads(json.dumps(PRICES))
    # An admin's own table without the 2026-12-08 rows (e2-medium, boot disks).
    prices["gke"]["machines_per_hour"].pop("e2-medium")
    prices["gke"].pop("boot_disk_gb_month")
    priced = estimate(prices, SEED, Decimal(8))
    assert priced.lines == [
        ("1 × a3-highgpu-2g GPU node (on-demand list)", Decimal("22.1225")),
        ("cluster management fee", Decimal("0.10")),
    ]
    assert priced.hourly_min == priced.hourly_max == Decimal("22.2225")
    assert priced.monthly == Decimal("22.2225") * 730
    assert any("Spot" in w for w in priced.warnings)
    # The default pool is not free: unpriced, it is named.
    assert any("default pool (3 × e2-medium)" in w for w in priced.warnings)


def test_the_default_pool_is_priced_when_the_table_has_its_machine():
    prices = json.loads(json.dumps(PRICES))
    on_demand = replace(SEED, provisioning="on-demand", nodes=2)
    priced = estimate(prices, on_demand, Decimal(8))
    assert ("2 × a3-highgpu-2g GPU node (on-demand list)", Decimal("44.2450")) in priced.lines
    assert ("3 × e2-medium default pool node", Decimal("0.100509")) in priced.lines
    assert priced.warnings == []


def test_a_zonal_cluster_has_one_default_node():
    assert default_pool_nodes("us-central1-a") == 1
    assert default_pool_nodes("us-central1") == 3
