"""What a request leaves behind on the Postgres pool (playground/records.py, the chat's
keeper), driven directly."""

import asyncio
import time
from types import SimpleNamespace
from typing import Any

import psycopg
import pytest

from deployments.choices import Status
from playground import chat, records
from playground.access import Access
from playground.access_sql import access_sql_close, access_sql_open
from playground.models import Conversation, Message
from playground.protocols import ChatParams, Protocol
from playground.services import Tally
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


def test_a_chat_whose_database_stays_away_streams_on_and_says_it_was_not_saved(monkeypatch):
    """Its ids come from Postgres: with the database away past pooled()'s retry, a
    checkpoint is skipped (the stream goes on) and the end says the exchange was not
    saved, as the ORM path does, instead of breaking the stream."""

    async def away(name: str, n: int) -> list[int]:
        raise psycopg.OperationalError("server closed the connection unexpectedly")

    monkeypatch.setattr(records, "ids_take", away)
    access = Access(
        user_id=1,
        username="dev",
        token_id=None,
        deployment_id=1,
        slug="chat-gemma",
        target="cloud-run-ollama",
        endpoint_url="https://chat-gemma.run.app",
        protocol=Protocol.OLLAMA,
        credential="",
        default_model="gemma3:4b",
        supports_reasoning=False,
    )
    params = ChatParams(model="gemma3:4b", messages=[{"role": "user", "content": "hi"}])
    tally = Tally(content=["Hello"], pieces=1)

    async def scenario() -> tuple[dict[str, Any], int | None, int | None]:
        await access_sql_open()
        try:
            keeper = chat._Keeper(access, params, None, tally, time.monotonic())
            assert keeper.batched
            await keeper.checkpoint()
            return await keeper.final()
        finally:
            await access_sql_close()

    stats, conversation, message = asyncio.run(scenario())
    assert (conversation, message) == (None, None)
    assert stats["notice"] == chat.UNSAVED_NOTICE
    assert stats["completion_tokens"] == 1


def test_a_final_entry_is_journaled_once_the_last_checkpoint_has_landed(monkeypatch):
    """Journal writes go in pipelines that run side by side: a checkpoint still on its way
    must not land after the final entry and put it back to a checkpoint."""
    written: list[str] = []
    pending: list[asyncio.Future[Any]] = []

    def put(record: records.Record, lapse_after: float) -> asyncio.Future[Any]:
        future = asyncio.get_running_loop().create_future()
        assert record.chat is not None
        kind = record.chat.stats["kind"]
        future.add_done_callback(lambda _: written.append(kind))
        pending.append(future)
        return future

    monkeypatch.setattr(records, "journal_put", put)
    ids = {"conversation": 1, "question": 2, "answer": 3}

    def record(kind: str) -> records.Record:
        made = _chat(ids, SimpleNamespace(pk=1), SimpleNamespace(pk=1), True, "hi")
        assert made.chat is not None
        made.chat.stats = {"kind": kind}
        return made

    async def scenario() -> list[str]:
        records.record_checkpoint(record("checkpoint"))
        final = asyncio.ensure_future(records.record_final(record("final")))
        await asyncio.sleep(0.05)
        assert len(pending) == 1  # the final waits for the checkpoint's write
        pending[0].set_result(1)
        for _ in range(1000):  # ten seconds at most
            if len(pending) == 2:
                break
            await asyncio.sleep(0.01)
        pending[1].set_result(1)
        await final
        timer = records._writer().timer
        if timer is not None:
            timer.cancel()
        return written

    assert asyncio.run(scenario()) == ["checkpoint", "final"]
