"""Shared by the GKE targets: the H100 machines a ComputeClass can ask for, the spec
fields every GKE target declares (the cluster, the machine, GPUs per pod), the team's
binding to a cluster it may use, and what Google bills for a node."""
