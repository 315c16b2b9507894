"""Open websockets by customer sender id, so replies and agent messages reach the widget."""

from __future__ import annotations

import logging
from collections import defaultdict
from typing import Any

from aiohttp import web

log = logging.getLogger(__name__)


class Realtime:
    def __init__(self) -> None:
        self._customers: dict[str, set[web.WebSocketResponse]] = defaultdict(set)
        self._staff: set[web.WebSocketResponse] = set()

    def add_staff(self, ws: web.WebSocketResponse) -> None:
        self._staff.add(ws)

    def remove_staff(self, ws: web.WebSocketResponse) -> None:
        self._staff.discard(ws)

    async def broadcast_staff(self, frame: dict[str, Any]) -> int:
        """Tell every open console (agents are notified of handoffs at once)."""
        sent = 0
        for ws in list(self._staff):
            try:
                await ws.send_json(frame)
                sent += 1
            except (ConnectionError, RuntimeError):
                self._staff.discard(ws)
        return sent

    def add(self, sender_id: str, ws: web.WebSocketResponse) -> None:
        self._customers[sender_id].add(ws)

    def remove(self, sender_id: str, ws: web.WebSocketResponse) -> None:
        sockets = self._customers.get(sender_id)
        if sockets is not None:
            sockets.discard(ws)
            if not sockets:
                del self._customers[sender_id]

    async def push(self, sender_id: str, frame: dict[str, Any]) -> int:
        """Send a frame to every open socket of a customer; returns how many got it."""
        sent = 0
        for ws in list(self._customers.get(sender_id, ())):
            try:
                await ws.send_json(frame)
                sent += 1
            except (ConnectionError, RuntimeError):
                log.info("dropping closed websocket of sender %s", sender_id)
                self.remove(sender_id, ws)
        return sent

    async def close_all(self) -> None:
        for ws in list(self._staff):
            await ws.close()
        for sockets in list(self._customers.values()):
            for ws in list(sockets):
                await ws.close()
        self._customers.clear()
