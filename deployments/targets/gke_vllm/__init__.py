"""GKE Autopilot + vLLM, weights from a bucket read through Workload Identity (seed 003).

Not registered in deployments.targets.TARGETS yet: the registry test wants every part of
a target (spec fields, plans, estimate, comparison, request page, credential strategy),
and so far this package holds the parts that stand on their own: the names Workload
Identity derives from the universe (identity.py) and the seed's manifests, corrected
(manifests.py). The Kubernetes steps are deployments/targets/kube_steps.py; the clusters
they go to, clusters/.
"""
