"""GKE's container_v1 API: clusters and node pools."""
