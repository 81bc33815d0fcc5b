"""What the proxy keeps of each request (usage, and a chat's exchange), written off the stream.

Why: one ORM transaction of about five statements per stream, on a database thread, cost
more CPU than relaying the stream (issue 24). On a server's loop with the Postgres pool
(playground/access_sql.py) a request's record is instead:

1. journaled in Redis (one hash field per request, in the same pipeline as the stream
   slots, playground/limits.py): as soon as a chat starts, again every CHECKPOINT_SECONDS
   while tokens come, and finally when the request ends (the chat's `done` event is sent
   once the final entry is in Redis, so a client told "done" is never told so for
   nothing);
2. written to Postgres by a writer that flushes every FLUSH_SECONDS, all records of that
   moment in one transaction on the pool (no thread, no ORM), then taken off the journal.

Nothing is lost when the connection to Postgres drops (the batch is written again on a
fresh connection: every row has its id from the start, taken from the sequences ahead of
time, and is inserted ON CONFLICT DO NOTHING, so writing twice is writing once), nor when
a client leaves mid-stream (what came is kept), nor when the process dies after a request
ended: any process's writer takes up journal entries whose lapse has passed and writes
them as they stand. A process that dies mid-stream leaves its last checkpoint, so the
exchange, the question and the usage are kept, less at most the reply's last
CHECKPOINT_SECONDS (a stream's own entries lapse only after it would have ended on its
own: the cold-start and idle limits). tests/playground/test_access_hostile.py kills a
server mid-stream, and drops the database connections under load, and finds the rows.
Elsewhere (SQLite, Django's test client) the ORM writes each record as it ends.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import json
import logging
import time
import weakref
from dataclasses import dataclass, field
from typing import Any

import psycopg
from django.conf import settings
from django.utils import timezone

from playground import access_sql, limits
from playground.db import run_db
from playground.models import Conversation, Message, UsageRecord

logger = logging.getLogger(__name__)

FLUSH_SECONDS = 0.1
CHECKPOINT_SECONDS = 1.0
RECOVER_EVERY_SECONDS = 10.0
# A final entry its own writer has not written this long after is taken up by any writer.
FINAL_LAPSE_SECONDS = 30.0
RECOVER_BATCH = 200
IDS_AHEAD = 256


@dataclass
class UsageRow:
    id: int
    deployment: int
    user: int
    token: int | None
    source: str
    model: str
    prompt: int
    completion: int
    estimated: bool
    at: str


@dataclass
class ChatRow:
    """One exchange: the question and the reply, in a conversation new or continued."""

    conversation: int
    new: bool
    user: int
    deployment: int
    title: str
    model: str
    system: str
    params: dict[str, Any]
    question_id: int
    question: str
    asked_at: str
    answer_id: int
    answer: str = ""
    reasoning: str = ""
    stats: dict[str, Any] = field(default_factory=dict)
    at: str = ""


@dataclass
class Record:
    """What one request leaves behind; `key` names its journal entry."""

    key: str
    usage: UsageRow | None = None
    chat: ChatRow | None = None

    def dumps(self, lapse: float) -> str:
        return json.dumps(
            {
                "lapse": lapse,
                # vars(), not asdict(): asdict deep-copies every dict, per checkpoint.
                "usage": self.usage and vars(self.usage),
                "chat": self.chat and vars(self.chat),
            }
        )

    @classmethod
    def loads(cls, key: str, raw: str | bytes) -> Record:
        data = json.loads(raw)
        usage, chat = data.get("usage"), data.get("chat")
        return cls(key, UsageRow(**usage) if usage else None, ChatRow(**chat) if chat else None)


def now_iso() -> str:
    return timezone.now().isoformat()


def enabled() -> bool:
    """Whether this loop writes records in batches (a server's loop on Postgres)."""
    return access_sql.fast_path_enabled()


# ---- ids taken ahead from the tables' own sequences --------------------------------------

_TABLES = {
    "conversation": Conversation._meta.db_table,
    "message": Message._meta.db_table,
    "usage": UsageRecord._meta.db_table,
}


class _Ids:
    def __init__(self) -> None:
        self.stock: dict[str, list[int]] = {name: [] for name in _TABLES}
        self.filling: dict[str, asyncio.Task[None]] = {}

    async def take(self, name: str, n: int) -> list[int]:
        while len(self.stock[name]) < n:
            await self._fill(name)
        taken, self.stock[name] = self.stock[name][:n], self.stock[name][n:]
        if len(self.stock[name]) < IDS_AHEAD // 2 and name not in self.filling:
            self._start(name)  # the next streams find their ids waiting
        return taken

    def _start(self, name: str) -> asyncio.Task[None]:
        task = asyncio.ensure_future(self._refill(name))
        self.filling[name] = task
        task.add_done_callback(lambda _: self._filled(name, task))
        return task

    def _filled(self, name: str, task: asyncio.Task[None]) -> None:
        self.filling.pop(name, None)
        # A refill started ahead has no one awaiting it: its failure is heard here.
        if not task.cancelled() and task.exception() is not None:
            logger.warning("playground: %s ids not taken ahead: %s", name, task.exception())

    async def _fill(self, name: str) -> None:
        task = self.filling.get(name) or self._start(name)
        await asyncio.shield(task)

    async def _refill(self, name: str) -> None:
        rows = await access_sql.pooled_fetch(
            "SELECT nextval(pg_get_serial_sequence(%(table)s, 'id')) "
            "FROM generate_series(1, %(n)s)",
            {"table": _TABLES[name], "n": IDS_AHEAD},
        )
        self.stock[name].extend(int(row[0]) for row in rows)


# ---- the journal (Redis) -----------------------------------------------------------------

# KEYS[1] the entries (a hash), KEYS[2] their lapse times (a sorted set); ARGV key, entry, lapse.
_PUT = """
redis.call('HSET', KEYS[1], ARGV[1], ARGV[2])
redis.call('ZADD', KEYS[2], ARGV[3], ARGV[1])
return 1
"""
_DROP = """
for i, key in ipairs(ARGV) do
  redis.call('HDEL', KEYS[1], key)
  redis.call('ZREM', KEYS[2], key)
end
return 1
"""
_DUE = """
local keys = redis.call('ZRANGEBYSCORE', KEYS[2], '-inf', ARGV[1], 'LIMIT', 0, ARGV[2])
if #keys == 0 then return {} end
local out = {}
for i, key in ipairs(keys) do
  out[#out + 1] = key
  out[#out + 1] = redis.call('HGET', KEYS[1], key) or ''
end
return out
"""


def _journal_keys() -> tuple[str, str]:
    # One journal per database: records name its rows.
    name = settings.DATABASES["default"]["NAME"]
    return f"hangar:playground:journal:{name}", f"hangar:playground:journal-lapse:{name}"


def journal_put(record: Record, lapse_after: float) -> asyncio.Future[Any] | None:
    """Keep `record` in the journal until written (None: no Redis, nothing kept)."""
    if not limits.redis_enabled():
        return None
    lapse = time.time() + lapse_after
    entries, lapses = _journal_keys()
    return limits.redis_script(_PUT, [entries, lapses], record.key, record.dumps(lapse), lapse)


async def _journal_drop(keys: list[str]) -> None:
    if keys and limits.redis_enabled():
        await limits.redis_script(_DROP, list(_journal_keys()), *keys)


def open_lapse() -> float:
    """How long an unfinished request's entry waits before another process takes it up:
    past when its stream would have ended on its own (cold start or silence limit)."""
    cfg = settings.PLAYGROUND
    return float(max(cfg["COLD_START_LIMIT_SECONDS"], cfg["IDLE_LIMIT_SECONDS"]) + 30)


# ---- the writer ----------------------------------------------------------------------------

_CONVERSATION = _TABLES["conversation"]
_MESSAGE = _TABLES["message"]
_USAGE = _TABLES["usage"]
_DEPLOYMENT = access_sql._DEPLOYMENT
_USER = access_sql._USER
_TOKEN = access_sql._TOKEN

# Rows of a deployment or user deleted meanwhile are left out rather than failing the batch.
CONVERSATION_INSERT = f"""
INSERT INTO {_CONVERSATION}
  (id, user_id, deployment_id, title, model_name, system_prompt, params, created_at, updated_at)
SELECT %(id)s, %(user)s, %(dep)s, %(title)s, %(model)s, %(system)s, %(params)s::jsonb,
       %(at)s, %(at)s
WHERE EXISTS (SELECT 1 FROM {_DEPLOYMENT} WHERE id = %(dep)s)
  AND EXISTS (SELECT 1 FROM {_USER} WHERE id = %(user)s)
ON CONFLICT (id) DO NOTHING
"""  # noqa: S608 - names from the models
CONVERSATION_UPDATE = f"""
UPDATE {_CONVERSATION} SET model_name = %(model)s, system_prompt = %(system)s,
       params = %(params)s::jsonb, updated_at = %(at)s
WHERE id = %(id)s AND user_id = %(user)s AND deployment_id = %(dep)s AND updated_at < %(at)s
"""  # noqa: S608 - names from the models
MESSAGE_INSERT = f"""
INSERT INTO {_MESSAGE} (id, conversation_id, role, content, reasoning, stats, created_at)
SELECT %(id)s, %(conversation)s, %(role)s, %(content)s, %(reasoning)s, %(stats)s::jsonb, %(at)s
WHERE EXISTS (SELECT 1 FROM {_CONVERSATION} WHERE id = %(conversation)s)
ON CONFLICT (id) DO NOTHING
"""  # noqa: S608 - names from the models
USAGE_INSERT = f"""
INSERT INTO {_USAGE} (id, deployment_id, user_id, api_token_id, source, model_name,
                      prompt_tokens, completion_tokens, estimated, created_at)
SELECT %(id)s, %(dep)s, %(user)s, (SELECT id FROM {_TOKEN} WHERE id = %(token)s), %(source)s,
       %(model)s, %(prompt)s, %(completion)s, %(estimated)s, %(at)s
WHERE EXISTS (SELECT 1 FROM {_DEPLOYMENT} WHERE id = %(dep)s)
  AND EXISTS (SELECT 1 FROM {_USER} WHERE id = %(user)s)
ON CONFLICT (id) DO NOTHING
"""  # noqa: S608 - names from the models


def _rows(records: list[Record]) -> dict[str, list[dict[str, Any]]]:
    new: list[dict[str, Any]] = []
    continued: list[dict[str, Any]] = []
    messages: list[dict[str, Any]] = []
    usage: list[dict[str, Any]] = []
    for record in records:
        chat = record.chat
        if chat is not None:
            settings_used = {
                "id": chat.conversation,
                "user": chat.user,
                "dep": chat.deployment,
                "model": chat.model,
                "system": chat.system,
                "params": json.dumps(chat.params),
                "at": chat.at or chat.asked_at,
            }
            (new if chat.new else continued).append({**settings_used, "title": chat.title})
            messages.append(
                {
                    "id": chat.question_id,
                    "conversation": chat.conversation,
                    "role": Message.Role.USER.value,
                    "content": chat.question,
                    "reasoning": "",
                    "stats": "{}",
                    "at": chat.asked_at,
                }
            )
            messages.append(
                {
                    "id": chat.answer_id,
                    "conversation": chat.conversation,
                    "role": Message.Role.ASSISTANT.value,
                    "content": chat.answer,
                    "reasoning": chat.reasoning,
                    "stats": json.dumps(chat.stats),
                    "at": chat.at or chat.asked_at,
                }
            )
        if record.usage is not None:
            usage.append({**vars(record.usage), "dep": record.usage.deployment})
    return {"new": new, "continued": continued, "messages": messages, "usage": usage}


async def _write_sql(
    conn: psycopg.AsyncConnection[Any], rows: dict[str, list[dict[str, Any]]]
) -> None:
    async with conn.transaction(), conn.cursor() as cursor:
        for sql, params in (
            (CONVERSATION_INSERT, rows["new"]),
            (CONVERSATION_UPDATE, rows["continued"]),
            (MESSAGE_INSERT, rows["messages"]),
            (USAGE_INSERT, rows["usage"]),
        ):
            if params:
                await cursor.executemany(sql, params)


_AWAY = access_sql.DROPPED


async def records_write(records: list[Record]) -> None:
    """Write `records` in one transaction (pooled: again on a fresh connection if the one it
    had was dropped). A database still away raises (the records stay in the journal for
    later); a record a rule refuses is written alone, so it fails no other, and is given
    up, logged."""
    try:
        await access_sql.pooled(functools.partial(_write_sql, rows=_rows(records)))
    except _AWAY:
        raise
    except psycopg.Error:
        if len(records) == 1:
            raise
        for record in records:
            try:
                await records_write([record])
            except _AWAY:
                raise
            except psycopg.Error:
                logger.exception("playground: record %s refused by Postgres", record.key)


class _Writer:
    def __init__(self) -> None:
        self.pending: list[Record] = []
        self.timer: asyncio.TimerHandle | None = None
        self.tasks: set[asyncio.Task[None]] = set()
        self.ids = _Ids()
        self.recovering: asyncio.Task[None] | None = None
        # Checkpoint writes to the journal still on their way, by entry.
        self.checkpoints: dict[str, asyncio.Future[Any]] = {}
        self.writing = asyncio.Lock()
        # Conversations written to the journal but perhaps not yet to Postgres, by id:
        # (user, deployment), so that a quick follow-up continues the right one.
        self.unwritten: dict[int, tuple[int, int]] = {}

    def checkpoint_landed(self, key: str, put: asyncio.Future[Any]) -> None:
        if self.checkpoints.get(key) is put:
            del self.checkpoints[key]

    def add(self, record: Record) -> None:
        self.pending.append(record)
        if record.chat is not None:
            self.unwritten[record.chat.conversation] = (record.chat.user, record.chat.deployment)
        if self.timer is None:
            self.timer = asyncio.get_running_loop().call_later(FLUSH_SECONDS, self._start)

    def _start(self) -> None:
        self.timer = None
        self._spawn(self.flush())

    def _spawn(self, work: Any) -> None:
        task = asyncio.ensure_future(work)
        self.tasks.add(task)
        task.add_done_callback(self.tasks.discard)

    async def flush(self) -> None:
        # One flush writes at a time: a follow-up's messages go in only where their
        # conversation exists, and a flush still writing it would not have committed it.
        async with self.writing:
            records, self.pending = self.pending, []
            if not records:
                return
            try:
                await records_write(records)
            except Exception:
                # Still in the journal: a later recovery writes them.
                logger.exception("playground: %d records not written yet", len(records))
                return
            finally:
                for record in records:
                    if record.chat is not None:
                        self.unwritten.pop(record.chat.conversation, None)
        try:
            await _journal_drop([r.key for r in records])
        except Exception:  # written; a recovery writing them again changes nothing
            logger.warning("playground: journal entries not dropped", exc_info=True)

    async def recover(self, now: float | None = None) -> int:
        """Write journal entries whose lapse has passed by `now` (their process died or
        failed); how many."""
        if not limits.redis_enabled():
            return 0
        entries, lapses = _journal_keys()
        done = 0
        while True:
            due = time.time() if now is None else now
            found = await limits.redis_script(_DUE, [entries, lapses], due, RECOVER_BATCH)
            if not found:
                return done
            records, dead = [], []
            for key, raw in zip(found[::2], found[1::2], strict=True):
                key = key.decode() if isinstance(key, bytes) else key
                try:
                    records.append(Record.loads(key, raw))
                except (ValueError, TypeError):
                    dead.append(key)  # nothing anyone could write
            try:
                await records_write(records)
            except _AWAY:
                raise  # the database is away: kept, tried again later
            except psycopg.Error:
                logger.exception("playground: journal entries refused by Postgres; given up")
            await _journal_drop([r.key for r in records] + dead)
            done += len(records)
            if len(found) < 2 * RECOVER_BATCH:
                return done

    async def recover_forever(self) -> None:
        while True:
            try:
                await self.recover()
            except Exception:
                logger.warning("playground: journal recovery failed; retried later", exc_info=True)
            await asyncio.sleep(RECOVER_EVERY_SECONDS)

    async def drain(self) -> None:
        if self.timer is not None:
            self.timer.cancel()
            self.timer = None
        await self.flush()
        if self.tasks:
            await asyncio.gather(*self.tasks, return_exceptions=True)


_writers: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, _Writer] = (
    weakref.WeakKeyDictionary()
)


def _writer() -> _Writer:
    loop = asyncio.get_running_loop()
    writer = _writers.get(loop)
    if writer is None:
        writer = _writers[loop] = _Writer()
    return writer


async def ids_take(name: str, n: int) -> list[int]:
    """`n` ids of a playground table, taken ahead from its sequence."""
    return await _writer().ids.take(name, n)


async def record_final(record: Record) -> None:
    """The request is over: journal it (awaited: a client told "done" is told so for
    something kept) and queue it for the next flush."""
    await _checkpoint_through(record.key)
    put = journal_put(record, FINAL_LAPSE_SECONDS)
    if put is not None:
        try:
            await put
        except Exception:  # Redis away: the flush still writes it, only unjournaled
            logger.warning("playground: record %s not journaled", record.key, exc_info=True)
    _writer().add(record)


def record_checkpoint(record: Record) -> None:
    """The request so far, journaled and not awaited: what a process that dies leaves."""
    put = journal_put(record, open_lapse())
    if put is None:
        return
    put.add_done_callback(_quiet)
    writer = _writer()
    writer.checkpoints[record.key] = put
    put.add_done_callback(functools.partial(writer.checkpoint_landed, record.key))


async def record_let_go(key: str) -> None:
    """The request ended with nothing to keep: its checkpoint leaves the journal."""
    await _checkpoint_through(key)
    await _journal_drop([key])


async def _checkpoint_through(key: str) -> None:
    """Wait for the entry's last checkpoint write. Pipelines run side by side (limits.py),
    so one still on its way could land after what follows it: put a final entry back to
    a checkpoint, or a dropped one back in the journal."""
    put = _writer().checkpoints.get(key)
    if put is not None:
        await asyncio.wait([put])


def _quiet(future: asyncio.Future[Any]) -> None:
    if not future.cancelled() and future.exception() is not None:
        logger.warning("playground: checkpoint not journaled: %s", future.exception())


def conversation_unwritten(conversation_id: int, user_id: int, deployment_id: int) -> bool:
    """Whether this process holds `conversation_id`, the user's on that deployment, still
    unwritten (a follow-up sent before the flush continues it)."""
    writer = _writers.get(asyncio.get_running_loop())
    return writer is not None and writer.unwritten.get(conversation_id) == (
        user_id,
        deployment_id,
    )


async def records_start() -> None:
    """At the server's startup, with the pool open: take up what a dead process left, then
    keep looking every RECOVER_EVERY_SECONDS."""
    if not enabled():
        return
    writer = _writer()
    writer.recovering = asyncio.ensure_future(writer.recover_forever())


async def records_drain() -> None:
    """Write whatever is waiting (shutdown, tests)."""
    writer = _writers.get(asyncio.get_running_loop())
    if writer is None:
        return
    if writer.recovering is not None:
        writer.recovering.cancel()
        with contextlib.suppress(asyncio.CancelledError, Exception):
            await writer.recovering
    await writer.drain()


# ---- elsewhere: the ORM, one record as it ends ---------------------------------------------


def usage_write_orm(usage: UsageRow) -> None:
    UsageRecord.objects.create(
        deployment_id=usage.deployment,
        user_id=usage.user,
        api_token_id=usage.token,
        source=usage.source,
        model_name=usage.model,
        prompt_tokens=usage.prompt,
        completion_tokens=usage.completion,
        estimated=usage.estimated,
    )


async def usage_keep(usage_of: Any, usage_id: int | None = None, *, final: bool = True) -> int:
    """Keep a passthrough request's usage, built by `usage_of(id)`: at its end (`final`), or
    as it stands mid-stream (a checkpoint). The same `usage_id` names the same record, so
    a final one replaces the checkpoints. Returns the id."""
    if enabled():
        if usage_id is None:
            [usage_id] = await ids_take("usage", 1)
        record = Record(key=f"u{usage_id}", usage=usage_of(usage_id))
        if final:
            await record_final(record)
        else:
            record_checkpoint(record)
        return usage_id
    if final:
        await run_db(usage_write_orm, usage_of(0))
    return 0
