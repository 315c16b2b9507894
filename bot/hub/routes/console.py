"""The agent console's API: the handoff queue, claiming, replying on the customer's channel,
resolving, handing back to the bot, the CRM card, and a websocket of live events.

The websocket is signed in by its first frame, ``{"type": "auth", "token": "<bearer>"}``
(never the URL, which proxies and browsers log), answered with ``{"type": "ready"}``. The
token and the account are checked again every ``console_recheck_s`` and when the token
expires; the socket is closed with 4401 (signed out) or 4403 (role no longer allowed).
"""

from __future__ import annotations

import asyncio
import json
import time
from typing import Any

from aiohttp import WSMsgType, web
from sqlalchemy import select

from bot.db.models import Conversation, Product
from bot.hub import keys
from bot.hub.errors import BadRequest, Forbidden, Unauthorized
from bot.hub.http import in_session, path_int, read_json
from bot.hub.security import require, verify_token
from bot.segments.service import profile_for
from bot.services import audit, crm, feedback
from bot.services import conversations as convs
from bot.services.auth import Principal

routes = web.RouteTableDef()
AUTH_TIMEOUT_S = 10.0
CLOSE_UNAUTHORIZED, CLOSE_FORBIDDEN = 4401, 4403
CONSOLE_ROLES = ("agent", "admin")


def _detail(s: Any, conversation_id: str) -> dict[str, Any]:
    detail = convs.conversation_detail(s, conversation_id)
    if detail is None:
        raise LookupError("no such conversation")
    return detail


def _actor(p: Principal) -> convs.Actor:
    """Replying, resolving and handing back: the agent who claimed it, or an admin."""
    return convs.Actor(p.user_id, admin=p.role == "admin")


async def _changed(request: web.Request, detail: dict[str, Any]) -> None:
    await request.app[keys.REALTIME].broadcast_staff({
        "type": "conversation_updated", "conversation_id": detail["id"],
        "status": detail["status"], "owner": detail["owner"], "assignee": detail["assignee"]})


@routes.get("/api/handoffs")
async def handoff_queue(request: web.Request) -> web.Response:
    require(request, "agent")
    status = request.query.get("status", "queued")
    if status not in ("queued", "claimed", "all"):
        raise BadRequest("status must be queued, claimed or all")
    return web.json_response({"handoffs": await in_session(request, convs.handoff_queue, status)})


@routes.post("/api/conversations/{id}/claim")
async def claim(request: web.Request) -> web.Response:
    p = require(request, "agent")
    cid = request.match_info["id"]

    def work(s: Any) -> dict[str, Any]:
        convs.claim(s, cid, p.user_id)
        return _detail(s, cid)

    detail = await in_session(request, work)
    await _changed(request, detail)
    return web.json_response(detail)


@routes.post("/api/conversations/{id}/messages")
async def agent_reply(request: web.Request) -> web.Response:
    p = require(request, "agent")
    cid = request.match_info["id"]
    text = (await read_json(request)).get("text")
    if not isinstance(text, str) or not text.strip() or len(text) > 4000:
        raise BadRequest("'text' must be 1-4000 characters")

    def work(s: Any) -> tuple[dict[str, Any], str, str]:
        turn = convs.add_agent_turn(s, cid, p.user_id, text.strip(), _actor(p).admin)
        conv = s.get(Conversation, cid)
        return ({"id": turn.id, "role": "agent", "text": turn.text, "language": turn.language,
                 "created_at": turn.created_at.isoformat()}, conv.channel, conv.sender_id)

    turn, channel, sender = await in_session(request, work)
    delivery = await request.app[keys.ROUTER].deliver_agent(
        channel, sender, cid, [{"text": turn["text"], "custom": {"agent": p.username}}])
    await request.app[keys.REALTIME].broadcast_staff(
        {"type": "turn_created", "conversation_id": cid, "turn": turn})
    return web.json_response({"turn": turn, "delivery": delivery}, status=201)


@routes.post("/api/conversations/{id}/resolve")
async def resolve(request: web.Request) -> web.Response:
    p = require(request, "agent")
    cid = request.match_info["id"]
    ask = request.app[keys.SETTINGS].csat_enabled

    def work(s: Any) -> tuple[dict[str, Any], dict[str, Any] | None]:
        convs.resolve(s, cid, _actor(p))
        question = None
        if ask and feedback.ask(s, cid):
            conv = s.get(Conversation, cid)
            question = feedback.prompt_message(conv.language)
            convs.add_bot_message(s, cid, question)
        return _detail(s, cid), question

    detail, question = await in_session(request, work)
    await _changed(request, detail)
    if question is not None:  # the customer rates the conversation on their own channel
        await request.app[keys.ROUTER].deliver_agent(detail["channel"], detail["sender_id"],
                                                      cid, [question])
    return web.json_response(detail)


@routes.post("/api/conversations/{id}/handback")
async def handback(request: web.Request) -> web.Response:
    p = require(request, "agent")
    cid = request.match_info["id"]

    def work(s: Any) -> dict[str, Any]:
        convs.hand_back(s, cid, _actor(p))
        return _detail(s, cid)

    detail = await in_session(request, work)
    await _changed(request, detail)
    await request.app[keys.ROUTER].deliver_agent(detail["channel"], detail["sender_id"], cid, [
        {"text": "您好，我是智能助手，接下来由我继续为您服务。" if detail["language"] == "zh"
         else "You're back with the assistant. How else can I help?"}])
    return web.json_response(detail)


@routes.get("/api/customers/{id}/card")
async def customer_card(request: web.Request) -> web.Response:
    require(request, "agent")
    customer_id = path_int(request, "id", "customer id")

    def work(s: Any) -> dict[str, Any]:
        customer = crm.customer_summary(s, customer_id)
        if customer is None:
            raise LookupError("no such customer")
        orders = [{
            "id": o.id, "status": o.status, "created_at": o.created_at.isoformat(),
            "total": o.total_cents / 100, "currency": o.currency,
            "items": [{"name": en, "name_zh": zh, "quantity": q} for en, zh, q in o.items],
            "shipment": ({"carrier": o.shipment.carrier,
                          "tracking_number": o.shipment.tracking_number,
                          "status": o.shipment.status,
                          "eta": o.shipment.eta.isoformat() if o.shipment.eta else None}
                         if o.shipment else None),
        } for o in crm.recent_orders(s, customer_id, limit=5)]
        tickets = [{"id": t.id, "subject": t.subject, "status": t.status,
                    "created_at": t.created_at.isoformat()}
                   for t in crm.open_tickets(s, customer_id)]
        # one customer across channels: every conversation linked to them, newest first
        conversations = [{"id": c.id, "channel": c.channel, "status": c.status,
                          "updated_at": c.updated_at.isoformat()}
                         for c in s.scalars(select(Conversation)
                                            .where(Conversation.customer_id == customer_id)
                                            .order_by(Conversation.updated_at.desc())
                                            .limit(20))]
        model = request.app[keys.RECOMMENDER].get()
        suggestions = []
        if model is not None:
            for r in model.recommend(customer_id, k=3):
                product = s.get(Product, r.product_id)
                if product is not None:
                    suggestions.append({"product_id": product.id, "name": product.name_en,
                                        "name_zh": product.name_zh, "reason": r.reason,
                                        "because_of": r.because_of,
                                        "price": product.price_cents / 100})
        return {"customer": customer, "orders": orders, "tickets": tickets,
                "conversations": conversations, "suggestions": suggestions,
                "profile": profile_for(s, customer_id)}

    return web.json_response(await in_session(request, work))


async def _signed_in(app: web.Application, token: str) -> Principal:
    p = await verify_token(app, token)
    if p.role not in CONSOLE_ROLES:
        raise Forbidden("agents only")
    return p


async def _first_frame_token(ws: web.WebSocketResponse) -> str:
    try:
        frame = await ws.receive(timeout=AUTH_TIMEOUT_S)
    except TimeoutError as e:
        raise Unauthorized("sign in with the first frame") from e
    try:
        data = json.loads(frame.data) if frame.type == WSMsgType.TEXT else None
    except json.JSONDecodeError:
        data = None
    token = data.get("token") if isinstance(data, dict) and data.get("type") == "auth" else None
    if not isinstance(token, str) or not token:
        raise Unauthorized('the first frame must be {"type": "auth", "token": ...}')
    return token


async def _close(ws: web.WebSocketResponse, error: Unauthorized | Forbidden) -> None:
    code = CLOSE_FORBIDDEN if isinstance(error, Forbidden) else CLOSE_UNAUTHORIZED
    await ws.close(code=code, message=str(error).encode()[:120])


async def _keep_checking(ws: web.WebSocketResponse, app: web.Application, token: str,
                         p: Principal) -> None:
    """Close the socket when the token expires or the account is disabled or demoted."""
    every = app[keys.SETTINGS].console_recheck_s
    while not ws.closed:
        left = p.expires_at - time.time()
        await asyncio.sleep(every if left > every else max(0.0, left) + 0.05)
        try:
            p = await _signed_in(app, token)
        except (Unauthorized, Forbidden) as e:
            await _close(ws, e)
            return


@routes.get("/ws/console")
async def console_socket(request: web.Request) -> web.WebSocketResponse:
    ws = web.WebSocketResponse(heartbeat=30)
    await ws.prepare(request)
    try:
        token = await _first_frame_token(ws)
        p = await _signed_in(request.app, token)
    except (Unauthorized, Forbidden) as e:
        await _close(ws, e)
        return ws
    await in_session(request, audit.record, p, "subscribe", "conversations", "*",
                     {"via": "console_socket"})
    await ws.send_json({"type": "ready", "user": {"username": p.username, "role": p.role},
                        "expires_at": p.expires_at})
    realtime = request.app[keys.REALTIME]
    realtime.add_staff(ws)
    watcher = asyncio.ensure_future(_keep_checking(ws, request.app, token, p))
    try:
        async for frame in ws:
            if frame.type == WSMsgType.ERROR:
                break
    finally:
        realtime.remove_staff(ws)
        watcher.cancel()
    return ws
