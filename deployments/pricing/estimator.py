"""Cost estimates from a price table: pure arithmetic, in Decimal, shown with its formula.

Cloud Run GPU services bill every second an instance exists (instance-based billing),
so the hourly cost runs from min instances × the instance price to max instances ×
it. A month assumes the service runs at max instances during the busy hours and at
min instances the rest of the day. GKE bills its nodes while they exist, plus the
cluster fee, whatever the traffic.
"""

from dataclasses import asdict, dataclass, field
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

HOURS_PER_MONTH = Decimal("730")  # Google's own convention in its calculators
DAYS_PER_MONTH = HOURS_PER_MONTH / 24
SECONDS_PER_HOUR = Decimal(3600)
CENT = Decimal("0.01")


def cents(amount: Decimal) -> Decimal:
    return amount.quantize(CENT, rounding=ROUND_HALF_UP)


@dataclass(frozen=True)
class Estimate:
    price_version: str
    hourly_min: Decimal
    hourly_max: Decimal
    monthly: Decimal
    busy_hours_per_day: Decimal
    # (what, cost per instance- or node-hour) lines that add up to the unit price
    lines: list[tuple[str, Decimal]] = field(default_factory=list)
    unit: str = "instance-hour"
    notes: str = ""
    # What the requester should know before asking for it (idle GPUs on a whole node).
    warnings: list[str] = field(default_factory=list)
    # Spec values that would avoid the warnings (a right-sized machine): field → value.
    suggested: dict[str, str] = field(default_factory=dict)

    def as_json(self) -> dict[str, Any]:
        """What a deployment stores; Decimals as strings so nothing is lost."""
        data = asdict(self)
        for key in ("hourly_min", "hourly_max", "monthly", "busy_hours_per_day"):
            data[key] = str(data[key])
        data["lines"] = [[label, str(cost)] for label, cost in self.lines]
        return data

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> "Estimate":
        return cls(
            price_version=data["price_version"],
            hourly_min=Decimal(data["hourly_min"]),
            hourly_max=Decimal(data["hourly_max"]),
            monthly=Decimal(data["monthly"]),
            busy_hours_per_day=Decimal(data["busy_hours_per_day"]),
            lines=[(label, Decimal(cost)) for label, cost in data["lines"]],
            unit=data.get("unit", "instance-hour"),
            notes=data.get("notes", ""),
            warnings=list(data.get("warnings", [])),
            suggested=dict(data.get("suggested", {})),
        )

    @property
    def average_hourly(self) -> Decimal:
        return self.monthly / HOURS_PER_MONTH


def cloud_run_instance_lines(
    prices: dict[str, Any],
    *,
    gpu_type: str,
    gpu_count: int,
    cpu: int,
    memory_gib: int,
    zonal_redundancy: bool = False,
) -> list[tuple[str, Decimal]]:
    run = prices["cloud_run"]
    mode = "zonal_redundancy_on" if zonal_redundancy else "zonal_redundancy_off"
    gpu = Decimal(run["gpu_per_second"][gpu_type][mode]) * SECONDS_PER_HOUR * gpu_count
    vcpu = Decimal(run["vcpu_per_second"]) * SECONDS_PER_HOUR * cpu
    memory = Decimal(run["gib_per_second"]) * SECONDS_PER_HOUR * memory_gib
    redundancy = "with" if zonal_redundancy else "without"
    return [
        (f"{gpu_count} × {gpu_type} ({redundancy} zonal redundancy)", gpu),
        (f"{cpu} vCPU", vcpu),
        (f"{memory_gib} GiB memory", memory),
    ]


def estimate_cloud_run(
    prices: dict[str, Any],
    *,
    gpu_type: str,
    gpu_count: int,
    cpu: int,
    memory_gib: int,
    min_instances: int,
    max_instances: int,
    busy_hours_per_day: Decimal,
    zonal_redundancy: bool = False,
) -> Estimate:
    lines = cloud_run_instance_lines(
        prices,
        gpu_type=gpu_type,
        gpu_count=gpu_count,
        cpu=cpu,
        memory_gib=memory_gib,
        zonal_redundancy=zonal_redundancy,
    )
    per_instance = sum((cost for _, cost in lines), Decimal(0))
    busy = min(max(Decimal(busy_hours_per_day), Decimal(0)), Decimal(24))
    instance_hours_per_day = max_instances * busy + min_instances * (24 - busy)
    return Estimate(
        price_version=prices["version"],
        hourly_min=per_instance * min_instances,
        hourly_max=per_instance * max_instances,
        monthly=per_instance * instance_hours_per_day * DAYS_PER_MONTH,
        busy_hours_per_day=busy,
        lines=lines,
        unit="instance-hour",
        notes=prices["cloud_run"].get("notes", ""),
    )


def estimate_gke(
    prices: dict[str, Any],
    *,
    machine_type: str,
    nodes: int,
    busy_hours_per_day: Decimal,
    autopilot: bool = False,
) -> Estimate:
    gke = prices["gke"]
    machine = Decimal(gke["machines_per_hour"][machine_type]) * nodes
    lines = [(f"{nodes} × {machine_type} node", machine)]
    if autopilot:
        premium = machine * Decimal(gke["autopilot_gpu_premium_percent"]) / 100
        lines.append(("Autopilot GPU premium", premium))
    lines.append(("cluster management fee", Decimal(gke["cluster_fee_per_hour"])))
    hourly = sum((cost for _, cost in lines), Decimal(0))
    return Estimate(
        price_version=prices["version"],
        hourly_min=hourly,
        hourly_max=hourly,
        monthly=hourly * HOURS_PER_MONTH,
        busy_hours_per_day=Decimal(busy_hours_per_day),
        lines=lines,
        unit="hour (nodes run whatever the traffic)",
        notes=gke.get("notes", ""),
    )
