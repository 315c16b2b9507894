"""Small helpers every route module uses: reading a JSON object body, and running a unit of
work on the database off the event loop with service errors mapped to HTTP errors."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable
from typing import Any, TypeVar

from aiohttp import web

from bot.hub import keys
from bot.hub.errors import BadRequest, Conflict, Forbidden, NotFound
from bot.services import kb
from bot.services.conversations import ConflictError, NotAssignee
from knowledge.articles import ArticleError

T = TypeVar("T")


async def read_json(request: web.Request) -> dict[str, Any]:
    try:
        data = json.loads(await request.read())
    except (UnicodeDecodeError, json.JSONDecodeError) as e:
        raise BadRequest("body is not valid JSON") from e
    if not isinstance(data, dict):
        raise BadRequest("expected a JSON object")
    return data


def path_int(request: web.Request, name: str, what: str) -> int:
    """An integer path parameter (e.g. a customer id); 400 when it is not one."""
    try:
        return int(request.match_info[name])
    except ValueError as e:
        raise BadRequest(f"{what} must be an integer") from e


def query_limit(request: web.Request, default: int, most: int) -> int:
    """``?limit=``, clamped to 1..most; 400 when it is not an integer."""
    try:
        return min(max(int(request.query.get("limit", str(default))), 1), most)
    except ValueError as e:
        raise BadRequest("'limit' must be an integer") from e


async def in_session(request: web.Request, fn: Callable[..., T], *args: Any) -> T:
    """``fn(session, *args)`` in a worker thread, committed; service errors become 4xx."""
    db = request.app[keys.DB]

    def work() -> T:
        with db.session() as s:
            return fn(s, *args)

    try:
        return await asyncio.to_thread(work)
    except (ConflictError, kb.KbConflict) as e:
        raise Conflict(str(e)) from e
    except NotAssignee as e:
        raise Forbidden(str(e)) from e
    except ArticleError as e:
        raise BadRequest(str(e)) from e
    except LookupError as e:  # includes kb.KbNotFound
        raise NotFound(str(e)) from e


