"""One function per plan action, grouped by the Google API (or endpoint) it talks to: run
the step's request once, say what happened.

Each is idempotent. A step that starts a long operation returns Waiting with the
operation's name; when it is called again with that name it only polls. None of them
sleeps: the runner records the result and the task is queued again. Actions are named
"<module>.<function>". An action only one owner's plans use (one deployment target's,
say) has its executor with that owner, which hands it over (`Owner.executors()`); the
runner looks there first (runner.executor_for). A test checks every action any target's
plans use has one.
"""

from runbook.executors import (
    artifact_registry,
    cloud_build,
    cloud_run,
    container,
    endpoint,
    iam,
    kube,
    kube_endpoint,
    kube_rollout,
    secret_manager,
    storage,
)
from runbook.owners import Executor

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
    "container.remove_failed_cluster": container.remove_failed_cluster,
    "endpoint.ollama_chat": endpoint.ollama_chat,
    "endpoint.vllm_health": endpoint.vllm_health,
    "endpoint.openai_chat": endpoint.openai_chat,
    "iam.ensure_service_account": iam.ensure_service_account,
    "iam.delete_service_account": iam.delete_service_account,
    "iam.grant_service_account_role": iam.grant_service_account_role,
    "kube.apply": kube.apply,
    "kube.delete": kube.delete,
    "kube.wait_available": kube_rollout.wait_available,
    "kube.proxy_health": kube_endpoint.proxy_health,
    "kube.proxy_chat": kube_endpoint.proxy_chat,
    "secret_manager.grant_accessor": secret_manager.grant_accessor,
    "secret_manager.revoke_accessor": secret_manager.revoke_accessor,
    "storage.ensure_bucket": storage.ensure_bucket,
    "storage.grant_bucket_role": storage.grant_bucket_role,
    "storage.delete_bucket": storage.delete_bucket,
}
