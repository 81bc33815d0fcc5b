"""The CRDs' `x-kubernetes-validations` rules (CEL) that Hangar's objects can break.

The API server evaluates every rule of a schema node the object has, and refuses with
`PATH: Invalid value: "TYPE": MESSAGE`
(https://kubernetes.io/docs/tasks/extend-kubernetes/custom-resources/custom-resource-definitions/#validation-rules).
No CEL runtime fits here (the pure-Python one pins python-dateutil 4, which Celery
refuses), so each rule the sandbox enforces is written once in Python, keyed by the
rule's exact text in the CRD: a CRD whose rule changes stops matching and is then not
enforced, never enforced wrongly. The rules kept are those on the fields Hangar writes:
the InferencePool's endpoint picker port, the Gateway's listeners, the HTTPRoute's
paths and Service backends. Rules on fields Hangar never sets (filters, TLS options,
addresses, timeouts) are left to the real API server.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

Check = Callable[[Any], bool]


def _listeners_unique_names(ls: list[dict[str, Any]]) -> bool:
    names = [x.get("name") for x in ls]
    return len(names) == len(set(names))


def _path_rule(test: Callable[[str], bool]) -> Check:
    def check(path: dict[str, Any]) -> bool:
        if path.get("type") not in ("Exact", "PathPrefix"):
            return True
        return test(str(path.get("value", "")))

    return check


_EXACT_OR_PREFIX = "(self.type in ['Exact','PathPrefix']) ? "
_RULES: dict[str, Check] = {
    # gateway-api-inference-extension v1.0.0, InferencePool spec.endpointPickerRef
    "self.kind != 'Service' || has(self.port)": lambda ref: (
        ref.get("kind") != "Service" or "port" in ref
    ),
    # gateway-api v1.4.1, Gateway spec.listeners
    "self.all(l, l.protocol in ['HTTP', 'TCP', 'UDP'] ? !has(l.tls) : true)": lambda ls: all(
        x.get("protocol") not in ("HTTP", "TCP", "UDP") or "tls" not in x for x in ls
    ),
    "self.all(l1, self.exists_one(l2, l1.name == l2.name))": _listeners_unique_names,
    "self.all(l, l.protocol in ['TCP', 'UDP']  ? (!has(l.hostname) || l.hostname == '') : true)": (
        lambda ls: all(x.get("protocol") not in ("TCP", "UDP") or not x.get("hostname") for x in ls)
    ),
    # gateway-api v1.4.1, HTTPRoute spec.rules[].backendRefs[] and matches[].path
    "(size(self.group) == 0 && self.kind == 'Service') ? has(self.port) : true": lambda ref: (
        ref.get("group", "") != "" or ref.get("kind") != "Service" or "port" in ref
    ),
    _EXACT_OR_PREFIX + "self.value.startsWith('/') : true": _path_rule(lambda v: v.startswith("/")),
    _EXACT_OR_PREFIX + "!self.value.contains('//') : true": _path_rule(lambda v: "//" not in v),
    _EXACT_OR_PREFIX + "!self.value.contains('/./') : true": _path_rule(lambda v: "/./" not in v),
    _EXACT_OR_PREFIX + "!self.value.contains('/../') : true": _path_rule(lambda v: "/../" not in v),
    _EXACT_OR_PREFIX + "!self.value.contains('#') : true": _path_rule(lambda v: "#" not in v),
}
# Keyed by the rule's text with its whitespace collapsed (the CRDs wrap long rules).
RULES = {" ".join(rule.split()): check for rule, check in _RULES.items()}


def errors(schema: dict[str, Any], value: Any, where: str) -> list[str]:
    """The messages of the node's rules that `value` breaks (those enforced here)."""
    out = []
    for rule in schema.get("x-kubernetes-validations") or []:
        check = RULES.get(" ".join(str(rule.get("rule", "")).split()))
        if check is None or check(value):
            continue
        shown = "object" if isinstance(value, dict) else "array"
        message = rule.get("message") or f"failed rule: {rule['rule']}"
        out.append(f'{where}: Invalid value: "{shown}": {message}')
    return out
