"""Every reply is metered, even when the message holds text Postgres cannot store."""

import pytest

from playground.models import Conversation, Message, UsageRecord
from tests.playground.conftest import eventually, read_events, sign_in

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.mark.parametrize(
    ("question", "system", "stored"),
    [
        ("Why\x00 is the sky blue?", "", "Why is the sky blue?"),
        ("Why is the sky \ud800blue?", "", "Why is the sky ?blue?"),
        ("Why is the sky blue?", "Be\x00 brief \udfff.", "Why is the sky blue?"),
    ],
    ids=["nul", "lone-surrogate", "system-prompt"],
)
def test_a_message_that_cannot_be_stored_is_cleaned_kept_and_counted(
    portal_server, endpoint, deployer, question, system, stored
):
    http = sign_in(portal_server, deployer)
    # json.dumps writes the lone surrogate as \ud800, as a browser's JSON.stringify would.
    body = {"deployment": endpoint.pk, "messages": [{"role": "user", "content": question}]}
    if system:
        body["system"] = system
    with http.post(
        portal_server.url + "/playground/api/chat", json=body, stream=True, timeout=20
    ) as response:
        assert response.status_code == 200
        events = read_events(response)
    names = [name for name, _ in events]
    assert names[0] == "start" and names[-1] == "done", events[-1]
    done = events[-1][1]
    assert "could not be stored" in done["notice"]
    user_message = eventually(
        lambda: Message.objects.filter(
            conversation_id=done["conversation_id"], role=Message.Role.USER
        ).first()
    )
    assert user_message.content == stored
    conversation = Conversation.objects.get(pk=done["conversation_id"])
    assert "\x00" not in conversation.system_prompt
    [usage] = eventually(lambda: list(UsageRecord.objects.all()))
    assert usage.completion_tokens == done["completion_tokens"] > 0


def test_a_clean_message_has_no_notice(portal_server, endpoint, deployer):
    http = sign_in(portal_server, deployer)
    body = {"deployment": endpoint.pk, "messages": [{"role": "user", "content": "hi"}]}
    with http.post(
        portal_server.url + "/playground/api/chat", json=body, stream=True, timeout=20
    ) as response:
        events = read_events(response)
    assert events[-1][0] == "done" and "notice" not in events[-1][1]


def test_a_reply_that_cannot_be_saved_is_still_counted(deployer, team, monkeypatch):
    import asyncio
    import time

    from django.db import DatabaseError

    from deployments.choices import Status
    from playground import chat
    from playground.access import Access
    from playground.protocols import ChatParams, Protocol
    from playground.services import Tally
    from tests.factories import DeploymentFactory

    deployment = DeploymentFactory(team=team, status=Status.READY)

    def refuse(**_):
        raise DatabaseError("the database refused the exchange")

    monkeypatch.setattr(chat, "chat_exchange_record", refuse)
    access = Access(
        deployer.pk,
        "dev",
        None,
        deployment.pk,
        deployment.slug,
        deployment.target,
        "http://127.0.0.1:9",
        Protocol.OLLAMA,
        "none",
        "gemma3:4b",
        False,
    )
    tally = Tally(content=["Hello", " there"], pieces=2)
    params = ChatParams(model="gemma3:4b", messages=[{"role": "user", "content": "hi"}])
    stats, conversation, _ = asyncio.run(
        chat._record_orm(access, params, None, tally, time.monotonic())
    )
    assert conversation is None and "counted" in stats["notice"]
    usage = UsageRecord.objects.get()
    assert (usage.user, usage.completion_tokens, usage.estimated) == (deployer, 2, True)
