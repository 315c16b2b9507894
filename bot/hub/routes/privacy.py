"""Privacy operations for admins: erase a customer (or an anonymous conversation) everywhere,
run the retention policy now, and read the audit log."""

from __future__ import annotations

import asyncio
from datetime import datetime
from typing import Any

from aiohttp import web

from bot.hub import keys
from bot.hub.audit_trail import AUDIT_DETAIL
from bot.hub.errors import BadRequest
from bot.hub.http import in_session, path_int, query_limit
from bot.hub.security import require
from bot.services import audit, erasure

routes = web.RouteTableDef()


async def _forget(request: web.Request, report: erasure.ErasureReport) -> dict[str, Any]:
    """After the database commit: the Rasa tracker store, then the report."""
    url = request.app[keys.SETTINGS].tracker_db_url()
    events = await asyncio.to_thread(erasure.forget_trackers, url, report.conversation_ids)
    report.add("tracker_events", events)
    out = report.as_dict()
    request[AUDIT_DETAIL] = out
    return out


@routes.delete("/api/customers/{id}")
async def erase_customer(request: web.Request) -> web.Response:
    require(request, "admin")
    customer_id = path_int(request, "id", "customer id")
    report = await in_session(request, erasure.delete_customer, customer_id)
    return web.json_response(await _forget(request, report))


@routes.delete("/api/conversations/{id}")
async def erase_conversation(request: web.Request) -> web.Response:
    require(request, "admin")
    report = await in_session(request, erasure.delete_conversation, request.match_info["id"])
    return web.json_response(await _forget(request, report))


@routes.post("/api/privacy/retention")
async def run_retention(request: web.Request) -> web.Response:
    require(request, "admin")
    days = request.app[keys.SETTINGS].retention_days
    report = await in_session(request, erasure.purge_expired, days)
    out = await _forget(request, report)
    out["retention_days"] = days
    return web.json_response(out)


@routes.get("/api/audit")
async def audit_log(request: web.Request) -> web.Response:
    require(request, "admin")
    q = request.query
    since = None
    if q.get("since"):
        try:
            since = datetime.fromisoformat(q["since"])
        except ValueError as e:
            raise BadRequest("'since' must be an ISO date or time") from e
    limit = query_limit(request, 200, 1000)

    def work(s: Any) -> list[dict[str, Any]]:
        return audit.entries(s, entity=q.get("entity"), entity_id=q.get("entity_id"),
                             actor=q.get("actor"), since=since, limit=limit)

    return web.json_response({"entries": await in_session(request, work)})
