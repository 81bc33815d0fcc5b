"""Estimates for the seeds' configurations equal hand-computed figures, to the cent."""

import json
from decimal import Decimal
from pathlib import Path

from deployments.pricing.estimator import cents, estimate_cloud_run, estimate_gke

PRICES = json.loads(
    (Path(__file__).resolve().parents[2] / "deployments/pricing/prices-2026-11-22.json").read_text()
)


def test_seed_000_one_l4_8_cpu_32_gib_max_one_instance():
    # By hand: L4 without redundancy 0.0001867 $/s × 3600 = 0.67212; 8 vCPU × 0.000018 × 3600
    # = 0.5184; 32 GiB × 0.000002 × 3600 = 0.2304 → 1.42092 $ per instance-hour.
    estimate = estimate_cloud_run(
        PRICES,
        gpu_type="nvidia-l4",
        gpu_count=1,
        cpu=8,
        memory_gib=32,
        min_instances=0,
        max_instances=1,
        busy_hours_per_day=Decimal(8),
    )
    assert cents(estimate.hourly_max) == Decimal("1.42")
    assert cents(estimate.hourly_min) == Decimal("0.00")
    # 8 busy hours a day at 1 instance, 16 idle at 0: 1.42092 × 8 × 730/24 = 345.7572
    assert cents(estimate.monthly) == Decimal("345.76")
    assert estimate.price_version == "2026-11-22"


def test_seed_002_one_l4_4_cpu_16_gib():
    # 0.67212 + 4 × 0.0648 + 16 × 0.0072 = 0.67212 + 0.2592 + 0.1152 = 1.04652 $/h
    estimate = estimate_cloud_run(
        PRICES,
        gpu_type="nvidia-l4",
        gpu_count=1,
        cpu=4,
        memory_gib=16,
        min_instances=1,
        max_instances=1,
        busy_hours_per_day=Decimal(8),
    )
    assert cents(estimate.hourly_max) == Decimal("1.05")
    assert cents(estimate.hourly_min) == Decimal("1.05")
    # always one instance: 1.04652 × 730 = 763.9596
    assert cents(estimate.monthly) == Decimal("763.96")


def test_seed_004_a3_highgpu_2g_node_pool():
    # one a3-highgpu-2g node at the list price 22.1225 $/h + the cluster fee 0.10 $/h
    estimate = estimate_gke(
        PRICES, machine_type="a3-highgpu-2g", nodes=1, busy_hours_per_day=Decimal(8)
    )
    assert cents(estimate.hourly_max) == Decimal("22.22")
    assert estimate.hourly_min == estimate.hourly_max
    # nodes bill whatever the traffic: 22.2225 × 730 = 16222.425
    assert cents(estimate.monthly) == Decimal("16222.43")


def test_zonal_redundancy_costs_more():
    common = dict(
        gpu_type="nvidia-l4",
        gpu_count=1,
        cpu=8,
        memory_gib=32,
        min_instances=1,
        max_instances=1,
        busy_hours_per_day=Decimal(24),
    )
    off = estimate_cloud_run(PRICES, **common)
    on = estimate_cloud_run(PRICES, zonal_redundancy=True, **common)
    # (0.0002909 - 0.0001867) × 3600 = 0.37512
    assert cents(on.hourly_max - off.hourly_max) == Decimal("0.38")


def test_estimate_round_trips_through_json():
    from deployments.pricing.estimator import Estimate

    estimate = estimate_gke(
        PRICES, machine_type="g2-standard-8", nodes=2, busy_hours_per_day=Decimal(4)
    )
    assert Estimate.from_json(json.loads(json.dumps(estimate.as_json()))) == estimate
