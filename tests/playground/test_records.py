"""The records' writer on the Postgres pool (playground/records.py), driven directly."""

import asyncio
from typing import Any

import pytest

from deployments.choices import Status
from playground import records
from playground.access_sql import access_sql_close, access_sql_open
from playground.models import Conversation, Message
from tests.factories import DeploymentFactory

pytestmark = pytest.mark.django_db(transaction=True)


def _chat(ids: dict[str, int], user: Any, deployment: Any, new: bool, text: str) -> records.Record:
    at = records.now_iso()
    chat = records.ChatRow(
        conversation=ids["conversation"],
        new=new,
        user=user.pk,
        deployment=deployment.pk,
        title=text,
        model="gemma3:4b",
        system="",
        params={},
        question_id=ids["question"],
        question=text,
        asked_at=at,
        answer_id=ids["answer"],
        answer=f"heard: {text}",
        at=at,
    )
    return records.Record(key=f"c{ids['answer']}", chat=chat)


def test_a_follow_up_flushed_while_its_conversation_is_still_being_written_is_kept(
    team, deployer, monkeypatch
):
    """Flushes take turns: a follow-up's messages go in only where their conversation
    exists, so a flush must not run while the one writing that conversation is still
    uncommitted (here held open 0.3 s, as a slow commit under load would)."""
    deployment = DeploymentFactory(team=team, status=Status.READY, endpoint_url="https://a.run.app")
    write = records._write_sql

    async def slow_commit(conn: Any, rows: dict[str, list[dict[str, Any]]]) -> None:
        async with conn.transaction():
            await write(conn, rows)
            if rows["new"]:
                await asyncio.sleep(0.3)

    monkeypatch.setattr(records, "_write_sql", slow_commit)

    async def scenario() -> None:
        await access_sql_open()
        try:
            [conversation] = await records.ids_take("conversation", 1)
            first, second = (
                {"conversation": conversation, "question": q, "answer": a}
                for q, a in [await records.ids_take("message", 2) for _ in range(2)]
            )
            writer = records._writer()
            writer.add(_chat(first, deployer, deployment, True, "hi"))
            flushing = asyncio.ensure_future(writer.flush())
            await asyncio.sleep(0.1)  # the first flush is in its transaction
            writer.add(_chat(second, deployer, deployment, False, "and then?"))
            await writer.flush()
            await flushing
        finally:
            await records.records_drain()
            await access_sql_close()

    asyncio.run(scenario())
    conversation = Conversation.objects.get()
    assert list(conversation.messages.order_by("id").values_list("role", "content")) == [
        (Message.Role.USER, "hi"),
        (Message.Role.ASSISTANT, "heard: hi"),
        (Message.Role.USER, "and then?"),
        (Message.Role.ASSISTANT, "heard: and then?"),
    ]
