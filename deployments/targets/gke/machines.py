"""The GPU machines a GKE ComputeClass can provision, with what each holds.

Autopilot bills a GPU pod by the node it runs on (the Accelerator class is node-based
billing: the whole Compute Engine VM, ../shared/reference/gke.md §6), so a ComputeClass
that asks for an 8-GPU machine bills 8 GPUs whatever the pod requests. Shapes from
../shared/reference/gke.md §1.2 (a3-highgpu 1g/2g/8g; a3-edgegpu-8g, offered only in
some regions). A3 High's 4-GPU shape is left out until its price is known (pricing.md
names none). Compute Engine may sell the smaller A3 High shapes only as Spot, Flex-start
or reservations (gke.md §1.2, unverified): the estimate says so when it suggests one.
"""

from dataclasses import dataclass

H100 = "nvidia-h100-80gb"
H100_GIB = 80


@dataclass(frozen=True)
class GpuMachine:
    key: str  # Compute Engine machine type, as the ComputeClass names it
    gpus: int
    accelerator: str  # the ComputeClass's gpu.type and the node label
    gpu_gib: int
    vcpu: int
    memory_gb: int
    # Possibly sold only as Spot, Flex-start or reservations, not on demand (unverified).
    maybe_not_on_demand: bool = False

    @property
    def label(self) -> str:
        return f"{self.key} ({self.gpus} × H100 80 GB, {self.vcpu} vCPU, {self.memory_gb} GB)"


MACHINES: dict[str, GpuMachine] = {
    m.key: m
    for m in (
        # Seed 003's ComputeClass: 8 H100s, no local SSD.
        GpuMachine("a3-edgegpu-8g-nolssd", 8, H100, H100_GIB, 208, 1872),
        GpuMachine("a3-highgpu-1g", 1, H100, H100_GIB, 26, 234, maybe_not_on_demand=True),
        GpuMachine("a3-highgpu-2g", 2, H100, H100_GIB, 52, 468, maybe_not_on_demand=True),
        GpuMachine("a3-highgpu-8g", 8, H100, H100_GIB, 208, 1872),
    )
}
MAX_NODE_GPUS = max(m.gpus for m in MACHINES.values())
MACHINE_CHOICES_HELP = ", ".join(f"{m.key} holds {m.gpus}" for m in MACHINES.values())


class OnGpuMachine:
    """A mixin for a spec whose `machine_type` names one of MACHINES (adds no field)."""

    machine_type: str

    @property
    def machine(self) -> GpuMachine:
        return MACHINES[self.machine_type]


def h100s(count: int) -> str:
    """ "1 H100", "8 H100s": a count of GPUs as a sentence says it."""
    return f"{count} H100" if count == 1 else f"{count} H100s"


def machine_choices() -> list[tuple[str, str]]:
    return [(m.key, m.label) for m in MACHINES.values()]


def right_sized(gpus: int, prices: dict[str, float | str] | None = None) -> GpuMachine | None:
    """The machine with the fewest GPUs that holds `gpus` (the cheapest when priced)."""
    fitting = [m for m in MACHINES.values() if m.gpus >= gpus]
    if prices is not None:
        fitting = [m for m in fitting if m.key in prices]
    if not fitting:
        return None
    return min(fitting, key=lambda m: (m.gpus, float(prices[m.key]) if prices else 0))
