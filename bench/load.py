"""Closed-loop load: N simulated customers at once, each holding one conversation after another
for a bounded time, over the hub's REST or websocket chat or bare Rasa's REST channel. Every
customer waits for the reply before the next turn, so N is the number of turns in flight."""

from __future__ import annotations

import asyncio
import json
import random
import time
from collections import Counter
from dataclasses import dataclass
from typing import Any, Protocol

import aiohttp
import numpy as np

from bench.mix import Line, OrderRef, conversation

TURN_TIMEOUT_S = 120.0
ANSWERED = "answered"


@dataclass(frozen=True)
class TurnResult:
    kind: str
    lang: str
    latency_ms: float
    status: str  # answered | pending | with_agent | failed | empty | error:<what>


class Transport(Protocol):
    name: str

    async def open(self, sender: str) -> None: ...

    async def send(self, sender: str, text: str, message_id: str) -> str: ...

    async def close(self, sender: str) -> None: ...


def _status(messages: Any, status: str | None) -> str:
    if status and status != ANSWERED:
        return status
    return ANSWERED if isinstance(messages, list) and messages else "empty"


class HubRest:
    """``POST /api/chat`` on the hub."""

    name = "rest"

    def __init__(self, http: aiohttp.ClientSession, base_url: str) -> None:
        self.http, self.url = http, f"{base_url}/api/chat"

    async def open(self, sender: str) -> None:
        return None

    async def send(self, sender: str, text: str, message_id: str) -> str:
        body = {"sender": sender, "text": text, "client_message_id": message_id}
        async with self.http.post(self.url, json=body) as resp:
            if resp.status not in (200, 202):
                return f"error:http {resp.status}"
            data = await resp.json()
        return _status(data.get("messages"), data.get("status"))

    async def close(self, sender: str) -> None:
        return None


class HubWebsocket:
    """``/ws/chat``: one socket per conversation, replies matched on ``reply_to``."""

    name = "ws"

    def __init__(self, http: aiohttp.ClientSession, base_url: str) -> None:
        self.http, self.url = http, base_url.replace("http", "ws", 1) + "/ws/chat"
        self._sockets: dict[str, aiohttp.ClientWebSocketResponse] = {}

    async def open(self, sender: str) -> None:
        self._sockets[sender] = await self.http.ws_connect(self.url, params={"sender": sender})

    async def send(self, sender: str, text: str, message_id: str) -> str:
        ws = self._sockets[sender]
        await ws.send_json({"text": text, "client_message_id": message_id})
        async for frame in ws:
            if frame.type != aiohttp.WSMsgType.TEXT:
                return f"error:ws {frame.type.name.lower()}"
            data = json.loads(frame.data)
            if data.get("type") == "error":
                return "error:ws error frame"
            if data.get("type") == "messages" and data.get("reply_to") == message_id:
                return _status(data.get("messages"), data.get("status"))
        return "error:ws closed"

    async def close(self, sender: str) -> None:
        ws = self._sockets.pop(sender, None)
        if ws is not None:
            await ws.close()


class RasaRest:
    """Rasa's own REST channel (the bare baseline, and Kefu's Rasa without the hub: that one
    needs Kefu's ``token``)."""

    name = "rest"

    def __init__(self, http: aiohttp.ClientSession, base_url: str,
                 token: str | None = None) -> None:
        self.http, self.url = http, f"{base_url}/webhooks/rest/webhook"
        self.params = {"token": token} if token else None

    async def open(self, sender: str) -> None:
        return None

    async def send(self, sender: str, text: str, message_id: str) -> str:
        async with self.http.post(self.url, json={"sender": sender, "message": text},
                                  params=self.params) as resp:
            if resp.status != 200:
                return f"error:http {resp.status}"
            return _status(await resp.json(), None)

    async def close(self, sender: str) -> None:
        return None


async def _timed_send(transport: Transport, sender: str, line: Line,
                      message_id: str) -> TurnResult:
    t0 = time.perf_counter()
    try:
        status = await asyncio.wait_for(transport.send(sender, line.text, message_id),
                                        TURN_TIMEOUT_S)
    except TimeoutError:
        status = "error:timeout"
    except (aiohttp.ClientError, OSError, ValueError) as e:
        status = f"error:{type(e).__name__}"
    return TurnResult(line.kind, line.lang, 1000 * (time.perf_counter() - t0), status)


async def run_level(transport: Transport, level: int, duration_s: float, lines: list[Line],
                    orders: list[OrderRef], tag: str, seed: int = 0
                    ) -> tuple[list[TurnResult], float]:
    """``level`` customers for ``duration_s``; turns started before the end are finished.
    Returns the turns and the wall time until the last one finished."""
    results: list[TurnResult] = []
    loop = asyncio.get_running_loop()
    start = loop.time()
    deadline = start + duration_s
    stagger = min(1.0, duration_s / 10) / max(level, 1)

    async def customer(u: int) -> None:
        rng = random.Random(seed * 100_003 + u)
        await asyncio.sleep(u * stagger)  # not all first turns in the same millisecond
        n = 0
        while loop.time() < deadline:
            script = conversation(rng, lines, orders)
            sender = f"bench-{tag}-{level}-{u}-{n}"
            n += 1
            try:
                await transport.open(sender)
            except (aiohttp.ClientError, OSError) as e:
                results.append(TurnResult("open", script.lang, 0.0, f"error:{type(e).__name__}"))
                continue
            try:
                for i, line in enumerate(script.turns):
                    if loop.time() >= deadline:
                        break
                    r = await _timed_send(transport, sender, line, f"{sender}-{i}")
                    results.append(r)
                    if r.status != ANSWERED:  # a handoff or a failure ends the conversation
                        break
            finally:
                await transport.close(sender)

    await asyncio.gather(*(customer(u) for u in range(level)))
    return results, loop.time() - start


def percentiles(values: list[float], qs: tuple[int, ...] = (50, 95, 99)
                ) -> dict[str, float | None]:
    if not values:
        return {f"p{q}": None for q in qs}
    got = np.percentile(np.asarray(values, dtype=float), qs)
    return {f"p{q}": round(float(v), 2) for q, v in zip(qs, got, strict=True)}


def summarize(results: list[TurnResult], wall_s: float) -> dict[str, Any]:
    """Latency percentiles of answered turns (ms), throughput, and every other outcome."""
    ok = [r.latency_ms for r in results if r.status == ANSWERED]
    statuses = Counter(r.status for r in results if r.status != ANSWERED)
    by_kind = {kind: percentiles([r.latency_ms for r in results
                                  if r.kind == kind and r.status == ANSWERED], (50, 95))
               for kind in sorted({r.kind for r in results})}
    return {"turns": len(results), "answered": len(ok), "errors": sum(statuses.values()),
            "statuses": dict(statuses), "wall_s": round(wall_s, 2),
            "throughput_tps": round(len(ok) / wall_s, 3) if wall_s > 0 else 0.0,
            **percentiles(ok), "by_kind": by_kind}
