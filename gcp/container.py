"""GKE's cluster API (container_v1): create, read and delete a cluster and its node pools,
poll their operations.

On the official client over REST, with the endpoint override every adapter shares
(gcp/clients.py). container_v1's operations are plain messages, not
long-running-operation futures: they are polled by their full name,
projects/P/locations/L/operations/ID, where the message's `name` is only the ID
(https://cloud.google.com/kubernetes-engine/docs/reference/rest/v1/projects.locations.operations).
"""

import json
from dataclasses import dataclass
from functools import cache
from typing import Any

from google.api_core import exceptions as gexc
from google.cloud import container_v1
from google.rpc import code_pb2

from gcp.clients import NO_RETRY, call_timeout, make_client
from gcp.operations import OperationState

Status = container_v1.Cluster.Status
OpStatus = container_v1.Operation.Status


@cache
def _client() -> container_v1.ClusterManagerClient:
    return make_client(container_v1.ClusterManagerClient)


@dataclass(frozen=True)
class ClusterInfo:
    status: str
    endpoint: str
    ca_certificate: str
    current_version: str
    workload_pool: str
    autopilot: bool
    release_channel: str
    labels: dict[str, str]
    status_message: str = ""
    # What GKE's Gateway and seed 004's monitoring need (a registered cluster is checked).
    gateway_api: str = ""
    vpc_native: bool = False
    http_load_balancing: bool = False
    managed_prometheus: bool = False
    monitoring: tuple[str, ...] = ()


def _parent_of(name: str) -> str:
    return name.split("/clusters/", 1)[0]


def create_cluster(*, parent: str, body: dict[str, Any]) -> str:
    """Start creating the cluster the plan describes; the operation's full name."""
    cluster = container_v1.Cluster.from_json(json.dumps(body["cluster"]))
    op = _client().create_cluster(
        request={"parent": parent, "cluster": cluster}, retry=NO_RETRY, timeout=call_timeout()
    )
    return f"{parent}/operations/{op.name}"


def get_cluster(name: str) -> ClusterInfo:
    c = _client().get_cluster(request={"name": name}, retry=NO_RETRY, timeout=call_timeout())
    channel = container_v1.ReleaseChannel.Channel(c.release_channel.channel)
    return ClusterInfo(
        status=Status(c.status).name,
        endpoint=c.endpoint,
        ca_certificate=c.master_auth.cluster_ca_certificate,
        current_version=c.current_master_version,
        workload_pool=c.workload_identity_config.workload_pool,
        autopilot=bool(c.autopilot.enabled),
        release_channel="" if channel == channel.UNSPECIFIED else channel.name,
        labels=dict(c.resource_labels),
        status_message=c.status_message,
        gateway_api=_gateway_channel(c),
        vpc_native=bool(c.ip_allocation_policy.use_ip_aliases),
        http_load_balancing=not c.addons_config.http_load_balancing.disabled,
        managed_prometheus=bool(c.monitoring_config.managed_prometheus_config.enabled),
        monitoring=tuple(
            container_v1.MonitoringComponentConfig.Component(x).name
            for x in c.monitoring_config.component_config.enable_components
        ),
    )


def _gateway_channel(c: container_v1.Cluster) -> str:
    if c.autopilot.enabled:  # GKE's Gateway is always on in Autopilot
        return "CHANNEL_STANDARD"
    channel = container_v1.GatewayAPIConfig.Channel(c.network_config.gateway_api_config.channel)
    return "" if channel == channel.CHANNEL_UNSPECIFIED else channel.name


def delete_cluster(name: str) -> str | None:
    """Start deleting the cluster; the operation's full name, or None if it was gone."""
    try:
        op = _client().delete_cluster(
            request={"name": name}, retry=NO_RETRY, timeout=call_timeout()
        )
    except gexc.NotFound:
        return None
    return f"{_parent_of(name)}/operations/{op.name}"


def is_busy(exc: Exception) -> bool:
    """GKE runs one operation per cluster at a time; a second one is FAILED_PRECONDITION,
    which arrives over REST as HTTP 400 (BadRequest), told apart by its status name."""
    if isinstance(exc, gexc.FailedPrecondition):
        return True
    response = getattr(exc, "response", None)
    if not isinstance(exc, gexc.BadRequest) or response is None:
        return False
    try:
        return bool(response.json()["error"]["status"] == "FAILED_PRECONDITION")
    except (ValueError, KeyError, TypeError):
        return False


def operation_state(name: str) -> OperationState:
    op = _client().get_operation(request={"name": name}, retry=NO_RETRY, timeout=call_timeout())
    if op.status != OpStatus.DONE:
        return OperationState(done=False, status=OpStatus(op.status).name)
    if op.error and op.error.code:
        name = code_pb2.Code.Name(op.error.code)
        return OperationState(done=True, error=f"{name}: {op.error.message}", code=name)
    return OperationState(done=True)


def create_node_pool(*, parent: str, body: dict[str, Any]) -> str:
    """Start creating the node pool the plan describes on cluster `parent`; the operation's
    full name. GKE refuses it (FAILED_PRECONDITION, see is_busy) while another operation
    runs on the cluster."""
    pool = container_v1.NodePool.from_json(json.dumps(body["nodePool"]))
    op = _client().create_node_pool(
        request={"parent": parent, "node_pool": pool}, retry=NO_RETRY, timeout=call_timeout()
    )
    return f"{_parent_of(parent)}/operations/{op.name}"


def node_pool_status(name: str) -> str | None:
    """The pool's status (RUNNING, PROVISIONING, ...), or None when there is none."""
    try:
        pool = _client().get_node_pool(
            request={"name": name}, retry=NO_RETRY, timeout=call_timeout()
        )
    except gexc.NotFound:
        return None
    return str(container_v1.NodePool.Status(pool.status).name)


def node_pool_labels(name: str) -> tuple[str, dict[str, str]] | None:
    """The pool's status and the labels it puts on its nodes' VMs (`config.resourceLabels`,
    where Hangar writes its owner), or None when there is none."""
    try:
        pool = _client().get_node_pool(
            request={"name": name}, retry=NO_RETRY, timeout=call_timeout()
        )
    except gexc.NotFound:
        return None
    status = str(container_v1.NodePool.Status(pool.status).name)
    return status, {**dict(pool.config.labels), **dict(pool.config.resource_labels)}


def delete_node_pool(name: str) -> str | None:
    """Start deleting the node pool; the operation's full name, or None if it was gone."""
    try:
        op = _client().delete_node_pool(
            request={"name": name}, retry=NO_RETRY, timeout=call_timeout()
        )
    except gexc.NotFound:
        return None
    return f"{_parent_of(name)}/operations/{op.name}"
