"""The registry of deployment targets: one package each, listed here and nowhere else.

Generic code (services, forms, the API, the worker, the playground) asks this registry
for a target's spec, plan, endpoint and cost; it never branches on a target's name.
deployments/targets/README.md says how to add one.
"""

from typing import Any

from deployments.targets.base import TargetDef
from deployments.targets.cloud_run_ollama import CLOUD_RUN_OLLAMA
from deployments.targets.cloud_run_vllm import CLOUD_RUN_VLLM
from deployments.targets.gke_inference_gateway import GKE_INFERENCE_GATEWAY
from deployments.targets.gke_inference_gateway_adapter import GKE_INFERENCE_GATEWAY_ADAPTER
from deployments.targets.gke_vllm import GKE_VLLM

# In the order the request page offers them; the first is the default.
TARGETS: dict[str, TargetDef] = {
    t.name: t
    for t in (
        CLOUD_RUN_OLLAMA,
        CLOUD_RUN_VLLM,
        GKE_VLLM,
        GKE_INFERENCE_GATEWAY,
        GKE_INFERENCE_GATEWAY_ADAPTER,
    )
}
TARGET_NAMES = list(TARGETS)


class UnknownTarget(ValueError):
    pass


def target_get(name: str) -> TargetDef:
    try:
        return TARGETS[name]
    except (KeyError, TypeError):
        raise UnknownTarget(f"Hangar has no target {name!r}.") from None


def target_for(deployment: Any) -> TargetDef:
    return target_get(deployment.target)


def target_choices() -> list[tuple[str, str]]:
    return [(t.name, t.label) for t in TARGETS.values()]


def default_target() -> TargetDef:
    return next(iter(TARGETS.values()))


def spec_for(deployment: Any) -> Any:
    """The validated settings a deployment row stands for."""
    return target_for(deployment).spec_class.from_deployment(deployment)


def _camel(name: str) -> str:
    return "".join(part.title() for part in name.replace("_", "-").split("-"))


def openapi_enum_names() -> dict[str, list[str]]:
    """Names for the OpenAPI schema's enums (drf-spectacular's ENUM_NAME_OVERRIDES).

    Each target's request has its own `target` value and may have its own `model` list;
    a choice set all targets share gets the plain field name, one that differs is named
    after the first target that offers it. drf-spectacular wants one name per set, so a
    set offered by several targets (or fields) is named once.
    """
    from deployments.targets.fields import declarations

    sets: dict[str, dict[str, list[str]]] = {}
    for target in TARGETS.values():
        sets.setdefault("target", {})[target.name] = [target.name]
        for name, declaration, _ in declarations(target.spec_class):
            if declaration.choices is not None:
                sets.setdefault(name, {})[target.name] = declaration.choice_values()
    names: dict[str, list[str]] = {}
    named: set[tuple[str, ...]] = set()
    for field, by_target in sets.items():
        distinct = {tuple(values) for values in by_target.values()}
        for target_name, values in by_target.items():
            if tuple(values) in named:
                continue
            named.add(tuple(values))
            prefix = "" if len(distinct) == 1 else _camel(target_name)
            names[f"{prefix}{_camel(field)}Enum"] = values
    return names
