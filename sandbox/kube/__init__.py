"""The Kubernetes API server of each sandbox GKE cluster, and what runs in the cluster."""
