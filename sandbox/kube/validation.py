"""What the API server refuses before it stores an object.

Core kinds are checked against the Kubernetes OpenAPI schemas of the cluster's minor
version (the `kubernetes-validate` package, strict: a field the schema does not declare
is an error, as with fieldValidation=Strict:
https://kubernetes.io/docs/reference/using-api/api-concepts/#field-validation). Then the
API server's own rules that a schema cannot say: names (DNS-1123,
https://kubernetes.io/docs/concepts/overview/working-with-objects/names/), a Deployment's
selector matching its template, quantities, a CRD's name, and a pod's containers:
`restartPolicy` is for init containers only, where `Always` (the only value) makes one a
native sidecar that runs beside the app containers; on a regular container it is
refused ("may not be set for non-init containers": pkg/apis/core/validation, and
https://kubernetes.io/docs/concepts/workloads/pods/sidecar-containers/). An init
container that is not a sidecar may not have probes or lifecycle hooks, and every
volume mount must name a volume of the pod. Errors read as the API server words them.
"""

from __future__ import annotations

import re
from typing import Any

import kubernetes_validate

from sandbox.kube import computeclass as computeclass
from sandbox.kube import custom_resources
from sandbox.kube.resources import Kind

SCHEMA_VERSION = "1.34.0"
DNS_LABEL = re.compile(r"[a-z0-9]([-a-z0-9]*[a-z0-9])?")
DNS_SUBDOMAIN = re.compile(r"[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*")
# Kinds whose names are DNS labels (63), not subdomains (253).
LABEL_NAMED = frozenset({"Namespace", "Service"})
# Kinds whose names need only be path segments: not "." or "..", no "/" or "%"
# (https://kubernetes.io/docs/concepts/overview/working-with-objects/names/#path-segment-names;
# pkg/apis/rbac/validation ValidateRBACName), so seed 004's `gmp-system:collector:...`.
PATH_SEGMENT_NAMED = frozenset({"Role", "ClusterRole", "RoleBinding", "ClusterRoleBinding"})
# The API server's quantity syntax (k8s.io/apimachinery/pkg/api/resource).
QUANTITY = re.compile(r"[+-]?[0-9.]+([eEinumkKMGTP]*[-+]?[0-9]*)")


class Invalid(Exception):
    """422 Invalid: `field: Invalid value: ...` in the API server's words."""

    def __init__(self, kind: Kind, name: str, causes: list[str]) -> None:
        super().__init__(f'{kind.kind} "{name}" is invalid: {", ".join(causes)}')
        self.kind = kind
        self.name = name
        self.causes = causes


class Undeclared(Exception):
    """400 BadRequest: a field the schema does not have (strict field validation)."""


def _path(parts: Any) -> str:
    out = ""
    for part in parts:
        out += f"[{part}]" if isinstance(part, int) else f".{part}"
    return out


def check_schema(kind: Kind, obj: dict[str, Any]) -> None:
    if kind.kind == "ComputeClass":
        errors = computeclass.schema_errors(obj)
        if errors:
            raise Undeclared("; ".join(errors))
        return
    try:
        kubernetes_validate.validate(obj, SCHEMA_VERSION, strict=True)
    except kubernetes_validate.ValidationError as exc:
        where = _path(exc.absolute_path)
        extra = re.search(r"\('([^']+)' was unexpected\)", exc.message)
        if exc.validator == "additionalProperties" and extra:
            raise Undeclared(f"{where}.{extra.group(1)}: field not declared in schema") from exc
        raise Undeclared(f"{where or '.'}: {exc.message}") from exc


def _path_segment_errors(name: str) -> list[str]:
    if name in (".", ".."):
        return [f"may not be '{name}'"]
    return [f"may not contain '{c}'" for c in "/%" if c in name]


def check_name(kind: Kind, name: str) -> None:
    if kind.kind in PATH_SEGMENT_NAMED:
        bad = _path_segment_errors(name)
        if bad:
            raise Invalid(kind, name, [f'metadata.name: Invalid value: "{name}": {bad[0]}'])
        return
    if kind.kind in LABEL_NAMED:
        ok = len(name) <= 63 and DNS_LABEL.fullmatch(name)
        rule = "a lowercase RFC 1123 label must consist of lower case alphanumeric characters or '-', and must start and end with an alphanumeric character"  # noqa: E501
    else:
        ok = len(name) <= 253 and DNS_SUBDOMAIN.fullmatch(name)
        rule = "a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', and must start and end with an alphanumeric character"  # noqa: E501
    if not ok:
        raise Invalid(kind, name, [f'metadata.name: Invalid value: "{name}": {rule}'])


def check_rules(kind: Kind, obj: dict[str, Any]) -> None:
    name = obj["metadata"]["name"]
    check_name(kind, name)
    causes: list[str] = []
    spec = obj.get("spec") or {}
    if kind.kind == "Deployment":
        wanted = (spec.get("selector") or {}).get("matchLabels") or {}
        labels = ((spec.get("template") or {}).get("metadata") or {}).get("labels") or {}
        if not wanted:
            causes.append("spec.selector: Required value")
        elif any(labels.get(k) != v for k, v in wanted.items()):
            causes.append(
                f"spec.template.metadata.labels: Invalid value: {labels!r}: "
                "`selector` does not match template `labels`"
            )
    if kind.kind == "ResourceQuota":
        for resource, amount in (spec.get("hard") or {}).items():
            if not QUANTITY.fullmatch(str(amount)):
                causes.append(
                    f'spec.hard[{resource}]: Invalid value: "{amount}": quantities must match '
                    "the regular expression '^([+-]?[0-9.]+)([eEinumkKMGTP]*[-+]?[0-9]*)$'"
                )
    if kind.kind == "Deployment":
        causes += strategy_errors(spec.get("strategy") or {})
        causes += pod_errors((spec.get("template") or {}).get("spec") or {}, "spec.template.spec")
    if kind.kind == "ComputeClass":
        causes += computeclass.rule_errors(obj)
    if kind is custom_resources.CRDS:
        causes += custom_resources.crd_errors(obj)
    if causes:
        raise Invalid(kind, name, causes)


PERCENT = re.compile(r"[0-9]+%")
NOT_PERCENT = (
    "a valid percent string must be a numeric string followed by an ending '%' "
    "(e.g. '1%',  or '93%', regex used for validation is '[0-9]+%')"
)


def strategy_errors(strategy: dict[str, Any]) -> list[str]:
    """ValidateDeploymentStrategy and ValidateRollingUpdateDeployment
    (pkg/apis/apps/validation; the API server's words as in
    https://github.com/spinnaker/spinnaker/issues/2944): `rollingUpdate` only with the
    RollingUpdate type (defaulted to 25%/25% when left out), maxSurge and maxUnavailable
    each a number >= 0 or a percent string, not both 0, maxUnavailable at most 100%."""
    at = "spec.strategy"
    kind = strategy.get("type") or "RollingUpdate"
    rolling = strategy.get("rollingUpdate")
    if kind == "Recreate":
        if rolling is None:
            return []
        return [
            f"{at}.rollingUpdate: Forbidden: may not be specified when strategy `type` is "
            "'Recreate'"
        ]
    if kind != "RollingUpdate":
        return [
            f'{at}.type: Unsupported value: "{kind}": supported values: "Recreate", "RollingUpdate"'
        ]
    causes = []
    amounts = {}
    for field in ("maxUnavailable", "maxSurge"):
        value = (rolling or {}).get(field, "25%")
        where = f"{at}.rollingUpdate.{field}"
        if isinstance(value, str) and not PERCENT.fullmatch(value):
            causes.append(f'{where}: Invalid value: "{value}": {NOT_PERCENT}')
        elif isinstance(value, int) and value < 0:
            causes.append(f"{where}: Invalid value: {value}: must be greater than or equal to 0")
        else:
            amounts[field] = int(str(value).rstrip("%"))
    if amounts.get("maxUnavailable") == 0 and amounts.get("maxSurge") == 0:
        causes.append(
            f"{at}.rollingUpdate.maxUnavailable: Invalid value: 0: may not be 0 when "
            "`maxSurge` is 0"
        )
    unavailable = (rolling or {}).get("maxUnavailable")
    if isinstance(unavailable, str) and amounts.get("maxUnavailable", 0) > 100:
        causes.append(
            f'{at}.rollingUpdate.maxUnavailable: Invalid value: "{unavailable}": must not be '
            "greater than 100%"
        )
    return causes


# Set on an init container, these make it a sidecar; otherwise they are refused there.
_SIDECAR_ONLY = ("lifecycle", "livenessProbe", "readinessProbe", "startupProbe")


def pod_errors(pod: dict[str, Any], at: str) -> list[str]:
    """The pod spec rules a schema cannot say (see the module's docstring)."""
    causes = []
    volumes = {v.get("name") for v in pod.get("volumes") or []}
    for i, ctr in enumerate(pod.get("initContainers") or []):
        where = f"{at}.initContainers[{i}]"
        policy = ctr.get("restartPolicy")
        if policy is not None and policy != "Always":
            causes.append(
                f'{where}.restartPolicy: Unsupported value: "{policy}": supported values: "Always"'
            )
        if policy != "Always":
            causes += [
                f"{where}.{f}: Forbidden: may not be set for init containers without "
                "restartPolicy=Always"
                for f in _SIDECAR_ONLY
                if f in ctr
            ]
        causes += _mount_errors(ctr, volumes, where)
    for i, ctr in enumerate(pod.get("containers") or []):
        where = f"{at}.containers[{i}]"
        if "restartPolicy" in ctr:
            causes.append(
                f"{where}.restartPolicy: Forbidden: may not be set for non-init containers"
            )
        causes += _mount_errors(ctr, volumes, where)
    return causes


def _mount_errors(ctr: dict[str, Any], volumes: set[Any], where: str) -> list[str]:
    return [
        f'{where}.volumeMounts[{j}].name: Not found: "{m.get("name")}"'
        for j, m in enumerate(ctr.get("volumeMounts") or [])
        if m.get("name") not in volumes
    ]
