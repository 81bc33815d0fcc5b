from django.apps import AppConfig


class ClustersConfig(AppConfig):
    name = "clusters"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from clusters.choices import ClusterStatus
        from clusters.rollout import ClusterOwner
        from clusters.selectors import cluster_ca_at
        from gcp import endpoint_credentials
        from portal.audit import add_status_labels
        from runbook import owners

        owners.register(ClusterOwner())
        add_status_labels(ClusterStatus.choices)
        # The GKE service proxy's credential checks a cluster's API server against the CA
        # Hangar read for it; gcp/ knows no model, so the clusters app hands it the lookup.
        endpoint_credentials.set_cluster_ca_lookup(cluster_ca_at)
