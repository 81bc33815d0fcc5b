"""The playground's chat stream: one event format for the browser, whatever the endpoint speaks.

Events (server-sent, `event: NAME` + `data: JSON`):
  start    {deployment, model}                      at once, before the endpoint answers
  warming  {seconds, message}                       while the first token is awaited
  token    {content?, reasoning?}                   as the endpoint sends them
  error    {code, message}                          and the stream ends
  done     {finish_reason, ttft_ms, tokens_per_second, prompt_tokens, completion_tokens,
            estimated, conversation_id, message_id}

Until the first token the stream waits in a task it can watch, so it can tell the
browser how long it has waited (a cold start loads the model first) and give up at
COLD_START_LIMIT_SECONDS; after that it relays chunk by chunk with nothing between.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import time
from collections.abc import AsyncIterator, Coroutine
from typing import Any

from django.conf import settings
from django.db import DatabaseError

from gcp.endpoint_credentials import UpstreamCredentialError, upstream_headers
from playground import records
from playground.access import Access
from playground.access_sql import DROPPED
from playground.db import run_db
from playground.models import UsageRecord
from playground.protocols import ChatParams, Piece, chat_request, parser_for
from playground.services import (
    Tally,
    chat_exchange_record,
    conversation_title,
    settings_used,
    storable,
    storable_params,
    usage_counts,
    usage_record,
)
from playground.upstream import (
    UpstreamError,
    cold_start_timeout,
    json_headers,
    upstream_request,
)
from telemetry.instruments import PROXY_TTFT

logger = logging.getLogger(__name__)

# Records still being written after their browser left; kept so they are not collected.
_background: set[asyncio.Task[Any]] = set()


_COMPACT = json.JSONEncoder(separators=(",", ":"))  # one encoder, not one per event


def sse(event: str, data: dict[str, Any]) -> bytes:
    return f"event: {event}\ndata: {_COMPACT.encode(data)}\n\n".encode()


# A token is the one event sent per chunk: its text goes through the C string encoder alone.
_quoted = json.encoder.encode_basestring_ascii  # type: ignore[attr-defined]


def _token_event(piece: Piece) -> bytes:
    if not piece.reasoning:
        return b'event: token\ndata: {"content":' + _quoted(piece.content).encode() + b"}\n\n"
    if not piece.content:
        return b'event: token\ndata: {"reasoning":' + _quoted(piece.reasoning).encode() + b"}\n\n"
    return sse("token", {"content": piece.content, "reasoning": piece.reasoning})


async def _pieces(access: Access, params: ChatParams, started: float) -> AsyncIterator[list[Piece]]:
    path, body = chat_request(access.protocol, params)
    credential = await upstream_headers(
        credential=access.credential, endpoint_url=access.endpoint_url
    )
    async with upstream_request(
        method="POST",
        url=access.endpoint_url.rstrip("/") + path,
        headers={**access.model_headers(params.model), **json_headers(credential)},
        body=json.dumps(body).encode(),
        started=started,
        ca_pem=access.ca_pem,
        refused_hint=access.access_hint,
    ) as response:
        parser = parser_for(access.protocol)
        async for data in response.content.iter_any():
            pieces = parser.feed(data)
            if pieces:
                yield pieces
        rest = parser.close()
        if rest:
            yield rest


async def _first_text(it: AsyncIterator[list[Piece]]) -> list[Piece] | None:
    """Batches up to and including the first that carries text, an error or the end."""
    collected: list[Piece] = []
    async for batch in it:
        collected.extend(batch)
        if any(p.content or p.reasoning or p.error or p.done for p in batch):
            return collected
    return collected or None


def _take(tally: Tally, batch: list[Piece]) -> bytes:
    out = []
    now = time.monotonic()
    for piece in batch:
        if piece.content or piece.reasoning:
            tally.pieces += 1
            tally.first_token_at = tally.first_token_at or now
            tally.last_token_at = now
            if piece.content:
                tally.content.append(piece.content)
            if piece.reasoning:
                tally.reasoning.append(piece.reasoning)
            out.append(_token_event(piece))
        if piece.usage is not None:
            tally.usage = piece.usage
        if piece.finish_reason:
            tally.finish_reason = piece.finish_reason
        if piece.error:
            tally.error = piece.error
            break
    return b"".join(out)


async def chat_stream(
    *, access: Access, params: ChatParams, conversation_id: int | None, started: float
) -> AsyncIterator[bytes]:
    """The browser's event stream for one reply."""
    # Every yield stays in this one generator, inside the one try: however the browser
    # leaves (at any yield) the finally below runs at once, with nothing left suspended.
    cfg = settings.PLAYGROUND
    tally = Tally()
    keeper = _Keeper(access, params, conversation_id, tally, started)
    it = _pieces(access, params, started)
    waiting: asyncio.Task[list[Piece] | None] | None = None
    finished = False
    try:
        yield sse("start", {"deployment": access.slug, "model": params.model})
        waiting = asyncio.ensure_future(_first_text(it))
        tick = cfg["WARMING_AFTER_SECONDS"]
        while not await _arrived(waiting, started, tick, cfg):
            if time.monotonic() - started >= tick:
                yield _warming(started)
                await keeper.checkpoint()  # a cold start: keep the question meanwhile
                tick += cfg["WARMING_EVERY_SECONDS"]
        first = waiting.result()
        if first:
            yield _take(tally, first)
            if tally.first_token_at is not None:
                PROXY_TTFT.observe(tally.first_token_at - started)
            await keeper.checkpoint()
        if tally.error is None and not any(p.done for p in first or []):
            async for batch in it:
                chunk = _take(tally, batch)
                if chunk:
                    yield chunk
                    await keeper.checkpoint_due()
                if tally.error is not None:
                    break
        if tally.error is not None:
            yield sse("error", {"code": "upstream_error", "message": tally.error})
        finished = True
        # Shielded: a client leaving now cancels the stream, not the keeping of it.
        stats, conversation, message = await asyncio.shield(keeper.final())
        yield sse("done", {**stats, "conversation_id": conversation, "message_id": message})
    except (UpstreamError, UpstreamCredentialError) as exc:
        yield _failed(tally, exc)
    finally:
        if waiting is not None and not waiting.done():
            waiting.cancel()
        await _close_quietly(it)
        if not finished:
            _in_background(keeper.final() if tally.pieces else keeper.let_go())


async def _arrived(
    waiting: asyncio.Task[list[Piece] | None], started: float, until: float, cfg: dict[str, Any]
) -> bool:
    """Wait for the first text until `until` seconds after the start; False if it has not come.

    Raises the cold-start timeout once the limit has passed without it.
    """
    limit = cfg["COLD_START_LIMIT_SECONDS"]
    waited = time.monotonic() - started
    if waited >= limit:
        raise cold_start_timeout(waited)
    pause = min(until, limit) - waited
    done, _ = await asyncio.wait({waiting}, timeout=max(pause, 0.0))
    return bool(done)


def _warming(started: float) -> bytes:
    seconds = int(time.monotonic() - started)
    return sse(
        "warming",
        {
            "seconds": seconds,
            "message": f"Waiting for the model: {seconds} s. An endpoint scaled "
            "to zero loads its model before the first token.",
        },
    )


def _failed(tally: Tally, exc: UpstreamError | UpstreamCredentialError) -> bytes:
    if isinstance(exc, UpstreamError):
        tally.error, code = exc.message, exc.code
    else:
        tally.error, code = str(exc), "upstream_credential"
    return sse("error", {"code": code, "message": tally.error})


def _in_background(work: Coroutine[Any, Any, Any]) -> None:
    # The browser left (stop button, closed tab) or the stream failed part-way: keep
    # what was said and count it (or let go of a question journaled meanwhile), without
    # holding anything up.
    task = asyncio.ensure_future(work)
    _background.add(task)
    task.add_done_callback(_background.discard)


async def _close_quietly(it: AsyncIterator[list[Piece]]) -> None:
    aclose = getattr(it, "aclose", None)
    if aclose is not None:
        # It may still be running in the cancelled waiting task, or have failed there.
        with contextlib.suppress(RuntimeError, UpstreamError, UpstreamCredentialError):
            await aclose()


def _stats(tally: Tally, counts: tuple[int, int, bool] | None, started: float) -> dict[str, Any]:
    ttft = (tally.first_token_at - started) * 1000 if tally.first_token_at else None
    rate = None
    first, last = tally.first_token_at, tally.last_token_at
    if counts and first and last and last > first:
        # Tokens after the first, over the time they took: the decode speed a user feels.
        rate = round(max(counts[1] - 1, 0) / (last - first), 1)
    return {
        "finish_reason": tally.finish_reason,
        "ttft_ms": round(ttft) if ttft is not None else None,
        "tokens_per_second": rate,
        "prompt_tokens": counts[0] if counts else 0,
        "completion_tokens": counts[1] if counts else 0,
        "estimated": counts[2] if counts else False,
        "error": tally.error,
    }


UNSTORABLE_NOTICE = (
    "Your message held characters that could not be stored (NUL or a broken Unicode "
    'surrogate); the saved conversation has them removed or replaced with "?".'
)
UNSAVED_NOTICE = "The reply could not be saved to the conversation; it was counted."


class _Keeper:
    """What one chat leaves behind: on a server's loop journaled as it goes and written in
    batches (playground/records.py); elsewhere written through the ORM at the end."""

    def __init__(
        self,
        access: Access,
        params: ChatParams,
        conversation_id: int | None,
        tally: Tally,
        started: float,
    ) -> None:
        self.access, self.params, self.tally, self.started = access, params, tally, started
        self.conversation_id = conversation_id
        self.batched = records.enabled()
        self.ids: dict[str, int] | None = None
        self.asked_at = records.now_iso()
        self.checked_at = 0.0
        self.kept = False

    async def _ids(self) -> dict[str, int]:
        if self.ids is None:
            conversation = (
                [self.conversation_id]
                if self.conversation_id is not None
                else await records.ids_take("conversation", 1)
            )
            question, answer = await records.ids_take("message", 2)
            [usage] = await records.ids_take("usage", 1)
            self.ids = {
                "conversation": conversation[0],
                "question": question,
                "answer": answer,
                "usage": usage,
            }
        return self.ids

    def _counted(self) -> tuple[tuple[int, int, bool] | None, dict[str, Any]]:
        prompt_text = " ".join(m["content"] for m in self.params.all_messages())
        counts = usage_counts(tally=self.tally, prompt_text=prompt_text)
        return counts, _stats(self.tally, counts, self.started)

    async def _record(self, *, final: bool) -> tuple[records.Record, dict[str, Any]]:
        ids = await self._ids()
        counts, stats = self._counted()
        params, cleaned = storable_params(self.params)
        reply = storable(self.tally.text())
        if cleaned or reply != self.tally.text():
            stats["notice"] = UNSTORABLE_NOTICE
        question = params.messages[-1]["content"] if params.messages else ""
        now = records.now_iso()
        access = self.access
        usage = None
        if counts is not None:
            usage = records.UsageRow(
                id=ids["usage"],
                deployment=access.deployment_id,
                user=access.user_id,
                token=None,
                source=UsageRecord.Source.PLAYGROUND,
                model=params.model[:200],
                prompt=counts[0],
                completion=counts[1],
                estimated=counts[2],
                at=now,
            )
        used = settings_used(params)
        chat = records.ChatRow(
            conversation=ids["conversation"],
            new=self.conversation_id is None,
            user=access.user_id,
            deployment=access.deployment_id,
            title=conversation_title(question),
            model=used["model_name"],
            system=used["system_prompt"],
            params=used["params"],
            question_id=ids["question"],
            question=question,
            asked_at=self.asked_at,
            answer_id=ids["answer"],
            answer=reply,
            reasoning=storable("".join(self.tally.reasoning)),
            stats=storable(stats) if final else {**storable(stats), "interrupted": True},
            at=now,
        )
        return records.Record(key=_journal_key(ids), usage=usage, chat=chat), stats

    async def checkpoint(self) -> None:
        """Journal the exchange as it stands (not awaited): what a dying process leaves."""
        if not self.batched or self.kept:
            return
        self.checked_at = time.monotonic()
        try:
            record, _ = await self._record(final=False)
        except DROPPED:  # no ids while the database is away: the stream goes on regardless
            logger.warning("playground: no checkpoint on %s", self.access.slug, exc_info=True)
            return
        records.record_checkpoint(record)

    async def checkpoint_due(self) -> None:
        if self.batched and time.monotonic() - self.checked_at >= records.CHECKPOINT_SECONDS:
            await self.checkpoint()

    async def let_go(self) -> None:
        """Nothing came to keep (the ORM path keeps nothing either): a checkpoint of the
        question, journaled during a cold start, must not be written later."""
        if self.kept or self.ids is None:
            return
        self.kept = True
        await records.record_let_go(_journal_key(self.ids))

    async def final(self) -> tuple[dict[str, Any], int | None, int | None]:
        """Keep the exchange and count it; (stats, conversation id, reply message id)."""
        if self.kept:
            raise RuntimeError("an exchange is kept once")
        self.kept = True
        if not self.batched:
            return await _record_orm(
                self.access, self.params, self.conversation_id, self.tally, self.started
            )
        try:
            record, stats = await self._record(final=True)
        except DROPPED:  # no ids to keep it under: the database stayed away
            logger.exception("playground: the exchange on %s was not saved", self.access.slug)
            _, stats = self._counted()
            stats["notice"] = UNSAVED_NOTICE
            return stats, None, None
        await records.record_final(record)
        assert record.chat is not None  # noqa: S101 - a chat's record has its exchange
        return stats, record.chat.conversation, record.chat.answer_id


def _journal_key(ids: dict[str, int]) -> str:
    return f"c{ids['answer']}"  # an exchange's entry, named after its reply


async def _record_orm(
    access: Access, params: ChatParams, conversation_id: int | None, tally: Tally, started: float
) -> tuple[dict[str, Any], int | None, int | None]:
    """Keep the exchange and count it through the ORM. Text Postgres refuses is cleaned first
    (and the user told); if the exchange still cannot be written, the usage is recorded on
    its own."""
    prompt_text = " ".join(m["content"] for m in params.all_messages())
    counts = usage_counts(tally=tally, prompt_text=prompt_text)
    stats = _stats(tally, counts, started)
    params, cleaned = storable_params(params)
    reply, reasoning = storable(tally.text()), storable("".join(tally.reasoning))
    if cleaned or reply != tally.text():
        stats["notice"] = UNSTORABLE_NOTICE
    try:
        conversation, message = await run_db(
            chat_exchange_record,
            user_id=access.user_id,
            deployment_id=access.deployment_id,
            conversation_id=conversation_id,
            params=params,
            reply=reply,
            reasoning=reasoning,
            stats=storable(stats),
            counts=counts,
        )
    except DatabaseError:
        logger.exception("playground: the exchange on deployment %s was not saved", access.slug)
        if counts is not None:
            await run_db(
                usage_record,
                deployment_id=access.deployment_id,
                user_id=access.user_id,
                token_id=None,
                source=UsageRecord.Source.PLAYGROUND,
                model_name=params.model,
                counts=counts,
            )
        stats["notice"] = UNSAVED_NOTICE
        return stats, None, None
    return stats, conversation, message
