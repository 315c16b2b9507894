"""Staff view of conversations (agents and admins)."""

from __future__ import annotations

import asyncio

from aiohttp import web

from bot.hub import keys
from bot.hub.errors import BadRequest, NotFound
from bot.hub.http import query_limit
from bot.hub.security import require
from bot.services import conversations as convs

routes = web.RouteTableDef()
STATUSES = ("pending", "open", "snoozed", "resolved")


@routes.get("/api/conversations")
async def list_conversations(request: web.Request) -> web.Response:
    require(request, "agent")
    status = request.query.get("status") or None
    if status is not None and status not in STATUSES:
        raise BadRequest(f"status must be one of {', '.join(STATUSES)}")
    limit = query_limit(request, 50, 500)
    db = request.app[keys.DB]

    def load() -> list[dict]:
        with db.session() as s:
            return convs.list_conversations(s, status, limit)

    return web.json_response({"conversations": await asyncio.to_thread(load)})


@routes.get("/api/conversations/{id}")
async def get_conversation(request: web.Request) -> web.Response:
    require(request, "agent")
    db, cid = request.app[keys.DB], request.match_info["id"]

    def load() -> dict | None:
        with db.session() as s:
            return convs.conversation_detail(s, cid)

    detail = await asyncio.to_thread(load)
    if detail is None:
        raise NotFound("no such conversation")
    return web.json_response(detail)
