"""Web chat: ``POST /api/chat`` and the ``/ws/chat`` websocket."""

from __future__ import annotations

import asyncio
import json
import logging
from typing import Any

from aiohttp import WSMsgType, web

from bot.hub import keys
from bot.hub.errors import BadRequest
from bot.hub.http import in_session, read_json
from bot.hub.router import Reply
from bot.services import feedback
from channels import webchat
from channels.base import ChannelError

log = logging.getLogger(__name__)
routes = web.RouteTableDef()


def reply_body(reply: Reply) -> dict[str, Any]:
    body: dict[str, Any] = {"conversation_id": reply.conversation_id, "messages": reply.messages,
                            "turn_id": reply.turn_id}
    if reply.status != "answered":
        body["status"] = reply.status
    return body


@routes.post("/api/chat")
async def post_chat(request: web.Request) -> web.Response:
    adapter = request.app[keys.WEBCHAT]
    msg = adapter.parse_body(await request.read())
    reply = await request.app[keys.ROUTER].handle(msg)
    return web.json_response(reply_body(reply), status=202 if reply.status == "pending" else 200)


@routes.post("/api/chat/feedback")
async def post_feedback(request: web.Request) -> web.Response:
    """Thumbs up/down on the bot's answer to one of the sender's own turns."""
    data = await read_json(request)
    sender, turn_id, helpful = data.get("sender"), data.get("turn_id"), data.get("helpful")
    try:
        request.app[keys.WEBCHAT].parse_obj({"sender": sender, "text": "x"})
    except ChannelError as e:
        raise BadRequest(str(e)) from e
    if not isinstance(turn_id, int) or isinstance(turn_id, bool) \
            or not isinstance(helpful, bool):
        raise BadRequest("'turn_id' (integer) and 'helpful' (boolean) are required")
    await in_session(request, feedback.rate_answer, webchat.NAME, sender, turn_id, helpful)
    return web.Response(status=204)


@routes.get("/ws/chat")
async def ws_chat(request: web.Request) -> web.WebSocketResponse:
    adapter = request.app[keys.WEBCHAT]
    realtime = request.app[keys.REALTIME]
    sender = request.query.get("sender", "")
    try:
        adapter.parse_obj({"sender": sender, "text": "x"})
    except ChannelError as e:
        raise web.HTTPBadRequest(text=str(e)) from e
    ws = web.WebSocketResponse(heartbeat=30, max_msg_size=64 * 1024)
    await ws.prepare(request)
    realtime.add(sender, ws)
    tasks: set[asyncio.Task[None]] = set()

    async def answer(data: dict[str, Any]) -> None:
        try:
            msg = adapter.parse_obj(data, sender=sender)
        except ChannelError as e:
            await ws.send_json({"type": "error", "error": str(e),
                                "reply_to": data.get("client_message_id")})
            return
        reply = await request.app[keys.ROUTER].handle(msg)
        frame: dict[str, Any] = {"type": "messages", "conversation_id": reply.conversation_id,
                                 "reply_to": msg.client_message_id, "turn_id": reply.turn_id,
                                 "messages": reply.messages}
        if reply.status != "answered":
            frame["status"] = reply.status
        if not ws.closed:
            await ws.send_json(frame)

    try:
        async for frame in ws:
            if frame.type != WSMsgType.TEXT:
                continue
            try:
                data = json.loads(frame.data)
            except json.JSONDecodeError:
                await ws.send_json({"type": "error", "error": "frame is not valid JSON"})
                continue
            if not isinstance(data, dict):
                await ws.send_json({"type": "error", "error": "expected a JSON object"})
                continue
            # Answer concurrently so a slow turn does not block reading; the router keeps
            # one conversation's turns in order.
            task = asyncio.create_task(answer(data))
            tasks.add(task)
            task.add_done_callback(tasks.discard)
    finally:
        realtime.remove(sender, ws)
        if tasks:
            await asyncio.gather(*tasks, return_exceptions=True)
    return ws
