"""What a sandbox cluster's API server holds, and how apply, read and delete change it.

Server-side apply (https://kubernetes.io/docs/reference/using-api/server-side-apply/):
the applied configuration is the manager's whole intent for the object: fields it set
before and leaves out now are removed; the server keeps what it owns (uid,
resourceVersion, generation, creation time, status). Another manager's object is a
409 conflict unless the apply forces it. `generation` moves when the spec changes.

Deletion (https://kubernetes.io/docs/concepts/overview/working-with-objects/finalizers/):
a namespace (finalizer `kubernetes`), a CRD (`customresourcecleanup`: its objects go
with it), a Gateway (GKE's finalizer holds it while the load balancer is torn down) and
anything deleted in the foreground (`foregroundDeletion`) is marked with a
deletionTimestamp and goes only after the sandbox's operation delay; a namespace takes
everything in it along. Other deletions are immediate.

The kinds served are the built-in ones plus those of the CRDs applied (custom_resources.py),
and, as GKE installs them, the Gateway API's (gateway.py).
"""

from __future__ import annotations

import base64
import copy
import datetime
import heapq
import itertools
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from sandbox.kube import custom_resources, gateway, node_controller, nodes, workloads
from sandbox.kube.resources import BY_PLURAL, Kind
from sandbox.kube.status import WorkloadsMixin

if TYPE_CHECKING:
    from sandbox.core.state import State

Key = tuple[str, str, str, str]  # group, plural, namespace ("" when cluster-scoped), name
SERVER_METADATA = ("uid", "resourceVersion", "generation", "creationTimestamp")
NAMESPACES = BY_PLURAL[("", "v1", "namespaces")]
SERVICE_ACCOUNTS = BY_PLURAL[("", "v1", "serviceaccounts")]
# Finalizers that hold an object for the operation delay, whatever the propagation.
SLOW_FINALIZERS = {
    (
        custom_resources.CRDS.group,
        custom_resources.CRDS.plural,
    ): "customresourcecleanup.apiextensions.k8s.io",
    (gateway.GROUP, "gateways"): gateway.FINALIZER,
}


def now_rfc3339() -> str:
    return datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


class KubeError(Exception):
    """A refusal, as the API server's Status: HTTP code, reason, message."""

    def __init__(self, code: int, reason: str, message: str, **details: Any) -> None:
        super().__init__(message)
        self.code = code
        self.reason = reason
        self.message = message
        self.details = details


def not_found(kind: Kind, name: str) -> KubeError:
    return KubeError(
        404, "NotFound", f'{kind.qualified} "{name}" not found', name=name, kind=kind.plural
    )


@dataclass
class Stored:
    obj: dict[str, Any]
    manager: str
    gone_at: float | None = None


class KubeStore(WorkloadsMixin):
    def __init__(self, state: State, cluster: str, spec: Callable[[], Any]) -> None:
        self.state = state
        self.cluster = cluster
        # The cluster as GKE describes it now (its container_v1 Cluster; None once deleted):
        # Autopilot or Standard, its node pools, workload pool, Gateway API channel.
        self.cluster_spec = spec
        self.objects: dict[Key, Stored] = {}
        self._version = 1
        # What happens later (pods scheduled, ready, crashing; events), by due time.
        self._timeline: list[tuple[float, int, Callable[[], None]]] = []
        self._order = itertools.count()
        # Per Deployment (namespace, name): when its rollout started, when it became
        # available, why pods could not be created.
        self.workloads: dict[tuple[str, str], dict[str, Any]] = {}
        # What a container printed, by (pod uid, container name): sandbox/kube/logs.py.
        self.container_logs: dict[tuple[str, str], list[str]] = {}
        # Node name: when (sandbox clock) it last hosted no pod (sandbox/kube/nodes.py).
        self.unneeded_since: dict[str, float] = {}
        # What the server serves now: built-in kinds, then those of the CRDs applied.
        self.kinds: dict[tuple[str, str, str], Kind] = dict(BY_PLURAL)
        self.schemas: dict[Kind, dict[str, Any]] = {}
        for ns in ("default", "kube-system", "kube-public"):
            namespace = {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": ns}}
            self._create(NAMESPACES, None, namespace, "kube-apiserver")
        gateway.install(self)

    # -- custom resources ------------------------------------------------------------

    def _register(self, crd: dict[str, Any]) -> None:
        self._unregister(crd, keep_objects=True)
        for kind, schema in custom_resources.served(crd):
            self.kinds[(kind.group, kind.version, kind.plural)] = kind
            self.schemas[kind] = schema

    def _unregister(self, crd: dict[str, Any], *, keep_objects: bool = False) -> None:
        group, plural = crd["spec"]["group"], crd["spec"]["names"]["plural"]
        for key, kind in list(self.kinds.items()):
            if kind.group == group and kind.plural == plural:
                del self.kinds[key]
                self.schemas.pop(kind, None)
        if not keep_objects:
            for gone in [k for k in self.objects if k[0] == group and k[1] == plural]:
                del self.objects[gone]

    # -- time ------------------------------------------------------------------------

    def later(self, at: float, effect: Callable[[], None]) -> None:
        """Run `effect` at the first request served at or after `at`."""
        heapq.heappush(self._timeline, (at, next(self._order), effect))

    def settle(self, now: float | None = None) -> None:
        """Play out what is due by now: timeline effects, then finished deletions."""
        now = time.time() if now is None else now
        while self._timeline and self._timeline[0][0] <= now:
            _, _, effect = heapq.heappop(self._timeline)
            effect()
        self._refresh_deployments(now)
        gateway.refresh(self, now)
        self.collect_garbage()
        for key, stored in list(self.objects.items()):
            if stored.gone_at is not None and stored.gone_at <= now and key in self.objects:
                if self._dependents(stored.obj["metadata"].get("uid")):
                    continue  # foreground: the owner goes after its dependents
                del self.objects[key]
                if key[:2] == (custom_resources.CRDS.group, custom_resources.CRDS.plural):
                    self._unregister(stored.obj)
                if key[1] == "namespaces":
                    for inner in [k for k in self.objects if k[2] == key[3]]:
                        del self.objects[inner]
                if key[1] == "deployments":
                    self.drop_pods(key[2], key[3])
        nodes.refresh(self)
        node_controller.observe(self)

    # -- garbage collection ----------------------------------------------------------
    # https://kubernetes.io/docs/concepts/architecture/garbage-collection/#cascading-deletion:
    # Background deletes the owner at once and the collector then deletes every object
    # whose owners (ownerReferences, by uid) are all gone; Foreground marks the owner
    # (deletionTimestamp, finalizer foregroundDeletion), deletes its dependents, then the
    # owner; Orphan removes the owner's references from its dependents, which stay.

    def _dependents(self, uid: Any) -> list[Key]:
        return [
            key
            for key, stored in self.objects.items()
            if any(r.get("uid") == uid for r in stored.obj["metadata"].get("ownerReferences") or [])
        ]

    def _orphan(self, uid: str) -> None:
        for key in self._dependents(uid):
            meta = self.objects[key].obj["metadata"]
            meta["ownerReferences"] = [r for r in meta["ownerReferences"] if r.get("uid") != uid]
            if not meta["ownerReferences"]:
                del meta["ownerReferences"]
            meta["resourceVersion"] = self._next_version()

    def collect_garbage(self) -> None:
        for _ in range(8):  # owners of owners: a pass per generation
            alive = {s.obj["metadata"].get("uid") for s in self.objects.values()}
            doomed = {
                s.obj["metadata"].get("uid")
                for s in self.objects.values()
                if "foregroundDeletion" in (s.obj["metadata"].get("finalizers") or [])
            }
            garbage = [
                key
                for key, stored in self.objects.items()
                if (refs := stored.obj["metadata"].get("ownerReferences"))
                and stored.gone_at is None
                and (
                    all(r.get("uid") not in alive for r in refs)
                    or any(r.get("uid") in doomed for r in refs)
                )
            ]
            if not garbage:
                return
            for key in garbage:
                kind = self._kind_of(key)
                if kind is None:
                    del self.objects[key]
                else:
                    self.delete(kind, key[2] or None, key[3], "Background")

    def _kind_of(self, key: Key) -> Kind | None:
        return next(
            (k for k in self.kinds.values() if (k.group, k.plural) == key[:2]),
            None,
        )

    def pending(self) -> bool:
        """Whether anything is still to happen later (a pod's next move)."""
        return bool(self._timeline)

    def settle_all(self, limit: int) -> None:
        """Play out everything still to happen, in order, as if its time had come (a
        sandbox restarting: sandbox/server/snapshot.py); at most `limit` effects (pods
        that crash keep scheduling their restart), the rest dropped."""
        for _ in range(limit):
            if not self._timeline:
                break
            _, _, effect = heapq.heappop(self._timeline)
            effect()
        self._timeline.clear()
        self.settle()

    def _next_version(self) -> str:
        self._version += 1
        return str(self._version)

    def fresh_version(self) -> str:
        """A new resourceVersion, for a change made outside a write (sandbox/kube/watch.py)."""
        return self._next_version()

    def current_version(self) -> str:
        return str(self._version)

    # -- reads -----------------------------------------------------------------------

    def get(self, kind: Kind, namespace: str | None, name: str) -> dict[str, Any]:
        stored = self.objects.get((kind.group, kind.plural, namespace or "", name))
        if stored is None:
            raise not_found(kind, name)
        return stored.obj

    def list(self, kind: Kind, namespace: str | None) -> list[dict[str, Any]]:
        return [
            s.obj
            for (group, plural, ns, _), s in sorted(self.objects.items())
            if group == kind.group
            and plural == kind.plural
            and (namespace is None or ns == namespace)
        ]

    # -- writes ----------------------------------------------------------------------

    def _namespace_ready(self, namespace: str) -> None:
        stored = self.objects.get(("", "namespaces", "", namespace))
        if stored is None:
            raise not_found(NAMESPACES, namespace)
        if stored.gone_at is not None:
            raise KubeError(
                403,
                "Forbidden",
                f"unable to create new content in namespace {namespace} because it is being "
                "terminated",
            )

    def apply(
        self, kind: Kind, namespace: str | None, applied: dict[str, Any], manager: str, force: bool
    ) -> tuple[dict[str, Any], bool]:
        """Store `applied` as `manager`'s intent; the object and whether it is new."""
        name = applied["metadata"]["name"]
        stored = self.objects.get((kind.group, kind.plural, namespace or "", name))
        if stored is None:
            return self.create(kind, namespace, applied, manager, "Apply"), True
        changed = _changed_fields(applied, stored.obj)
        if stored.manager != manager and not force and changed:
            # A field another manager set, given another value, conflicts; the same
            # value does not (server-side-apply/#conflicts). Field ownership is kept
            # per object here, not per field.
            raise KubeError(
                409,
                "Conflict",
                f"Apply failed with {len(changed)} conflict{'s' if len(changed) > 1 else ''}: "
                + "; ".join(f'conflict with "{stored.manager}": {f}' for f in changed),
            )
        keep = (*SERVER_METADATA, "deletionTimestamp", "finalizers")
        return self._replace(stored, kind, namespace, applied, manager, "Apply", keep), False

    def create(
        self,
        kind: Kind,
        namespace: str | None,
        body: dict[str, Any],
        manager: str,
        operation: str = "Update",
    ) -> dict[str, Any]:
        """A new object (POST, or the first apply); 409 AlreadyExists if the name is taken
        (https://kubernetes.io/docs/reference/using-api/api-concepts/#resource-uris)."""
        name = body["metadata"]["name"]
        if (kind.group, kind.plural, namespace or "", name) in self.objects:
            raise KubeError(
                409,
                "AlreadyExists",
                f'{kind.qualified} "{name}" already exists',
                name=name,
                group=kind.group,
                kind=kind.plural,
            )
        if namespace is not None:
            self._namespace_ready(namespace)
        created = self._create(kind, namespace, body, manager, operation)
        if kind.kind == "Deployment":
            workloads.roll(self, created)
        if kind is custom_resources.CRDS:
            self._register(created)
        return created

    def update(
        self, kind: Kind, namespace: str | None, body: dict[str, Any], manager: str
    ) -> dict[str, Any]:
        """Replace the object (PUT, or a patch's result). A resourceVersion in the body must
        be the stored one: optimistic concurrency
        (https://kubernetes.io/docs/reference/using-api/api-concepts/#resource-versions)."""
        name = body["metadata"]["name"]
        stored = self.objects.get((kind.group, kind.plural, namespace or "", name))
        if stored is None:
            raise not_found(kind, name)
        sent = body["metadata"].get("resourceVersion")
        if sent and sent != stored.obj["metadata"].get("resourceVersion"):
            raise KubeError(
                409,
                "Conflict",
                f'Operation cannot be fulfilled on {kind.qualified} "{name}": the object has '
                "been modified; please apply your changes to the latest version and try again",
                name=name,
                group=kind.group,
                kind=kind.plural,
            )
        keep = (*SERVER_METADATA, "deletionTimestamp")
        return self._replace(stored, kind, namespace, body, manager, "Update", keep)

    def _replace(
        self,
        stored: Stored,
        kind: Kind,
        namespace: str | None,
        new: dict[str, Any],
        manager: str,
        operation: str,
        keep: tuple[str, ...],
    ) -> dict[str, Any]:
        old = stored.obj
        obj = copy.deepcopy(new)
        meta = obj.setdefault("metadata", {})
        meta.pop("managedFields", None)
        for field in keep:
            if field in old["metadata"]:
                meta[field] = old["metadata"][field]
        if namespace is not None:
            meta["namespace"] = namespace
        _defaults(kind, obj)  # before comparing: the stored spec has its defaults
        if obj.get("spec") != old.get("spec"):
            meta["generation"] = int(old["metadata"].get("generation", 1)) + 1
        meta["resourceVersion"] = self._next_version()
        meta["managedFields"] = _managed(manager, kind, operation)
        if "status" in old:  # the server's (or its /status subresource's), not the writer's
            obj["status"] = {**old["status"], **_status_for(kind, obj, fresh=False)}
        stored.obj, stored.manager = obj, manager
        if kind.kind == "Deployment" and meta["generation"] != old["metadata"]["generation"]:
            workloads.roll(self, obj)
        if kind is custom_resources.CRDS:
            self._register(obj)
        return obj

    def _create(
        self,
        kind: Kind,
        namespace: str | None,
        applied: dict[str, Any],
        manager: str,
        operation: str = "Apply",
    ) -> dict[str, Any]:
        obj = copy.deepcopy(applied)
        meta = obj.setdefault("metadata", {})
        if namespace is not None:
            meta["namespace"] = namespace
        meta.update(
            uid=str(uuid.uuid4()),
            resourceVersion=self._next_version(),
            generation=1,
            creationTimestamp=now_rfc3339(),
            managedFields=_managed(manager, kind, operation),
        )
        _defaults(kind, obj)
        obj["status"] = _status_for(kind, obj, fresh=True)
        if not obj["status"]:
            del obj["status"]
        key = (kind.group, kind.plural, namespace or "", meta["name"])
        self.objects[key] = Stored(obj, manager)
        if kind is NAMESPACES:
            # The service account controller gives every namespace its `default` account.
            self._create(
                SERVICE_ACCOUNTS,
                meta["name"],
                {"apiVersion": "v1", "kind": "ServiceAccount", "metadata": {"name": "default"}},
                "kube-controller-manager",
            )
        return obj

    def delete(
        self, kind: Kind, namespace: str | None, name: str, propagation: str
    ) -> dict[str, Any]:
        key = (kind.group, kind.plural, namespace or "", name)
        stored = self.objects.get(key)
        if stored is None:
            raise not_found(kind, name)
        if stored.gone_at is not None:
            return stored.obj  # already on its way out
        meta = stored.obj["metadata"]
        if kind is NAMESPACES:
            stored.obj["spec"] = {"finalizers": ["kubernetes"]}
            stored.obj["status"] = {"phase": "Terminating"}
        elif (kind.group, kind.plural) in SLOW_FINALIZERS:
            finalizer = SLOW_FINALIZERS[(kind.group, kind.plural)]
            meta["finalizers"] = [*meta.get("finalizers", []), finalizer]
        elif propagation == "Foreground":
            meta["finalizers"] = [*meta.get("finalizers", []), "foregroundDeletion"]
        else:
            if propagation == "Orphan":
                self._orphan(str(meta.get("uid", "")))
            # Background: gone now; collect_garbage() takes its dependents next.
            del self.objects[key]
            return stored.obj
        meta["deletionTimestamp"] = now_rfc3339()
        meta["deletionGracePeriodSeconds"] = 0
        meta["resourceVersion"] = self._next_version()
        stored.gone_at = time.time() + float(self.state.config.operation_delay)
        return stored.obj


def _changed_fields(applied: Any, current: Any, at: str = "") -> list[str]:
    """The paths of the leaves `applied` sets to a value `current` does not have."""
    if isinstance(applied, dict) and isinstance(current, dict):
        out = []
        for key, value in applied.items():
            if at == "" and key in ("apiVersion", "kind"):
                continue
            if at == ".metadata" and key in ("name", "namespace"):
                continue
            out += _changed_fields(value, current.get(key), f"{at}.{key}")
        return out
    if isinstance(applied, list) and isinstance(current, list) and len(applied) == len(current):
        return [f for i, v in enumerate(applied) for f in _changed_fields(v, current[i], at)]
    return [] if applied == current else [at or "."]


def _managed(manager: str, kind: Kind, operation: str = "Apply") -> list[dict[str, Any]]:
    return [
        {
            "manager": manager,
            "operation": operation,
            "apiVersion": kind.api_version,
            "time": now_rfc3339(),
            "fieldsType": "FieldsV1",
            "fieldsV1": {},
        }
    ]


def _defaults(kind: Kind, obj: dict[str, Any]) -> None:
    """The defaults the API server fills in, for the fields Hangar reads back."""
    spec = obj.setdefault("spec", {}) if kind.kind in ("Deployment", "Service") else None
    if kind.kind == "Namespace":
        labels = obj["metadata"].setdefault("labels", {})
        labels["kubernetes.io/metadata.name"] = obj["metadata"]["name"]
    elif kind.kind == "Deployment" and spec is not None:
        spec.setdefault("replicas", 1)
        spec.setdefault("progressDeadlineSeconds", 600)
        spec.setdefault("revisionHistoryLimit", 10)
        spec.setdefault(
            "strategy",
            {
                "type": "RollingUpdate",
                "rollingUpdate": {"maxSurge": "25%", "maxUnavailable": "25%"},
            },
        )
    elif kind.kind == "Service" and spec is not None:
        spec.setdefault("type", "ClusterIP")
        spec.setdefault("sessionAffinity", "None")
    if kind.kind == "Secret":
        obj["type"] = obj.get("type") or "Opaque"  # the API server's default for none or ""
    if kind.kind == "Secret" and "stringData" in obj:
        # stringData is write-only: each value is base64-encoded into data, overwriting
        # the key there, and stringData is never output on a read
        # (https://kubernetes.io/docs/reference/kubernetes-api/config-and-storage-resources/secret-v1/).
        data = obj.get("data") or {}
        for key, value in (obj.pop("stringData") or {}).items():
            data[key] = base64.b64encode(str(value).encode()).decode()
        obj["data"] = data


def _status_for(kind: Kind, obj: dict[str, Any], *, fresh: bool) -> dict[str, Any]:
    if kind.kind == "Namespace" and fresh:
        return {"phase": "Active"}
    if kind is custom_resources.CRDS:
        return custom_resources.crd_status(obj, now_rfc3339())
    if "status" in obj and fresh:  # a custom resource's defaulted status (its CRD's)
        return dict(obj["status"])
    if kind.kind == "ResourceQuota":
        hard = dict((obj.get("spec") or {}).get("hard") or {})
        return {"hard": hard, "used": {resource: "0" for resource in hard}}
    return {}
