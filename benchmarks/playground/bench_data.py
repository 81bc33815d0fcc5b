"""Rows the benchmark needs, in a fresh database: a team, a member, a token, a ready endpoint,
and N more callers: N members each signed in once, and N team tokens.

Run with Django set up (run.py does it); prints JSON with the session cookies, the API
tokens and the deployment id. run.py hands every stream of the many-callers paths a
caller no earlier round used, so none is answered from a cache.
"""

from __future__ import annotations

import json
import os
import sys

import django


def main() -> None:
    sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))))
    django.setup()
    from django.contrib.auth import get_user_model
    from django.test import Client

    from deployments.choices import Status
    from deployments.models import Deployment
    from portal.models import Membership, Role, Team
    from portal.services import api_token_create

    upstream = sys.argv[1]
    team = Team.objects.create(name="Bench", slug="bench")
    # No password: the benchmark signs in with a session made by force_login.
    user = get_user_model().objects.create_user("bench")
    Membership.objects.create(team=team, user=user, role=Role.ADMIN)
    _, token = api_token_create(team=team, owner=user, name="bench")
    deployment = Deployment.objects.create(
        team=team,
        slug="bench",
        target="cloud-run-vllm",
        # A catalog model (the target names what it serves from the catalog); the paced
        # upstream answers whatever model a request names.
        model="gemma-3-1b-it",
        region="europe-west1",
        gpu_type="nvidia-l4",
        spec={},
        status=Status.READY,
        endpoint_url=upstream,
        requested_by=user,
    )
    client = Client()
    client.force_login(user)
    # More members, each signed in once, and more tokens, for bursts from many callers.
    sessions, tokens = [], []
    for n in range(int(sys.argv[2]) if len(sys.argv) > 2 else 0):
        member = get_user_model().objects.create_user(f"bench-{n}")
        Membership.objects.create(team=team, user=member, role=Role.MEMBER)
        other = Client()
        other.force_login(member)
        sessions.append(other.cookies["sessionid"].value)
        tokens.append(api_token_create(team=team, owner=user, name=f"bench-{n}")[1])
    print(
        json.dumps(
            {
                "session": client.cookies["sessionid"].value,
                "sessions": sessions,
                "token": token,
                "tokens": tokens,
                "deployment": deployment.pk,
            }
        )
    )


if __name__ == "__main__":
    main()
