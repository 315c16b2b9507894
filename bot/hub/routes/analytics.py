"""The analytics API behind the dashboard: metrics for a date range, topics, segments, and a
CSV export. Admins and agents may read it."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from aiohttp import web

from bot.analytics import dashboard
from bot.analytics.topics import topic_report
from bot.hub.errors import BadRequest
from bot.hub.http import in_session
from bot.hub.security import require
from bot.segments.service import segment_summary

routes = web.RouteTableDef()


def _range(request: web.Request) -> dashboard.Range:
    try:
        return dashboard.Range.parse(request.query.get("from"), request.query.get("to"))
    except ValueError as e:
        raise BadRequest(f"bad date range: {e}") from e


@routes.get("/api/analytics")
async def analytics(request: web.Request) -> web.Response:
    require(request, "agent")
    r = _range(request)

    def work(s: Any) -> dict[str, Any]:
        out = dashboard.overview(s, r)
        out["segments"] = segment_summary(s)
        return out

    return web.json_response(await in_session(request, work))


@routes.get("/api/analytics/topics")
async def topics(request: web.Request) -> web.Response:
    require(request, "agent")
    r = _range(request)
    return web.json_response(await in_session(request, topic_report, r.since, r.until))


@routes.get("/api/analytics/conversations.csv")
async def export_conversations(request: web.Request) -> web.Response:
    require(request, "agent")
    r = _range(request)
    body = await in_session(request, dashboard.conversations_csv, r)
    last_day = (r.until - timedelta(days=1)).date()
    name = f"kefu-conversations-{r.since.date()}-{last_day}.csv"
    return web.Response(text=body, content_type="text/csv", charset="utf-8",
                        headers={"Content-Disposition": f'attachment; filename="{name}"'})


