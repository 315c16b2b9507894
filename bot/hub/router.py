"""Conversation router: stores every customer turn, then sends it to Rasa (bot mode) or leaves
it for the agents (human mode), and stores and delivers the replies exactly once.

Turns of one conversation are processed one at a time (a per-conversation lock), in order.
When Rasa cannot be reached the turn stays ``received`` and a background task retries with
backoff; the reply is pushed to the customer's channel when it comes. On start the hub resumes
turns that were accepted but never answered (e.g. the hub was stopped mid-turn).
"""

from __future__ import annotations

import asyncio
import dataclasses
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

from bot.db.models import Turn
from bot.db.session import Database
from bot.hub.handoff import after_bot_turn
from bot.hub.rasa_client import RasaClient, RasaFailed, RasaUnavailable
from bot.services import conversations as convs
from bot.services import crm
from bot.services import feedback as fb
from bot.services.escalation import Policy
from bot.services.language import detect_language
from channels.base import IncomingMessage

log = logging.getLogger(__name__)

APOLOGY = {
    "en": "Sorry, something went wrong on our side. Please try again in a moment.",
    "zh": "抱歉，系统出了点问题，请稍后再试。",
}

# channel -> delivery of messages produced after the request that carried the turn returned
Deliver = Callable[[str, str, dict[str, Any]], Awaitable[bool]]


@dataclass
class Reply:
    conversation_id: str
    messages: list[dict[str, Any]] = field(default_factory=list)
    status: str = "answered"  # answered | pending | with_agent | failed
    turn_id: int | None = None
    # A redelivery of a message already accepted: the reply was (or will be) sent for the
    # first delivery, so channels must not send it again.
    duplicate: bool = False


class ConversationRouter:
    def __init__(self, db: Database, rasa: RasaClient, *, reply_wait_s: float = 25.0,
                 retry_delays: tuple[float, ...] = (1, 2, 4, 8, 15, 30, 30, 30, 60),
                 policy: Policy | None = None,
                 staff_notifier: Callable[[dict[str, Any]], Awaitable[Any]] | None = None,
                 redact: Callable[[str, str], str] | None = None, csat: bool = True,
                 ) -> None:
        self.db = db
        # (text, language) -> text with PII replaced; what is stored at rest
        self.redact = redact
        self.csat = csat
        self.policy = policy or Policy()
        self.staff_notifier = staff_notifier
        self.rasa = rasa
        self.reply_wait_s = reply_wait_s
        self.retry_delays = retry_delays
        self._locks: dict[str, asyncio.Lock] = {}
        self._senders: dict[tuple[str, str], asyncio.Lock] = {}
        self._inflight: dict[int, asyncio.Future[Reply]] = {}
        self._tasks: set[asyncio.Task[Any]] = set()
        self._deliverers: dict[str, Deliver] = {}
        # turns whose request stopped waiting: their reply must be pushed through the channel
        self._late: set[int] = set()

    async def _notify_staff(self, frame: dict[str, Any]) -> None:
        if self.staff_notifier is not None:
            await self.staff_notifier(frame)

    def register_channel(self, channel: str, deliver: Deliver) -> None:
        """How to reach a channel's customer later (replies to turns answered in background)."""
        self._deliverers[channel] = deliver

    async def handle(self, msg: IncomingMessage) -> Reply:
        language = detect_language(msg.text, default=_locale_language(msg.metadata))
        # One sender's deliveries are accepted one at a time: two copies of a first message
        # arriving together must not open two conversations (then neither looks duplicate).
        sender_lock = self._senders.setdefault((msg.channel, msg.sender_id), asyncio.Lock())
        async with sender_lock:
            if self.csat and (score := fb.parse_rating(msg.text)) is not None:
                rated = await asyncio.to_thread(self._rate, msg, score)
                if rated is not None:
                    return Reply(rated.conversation_id, [rated.reply], "answered",
                                 rated.turn_id, duplicate=rated.duplicate)
            acc = await asyncio.to_thread(self._accept, msg, language)
        log.info("turn %s accepted on %s for conversation %s%s", acc.turn_id, msg.channel,
                 acc.conversation_id, " (redelivery)" if acc.duplicate else "")
        if acc.duplicate:
            # a copy: the first delivery may be holding the same Reply object
            return dataclasses.replace(await self._replay(acc), duplicate=True)
        if acc.owner == "agent":
            log.info("conversation %s is with an agent; turn %s goes to the console",
                     acc.conversation_id, acc.turn_id)
            await self._notify_staff({"type": "turn_created",
                                      "conversation_id": acc.conversation_id,
                                      "turn": {"id": acc.turn_id, "role": "customer",
                                               "text": msg.text, "language": language}})
            return Reply(acc.conversation_id, [], "with_agent", acc.turn_id)
        fut: asyncio.Future[Reply] = asyncio.get_running_loop().create_future()
        self._inflight[acc.turn_id] = fut
        self._spawn(self._process(acc.turn_id, acc.conversation_id, msg.channel,
                                  msg.sender_id, msg.text, language, acc.customer_id, fut))
        try:
            return await asyncio.wait_for(asyncio.shield(fut), self.reply_wait_s)
        except TimeoutError:
            if fut.done():
                return fut.result()
            # Still working (slow turn, or Rasa down and retrying): the channel gets it later.
            self._late.add(acc.turn_id)
            return Reply(acc.conversation_id, [], "pending", acc.turn_id)

    def _accept(self, msg: IncomingMessage, language: str) -> convs.Accepted:
        redacted = self.redact(msg.text, language) if self.redact else None
        with self.db.session() as s:
            customer_id = crm.verified_customer(s, msg.channel, msg.sender_id)
            return convs.accept_customer_turn(
                s, msg.channel, msg.sender_id, msg.text, language,
                client_message_id=msg.client_message_id, customer_id=customer_id,
                reply_target=msg.metadata.get("reply_target"), redacted=redacted)

    def _rate(self, msg: IncomingMessage, score: int) -> fb.Rated | None:
        """A rating answering the question asked when the conversation ended, if one was."""
        with self.db.session() as s:
            conv = fb.awaiting_rating(s, msg.channel, msg.sender_id)
            if conv is None:
                return None
            return fb.accept_rating(s, conv, msg.text, score, msg.client_message_id)

    async def _replay(self, acc: convs.Accepted) -> Reply:
        """A retried delivery: the same reply as the first time, never a second one."""
        fut = self._inflight.get(acc.turn_id)
        if fut is not None:
            try:
                return await asyncio.wait_for(asyncio.shield(fut), self.reply_wait_s)
            except TimeoutError:
                return Reply(acc.conversation_id, [], "pending", acc.turn_id)

        def load() -> tuple[str | None, list[dict[str, Any]]]:
            with self.db.session() as s:
                return convs.turn_state(s, acc.turn_id), convs.replies_to(s, acc.turn_id)

        state, messages = await asyncio.to_thread(load)
        status = {"answered": "answered", "failed": "failed"}.get(state or "", "pending")
        if acc.owner == "agent" and not messages:
            status = "with_agent"
        return Reply(acc.conversation_id, messages, status, acc.turn_id)

    async def _process(self, turn_id: int, conversation_id: str, channel: str, sender_id: str,
                       text: str, language: str, customer_id: int | None,
                       fut: asyncio.Future[Reply] | None) -> None:
        lock = self._locks.setdefault(conversation_id, asyncio.Lock())
        metadata = {"channel": channel, "sender_id": sender_id, "conversation_id": conversation_id,
                    "turn_id": turn_id, "language": language, "customer_id": customer_id}
        reply: Reply
        try:
            async with lock:
                messages, state = await self._ask_rasa(conversation_id, text, metadata, language)
                extra, handoff = await asyncio.to_thread(self._store, turn_id, messages,
                                                         state)
            messages = [*messages, *extra]
            if handoff is not None:
                await self._notify_staff({"type": "handoff_created", "handoff": handoff})
            reply = Reply(conversation_id, messages, state, turn_id)
        except asyncio.CancelledError:
            raise
        except Exception:
            log.exception("turn %s of conversation %s failed", turn_id, conversation_id)
            reply = Reply(conversation_id, [{"text": APOLOGY[language]}], "failed", turn_id)
        finally:
            self._inflight.pop(turn_id, None)
        if fut is not None and not fut.done():
            fut.set_result(reply)
        if fut is None or turn_id in self._late:
            self._late.discard(turn_id)
            await self._deliver_late(channel, sender_id, reply)

    async def _ask_rasa(self, conversation_id: str, text: str, metadata: dict[str, Any],
                        language: str) -> tuple[list[dict[str, Any]], str]:
        delays = iter(self.retry_delays)
        while True:
            try:
                raw = await self.rasa.send(conversation_id, text, metadata)
                return normalize(raw), "answered"
            except RasaUnavailable as e:
                delay = next(delays, None)
                if delay is None:
                    log.error("Rasa unreachable, giving up on conversation %s: %s",
                              conversation_id, e)
                    return [{"text": APOLOGY[language]}], "failed"
                log.warning("Rasa unreachable (%s); retrying conversation %s in %ss",
                            e, conversation_id, delay)
                await asyncio.sleep(delay)
            except RasaFailed as e:
                # Not retried: Rasa may already have acted on the message.
                log.error("Rasa failed on conversation %s: %s", conversation_id, e)
                return [{"text": APOLOGY[language]}], "failed"

    def _redact_reply(self, language: str) -> Callable[[str], str] | None:
        redact = self.redact
        if redact is None:
            return None
        return lambda text: redact(text, language)

    def _store(self, turn_id: int, messages: list[dict[str, Any]],
               state: str) -> tuple[list[dict[str, Any]], dict[str, Any] | None]:
        """Store the replies and apply what follows a bot turn; returns extra messages for
        the customer (the queue notice, or the rating question after a goodbye) and the
        handoff that started, if one did."""
        with self.db.session() as s:
            turn = s.get(Turn, turn_id)
            redact = self._redact_reply(turn.language or "en") if turn else None
            convs.store_replies(s, turn_id, messages, role="bot", state=state, redact=redact)
            if turn is None or state != "answered":
                return [], None
            started = after_bot_turn(s, turn.conversation_id, messages, self.policy)
            if started is not None:
                convs.store_replies(s, turn_id, [started.notice], role="bot", state=state)
                log.info("conversation %s handed to a person: %s", turn.conversation_id,
                         started.handoff.get("reason"))
                return [started.notice], started.handoff
            if self.csat:
                question = fb.close_with_rating(s, turn.conversation_id, turn_id)
                if question is not None:
                    convs.store_replies(s, turn_id, [question], role="bot", state=state)
                    return [question], None
            return [], None

    async def deliver_agent(self, channel: str, sender_id: str, conversation_id: str,
                            messages: list[dict[str, Any]]) -> str:
        """An agent's reply, out through the customer's own channel: ``delivered``,
        ``queued`` (stored; the customer is offline) or ``failed``."""
        return await self._deliver(channel, sender_id, conversation_id, {
            "type": "agent_message", "conversation_id": conversation_id,
            "messages": messages})

    async def _deliver_late(self, channel: str, sender_id: str, reply: Reply) -> None:
        await self._deliver(channel, sender_id, reply.conversation_id, {
            "type": "messages", "conversation_id": reply.conversation_id,
            "reply_to": reply.turn_id, "messages": reply.messages})

    async def _deliver(self, channel: str, sender_id: str, conversation_id: str,
                       frame: dict[str, Any]) -> str:
        """Through the channel's registered deliverer: delivered / queued / failed."""
        deliver = self._deliverers.get(channel)
        if deliver is None:
            log.warning("no delivery for channel %s (conversation %s)", channel,
                        conversation_id)
            return "failed"
        try:
            sent = await deliver(sender_id, conversation_id, frame)
        except Exception:
            log.exception("delivery to %s on %s failed", sender_id, channel)
            return "failed"
        return "delivered" if sent else "queued"

    def _spawn(self, coro: Awaitable[Any]) -> asyncio.Task[Any]:
        task = asyncio.ensure_future(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        return task

    async def resume_unanswered(self) -> int:
        """Answer turns accepted before a restart; replies go out through the channel."""
        rows = await asyncio.to_thread(self._unanswered)
        for turn_id, conv_id, channel, sender_id, text in rows:
            language = detect_language(text or "")
            self._spawn(self._process(turn_id, conv_id, channel, sender_id, text or "",
                                      language, None, None))
        return len(rows)

    def _unanswered(self) -> list[tuple[int, str, str, str, str | None]]:
        with self.db.session() as s:
            return convs.unanswered_turns(s)

    async def close(self) -> None:
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)


def _locale_language(metadata: dict[str, Any]) -> str:
    locale = str(metadata.get("locale", "")).lower()
    return "zh" if locale.startswith("zh") else "en"


def normalize(messages: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Rasa's REST output reduced to what channels render (drops ``recipient_id`` etc.)."""
    out = []
    for m in messages:
        keep = {k: m[k] for k in ("text", "buttons", "custom", "image") if m.get(k)}
        if keep:
            out.append(keep)
    return out
