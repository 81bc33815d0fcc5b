"""A team's Hugging Face token: written straight into Secret Manager, never kept here.

The web process sends the token to Secret Manager itself, inside the request that
carries it: it never crosses the task broker, a log line, an event or an error
message. The database records only which secret holds it and when it was set
(portal.selectors.hf_token_status reads that back).
"""

import logging
import re
from typing import Any

from django.conf import settings
from django.db import transaction
from django.utils import timezone
from google.api_core import exceptions as gexc

from gcp import secret_manager
from portal.access import require_team_role
from portal.audit import audit_record
from portal.exceptions import ApplicationError, ValidationFailed
from portal.models import Role, Team, TeamHfSecret
from portal.secret_names import hf_secret_name

logger = logging.getLogger(__name__)

SECRET_ACCESSOR = "roles/secretmanager.secretAccessor"  # noqa: S105 - a role name
# Hugging Face user access tokens: "hf_" and letters/digits (fine-grained ones too).
TOKEN_RE = re.compile(r"hf_[A-Za-z0-9]{20,200}")


def hf_token_save(*, team: Team, token: str, by: Any) -> TeamHfSecret:
    """Store the token as a new version of the team's secret (created on first save).

    Cloud Build's identity may read the secret, so builds can download gated weights;
    each deployment's own account is granted access by its rollout.
    """
    require_team_role(user=by, team=team, role=Role.ADMIN, action="set the Hugging Face token")
    token = token.strip()
    if not TOKEN_RE.fullmatch(token):
        # The message never repeats what was typed.
        raise ValidationFailed(
            "That is not a Hugging Face access token.",
            fields={
                "token": [
                    "Paste a token from huggingface.co/settings/tokens: hf_ and "
                    "20 or more letters and digits."
                ]
            },
        )
    name = hf_secret_name(settings.GCP["PROJECT"], team.slug)
    try:
        secret_manager.ensure_secret(
            name=name, labels={"managed-by": "hangar", "hangar-team": team.slug}
        )
        builder = settings.GCP.get("BUILD_SERVICE_ACCOUNT", "")
        if builder:
            secret_manager.grant(
                name=name, member=f"serviceAccount:{builder}", role=SECRET_ACCESSOR
            )
        version = secret_manager.add_version(secret=name, data=token.encode())
    except gexc.GoogleAPICallError as exc:
        logger.warning("saving the Hugging Face token of team %s failed: %s", team.slug, exc.code)
        raise ApplicationError(
            f"Secret Manager refused to store the token ({exc.code} {type(exc).__name__}: "
            f"{exc.message}). Nothing was saved.",
            extra={"secret": name},
        ) from None
    with transaction.atomic():
        record, _ = TeamHfSecret.objects.update_or_create(
            team=team,
            defaults={
                "secret_name": name,
                "latest_version": version,
                "set_at": timezone.now(),
                "set_by": by,
            },
        )
        # Who saved it and when, and where it went; never the token.
        audit_record(
            action="hf_token.saved",
            obj=record,
            actor=by,
            team=team,
            after={"secret": name, "version": version},
        )
    logger.info("team %s saved a Hugging Face token as %s", team.slug, version)
    return record


def hf_token_remove(*, team: Team, by: Any) -> None:
    """Delete the team's secret (every version) and forget it. Gated models cannot be
    requested again until a new token is saved; running services keep the copy they read."""
    require_team_role(user=by, team=team, role=Role.ADMIN, action="remove the Hugging Face token")
    record = TeamHfSecret.objects.filter(team=team).first()
    if record is None:
        return
    try:
        secret_manager.delete_secret(name=record.secret_name)
    except gexc.GoogleAPICallError as exc:
        logger.warning("removing the Hugging Face token of team %s failed: %s", team.slug, exc.code)
        raise ApplicationError(
            f"Secret Manager refused to delete the token ({exc.code} {type(exc).__name__}: "
            f"{exc.message}). It is still set.",
            extra={"secret": record.secret_name},
        ) from None
    with transaction.atomic():
        audit_record(
            action="hf_token.removed",
            obj=record,
            actor=by,
            team=team,
            before={"secret": record.secret_name, "version": record.latest_version},
        )
        record.delete()
    logger.info("team %s removed its Hugging Face token", team.slug)
