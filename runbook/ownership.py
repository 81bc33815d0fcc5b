"""Whose an object is, from its labels: what an executor reads before it adopts an object
it meets under its name or deletes one (DESIGN.md principle 8).

Every object Hangar makes for a deployment carries `managed-by: hangar`, its team and its
deployment's id (deployments/targets/gke/names.py); what a team shares (its namespace,
its GPU quota) carries the team. A step names the owner it expects (`params["owner"]`,
the owner keys of its manifest's labels), and an existing object is taken only when its
labels say the same.

What cannot carry labels (a service account has none: its description and display name
are its only free text) carries the same keys in its description as a note,
`hangar-owner: hangar-team=T,hangar-deployment-id=N` (owner_note), read back with
owner_in_note and compared by owned_by like labels.
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


OWNER_NOTE = "hangar-owner:"


def owner_note(owner: dict[str, str]) -> str:
    """The owner keys as text, for an object that has no labels (its description)."""
    return f"{OWNER_NOTE} " + ",".join(f"{key}={value}" for key, value in owner.items())


def owner_in_note(text: str | None) -> dict[str, str]:
    """The owner keys a description's owner note names ({} when it has none)."""
    text = text or ""
    if OWNER_NOTE not in text:
        return {}
    words = text.rsplit(OWNER_NOTE, 1)[1].split()
    note = words[0].rstrip(")") if words else ""
    pairs = (part.split("=", 1) for part in note.split(",") if "=" in part)
    return {key: value for key, value in pairs if key in OWNER_KEYS}
