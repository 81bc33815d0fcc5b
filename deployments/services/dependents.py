"""Deployments that run on another (a LoRA adapter on its Inference Gateway base): which
they are, and what a tear down of the one they run on does to them.

The choice (README, "LoRA adapters on a gateway deployment"): tearing a base down tears
its live dependents down first, each on its own record, and the base's own tear down
starts only once none of them is left; a dependent whose base is not ready is never made
ready. Which deployment another runs on is its target's `depends_on`, asked of the
registry when the row is saved (Deployment.runs_on), so nothing here knows a target by
name.
"""

from deployments.choices import OWNER_KIND, TERMINAL_STATES, Status
from deployments.models import Deployment
from runbook import dispatch


def depends_on(deployment: Deployment) -> int | None:
    """The id of the deployment this one runs on, None for one that runs on its own: its
    target's depends_on, which every save keeps on the row (Deployment.runs_on)."""
    return deployment.runs_on_id


def live_dependents(deployment: Deployment) -> list[Deployment]:
    """The team's live deployments (neither rejected nor torn down) that run on this one,
    oldest first: the rows whose runs_on (their depends_on, kept on the row) is this one,
    read once per page where a list prefetched them (deployments.selectors)."""
    terminal = {s.value for s in TERMINAL_STATES}
    rows = deployment.dependents.all()
    return sorted(
        (
            row
            for row in rows
            if row.team_id == deployment.team_id
            and row.pk != deployment.pk
            and row.status not in terminal
        ),
        key=lambda row: row.pk,
    )


def base_gone_reason(deployment: Deployment) -> str:
    """Why a dependent may not be ready now: its base is missing or not ready; empty when
    it runs on its own or its base is ready."""
    base_id = depends_on(deployment)
    if base_id is None:
        return ""
    base = Deployment.objects.filter(pk=base_id).first()
    if base is None:
        return f"Its base deployment {base_id} no longer exists."
    if base.status != Status.READY:
        return f"Its base deployment {base.slug} is {base.get_status_display().lower()}."
    return ""


def base_resume(deployment: Deployment) -> None:
    """A dependent is done (torn down or failed): the base whose tear down waited for it
    (services/rollout.py) goes on. Whatever fails or ends a dependent calls this."""
    base_id = depends_on(deployment)
    if (
        base_id is not None
        and Deployment.objects.filter(pk=base_id, status=Status.TEARING_DOWN).exists()
    ):
        dispatch.schedule(OWNER_KIND, base_id)
