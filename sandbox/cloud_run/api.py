"""Cloud Run Admin v2 services, their revisions and IAM policies."""

from __future__ import annotations

import base64
import secrets
import string
import uuid
from typing import TYPE_CHECKING, Any

from google.cloud import run_v2
from google.iam.v1 import iam_policy_pb2
from google.protobuf import duration_pb2, field_mask_pb2
from google.protobuf.message import Message

from sandbox.cloud_run import runtime as run_runtime
from sandbox.cloud_run import validation
from sandbox.cloud_run.instances import RunInstances
from sandbox.cloud_run.store import Revision, RunStore, StoredService
from sandbox.core import errors
from sandbox.core.clock import timestamp_now
from sandbox.core.operations import OperationFailed
from sandbox.core.routing import ApiCall, Handler, Route
from sandbox.core.validation import REGIONS, paginate
from sandbox.iam import act_as, policies

if TYPE_CHECKING:
    pass

Service = run_v2.Service.pb()
Condition = run_v2.Condition.pb()
CState = Condition.State
TrafficTarget = run_v2.TrafficTarget.pb()
LATEST = run_v2.TrafficTargetAllocationType.TRAFFIC_TARGET_ALLOCATION_TYPE_LATEST


def _not_found(name: str) -> errors.ApiError:
    parts = name.split("/")
    return errors.not_found(
        f"Resource '{parts[-1]}' of kind 'SERVICE' in region '{parts[3]}' in project "
        f"'{parts[1]}' does not exist."
    )


def _get(call: ApiCall, name: str) -> StoredService:
    stored = call.state.store(RunStore).services.get(name)
    if stored is None:
        raise _not_found(name)
    return stored


def _etag() -> str:
    return '"' + base64.urlsafe_b64encode(secrets.token_bytes(9)).decode() + '"'


def _condition(kind: str, state: int, message: str = "") -> Message:
    cond = Condition(type_=kind, state=state, message=message)
    cond.last_transition_time.CopyFrom(timestamp_now())
    return cond


def _resolve(call: ApiCall, svc: Message) -> Revision:
    """Pin the revision's image now, as Cloud Run resolves tags to digests at deploy."""
    stored_name = svc.name
    seq = (
        call.state.store(RunStore).services[stored_name].revisions + 1
        if stored_name in call.state.store(RunStore).services
        else 1
    )
    suffix = "".join(secrets.choice(string.ascii_lowercase) for _ in range(3))
    service_id = stored_name.rsplit("/", 1)[1]
    name = f"{stored_name}/revisions/{service_id}-{seq:05d}-{suffix}"
    runtime = run_runtime.inspect(call.state, svc.template)
    return Revision(
        name, runtime.image, runtime.model, runtime.error, runtime.server, runtime.max_model_len
    )


def _apply_defaults(svc: Message) -> None:
    template = svc.template
    if not template.HasField("timeout"):
        template.timeout.CopyFrom(duration_pb2.Duration(seconds=300))
    if not template.max_instance_request_concurrency:
        template.max_instance_request_concurrency = 80
    if not template.scaling.max_instance_count:
        template.scaling.max_instance_count = 100
    for container in template.containers:
        if not container.resources.limits:
            container.resources.limits.update({"cpu": "1000m", "memory": "512Mi"})
    ingress = [c for c in template.containers if len(c.ports)]
    if not ingress:
        template.containers[0].ports.add(name="http1", container_port=8080)
    if not svc.ingress:
        svc.ingress = run_v2.IngressTraffic.INGRESS_TRAFFIC_ALL
    if not svc.launch_stage:
        svc.launch_stage = 4  # GA
    if not len(svc.traffic):
        svc.traffic.add(type_=LATEST, percent=100)


def _deploy(call: ApiCall, stored: StoredService, svc: Message) -> Message:
    """Start reconciling a new generation of `svc`; returns the operation."""
    state = call.state
    revision = _resolve(call, svc)
    _start_reconciling(stored, svc, revision)
    generation = svc.generation
    parent = svc.name.split("/services/")[0]

    def snapshot() -> Message:
        out = Service()
        out.CopyFrom(stored.pb)
        return out

    def current() -> StoredService | None:
        now_stored = state.store(RunStore).services.get(svc.name)
        if now_stored is not stored or stored.pb.generation != generation:
            return None  # deleted or superseded: a newer operation owns the status
        return stored

    def fail(code: int, message: str) -> None:
        target = current()
        if target is not None:
            target.pb.reconciling = False
            target.pb.observed_generation = generation
            target.pb.terminal_condition.CopyFrom(
                _condition("Ready", CState.CONDITION_FAILED, message)
            )

    def finish() -> Message:
        target = current()
        if target is None:
            return snapshot()
        if revision.image_error:
            fail(3, revision.image_error)
            raise OperationFailed(3, revision.image_error)
        location, service_id = parent.split("/")[3], target.pb.name.rsplit("/", 1)[1]
        uri = f"{state.base_url}/_run/{call.config.project}/{location}/{service_id}"
        _mark_ready(target, revision, generation, uri)
        state.store(RunInstances).serving(target.pb.name, target.pb)
        return snapshot()

    return call.new_operation(parent, snapshot, finish, on_error=fail).to_pb()


def _start_reconciling(stored: StoredService, svc: Message, revision: Revision) -> None:
    stored.revisions += 1
    stored.pending = revision
    svc.latest_created_revision = revision.name
    svc.reconciling = True
    svc.etag = _etag()
    svc.terminal_condition.CopyFrom(_condition("Ready", CState.CONDITION_RECONCILING))
    del svc.conditions[:]
    stored.pb = svc


def _mark_ready(target: StoredService, revision: Revision, generation: int, uri: str) -> None:
    """The service as Cloud Run shows it once `revision` serves all traffic at `uri`."""
    pb = target.pb
    pb.reconciling = False
    pb.observed_generation = generation
    pb.latest_ready_revision = revision.name
    pb.uri = uri
    del pb.urls[:]
    pb.urls.append(uri)
    pb.terminal_condition.CopyFrom(_condition("Ready", CState.CONDITION_SUCCEEDED))
    for kind in ("RoutesReady", "ConfigurationsReady"):
        pb.conditions.append(_condition(kind, CState.CONDITION_SUCCEEDED))
    del pb.traffic_statuses[:]
    pb.traffic_statuses.add(type_=LATEST, percent=100)
    target.serving = revision
    target.warm_at = None


def _prepare(call: ApiCall, svc: Message, name: str) -> None:
    location = name.split("/")[3]
    validation.check_service(svc, location)
    run_runtime.check_service_account(call.state, svc.template)
    svc.name = name
    _apply_defaults(svc)


def create_service(call: ApiCall) -> Message:
    parent = call.fields["parent"]
    validation.check_service_id(call.query.service_id)
    svc = call.body(Service())
    name = f"{parent}/services/{call.query.service_id}"
    _prepare(call, svc, name)
    if name in call.state.store(RunStore).services:
        raise errors.ApiError(
            "ALREADY_EXISTS", f"Resource '{call.query.service_id}' already exists."
        )
    if call.query.validate_only:
        return _validated(svc)
    return _create(call, svc)


def _create(call: ApiCall, svc: Message) -> Message:
    svc.uid = str(uuid.uuid4())
    svc.generation = 1
    stamp = timestamp_now()
    svc.create_time.CopyFrom(stamp)
    svc.update_time.CopyFrom(stamp)
    svc.creator = svc.last_modifier = call.config.service_account
    stored = StoredService(svc)
    call.state.store(RunStore).services[svc.name] = stored
    return _deploy(call, stored, svc)


def _validated(svc: Message) -> Message:
    from google.longrunning import operations_pb2

    op = operations_pb2.Operation(name="validate-only", done=True)
    op.response.Pack(svc)
    op.metadata.Pack(svc)
    return op


OUTPUT_ONLY = (
    "uid",
    "generation",
    "create_time",
    "update_time",
    "delete_time",
    "expire_time",
    "creator",
    "last_modifier",
    "observed_generation",
    "terminal_condition",
    "conditions",
    "latest_ready_revision",
    "latest_created_revision",
    "traffic_statuses",
    "uri",
    "urls",
    "reconciling",
    "satisfies_pzs",
)


def update_service(call: ApiCall) -> Message:
    name = call.fields["service.name"]
    request = call.query
    incoming = call.body(Service())
    existing = call.state.store(RunStore).services.get(name)
    if existing is None:
        if not request.allow_missing:
            raise _not_found(name)
        _prepare(call, incoming, name)
        return _validated(incoming) if request.validate_only else _create(call, incoming)
    if incoming.etag and incoming.etag != existing.pb.etag:
        raise errors.ApiError(
            "ABORTED", "The etag provided does not match the current resource etag."
        )
    svc = Service()
    svc.CopyFrom(existing.pb)
    if request.HasField("update_mask") and request.update_mask.paths:
        mask: field_mask_pb2.FieldMask = request.update_mask
        if not mask.IsValidForDescriptor(Service.DESCRIPTOR):
            raise errors.invalid(f"Invalid update_mask: {','.join(mask.paths)}", "update_mask")
        mask.MergeMessage(incoming, svc, replace_message_field=True, replace_repeated_field=True)
    else:
        for fd in Service.DESCRIPTOR.fields:
            if fd.name not in OUTPUT_ONLY and fd.name != "etag":
                svc.ClearField(fd.name)
        kept = Service()
        kept.CopyFrom(incoming)
        for fd in Service.DESCRIPTOR.fields:
            if fd.name in OUTPUT_ONLY or fd.name in ("name", "etag"):
                kept.ClearField(fd.name)
        svc.MergeFrom(kept)
    _prepare(call, svc, name)
    if request.validate_only:
        return _validated(svc)
    svc.generation += 1
    svc.update_time.CopyFrom(timestamp_now())
    svc.last_modifier = call.config.service_account
    return _deploy(call, existing, svc)


def get_service(call: ApiCall) -> Message:
    return _get(call, call.fields["name"]).pb


def list_services(call: ApiCall) -> Message:
    parent = call.fields["parent"]
    project, location = parent.split("/")[1], parent.split("/")[3]
    items = [
        s.pb
        for n, s in sorted(call.state.store(RunStore).services.items())
        if n.split("/")[1] == project and (location == "-" or n.split("/")[3] == location)
    ]
    page, token = paginate(items, call.query.page_size, call.query.page_token)
    return run_v2.ListServicesResponse.pb()(services=page, next_page_token=token)


def delete_service(call: ApiCall) -> Message:
    name = call.fields["name"]
    stored = _get(call, name)
    if call.query.etag and call.query.etag != stored.pb.etag:
        raise errors.ApiError(
            "ABORTED", "The etag provided does not match the current resource etag."
        )
    if call.query.validate_only:
        return _validated(stored.pb)
    del call.state.store(RunStore).services[name]
    call.state.store(RunInstances).deleted(name)
    svc = stored.pb
    svc.delete_time.CopyFrom(timestamp_now())
    svc.reconciling = True
    parent = name.split("/services/")[0]
    return call.new_operation(parent, lambda: svc, lambda: svc).to_pb()


def get_iam_policy(call: ApiCall) -> Message:
    stored = _get(call, call.fields["resource"])
    return policies.read_policy(stored.policy, call.query.options.requested_policy_version)


def set_iam_policy(call: ApiCall) -> Message:
    stored = _get(call, call.fields["resource"])
    request = call.body(iam_policy_pb2.SetIamPolicyRequest())
    act_as.check_usable(call.state, [m for b in request.policy.bindings for m in b.members])
    stored.policy = policies.replace_policy(stored.policy, request.policy, policies.RUN_ROLES)
    return stored.policy


def test_iam_permissions(call: ApiCall) -> Message:
    _get(call, call.fields["resource"])
    request = call.body(iam_policy_pb2.TestIamPermissionsRequest())
    granted = [p for p in request.permissions if p.startswith("run.")]
    return iam_policy_pb2.TestIamPermissionsResponse(permissions=granted)


# A route table, one entry per endpoint: it stays whole so it reads as one.
def routes() -> list[Route]:
    svc = "run.googleapis.com"
    locs = REGIONS
    name = "/v2/{%s=projects/*/locations/*/services/*}"

    def r(
        method: str, template: str, handler: Handler, request: Any, perm: str, **kw: Any
    ) -> Route:
        req = request.pb() if hasattr(request, "pb") else request
        return Route(method, template, handler, req, perm, svc, kw.pop("locs", locs), **kw)

    return [
        r(
            "GET",
            (name % "resource") + ":getIamPolicy",
            get_iam_policy,
            iam_policy_pb2.GetIamPolicyRequest,
            "run.services.getIamPolicy",
        ),
        r(
            "POST",
            (name % "resource") + ":setIamPolicy",
            set_iam_policy,
            iam_policy_pb2.SetIamPolicyRequest,
            "run.services.setIamPolicy",
            body="*",
        ),
        r(
            "POST",
            (name % "resource") + ":testIamPermissions",
            test_iam_permissions,
            iam_policy_pb2.TestIamPermissionsRequest,
            "run.services.get",
            body="*",
        ),
        r(
            "POST",
            "/v2/{parent=projects/*/locations/*}/services",
            create_service,
            run_v2.CreateServiceRequest,
            "run.services.create",
            body="service",
            creates=("services", "serviceId"),
        ),
        r(
            "GET",
            "/v2/{parent=projects/*/locations/*}/services",
            list_services,
            run_v2.ListServicesRequest,
            "run.services.list",
            locs=locs | {"-"},
        ),
        r("GET", name % "name", get_service, run_v2.GetServiceRequest, "run.services.get"),
        r(
            "PATCH",
            name % "service.name",
            update_service,
            run_v2.UpdateServiceRequest,
            "run.services.update",
            body="service",
        ),
        r(
            "DELETE",
            name % "name",
            delete_service,
            run_v2.DeleteServiceRequest,
            "run.services.delete",
        ),
    ]
