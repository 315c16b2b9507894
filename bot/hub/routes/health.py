"""Liveness (``/health``) and readiness (``/health/ready``: database and Rasa reachable)."""

from __future__ import annotations

import asyncio

from aiohttp import web
from sqlalchemy import text

from bot.hub import keys

routes = web.RouteTableDef()


@routes.get("/health")
async def health(request: web.Request) -> web.Response:
    return web.json_response({"status": "ok"})


@routes.get("/health/ready")
async def ready(request: web.Request) -> web.Response:
    db = request.app[keys.DB]

    def db_ok() -> bool:
        try:
            with db.session() as s:
                s.execute(text("SELECT 1"))
            return True
        except Exception:
            return False

    database, rasa = await asyncio.gather(asyncio.to_thread(db_ok),
                                          request.app[keys.RASA].healthy())
    components = {"database": database, "rasa": rasa}
    ok = all(components.values())
    return web.json_response({"status": "ok" if ok else "degraded", "components": components},
                             status=200 if ok else 503)
