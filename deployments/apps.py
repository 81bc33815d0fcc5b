from typing import Any

from django.apps import AppConfig
from django.conf import settings


class DeploymentsConfig(AppConfig):
    name = "deployments"

    def ready(self) -> None:
        from clusters.health import add_cluster_lost_listener
        from clusters.selectors import add_cluster_users_lookup
        from deployments.choices import Status
        from deployments.metrics import RolloutStepCollector
        from deployments.selectors import deployments_on_cluster
        from deployments.services.cluster_lost import deployments_cluster_lost
        from deployments.services.rollout import DeploymentOwner
        from deployments.targets import openapi_enum_names
        from portal.audit import add_status_labels
        from runbook import owners
        from telemetry.scrape import add_scrape_collector

        owners.register(DeploymentOwner())
        add_cluster_users_lookup(deployments_on_cluster)
        add_cluster_lost_listener(deployments_cluster_lost)
        add_status_labels(Status.choices)
        add_scrape_collector(RolloutStepCollector())

        # Each target's request body has its own choice sets; name them from the registry
        # so adding a target needs no settings change.
        spectacular: dict[str, Any] = settings.SPECTACULAR_SETTINGS
        spectacular.setdefault("ENUM_NAME_OVERRIDES", {}).update(openapi_enum_names())
