"""Before the first rollout: can the portal's identity do everything the enabled targets'
plans do? Asked of Google itself: testIamPermissions for each permission the plans' steps
need, actAs on the accounts things run as, the APIs' state, and the GPU quota of every
region offered. Each finding that is missing says the gcloud line that fixes it.

The permissions come from the plans: each action names what its calls need (PERMISSIONS),
and the role to grant is the step's own required_role. tests/workers/test_preflight.py
fails when a registered target's plan uses an action listed nowhere here.
"""

from dataclasses import dataclass
from typing import Any

from django.conf import settings
from google.api_core import exceptions as gexc

from clusters.choices import ClusterPhase
from clusters.plans import ClusterRef, cluster_plan
from deployments.catalog import GPU_TYPES
from deployments.plans import plan_context_from_settings
from deployments.targets import TARGETS
from deployments.targets.plan import DeploymentRef
from deployments.targets.variants import distinct_specs, plans
from gcp import project_checks
from gcp.errors import ACT_AS, SERVICE_ACCOUNT_USER
from gcp.project_checks import CLOUD_RUN_GPU_QUOTAS, service_name

# What each plan action's calls need (https://cloud.google.com/iam/docs/permissions-reference).
PERMISSIONS: dict[str, tuple[str, ...]] = {
    "artifact_registry.ensure_repository": (
        "artifactregistry.repositories.create",
        "artifactregistry.repositories.get",
    ),
    "artifact_registry.delete_package": ("artifactregistry.packages.delete",),
    "cloud_build.run_build": (
        "cloudbuild.builds.create",
        "cloudbuild.builds.get",
        "cloudbuild.builds.list",
    ),
    "cloud_build.cancel_build": ("cloudbuild.builds.list", "cloudbuild.builds.update"),
    "cloud_run.apply_service": (
        "run.services.create",
        "run.services.update",
        "run.services.get",
        "run.operations.get",
    ),
    "cloud_run.grant_invoker": ("run.services.getIamPolicy", "run.services.setIamPolicy"),
    "cloud_run.wait_ready": ("run.services.get",),
    "cloud_run.delete_service": ("run.services.delete", "run.operations.get"),
    # The portal calls its own private services: it grants itself invoker on each.
    "endpoint.ollama_chat": (),
    "endpoint.vllm_health": (),
    "endpoint.openai_chat": (),
    "iam.ensure_service_account": ("iam.serviceAccounts.create", "iam.serviceAccounts.get"),
    "iam.delete_service_account": ("iam.serviceAccounts.delete",),
    "iam.grant_service_account_role": (
        "iam.serviceAccounts.getIamPolicy",
        "iam.serviceAccounts.setIamPolicy",
    ),
    "secret_manager.grant_accessor": (
        "secretmanager.secrets.getIamPolicy",
        "secretmanager.secrets.setIamPolicy",
    ),
    "secret_manager.revoke_accessor": (
        "secretmanager.secrets.getIamPolicy",
        "secretmanager.secrets.setIamPolicy",
    ),
    "storage.ensure_bucket": ("storage.buckets.create", "storage.buckets.get"),
    "storage.grant_bucket_role": ("storage.buckets.getIamPolicy", "storage.buckets.setIamPolicy"),
    "storage.delete_bucket": (
        "storage.buckets.delete",
        "storage.objects.delete",
        "storage.objects.list",
    ),
    # GKE (https://cloud.google.com/kubernetes-engine/docs/reference/api-permissions): a
    # cluster's create and delete are operations polled with get_operation.
    "container.create_cluster": ("container.clusters.create", "container.operations.get"),
    "container.read_cluster": ("container.clusters.get",),
    "container.delete_cluster": (
        "container.clusters.get",
        "container.clusters.delete",
        "container.operations.get",
    ),
    "container.remove_failed_cluster": (
        "container.clusters.get",
        "container.clusters.delete",
        "container.operations.get",
    ),
    "container.check_gateway_cluster": ("container.clusters.get",),
    # A node pool is part of its cluster: creating or deleting one updates the cluster.
    "container.create_node_pool": ("container.clusters.update", "container.operations.get"),
    "container.delete_node_pool": ("container.clusters.update", "container.operations.get"),
    # The Kubernetes API through GKE's IAM: container.RESOURCE.VERB
    # (https://cloud.google.com/iam/docs/roles-permissions/container). The wait reads the
    # Deployment, its pods and their events; the smoke test goes through the service proxy.
    "kube.wait_available": (
        "container.deployments.get",
        "container.pods.list",
        "container.events.list",
    ),
    # The token's Secret: read from Secret Manager, then applied (created or updated).
    "kube.apply_secret_from_secret_manager": (
        "secretmanager.versions.access",
        "container.secrets.create",
        "container.secrets.get",
        "container.secrets.update",
    ),
    # Gateway and HTTPRoute are custom resources on GKE.
    "kube.wait_gateway": ("container.thirdPartyObjects.get",),
    "kube.proxy_health": ("container.services.proxy",),
    "kube.proxy_chat": ("container.services.proxy",),
}
# kube.apply and kube.delete: the permissions depend on the object's kind. Server-side
# apply creates the object or patches it (update) and returns it (get); delete is waited
# on with reads. Kinds by API group; a custom resource (a CRD's, such as GKE's
# ComputeClass) is container.thirdPartyObjects.VERB on GKE.
KUBE_VERBS = {"kube.apply": ("create", "get", "update"), "kube.delete": ("delete", "get")}
KUBE_RESOURCES = {
    ("", "Namespace"): "namespaces",
    ("", "ResourceQuota"): "resourceQuotas",
    ("", "ServiceAccount"): "serviceAccounts",
    ("", "Service"): "services",
    ("", "Secret"): "secrets",
    ("apps", "Deployment"): "deployments",
    ("", "ConfigMap"): "configMaps",
    ("rbac.authorization.k8s.io", "Role"): "roles",
    ("rbac.authorization.k8s.io", "RoleBinding"): "roleBindings",
    ("rbac.authorization.k8s.io", "ClusterRole"): "clusterRoles",
    ("rbac.authorization.k8s.io", "ClusterRoleBinding"): "clusterRoleBindings",
    ("apiextensions.k8s.io", "CustomResourceDefinition"): "customResourceDefinitions",
}
# Groups Kubernetes itself serves: a kind of theirs missing above is unlisted, not custom.
KUBE_BUILT_IN_GROUPS = frozenset({"", "apps", "batch", "policy", "rbac.authorization.k8s.io"})
CUSTOM_RESOURCES = "thirdPartyObjects"
# The API each adapter calls; Service Usage names it SERVICE.UNIVERSE (service_name).
# The Kubernetes API is the cluster's own, behind GKE's (container).
APIS = {
    "container": "container",
    "kube": "container",
    "artifact_registry": "artifactregistry",
    "cloud_build": "cloudbuild",
    "cloud_run": "run",
    "iam": "iam",
    "secret_manager": "secretmanager",
    "storage": "storage",
}


@dataclass(frozen=True)
class Finding:
    # None: not checked automatically; a person must look (the fix says where).
    ok: bool | None
    what: str
    fix: str = ""


def _steps() -> list[Any]:
    """Every step of every plan the enabled targets make, and of the cluster plans (an
    admin registers, creates and removes clusters through the same identity)."""
    ctx = plan_context_from_settings()
    ref = DeploymentRef(id=0, slug="preflight", team_slug="preflight", attempt=1)
    cluster = ClusterRef(project=ctx.project, location="us-central1", name="preflight")
    return [
        *(
            step
            for target, spec in distinct_specs(list(TARGETS.values()), ref, ctx)
            for plan in plans(target, spec, ref, ctx)
            for step in plan.steps
        ),
        *(step for phase in ClusterPhase for step in cluster_plan(phase, cluster).steps),
    ]


def step_permissions(step: Any) -> tuple[str, ...] | None:
    """What the step's calls need; None when Hangar has no list for its action (or, for a
    Kubernetes object, its kind)."""
    verbs = KUBE_VERBS.get(step.action)
    if verbs is None:
        return PERMISSIONS.get(step.action)
    api_version, kind = step.params.get("api_version", ""), step.params.get("kind", "")
    group = api_version.rpartition("/")[0]
    resource = KUBE_RESOURCES.get((group, kind))
    if resource is None:
        if group in KUBE_BUILT_IN_GROUPS:
            return None
        resource = CUSTOM_RESOURCES
    return tuple(f"container.{resource}.{verb}" for verb in verbs)


def needed_permissions() -> dict[str, str]:
    """Each permission the plans need, with the role their step names."""
    needed: dict[str, str] = {}
    for step in _steps():
        for permission in step_permissions(step) or ():
            needed.setdefault(permission, step.required_role)
    return needed


def unlisted_actions() -> set[str]:
    """Actions (a Kubernetes one with its kind) whose permissions Hangar does not know."""
    return {
        f"{step.action} {step.params.get('kind', '')}".strip()
        for step in _steps()
        if step_permissions(step) is None
    }


def _permissions(project: str, portal: str) -> list[Finding]:
    needed = needed_permissions()
    held = project_checks.project_permissions(project, sorted(needed))
    findings = []
    for role in sorted(set(needed.values())):
        missing = sorted(p for p, r in needed.items() if r == role and p not in held)
        findings.append(
            Finding(
                not missing,
                f"{role}: " + (f"lacks {', '.join(missing)}" if missing else "held"),
                f"gcloud projects add-iam-policy-binding {project} "
                f"--member=serviceAccount:{portal} --role={role}",
            )
        )
    return findings


def _act_as(project: str, portal: str) -> list[Finding]:
    ctx = plan_context_from_settings()
    compute = f"{_project_number(project)}-compute@developer.gserviceaccount.com"
    findings = []
    for email, why in ((ctx.builder, "builds run as it"), (compute, "Ollama services run as it")):
        held = project_checks.account_permissions(project, email, [ACT_AS])
        findings.append(
            Finding(
                ACT_AS in held,
                f"{SERVICE_ACCOUNT_USER} on {email} ({why})",
                f"gcloud iam service-accounts add-iam-policy-binding {email} "
                f"--member=serviceAccount:{portal} --role={SERVICE_ACCOUNT_USER} "
                f"--project={project}",
            )
        )
    return findings


def _project_number(project: str) -> str:
    # The sandbox and Google both answer Service Usage with projects/NUMBER/services/...
    from gcp.clients import rest

    reply = rest(
        project_checks.SERVICE_USAGE,
        "GET",
        f"/v1/projects/{project}/services/{service_name('run')}",
    )
    return str(reply.get("name", "projects/PROJECT_NUMBER/")).split("/")[1]


def _apis(project: str) -> list[Finding]:
    services = sorted(
        {
            service_name(APIS[s.action.split(".")[0]])
            for s in _steps()
            if s.action.split(".")[0] in APIS
        }
    )
    return [
        Finding(
            project_checks.service_enabled(project, service),
            f"{service} enabled",
            f"gcloud services enable {service} --project={project}",
        )
        for service in services
    ]


def _gpu_quota(project: str) -> list[Finding]:
    findings = []
    for gpu in GPU_TYPES.values():
        if gpu.cloud_run is None:
            continue
        quota_id = CLOUD_RUN_GPU_QUOTAS.get(gpu.key)
        if quota_id is None:
            findings.append(
                Finding(
                    None,
                    f"{gpu.label}: Hangar does not know Cloud Run's quota id; "
                    "check the Quotas page",
                    f"https://console.cloud.google.com/iam-admin/quotas?project={project}",
                )
            )
            continue
        values = project_checks.quota_by_region(project, service_name("run"), quota_id)
        for region in gpu.cloud_run.regions:
            value = values.get(region, 0)
            findings.append(
                Finding(
                    value != 0,
                    f"{gpu.label} in {region}: quota {value if value >= 0 else 'unlimited'}",
                    f"Ask for {quota_id} in {region}: https://console.cloud.google.com/"
                    f"iam-admin/quotas?project={project}&metric={service_name('run')}",
                )
            )
    return findings


def preflight() -> list[tuple[str, list[Finding]]]:
    """Every check, grouped; a check Google refused is a finding that says so."""
    project = settings.GCP["PROJECT"]
    portal = settings.GCP["PORTAL_SERVICE_ACCOUNT"]
    groups = []
    for title, check in (
        ("APIs", lambda: _apis(project)),
        ("Permissions of " + portal, lambda: _permissions(project, portal)),
        ("Acting as service accounts", lambda: _act_as(project, portal)),
        ("GPU quota in the regions offered", lambda: _gpu_quota(project)),
    ):
        try:
            groups.append((title, check()))
        except gexc.GoogleAPICallError as exc:
            groups.append(
                (title, [Finding(False, f"Google refused the check: {exc.code} {exc.message}")])
            )
    return groups
