"""Where a cluster's API server is: what gcp/kube.py connects with. Apart from it so that
the engine's claim and the clusters app can name a connection without loading the
Kubernetes client."""

from dataclasses import dataclass


@dataclass(frozen=True)
class ClusterConn:
    """Where a cluster's API server is and the CA it proves itself with (base64 PEM)."""

    endpoint: str
    ca_certificate: str
