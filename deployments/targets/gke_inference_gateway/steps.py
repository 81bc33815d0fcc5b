"""The steps this target needs beyond applying and deleting objects (kube_steps.py): the
Hugging Face token's Secret, filled at rollout from Secret Manager, the wait for the
Gateway to be programmed and its route accepted, and calls through the Gateway."""

import json
import shlex
from typing import Any

from deployments.targets.kube_steps import DEVELOPER, ROLLOUT_DEADLINE, object_path
from runbook.ownership import owner_keys_of
from runbook.plan import ApiRequest, Deadline, Step

# The portal's identity reads the team's token to put it in the cluster.
SECRET_ACCESSOR = "roles/secretmanager.secretAccessor"  # noqa: S105 - a role name


def apply_hf_secret_step(*, cluster: int, manifest: dict[str, Any], secret: str, key: str) -> Step:
    """Server-side apply the Secret with `key` = the latest version of `secret` (a Secret
    Manager name). The plan holds the manifest without data and the secret's name only:
    the executor reads the value when it runs, and it goes nowhere else."""
    meta = manifest["metadata"]
    return Step(
        key="apply_hf_token_secret",
        title="Put the team's Hugging Face token into a Kubernetes Secret",
        action="kube.apply_secret_from_secret_manager",
        request=ApiRequest("kubernetes", "PATCH", object_path(manifest), manifest),
        cli=(
            f"kubectl -n {meta['namespace']} create secret generic {meta['name']} "
            f'--from-literal={key}="$(gcloud secrets versions access latest --secret={secret})" '
            "--dry-run=client -o yaml | kubectl apply --server-side --field-manager=hangar -f -"
        ),
        required_role=SECRET_ACCESSOR,
        params={
            "cluster": cluster,
            "api_version": manifest["apiVersion"],
            "kind": manifest["kind"],
            "name": meta["name"],
            "namespace": meta["namespace"],
            "owner": owner_keys_of(meta.get("labels")),
            "secret": secret,
            "secret_key": key,
        },
    )


# No Google page states how long GKE takes to program a Gateway's load balancer, and seed
# 004 (/work/shared/seeds/) applies its Gateway without any wait: the 30 minutes Hangar
# has given it from the start, the same as a model server's rollout (kube_steps.py) and
# the step's own `kubectl wait --timeout=1800s`.
GATEWAY_DEADLINE = Deadline(
    ROLLOUT_DEADLINE.seconds,
    "Hangar's own figure (no Google page states how long GKE takes to program a Gateway's "
    "load balancer; seed 004 does not wait for it): as long as a model server's rollout",
)


def wait_gateway_step(
    *, cluster: int, namespace: str, gateway: str, route: str, external: bool = False
) -> Step:
    """Wait (polled) until the Gateway is Programmed with an address and the HTTPRoute is
    Accepted with its references resolved; the address is the step's output. `external`:
    the Gateway's class is an external one, so its address is public, not the VPC's."""
    path = f"/apis/gateway.networking.k8s.io/v1/namespaces/{namespace}/gateways/{gateway}"
    return Step(
        key="wait_gateway",
        title=f"Wait for the Gateway {gateway} to be Programmed and its route Accepted",
        action="kube.wait_gateway",
        request=ApiRequest("kubernetes", "GET", path),
        cli=(
            f"kubectl -n {namespace} wait --for=condition=Programmed "
            f"--timeout={GATEWAY_DEADLINE.seconds:.0f}s gateway/{gateway} "
            f"&& kubectl -n {namespace} get httproute/{route} "
            "-o jsonpath='{.status.parents[*].conditions}'"
        ),
        required_role=DEVELOPER,
        params={
            "cluster": cluster,
            "namespace": namespace,
            "gateway": gateway,
            "route": route,
            "external": external,
            "deadline": GATEWAY_DEADLINE.as_param(),
        },
    )


def call_gateway(
    *,
    key: str,
    title: str,
    action: str,
    path: str,
    body: dict[str, object] | None = None,
    headers: dict[str, str] | None = None,
) -> Step:
    """A request to the model servers through the Gateway's address (the rollout output the
    target's endpoint names), from inside the VPC: no credential (GatewayInVpc). `headers`:
    the objective of the model it asks for, as the playground sends it."""
    sent = "".join(f" -H {shlex.quote(f'{k}: {v}')}" for k, v in (headers or {}).items())
    data = (
        ""
        if body is None
        else f" -H 'Content-Type: application/json' -d {shlex.quote(json.dumps(body))}"
    )
    return Step(
        key=key,
        title=title,
        action=action,
        request=ApiRequest(
            "endpoint", "GET" if body is None else "POST", path, body, dict(headers or {})
        ),
        cli=f"curl http://GATEWAY_ADDRESS{path}{sent}{data}  # from a machine in the cluster's VPC",
        required_role="",  # no Google API: the VPC is what lets the caller in
    )
