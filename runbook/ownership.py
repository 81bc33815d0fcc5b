"""Whose an object is, from its labels: what an executor reads before it adopts an object
it meets under its name or deletes one (DESIGN.md principle 8).

Every object Hangar makes for a deployment carries `managed-by: hangar`, its team and its
deployment's id (deployments/targets/gke/names.py); what a team shares (its namespace,
its GPU quota) carries the team. A step names the owner it expects (`params["owner"]`,
the owner keys of its manifest's labels), and an existing object is taken only when its
labels say the same.
"""

TEAM_LABEL = "hangar-team"
DEPLOYMENT_LABEL = "hangar-deployment"
DEPLOYMENT_ID_LABEL = "hangar-deployment-id"
OWNER_KEYS = (TEAM_LABEL, DEPLOYMENT_ID_LABEL)


def owner_keys_of(labels: dict[str, str] | None) -> dict[str, str]:
    """The owner keys among an object's labels: the owner a step expects to find."""
    labels = labels or {}
    return {key: labels[key] for key in OWNER_KEYS if key in labels}


def owned_by(found: dict[str, str] | None, owner: dict[str, str]) -> bool:
    """Whether an existing object's labels say it is the owner's: each key the owner names
    has the same value there. An empty owner (a cluster-wide CRD) claims nothing, so what
    is found is taken as it is."""
    found = found or {}
    return all(found.get(key) == value for key, value in owner.items())


def owner_of(labels: dict[str, str] | None) -> str:
    """Who the labels say owns an object, in words, for a refusal."""
    labels = labels or {}
    if DEPLOYMENT_ID_LABEL in labels:
        return (
            f"deployment {labels.get(DEPLOYMENT_LABEL, '?')} (id {labels[DEPLOYMENT_ID_LABEL]}) "
            f"of team {labels.get(TEAM_LABEL, '?')}"
        )
    if TEAM_LABEL in labels:
        return f"team {labels[TEAM_LABEL]}"
    return "no Hangar deployment (it carries none of Hangar's owner labels)"
