"""Names and owner labels of what the GKE targets create on a shared cluster.

A cluster is shared by teams and by deployments: a name cut from a slug alone collides
(two teams' `poolcollide-0123…-a41` and `…-b41` cut to the same 36 characters), and an
object found under a name may be someone else's. So every object a deployment makes is
named `<as much of the slug as fits>-<tag>[-suffix]`, where the tag is a short hash of
the team, the slug and the deployment's id (unique to that deployment, stable across its
retries), and carries the owner labels below, which a create reads before it adopts what
it finds and a delete reads before it removes anything (runbook/executors/kube.py, the
node-pool executors).

Deployments rolled out before names carried tags (migration 0010 marks their rows:
`DeploymentRef.legacy_names`) keep the names and labels they were made with, the slug
alone and no id label, so their tear down finds and removes what actually runs (and is
billed) rather than looking for tagged names that were never made.
"""

import hashlib

from deployments.targets.plan import DeploymentRef
from runbook.ownership import DEPLOYMENT_ID_LABEL, owner_keys_of

TAG_LENGTH = 6

# The limits names live within:
# - a GKE node pool: a lowercase letter, then up to 39 of [-a-z0-9] (40 in all; the
#   API's regex, sandbox/gke/node_pools.py);
NODE_POOL_MAX = 40
# - a DNS label (RFC 1123), 63: Services, and anything used as a label value (a pod's
#   `app`, the picker's `inferencepool`)
#   (https://kubernetes.io/docs/concepts/overview/working-with-objects/names/#dns-label-names);
DNS_LABEL_MAX = 63
# - a DNS subdomain, 253: most other objects, ConfigMaps, RBAC, custom resources
#   (https://kubernetes.io/docs/concepts/overview/working-with-objects/names/#dns-subdomain-names).
DNS_SUBDOMAIN_MAX = 253


def owner_tag(ref: DeploymentRef) -> str:
    """Six hex digits of team/slug/id: two deployments never share it in practice (one in
    16.7 million), and a deployment keeps it across its attempts."""
    seed = f"{ref.team_slug}/{ref.slug}/{ref.id}".encode()
    return hashlib.sha256(seed).hexdigest()[:TAG_LENGTH]


def unique_name(ref: DeploymentRef, suffix: str = "", *, limit: int = DNS_LABEL_MAX) -> str:
    """`<slug, cut to fit>-<tag>[-<suffix>]`, at most `limit` characters; a deployment made
    before tags keeps `<slug, cut to fit>[-<suffix>]`, as it was named then."""
    tag = "" if ref.legacy_names else f"-{owner_tag(ref)}"
    tail = tag + (f"-{suffix}" if suffix else "")
    room = limit - len(tail)
    if room < 1:
        raise ValueError(f"No room for a name within {limit} characters: {suffix!r}.")
    return ref.slug[:room].rstrip("-") + tail


def owner_labels(ref: DeploymentRef) -> dict[str, str]:
    """Hangar's labels for what this deployment owns: managed-by, team, slug and id (not
    the id for a deployment made before it was labelled: its objects do not carry it)."""
    if ref.legacy_names:
        return ref.labels
    # Label values are at most 63 characters: the slug (40), the team (30) and the id fit
    # (https://kubernetes.io/docs/concepts/overview/working-with-objects/labels/#syntax-and-character-set;
    # GKE's resource labels the same: https://cloud.google.com/compute/docs/labeling-resources).
    return {**ref.labels, DEPLOYMENT_ID_LABEL: str(ref.id)}


def checked_owner(ref: DeploymentRef) -> dict[str, str] | None:
    """The owner keys a step checks on what it meets under its name or is about to delete
    (those of owner_labels; a service account's, noted in its description). None for a
    deployment made before they were written (legacy names): its objects carry no id to
    check, and are taken and deleted by name."""
    return None if ref.legacy_names else owner_keys_of(owner_labels(ref))
