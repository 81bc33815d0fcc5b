"""GKE Standard + vLLM with LoRA adapters behind a GKE Inference Gateway (seed 004).

Not registered in deployments.targets.TARGETS yet: the registry wants every part of a
target (spec fields, estimate, comparison, request page, credential strategy), and so far
this package holds what stands on its own: the pinned release and its CRDs (versions.py),
the seed's model server corrected (manifests.py), what the `inferencepool` chart renders
for GKE plus the objectives, Gateway and route (gateway.py), the plans (plan.py) and their
two steps of its own (steps.py). README.md says what is pinned and why.
"""
