"""Platform webhooks (WeChat Official Account, WeCom, Slack): verify, parse, acknowledge fast,
answer in the background, and send through the platform's API with retries.

WeChat wants an answer within 5 s and Slack within 3 s, and both retry deliveries: a turn is
accepted once (deduplicated on the platform's message id) and answered once. WeChat gets a
passive reply in the HTTP response when the answer is ready in time, otherwise ``success`` and
the answer goes out through the customer-service API."""

from __future__ import annotations

import asyncio
import dataclasses
import logging
import time
from typing import Any

from aiohttp import web

from bot.hub import keys
from bot.hub.router import Reply
from bot.services import conversations as convs
from channels.base import ChannelAdapter, InboundRequest, IncomingMessage

log = logging.getLogger(__name__)
routes = web.RouteTableDef()
PASSIVE_WAIT_S = 4.0


def _ack(adapter: ChannelAdapter) -> web.Response:
    return web.Response(text=getattr(adapter, "ack_text", ""), content_type="text/plain")


def _target(adapter: ChannelAdapter, msg: IncomingMessage) -> str:
    reply_target = getattr(adapter, "reply_target", None)
    return reply_target(msg) if reply_target else msg.sender_id


@routes.route("*", "/channels/{name}/webhook")
async def webhook(request: web.Request) -> web.StreamResponse:
    adapter = request.app[keys.CHANNELS].get(request.match_info["name"])
    if adapter is None:
        raise web.HTTPNotFound(text="channel not configured")
    inbound = InboundRequest(request.method, dict(request.query),
                             {k.lower(): v for k, v in request.headers.items()},
                             await request.read())
    now = time.time()
    adapter.verify(inbound, now)
    check_replay = getattr(adapter, "check_replay", None)
    if check_replay is not None:  # WeChat / WeCom: a signed nonce is good for one request
        await check_replay(inbound, now)
    parsed = adapter.parse(inbound)
    if parsed.response is not None:
        return web.Response(body=parsed.response, content_type=parsed.content_type)
    msg = parsed.message
    if msg is None:
        return _ack(adapter)
    msg = dataclasses.replace(msg, metadata={**msg.metadata,
                                             "reply_target": _target(adapter, msg)})
    app = request.app
    task = asyncio.ensure_future(_answer(app, adapter, msg, parsed.reply_hint))
    app[keys.BACKGROUND].add(task)
    task.add_done_callback(app[keys.BACKGROUND].discard)
    passive = getattr(adapter, "passive_reply_for", None)
    if passive is not None:
        # WeChat: answer inside the HTTP response when the reply is ready in time
        try:
            reply = await asyncio.wait_for(asyncio.shield(task), PASSIVE_WAIT_S)
        except TimeoutError:
            reply = None
        if reply is not None:
            if reply.duplicate or not reply.messages:
                return _ack(adapter)
            body = passive(msg, reply.messages, inbound)
            if body:
                return web.Response(body=body, content_type="application/xml")
    # Not answered in the response: the reply goes out through the platform's API.
    task.add_done_callback(lambda t: _send_when_done(app, adapter, msg, t))
    return _ack(adapter)


async def _answer(app: web.Application, adapter: ChannelAdapter, msg: IncomingMessage,
                  hint: str | None) -> Reply:
    if hint is not None and not msg.text:
        return Reply(conversation_id="", messages=[{"text": hint}])
    reply = await app[keys.ROUTER].handle(msg)
    if reply.duplicate:
        log.info("redelivery of %s on %s: already answered", msg.client_message_id,
                 adapter.name)
    reply.messages = [m for m in reply.messages if m.get("text")]
    return reply


def _send_when_done(app: web.Application, adapter: ChannelAdapter, msg: IncomingMessage,
                    task: asyncio.Future[Reply]) -> None:
    if task.cancelled() or task.exception() is not None:
        return
    reply = task.result()
    # "pending": the router delivers it itself once Rasa answers
    if reply.duplicate or not reply.messages or reply.status == "pending":
        return
    send = asyncio.ensure_future(app[keys.OUTBOUND].send(
        adapter, msg.metadata["reply_target"], reply.conversation_id, reply.messages))
    app[keys.BACKGROUND].add(send)
    send.add_done_callback(app[keys.BACKGROUND].discard)


def attach_delivery(app: web.Application) -> None:
    """Agent replies and late bot replies for platform channels go out through their APIs."""
    db = app[keys.DB]
    for name, adapter in app[keys.CHANNELS].items():

        async def deliver(sender_id: str, conversation_id: str, frame: dict[str, Any],
                          adapter: ChannelAdapter = adapter) -> bool:
            def target() -> str:
                with db.session() as s:
                    return convs.latest_reply_target(s, conversation_id) or sender_id

            messages = [m for m in frame.get("messages", []) if m.get("text")]
            return await app[keys.OUTBOUND].send(adapter, await asyncio.to_thread(target),
                                                 conversation_id, messages)

        app[keys.ROUTER].register_channel(name, deliver)
