"""Celery tasks for clusters (imported by workers/tasks.py so the worker registers them)."""

from celery import shared_task

from clusters.dispatch import ADVANCE_CLUSTER_TASK
from clusters.rollout import clusters_requeue_stalled
from workers.rollout import cluster_runner


@shared_task(name=ADVANCE_CLUSTER_TASK)
def advance_cluster(cluster_id: int) -> None:
    cluster_runner.advance_cluster(cluster_id)


@shared_task(name="workers.tasks.reconcile_clusters")
def reconcile_clusters() -> int:
    """Re-queue cluster plans whose task was lost (a killed worker, a broker restart)."""
    return clusters_requeue_stalled()
