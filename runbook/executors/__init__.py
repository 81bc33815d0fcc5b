"""One function per plan action, grouped by the Google API (or endpoint) it talks to: run
the step's request once, say what happened.

Each is idempotent. A step that starts a long operation returns Waiting with the
operation's name; when it is called again with that name it only polls. None of them
sleeps: the runner records the result and the task is queued again. Actions are named
"<module>.<function>"; a test checks every action any target's plans use is here.
"""

from runbook.executors import (
    artifact_registry,
    cloud_build,
    cloud_run,
    container,
    endpoint,
    gateway_cluster,
    iam,
    kube,
    kube_endpoint,
    kube_gateway,
    kube_rollout,
    node_pools,
    secret_manager,
    storage,
)
from runbook.executors.base import Executor

EXECUTORS: dict[str, Executor] = {
    "artifact_registry.ensure_repository": artifact_registry.ensure_repository,
    "artifact_registry.delete_package": artifact_registry.delete_package,
    "cloud_build.run_build": cloud_build.run_build,
    "cloud_build.cancel_build": cloud_build.cancel_build,
    "cloud_run.apply_service": cloud_run.apply_service,
    "cloud_run.grant_invoker": cloud_run.grant_invoker,
    "cloud_run.wait_ready": cloud_run.wait_ready,
    "cloud_run.delete_service": cloud_run.delete_service,
    "container.create_cluster": container.create_cluster,
    "container.read_cluster": container.read_cluster,
    "container.delete_cluster": container.delete_cluster,
    "container.check_gateway_cluster": gateway_cluster.check_gateway_cluster,
    "container.create_node_pool": node_pools.create_node_pool,
    "container.delete_node_pool": node_pools.delete_node_pool,
    "endpoint.ollama_chat": endpoint.ollama_chat,
    "endpoint.vllm_health": endpoint.vllm_health,
    "endpoint.openai_chat": endpoint.openai_chat,
    "iam.ensure_service_account": iam.ensure_service_account,
    "iam.delete_service_account": iam.delete_service_account,
    "iam.grant_service_account_role": iam.grant_service_account_role,
    "kube.apply": kube.apply,
    "kube.delete": kube.delete,
    "kube.wait_available": kube_rollout.wait_available,
    "kube.apply_secret_from_secret_manager": kube_gateway.apply_secret_from_secret_manager,
    "kube.wait_gateway": kube_gateway.wait_gateway,
    "kube.proxy_health": kube_endpoint.proxy_health,
    "kube.proxy_chat": kube_endpoint.proxy_chat,
    "secret_manager.grant_accessor": secret_manager.grant_accessor,
    "secret_manager.revoke_accessor": secret_manager.revoke_accessor,
    "storage.ensure_bucket": storage.ensure_bucket,
    "storage.grant_bucket_role": storage.grant_bucket_role,
    "storage.delete_bucket": storage.delete_bucket,
}
