"""Records in the audit log every successful staff request that reads or changes a customer
record, a conversation or an article, from one declarative table of routes. Bulk reads (lists,
the handoff queue, knowledge gaps) are one entry per request, with the query as detail, not
one per row; the console socket records its subscription itself (routes/console.py)."""

from __future__ import annotations

import asyncio
from typing import Any

from aiohttp import web

from bot.hub import keys
from bot.hub.security import principal
from bot.services import audit

# (method, canonical route) -> (action, entity, the match_info keys naming the record)
AUDITED: dict[tuple[str, str], tuple[str, str, tuple[str, ...]]] = {
    ("GET", "/api/customers/{id}/card"): ("view", "customer", ("id",)),
    ("DELETE", "/api/customers/{id}"): ("delete", "customer", ("id",)),
    ("GET", "/api/conversations"): ("list", "conversations", ()),
    ("GET", "/api/handoffs"): ("list", "handoffs", ()),
    ("GET", "/api/kb/gaps"): ("list", "kb_gaps", ()),
    ("GET", "/api/conversations/{id}"): ("view", "conversation", ("id",)),
    ("DELETE", "/api/conversations/{id}"): ("delete", "conversation", ("id",)),
    ("POST", "/api/conversations/{id}/claim"): ("claim", "conversation", ("id",)),
    ("POST", "/api/conversations/{id}/messages"): ("reply", "conversation", ("id",)),
    ("POST", "/api/conversations/{id}/resolve"): ("resolve", "conversation", ("id",)),
    ("POST", "/api/conversations/{id}/handback"): ("hand_back", "conversation", ("id",)),
    ("GET", "/api/kb/articles/{slug}/{language}"): ("view", "article", ("slug", "language")),
    ("POST", "/api/kb/articles"): ("create", "article", ()),
    ("PUT", "/api/kb/articles/{slug}/{language}"): ("update", "article", ("slug", "language")),
    ("POST", "/api/kb/articles/{slug}/{language}/publish"):
        ("publish", "article", ("slug", "language")),
    ("POST", "/api/kb/articles/{slug}/{language}/rollback"):
        ("rollback", "article", ("slug", "language")),
    ("DELETE", "/api/kb/articles/{slug}/{language}"): ("delete", "article", ("slug", "language")),
    ("GET", "/api/analytics/conversations.csv"): ("export", "conversations", ()),
    ("POST", "/api/privacy/retention"): ("purge", "conversations", ()),
}


def _route(request: web.Request) -> str | None:
    resource = request.match_info.route.resource
    return resource.canonical if resource is not None else None


@web.middleware
async def audit_middleware(request: web.Request, handler: Any) -> web.StreamResponse:
    resp = await handler(request)
    route = _route(request)
    spec = AUDITED.get((request.method, route or ""))
    if spec is None or resp.status >= 400:
        return resp
    action, entity, parts = spec
    who = principal(request)
    entity_id = (request.get(AUDIT_ENTITY_ID)
                 or "/".join(request.match_info[k] for k in parts) or "*")
    detail: dict[str, Any] = dict(request.query) or {}
    extra = request.get(AUDIT_DETAIL)
    if extra:
        detail.update(extra)
    db = request.app[keys.DB]

    def write() -> None:
        with db.session() as s:
            audit.record(s, who, action, entity, entity_id, detail or None)

    await asyncio.to_thread(write)
    return resp


# Handlers may add facts for the entry (e.g. what an erasure removed), or name the record
# when the URL does not (a new article).
AUDIT_DETAIL: web.RequestKey[dict[str, Any]] = web.RequestKey("audit_detail", dict)
AUDIT_ENTITY_ID: web.RequestKey[str] = web.RequestKey("audit_entity_id", str)
