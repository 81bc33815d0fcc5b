"""The domain's tables: deployments and their events; quotas, prices and accrued spend."""

from deployments.models.deployment import Deployment, DeploymentEvent
from deployments.models.governance import CostAccrual, PriceTable, ProjectGpuCapacity, TeamGpuQuota

__all__ = [
    "CostAccrual",
    "Deployment",
    "DeploymentEvent",
    "PriceTable",
    "ProjectGpuCapacity",
    "TeamGpuQuota",
]
