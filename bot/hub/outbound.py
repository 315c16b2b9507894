"""Outbound delivery to platform channels: retried with exponential backoff; a permanent
failure is recorded in the conversation and shown to agents at once."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from typing import Any

from bot.db.models import Turn
from bot.db.session import Database
from channels.base import ChannelAdapter, DeliveryError

log = logging.getLogger(__name__)
DELAYS = (1.0, 2.0, 4.0, 8.0, 16.0)


class Outbound:
    def __init__(self, db: Database, notify_staff: Callable[[dict[str, Any]], Awaitable[Any]],
                 delays: tuple[float, ...] = DELAYS) -> None:
        self.db = db
        self.notify_staff = notify_staff
        self.delays = delays

    async def send(self, adapter: ChannelAdapter, target: str, conversation_id: str,
                   messages: list[dict[str, Any]]) -> bool:
        """True once delivered; False (after recording why) when it could not be."""
        if not messages:
            return True
        attempt = 0
        while True:
            try:
                await adapter.send(target, messages)
                return True
            except DeliveryError as e:
                if e.retryable and attempt < len(self.delays):
                    log.warning("delivery to %s on %s failed (%s); retry %d in %ss", target,
                                adapter.name, e, attempt + 1, self.delays[attempt])
                    await asyncio.sleep(self.delays[attempt])
                    attempt += 1
                    continue
                await self._failed(adapter.name, conversation_id, str(e))
                return False

    async def _failed(self, channel: str, conversation_id: str, why: str) -> None:
        log.error("delivery on %s for conversation %s failed for good: %s", channel,
                  conversation_id, why)
        if not conversation_id:  # e.g. a canned reply to an unsupported message type
            return
        text = f"delivery failed on {channel}: {why}"

        def record() -> dict[str, Any]:
            with self.db.session() as s:
                turn = Turn(conversation_id=conversation_id, role="system", text=text,
                            payload={"delivery": "failed"})
                s.add(turn)
                s.flush()
                return {"id": turn.id, "role": "system", "text": text,
                        "created_at": turn.created_at.isoformat()}

        turn = await asyncio.to_thread(record)
        await self.notify_staff({"type": "turn_created", "conversation_id": conversation_id,
                                 "turn": turn, "delivery": "failed"})
