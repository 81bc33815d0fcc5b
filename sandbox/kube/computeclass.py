"""GKE's ComputeClass (cloud.google.com/v1), checked as GKE documents it.

GKE installs the CRD itself and does not publish its OpenAPI schema, so this is the
documented shape (https://cloud.google.com/kubernetes-engine/docs/reference/crds/computeclass):
unknown fields refused, enumerations and bounds as documented. Then one rule GKE applies
when it provisions: a rule's GPU count is the count its machine type carries (an
a3-edgegpu-8g has eight H100s:
https://cloud.google.com/compute/docs/accelerator-optimized-machines#a3-vms).
"""

from __future__ import annotations

from typing import Any

import jsonschema

_STR = {"type": "string", "maxLength": 253}
_BOOL = {"type": "boolean"}


def _obj(props: dict[str, Any], required: tuple[str, ...] = ()) -> dict[str, Any]:
    return {
        "type": "object",
        "properties": props,
        "additionalProperties": False,
        **({"required": list(required)} if required else {}),
    }


_GPU = _obj(
    {
        "type": _STR,
        "count": {"type": "integer", "minimum": 1, "maximum": 16},
        "driverVersion": {"enum": ["default", "latest"]},
    },
    ("type", "count"),
)
_RULE_PROPS: dict[str, Any] = {
    "machineFamily": _STR,
    "machineType": _STR,
    "minCores": {"type": "integer", "minimum": 1},
    "minMemoryGb": {"type": "integer", "minimum": 1},
    "spot": _BOOL,
    "gpu": _GPU,
    "tpu": _obj({"type": _STR, "count": {"type": "integer", "minimum": 1}, "topology": _STR}),
    "nodepools": {"type": "array", "items": _STR},
    "maxRunDurationSeconds": {"type": "integer", "minimum": 1},
    "location": _obj({"zones": {"type": "array", "items": _STR}}),
    "flexStart": _obj(
        {"enabled": _BOOL, "nodeRecycling": _obj({"leadTimeSeconds": {"type": "integer"}})}
    ),
    "reservations": _obj(
        {
            "affinity": {"enum": ["Specific", "AnyBestEffort", "None"]},
            "specific": {"type": "array", "items": {"type": "object"}},
        }
    ),
    "storage": {"type": "object"},
    "placement": {"type": "object"},
    "podFamily": _STR,
}
SCHEMA = _obj(
    {
        "apiVersion": {"const": "cloud.google.com/v1"},
        "kind": {"const": "ComputeClass"},
        "metadata": {"type": "object"},
        "spec": _obj(
            {
                "description": _STR,
                "priorities": {"type": "array", "minItems": 1, "items": _obj(_RULE_PROPS)},
                "priorityDefaults": {"type": "object"},
                "whenUnsatisfiable": {"enum": ["ScaleUpAnyway", "DoNotScaleUp"]},
                "nodePoolAutoCreation": _obj({"enabled": _BOOL}),
                "activeMigration": _obj({"optimizeRulePriority": _BOOL}),
                "autoscalingPolicy": _obj(
                    {
                        "consolidationDelayMinutes": {
                            "type": "integer",
                            "minimum": 1,
                            "maximum": 1440,
                        },
                        "consolidationThreshold": {"type": "integer", "minimum": 0, "maximum": 100},
                        "gpuConsolidationThreshold": {
                            "type": "integer",
                            "minimum": 0,
                            "maximum": 100,
                        },
                    }
                ),
                "nodePoolConfig": {"type": "object"},
            },
            ("priorities",),
        ),
    },
    ("apiVersion", "kind", "metadata", "spec"),
)

# GPUs per machine type for the accelerator-optimized shapes Hangar proposes.
GPUS_OF_MACHINE = {
    "a3-highgpu-1g": ("nvidia-h100-80gb", 1),
    "a3-highgpu-2g": ("nvidia-h100-80gb", 2),
    "a3-highgpu-4g": ("nvidia-h100-80gb", 4),
    "a3-highgpu-8g": ("nvidia-h100-80gb", 8),
    "a3-edgegpu-8g": ("nvidia-h100-80gb", 8),
    "a3-edgegpu-8g-nolssd": ("nvidia-h100-80gb", 8),
    "g2-standard-4": ("nvidia-l4", 1),
    "g2-standard-8": ("nvidia-l4", 1),
    "g2-standard-12": ("nvidia-l4", 1),
    "g2-standard-16": ("nvidia-l4", 1),
    "g2-standard-24": ("nvidia-l4", 2),
    "g2-standard-32": ("nvidia-l4", 1),
    "g2-standard-48": ("nvidia-l4", 4),
    "g2-standard-96": ("nvidia-l4", 8),
}


def schema_errors(obj: dict[str, Any]) -> list[str]:
    """Paths and messages, worded like the API server's structural-schema errors."""
    validator = jsonschema.Draft202012Validator(SCHEMA)
    out = []
    for error in sorted(validator.iter_errors(obj), key=lambda e: list(e.absolute_path)):
        where = "".join(f"[{p}]" if isinstance(p, int) else f".{p}" for p in error.absolute_path)
        if error.validator == "additionalProperties":
            out.append(f"{where}: field not declared in schema ({error.message})")
        else:
            out.append(f"{where or '.'}: {error.message}")
    return out


def rule_errors(obj: dict[str, Any]) -> list[str]:
    out = []
    for i, rule in enumerate(obj["spec"]["priorities"]):
        known = GPUS_OF_MACHINE.get(rule.get("machineType", ""))
        gpu = rule.get("gpu")
        if known and gpu and (gpu.get("type"), gpu.get("count")) != known:
            out.append(
                f"spec.priorities[{i}].gpu: Invalid value: machine type {rule['machineType']} "
                f"has {known[1]} {known[0]} GPUs, not {gpu.get('count')} {gpu.get('type')}"
            )
        if "machineType" in rule and "machineFamily" in rule:
            out.append(
                f"spec.priorities[{i}]: Invalid value: machineType and machineFamily are "
                "mutually exclusive"
            )
    return out
