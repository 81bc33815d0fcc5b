"""The proxy's access check on its Postgres path (indexed reads on the async pool): the same
answers as Django's auth and the portal's team rules, a sign-out at once, a revoked token
within the cache period, and no ORM or thread for who is calling."""

import asyncio
import time
from collections.abc import Awaitable, Callable
from datetime import timedelta
from typing import Any

import pytest
from django.contrib.sessions.models import Session
from django.core.exceptions import ValidationError
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from deployments.choices import Status
from playground import access, access_sql
from playground.access import Access, NotSignedIn, access_cache_clear
from playground.access_sql import access_sql_close, access_sql_open
from portal.exceptions import ApplicationError, NotFound, PermissionDenied
from portal.models import ApiToken
from portal.services import api_token_create, approval_token_create
from tests.factories import DeploymentFactory, platform_admin

pytestmark = pytest.mark.django_db(transaction=True)


def _run(call: Callable[[], Awaitable[Any]]) -> Any:
    async def scenario() -> Any:
        await access_sql_open()  # as the server's lifespan startup does
        try:
            return await call()
        finally:
            await access_sql_close()

    return asyncio.run(scenario())


def _outcome(call: Callable[[], Awaitable[Access]]) -> Access | ApplicationError:
    try:
        return _run(call)
    except ApplicationError as exc:
        return exc


@pytest.fixture
def ready(team: Any) -> Any:
    return DeploymentFactory(
        team=team, status=Status.READY, endpoint_url="https://llm-abc-ew.a.run.app"
    )


def _signed_in(user: Any) -> tuple[Client, str]:
    client = Client()
    client.force_login(user)
    return client, client.session.session_key or ""


def test_the_postgres_path_is_taken_on_a_loop_opened_for_it() -> None:
    async def enabled() -> bool:
        return access_sql.fast_path_enabled()

    assert _run(enabled)
    assert asyncio.run(enabled()) is False  # a loop nobody opened: the ORM path


def test_a_member_reaches_the_deployment_without_an_orm_query(deployer: Any, ready: Any) -> None:
    _, key = _signed_in(deployer)
    with CaptureQueriesContext(connection) as queries:
        got = _run(lambda: access.access_for_session(key, ready.pk))
    assert isinstance(got, Access)
    assert (got.user_id, got.username, got.deployment_id) == (deployer.pk, "dev", ready.pk)
    assert got.endpoint_url == ready.endpoint_url and got.token_id is None
    assert len(queries) == 0  # none through Django's connection on this thread


def test_a_sign_out_takes_effect_at_once(deployer: Any, ready: Any) -> None:
    client, key = _signed_in(deployer)
    assert isinstance(_outcome(lambda: access.access_for_session(key, ready.pk)), Access)
    client.logout()
    assert not Session.objects.filter(session_key=key).exists()
    assert isinstance(_outcome(lambda: access.access_for_session(key, ready.pk)), NotSignedIn)


def test_a_password_change_signs_the_session_out(deployer: Any, ready: Any) -> None:
    _, key = _signed_in(deployer)
    deployer.set_password("a new one")
    deployer.save()
    assert isinstance(_outcome(lambda: access.access_for_session(key, ready.pk)), NotSignedIn)


def test_an_inactive_user_or_an_unknown_session_is_not_signed_in(deployer: Any, ready: Any) -> None:
    _, key = _signed_in(deployer)
    assert isinstance(_outcome(lambda: access.access_for_session("x" * 32, ready.pk)), NotSignedIn)
    deployer.is_active = False
    deployer.save()
    assert isinstance(_outcome(lambda: access.access_for_session(key, ready.pk)), NotSignedIn)


def test_another_teams_deployment_is_not_found(outsider: Any, ready: Any) -> None:
    _, key = _signed_in(outsider)
    assert isinstance(_outcome(lambda: access.access_for_session(key, ready.pk)), NotFound)
    assert isinstance(_outcome(lambda: access.access_for_session(key, 10**9)), NotFound)


def test_a_platform_admin_outside_the_team_is_not_let_in(ready: Any) -> None:
    _, key = _signed_in(platform_admin("root"))
    assert isinstance(_outcome(lambda: access.access_for_session(key, ready.pk)), NotFound)


def test_a_team_token_reaches_its_teams_deployment(team: Any, team_admin: Any, ready: Any) -> None:
    row, secret = api_token_create(team=team, owner=team_admin, name="ci")
    got = _run(lambda: access.access_for_token(f"Bearer {secret}", ready.pk))
    assert isinstance(got, Access) and got.token_id == row.pk and got.user_id == team_admin.pk
    row.refresh_from_db()
    assert row.last_used_at is not None  # as the REST API's authentication marks it


@pytest.mark.parametrize(
    "header",
    ["Basic abc", "Bearer", "Bearer hgr_nothex_x", "Bearer hgr_0123456789ab_wrong", "Token x"],
)
def test_a_bad_token_is_not_signed_in(header: str, ready: Any) -> None:
    assert isinstance(_outcome(lambda: access.access_for_token(header, ready.pk)), NotSignedIn)


def test_an_approval_token_reaches_no_endpoint(ready: Any) -> None:
    _, secret = approval_token_create(owner=platform_admin("root"), name="gate")
    got = _outcome(lambda: access.access_for_token(f"Bearer {secret}", ready.pk))
    assert isinstance(got, PermissionDenied)


def test_a_token_of_another_team_does_not_find_the_deployment(
    other_team: Any, outsider: Any, ready: Any
) -> None:
    from portal.models import Membership, Role

    Membership.objects.filter(user=outsider).update(role=Role.ADMIN)
    _, secret = api_token_create(team=other_team, owner=outsider, name="ci")
    got = _outcome(lambda: access.access_for_token(f"Bearer {secret}", ready.pk))
    assert isinstance(got, NotFound)


def test_a_revoked_token_is_refused_within_the_cache_period(
    settings: Any, team: Any, team_admin: Any, ready: Any
) -> None:
    settings.PLAYGROUND = {**settings.PLAYGROUND, "ACCESS_CACHE_SECONDS": 0.5}
    access_cache_clear()
    row, secret = api_token_create(team=team, owner=team_admin, name="ci")
    header = f"Bearer {secret}"

    async def scenario() -> tuple[Access, float, ApplicationError]:
        first = await access.access_for_token(header, ready.pk)
        await asyncio.to_thread(
            ApiToken.objects.filter(pk=row.pk).update, revoked_at=timezone.now()
        )
        revoked = time.monotonic()
        deadline = revoked + 30
        while time.monotonic() < deadline:
            try:
                await access.access_for_token(header, ready.pk)
            except NotSignedIn as exc:
                return first, time.monotonic() - revoked, exc
            await asyncio.sleep(0.05)
        raise AssertionError("a revoked token kept working")

    first, after, refused = _run(scenario)
    assert isinstance(first, Access)
    assert "revoked" in refused.message
    assert after <= 0.5 + 2.0  # the cache period, and room for a slow machine


def test_concurrent_new_callers_each_get_their_own_answer(team: Any, ready: Any) -> None:
    from portal.models import Membership, Role
    from tests.factories import UserFactory

    users: list[Any] = [UserFactory(username=f"burst-{i}") for i in range(30)]
    Membership.objects.bulk_create([Membership(team=team, user=u, role=Role.MEMBER) for u in users])
    keys = [_signed_in(u)[1] for u in users]

    async def burst() -> list[Access]:
        return list(await asyncio.gather(*(access.access_for_session(k, ready.pk) for k in keys)))

    got = _run(burst)
    assert [a.user_id for a in got] == [u.pk for u in users]


def test_one_batch_answers_each_caller_for_themselves(
    team: Any, outsider: Any, deployer: Any, ready: Any
) -> None:
    """Callers asking in the same instant share one query; each still gets their own answer."""
    member_key, outsider_key = _signed_in(deployer)[1], _signed_in(outsider)[1]
    _, secret = api_token_create(team=team, owner=_admin(team), name="ci")

    async def burst() -> list[Any]:
        return list(
            await asyncio.gather(
                access.access_for_session(member_key, ready.pk),
                access.access_for_session(outsider_key, ready.pk),
                access.access_for_session("nope" * 8, ready.pk),
                access.access_for_token(f"Bearer {secret}", ready.pk),
                access.access_for_token(f"Bearer {secret[:-1]}x", ready.pk),
                return_exceptions=True,
            )
        )

    member, stranger, nobody, token, forged = _run(burst)
    assert isinstance(member, Access) and member.user_id == deployer.pk
    assert isinstance(stranger, NotFound)
    assert isinstance(nobody, NotSignedIn)
    assert isinstance(token, Access) and token.token_id is not None
    assert isinstance(forged, NotSignedIn)


def _admin(team: Any) -> Any:
    from portal.models import Membership, Role
    from tests.factories import UserFactory

    user: Any = UserFactory(username="team-admin")
    Membership.objects.create(team=team, user=user, role=Role.ADMIN)
    return user


def _session_cases() -> dict[str, Callable[[Any, Any, Any, Any], tuple[str, int]]]:
    """Ways a session can stand, each set up from (settings, member, outsider, deployment)
    and giving (session key, deployment id) to ask with."""
    from django.contrib.auth import BACKEND_SESSION_KEY, HASH_SESSION_KEY, SESSION_KEY
    from django.contrib.sessions.backends.db import SessionStore

    def edited(user: Any, **changes: Any) -> str:
        _, key = _signed_in(user)
        store = SessionStore(key)
        for name, value in changes.items():
            if value is None:
                store.pop(name, None)
            else:
                store[name] = value
        store.save()
        return key

    def secret_rotated(settings: Any, user: Any) -> str:
        _, key = _signed_in(user)  # its hash made with the key that is now the fallback
        settings.SECRET_KEY_FALLBACKS = [settings.SECRET_KEY]
        settings.SECRET_KEY = "a-new-secret-key-" + "x" * 40
        return key

    def expired(user: Any) -> str:
        _, key = _signed_in(user)
        Session.objects.filter(session_key=key).update(
            expire_date=timezone.now() - timedelta(seconds=1)
        )
        return key

    def signed_out(user: Any) -> str:
        client, key = _signed_in(user)
        client.logout()
        return key

    def password_changed(user: Any) -> str:
        _, key = _signed_in(user)
        user.set_password("a new one")
        user.save()
        return key

    def inactive(user: Any) -> str:
        _, key = _signed_in(user)
        user.is_active = False
        user.save()
        return key

    def deleted(user: Any) -> str:
        _, key = _signed_in(user)
        user.delete()
        return key

    def not_ready(dep: Any) -> int:
        dep.status = Status.PENDING_APPROVAL
        dep.save()
        return int(dep.pk)

    return {
        "member": lambda s, m, o, d: (_signed_in(m)[1], d.pk),
        "outsider": lambda s, m, o, d: (_signed_in(o)[1], d.pk),
        "platform admin": lambda s, m, o, d: (_signed_in(platform_admin("root"))[1], d.pk),
        "no such deployment": lambda s, m, o, d: (_signed_in(m)[1], 10**9),
        "deployment not ready": lambda s, m, o, d: (_signed_in(m)[1], not_ready(d)),
        "unknown key": lambda s, m, o, d: ("x" * 32, d.pk),
        "signed out": lambda s, m, o, d: (signed_out(m), d.pk),
        "expired": lambda s, m, o, d: (expired(m), d.pk),
        "password changed": lambda s, m, o, d: (password_changed(m), d.pk),
        "inactive user": lambda s, m, o, d: (inactive(m), d.pk),
        "deleted user": lambda s, m, o, d: (deleted(m), d.pk),
        "secret key rotated": lambda s, m, o, d: (secret_rotated(s, m), d.pk),
        "no hash": lambda s, m, o, d: (edited(m, **{HASH_SESSION_KEY: None}), d.pk),
        "wrong hash": lambda s, m, o, d: (edited(m, **{HASH_SESSION_KEY: "0" * 64}), d.pk),
        "other backend": lambda s, m, o, d: (
            edited(m, **{BACKEND_SESSION_KEY: "django.contrib.auth.backends.RemoteUserBackend"}),
            d.pk,
        ),
        "no user id": lambda s, m, o, d: (edited(m, **{SESSION_KEY: None}), d.pk),
        "user id not a number": lambda s, m, o, d: (edited(m, **{SESSION_KEY: "abc"}), d.pk),
        "user id of another": lambda s, m, o, d: (edited(m, **{SESSION_KEY: str(o.pk)}), d.pk),
    }


def _answer(got: Access | ApplicationError) -> tuple[str, int | None, int | None]:
    if isinstance(got, Access):
        return ("access", got.user_id, got.deployment_id)
    return (type(got).__name__, None, None)


@pytest.mark.parametrize("case", list(_session_cases()))
def test_the_postgres_path_agrees_with_djangos_own_session_check(
    case: str, settings: Any, deployer: Any, outsider: Any, ready: Any
) -> None:
    """playground/access_sql.py reads sessions with its own SQL for speed; for every way a
    session can stand it must answer as the ORM path does, which is Django's own
    django.contrib.auth.get_user and the portal's team rule (playground/access.py)."""
    key, deployment_id = _session_cases()[case](settings, deployer, outsider, ready)
    postgres = _answer(_outcome(lambda: access.access_for_session(key, deployment_id)))
    try:
        orm = _answer(access.access_by_session(key, deployment_id))
    except ApplicationError as exc:
        orm = _answer(exc)
    except ValidationError:
        # get_user raises on a user id that is no number (only the server writes session
        # data); the Postgres path refuses it as not signed in rather than fail.
        orm = ("NotSignedIn", None, None)
    assert postgres == orm
    assert (postgres[0] == "access") == (case in {"member", "secret key rotated"})
