"""The streaming routes' fast paths under hostile keys and a failing database: a bad id or
token gets its own 4xx, never a 500 for itself or for the callers batched with it, and
connections Postgres drops (a failover, pg_terminate_backend) cost no 500 and no record."""

import asyncio
import json
import time
from typing import Any

import aiohttp
import psycopg
import pytest
from django.db import connection
from django.test import Client

from deployments.choices import Status
from playground import access_sql
from playground.access_sql import access_sql_close, access_sql_open
from playground.models import Conversation, UsageRecord
from portal.models import Role
from portal.services import api_token_create
from tests.factories import DeploymentFactory, MembershipFactory, UserFactory
from tests.playground.conftest import eventually

pytestmark = pytest.mark.django_db(transaction=True)

CSRF = "c" * 32
HUGE = "9223372036854775808"  # one past bigint
MADE_UP = "Bearer hgr_0123456789ab_madeupmadeupmadeup"


def _admins_with_tokens(team: Any, n: int) -> list[str]:
    """`n` team tokens, each of its own admin (the stream cap counts per user)."""
    secrets = []
    for i in range(n):
        admin = UserFactory(username=f"ci-{i}")
        MembershipFactory(team=team, user=admin, role=Role.ADMIN)
        secrets.append(api_token_create(team=team, owner=admin, name=f"ci-{i}")[1])
    return secrets


def _members_signed_in(team: Any, n: int) -> list[str]:
    keys = []
    for i in range(n):
        member: Any = UserFactory(username=f"member-{i}")
        MembershipFactory(team=team, user=member, role=Role.DEPLOYER)
        client = Client()
        client.force_login(member)
        keys.append(client.cookies["sessionid"].value)
    return keys


async def _call(
    http: aiohttp.ClientSession, method: str, url: str, headers: dict[str, str], body: Any
) -> tuple[int, bytes]:
    """(status, body) of one request; a transport failure is status 0, never swallowed
    into a pass: every assertion below wants a real status."""
    try:
        async with http.request(method, url, headers=headers, json=body) as response:
            return response.status, await response.read()
    except (aiohttp.ClientError, TimeoutError) as exc:
        return 0, repr(exc).encode()


def _hostile(base: str, pk: int, session: str) -> list[tuple[str, str, dict[str, str], int]]:
    """(name, url, headers, the 4xx expected) for requests a batch must survive."""
    models = "openai/v1/models"
    cookie = {"Cookie": f"sessionid={session}"}
    return [
        ("huge id, made-up token", f"{base}/api/v1/deployments/{HUGE}/{models}",
         {"Authorization": MADE_UP}, 404),
        ("huge id, no token", f"{base}/api/v1/deployments/{HUGE}/{models}", {}, 401),
        ("30-digit id", f"{base}/api/v1/deployments/{'9' * 30}/{models}",
         {"Authorization": MADE_UP}, 404),
        ("made-up token", f"{base}/api/v1/deployments/{pk}/{models}",
         {"Authorization": MADE_UP}, 401),
        ("huge id, signed in", f"{base}/playground/api/deployments/{HUGE}/models", cookie, 404),
        # Past the 4300 digits Python's int() converts.
        ("5000-digit id", f"{base}/api/v1/deployments/{'9' * 5000}/{models}",
         {"Authorization": MADE_UP}, 404),
        ("5000-digit id, signed in", f"{base}/playground/api/deployments/{'9' * 5000}/models",
         cookie, 404),
        ("session key not Django's", f"{base}/playground/api/deployments/{pk}/models",
         {"Cookie": "sessionid=" + "Z%00" * 20}, 401),
    ]  # fmt: skip


def test_hostile_ids_and_tokens_get_their_own_4xx_and_batched_callers_theirs(
    portal_server, endpoint, team
):
    secrets = _admins_with_tokens(team, 40)
    [session] = _members_signed_in(team, 1)
    legit = f"{portal_server.url}/api/v1/deployments/{endpoint.pk}/openai/v1/models"
    hostile = _hostile(portal_server.url, endpoint.pk, session)

    async def rounds() -> list[list[tuple[str, int, int, bytes]]]:
        out = []
        timeout = aiohttp.ClientTimeout(total=30)
        async with aiohttp.ClientSession(timeout=timeout) as http:
            for _ in range(4):
                calls = [
                    (
                        "legit",
                        200,
                        _call(http, "GET", legit, {"Authorization": f"Bearer {s}"}, None),
                    )
                    for s in secrets
                ]
                # Hostile requests among the legitimate ones, so they share their batches.
                for i, (name, url, headers, expected) in enumerate(hostile):
                    calls.insert(i * 7, (name, expected, _call(http, "GET", url, headers, None)))
                got = await asyncio.gather(*(call for _, _, call in calls))
                out.append([(n, e, s, b) for (n, e, _), (s, b) in zip(calls, got, strict=True)])
        return out

    for answers in asyncio.run(rounds()):
        wrong = [(n, s, b[:200]) for n, expected, s, b in answers if s != expected]
        assert wrong == [], wrong
        for name, _, _, body in answers:
            if name == "legit":
                assert [m["id"] for m in json.loads(body)["data"]] == ["gemma3:4b"]
            else:
                assert json.loads(body)["error"]["code"] in ("not_found", "not_authenticated")


def _run(call: Any) -> Any:
    async def scenario() -> Any:
        await access_sql_open()
        try:
            return await call()
        finally:
            await access_sql_close()

    return asyncio.run(scenario())


def test_a_batch_postgres_refuses_is_asked_again_key_by_key(team, team_admin):
    """Past the bounds (keys no caller can now send), the batch itself isolates a key
    Postgres refuses: its caller hears why, the others get their rows."""
    ready = DeploymentFactory(team=team, status=Status.READY, endpoint_url="https://a.run.app")
    row, _ = api_token_create(team=team, owner=team_admin, name="ci")

    async def batch() -> list[Any]:
        return await asyncio.gather(
            access_sql._one("token", row.prefix, ready.pk),
            access_sql._one("token", "0123456789ab", 2**63),  # bigint out of range
            access_sql._one("token", row.prefix, ready.pk + 1),
            access_sql._one("session", "nul\x00key"),  # text Postgres cannot hold
            return_exceptions=True,
        )

    mine, huge, other, nul = _run(batch)
    assert mine is not None and mine[0] == row.pk
    assert other is not None and other[0] == row.pk  # the token, no deployment of its team
    assert isinstance(huge, psycopg.DataError)
    assert isinstance(nul, psycopg.DataError)


def _terminator() -> Any:
    """pg_terminate_backend for every connection to the test database but the test's own
    (and its own): the server's, as a failover drops them. Runs from a thread."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_backend_pid()")
        mine = cursor.fetchone()[0]
    db = connection.settings_dict
    conninfo = {"dbname": db["NAME"], "user": db["USER"], "host": db["HOST"], "port": db["PORT"]}

    def terminate() -> int:
        with psycopg.connect(**conninfo, autocommit=True) as conn:
            row = conn.execute(
                "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
                "WHERE datname = current_database() AND pid <> pg_backend_pid() AND pid <> %s",
                (mine,),
            ).fetchone()
        return int(row[0]) if row else 0

    return terminate


def test_connections_dropped_mid_load_cost_the_streaming_routes_no_500(
    portal_server, endpoint, team, sandbox
):
    sandbox.config(model_load_delay=0, token_delay=0.02)
    secrets = _admins_with_tokens(team, 10)
    sessions = _members_signed_in(team, 10)
    base = portal_server.url
    openai_url = f"{base}/api/v1/deployments/{endpoint.pk}/openai/v1/chat/completions"
    chat_url = f"{base}/playground/api/chat"
    question = [{"role": "user", "content": "hello"}]
    rounds, terminated = 4, []
    terminate = _terminator()

    async def load() -> list[tuple[str, int, bytes]]:
        out: list[tuple[str, int, bytes]] = []
        timeout = aiohttp.ClientTimeout(total=60)
        async with aiohttp.ClientSession(timeout=timeout) as http:
            for _ in range(rounds):
                calls = [
                    _call(http, "POST", openai_url, {"Authorization": f"Bearer {s}"},
                          {"model": "gemma3:4b", "messages": question, "stream": True})
                    for s in secrets
                ] + [
                    _call(http, "POST", chat_url,
                          {"Cookie": f"sessionid={k}; csrftoken={CSRF}", "X-CSRFToken": CSRF},
                          {"deployment": endpoint.pk, "messages": question})
                    for k in sessions
                ]  # fmt: skip
                tasks = [asyncio.ensure_future(c) for c in calls]
                await asyncio.sleep(0.02)  # mid-load: some checked, some streaming, some not
                terminated.append(await asyncio.to_thread(terminate))
                got = await asyncio.gather(*tasks)
                out += [("openai", *g) for g in got[:10]] + [("chat", *g) for g in got[10:]]
        return out

    answers = asyncio.run(load())
    assert sum(terminated) >= rounds  # the server's connections were there to drop
    # A read is retried once on a fresh connection; when the same sweep drops that one
    # too, the caller gets a 503 saying the database did not answer. Never a 500, and
    # at most one per drop: without the retry every caught request fails (20 in 4 rounds).
    unavailable = [a for a in answers if a[1] == 503 and b"database_unavailable" in a[2]]
    assert len(unavailable) <= rounds, unavailable
    served = [a for a in answers if a not in unavailable]
    assert [(route, s, b[:200]) for route, s, b in served if s != 200] == []
    for route, _, body in served:
        if route == "chat":
            assert b"event: done" in body and b"event: error" not in body, body[-300:]
        else:
            assert body.rstrip().endswith(b"data: [DONE]"), body[-300:]
    # Nothing lost: every served request's record is written, through the dropped
    # connections.
    chats = sum(1 for route, _, _ in served if route == "chat")
    assert eventually(lambda: UsageRecord.objects.count() >= len(served), timeout=15)
    assert UsageRecord.objects.count() <= rounds * 20
    assert chats <= Conversation.objects.count() <= rounds * 10


def _stream_then_kill(server: Any, session: str, deployment: Any) -> list[str]:
    """Read a chat for a while, then kill the server (SIGKILL: no shutdown, no flush)."""
    import requests

    from playground import records

    tokens: list[str] = []
    response = requests.post(
        server.url + "/playground/api/chat",
        json={"deployment": deployment.pk, "messages": [{"role": "user", "content": "hi"}]},
        headers={"Cookie": f"sessionid={session}; csrftoken={CSRF}", "X-CSRFToken": CSRF},
        stream=True,
        timeout=20,
    )
    assert response.status_code == 200
    first = None
    try:
        for line in response.iter_lines(decode_unicode=True):
            if line.startswith("data: ") and '"content"' in line:
                tokens.append(json.loads(line[6:])["content"])
                first = first or time.monotonic()
            # Past the first checkpoint after the first token's (playground/records.py).
            if first and time.monotonic() - first > records.CHECKPOINT_SECONDS + 0.5:
                break
    finally:
        server.process.kill()
        server.process.wait(timeout=10)
        response.close()
    return tokens


def test_a_server_killed_mid_stream_leaves_the_exchange_to_the_next_writer(
    endpoint, team, sandbox, sandbox_process, tmp_path
):
    from playground import records
    from tests.playground.conftest import PortalServer

    sandbox.config(model_load_delay=0, token_delay=0.1)
    [session] = _members_signed_in(team, 1)
    server = PortalServer(tmp_path / "uvicorn.log")
    try:
        tokens = _stream_then_kill(server, session, endpoint)
    finally:
        server.stop()
    assert len(tokens) >= 10
    time.sleep(0.3)  # nothing more can come: the process is gone
    assert not Conversation.objects.exists()  # its writer never flushed the exchange

    async def recover() -> int:
        # Another process's writer, once the entry's lapse has passed (an hour on).
        return await records._writer().recover(now=time.time() + 3600)

    assert _run(recover) >= 1
    conversation = Conversation.objects.get()
    question, reply = conversation.messages.all()
    assert (question.role, question.content) == ("user", "hi")
    # What the last checkpoint held: all but at most CHECKPOINT_SECONDS of what was sent.
    sent = "".join(tokens)
    assert reply.role == "assistant" and sent.startswith(reply.content)
    assert reply.content.startswith("Sandbox gemma3:4b heard: hi")
    assert reply.stats["interrupted"] is True
    usage = UsageRecord.objects.get()
    assert usage.estimated is True and usage.completion_tokens >= 5
    assert _run(recover) == 0  # taken off the journal once written


def test_a_server_killed_mid_stream_leaves_the_passthroughs_usage_counted(
    endpoint, team, team_admin, sandbox, sandbox_process, tmp_path
):
    import requests

    from playground import records
    from tests.playground.conftest import PortalServer

    sandbox.config(model_load_delay=0, token_delay=0.1)
    row, secret = api_token_create(team=team, owner=team_admin, name="ci")
    server = PortalServer(tmp_path / "uvicorn.log")
    chunks, first = 0, None
    try:
        response = requests.post(
            f"{server.url}/api/v1/deployments/{endpoint.pk}/openai/v1/chat/completions",
            json={"model": "gemma3:4b", "messages": [{"role": "user", "content": "hi"}],
                  "stream": True},
            headers={"Authorization": f"Bearer {secret}"},
            stream=True,
            timeout=20,
        )  # fmt: skip
        assert response.status_code == 200
        for line in response.iter_lines(decode_unicode=True):
            if line.startswith("data: {"):
                chunks += 1
                first = first or time.monotonic()
            if first and time.monotonic() - first > records.CHECKPOINT_SECONDS + 0.5:
                break
    finally:
        server.process.kill()
        server.process.wait(timeout=10)
        server.stop()
    assert chunks >= 10
    time.sleep(0.3)
    assert not UsageRecord.objects.exists()  # the request never ended in that process

    async def recover() -> int:
        return await records._writer().recover(now=time.time() + 3600)

    assert _run(recover) >= 1
    usage = UsageRecord.objects.get()
    assert (usage.user, usage.api_token, usage.source) == (team_admin, row, "api")
    # Counted up to the last checkpoint: all but at most CHECKPOINT_SECONDS of the chunks.
    assert usage.estimated is True and 5 <= usage.completion_tokens <= chunks
