"""Knowledge-base editor API (editors and admins) and the public help pages the bot cites.

Every published change is re-indexed at once on the hub's single index-writer thread; the
action servers pick up the new index version on their next question."""

from __future__ import annotations

import asyncio
import html
from typing import Any

from aiohttp import web

from bot.hub import keys
from bot.hub.audit_trail import AUDIT_ENTITY_ID
from bot.hub.errors import BadRequest
from bot.hub.http import in_session, path_int, query_limit, read_json
from bot.hub.security import require
from bot.services import kb
from knowledge.articles import LANGUAGES

routes = web.RouteTableDef()


def _str_list(value: Any, field: str) -> list[str]:
    if value is None:
        return []
    if isinstance(value, str):
        value = [v for v in (p.strip() for p in value.split(",")) if v]
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise BadRequest(f"'{field}' must be a list of strings")
    return value


def _draft(data: dict[str, Any]) -> kb.Draft:
    title, body = data.get("title"), data.get("body")
    if not isinstance(title, str) or not isinstance(body, str):
        raise BadRequest("'title' and 'body' are required strings")
    return kb.Draft(title, body, _str_list(data.get("tags"), "tags"),
                    _str_list(data.get("categories"), "categories"))


def _language(value: str) -> str:
    if value not in LANGUAGES:
        raise BadRequest(f"language must be one of {', '.join(LANGUAGES)}")
    return value


async def _reindex(request: web.Request, slug: str, language: str) -> None:
    indexer = request.app[keys.KB_INDEXER]
    loop = asyncio.get_running_loop()
    await loop.run_in_executor(request.app[keys.INDEX_WRITER], indexer.update, slug, language)


async def _detail(request: web.Request, slug: str, language: str) -> dict[str, Any]:
    return await in_session(request, kb.detail, slug, language)


@routes.get("/api/kb/articles")
async def list_articles(request: web.Request) -> web.Response:
    require(request, "editor")
    language = request.query.get("language") or None
    if language is not None:
        _language(language)
    rows = await in_session(request, kb.listing, request.query.get("q"), language)
    return web.json_response({"articles": rows})


@routes.post("/api/kb/articles")
async def create_article(request: web.Request) -> web.Response:
    p = require(request, "editor")
    data = await read_json(request)
    slug, language = data.get("slug"), data.get("language")
    if not isinstance(slug, str) or not isinstance(language, str):
        raise BadRequest("'slug' and 'language' are required strings")
    _language(language)
    publish = bool(data.get("publish"))
    await in_session(request, kb.create, slug, language, _draft(data), p.username, publish)
    request[AUDIT_ENTITY_ID] = f"{slug}/{language}"
    if publish:
        await _reindex(request, slug, language)
    return web.json_response(await _detail(request, slug, language), status=201)


@routes.get("/api/kb/articles/{slug}/{language}")
async def get_article(request: web.Request) -> web.Response:
    require(request, "editor")
    slug, language = request.match_info["slug"], _language(request.match_info["language"])
    return web.json_response(await _detail(request, slug, language))


@routes.put("/api/kb/articles/{slug}/{language}")
async def update_article(request: web.Request) -> web.Response:
    p = require(request, "editor")
    slug, language = request.match_info["slug"], _language(request.match_info["language"])
    data = await read_json(request)
    publish = bool(data.get("publish"))
    await in_session(request, kb.update, slug, language, _draft(data), p.username, publish)
    if publish:
        await _reindex(request, slug, language)
    return web.json_response(await _detail(request, slug, language))


@routes.post("/api/kb/articles/{slug}/{language}/publish")
async def publish_article(request: web.Request) -> web.Response:
    p = require(request, "editor")
    slug, language = request.match_info["slug"], _language(request.match_info["language"])
    await in_session(request, kb.publish, slug, language, p.username)
    await _reindex(request, slug, language)
    return web.json_response(await _detail(request, slug, language))


@routes.post("/api/kb/articles/{slug}/{language}/rollback")
async def rollback_article(request: web.Request) -> web.Response:
    p = require(request, "editor")
    slug, language = request.match_info["slug"], _language(request.match_info["language"])
    revision = (await read_json(request)).get("revision")
    if not isinstance(revision, int) or isinstance(revision, bool):
        raise BadRequest("'revision' must be an integer")
    await in_session(request, kb.rollback, slug, language, revision, p.username)
    await _reindex(request, slug, language)
    return web.json_response(await _detail(request, slug, language))


@routes.delete("/api/kb/articles/{slug}/{language}")
async def delete_article(request: web.Request) -> web.Response:
    p = require(request, "editor")
    slug, language = request.match_info["slug"], _language(request.match_info["language"])
    await in_session(request, kb.delete, slug, language, p.username)
    await _reindex(request, slug, language)
    return web.Response(status=204)


@routes.get("/api/kb/articles/{slug}/{language}/revisions/{revision}")
async def get_revision(request: web.Request) -> web.Response:
    require(request, "editor")
    slug, language = request.match_info["slug"], _language(request.match_info["language"])
    revision = path_int(request, "revision", "revision")
    return web.json_response(await in_session(request, kb.get_revision, slug, language, revision))


@routes.get("/api/kb/gaps")
async def list_gaps(request: web.Request) -> web.Response:
    require(request, "editor", "agent")
    limit = query_limit(request, 50, 500)
    return web.json_response({"gaps": await in_session(request, kb.gaps, limit)})


@routes.post("/api/kb/reindex")
async def reindex(request: web.Request) -> web.Response:
    require(request, "admin")
    loop = asyncio.get_running_loop()
    version = await loop.run_in_executor(request.app[keys.INDEX_WRITER],
                                         request.app[keys.KB_INDEXER].rebuild)
    return web.json_response({"version": version})


@routes.get("/help/{slug}")
async def help_page(request: web.Request) -> web.Response:
    """The public article a bot answer cites (published revision only)."""
    slug = request.match_info["slug"]
    language = request.query.get("lang", "en")
    if language not in LANGUAGES:
        language = "en"
    articles = await in_session(request, kb.published_articles, slug, language)
    if not articles:
        raise web.HTTPNotFound(text="No such article")
    a = articles[0]
    page = (f"<!doctype html><html lang='{a.language}'><head><meta charset='utf-8'>"
            "<meta name='viewport' content='width=device-width, initial-scale=1'>"
            f"<title>{html.escape(a.title)}</title><link rel='stylesheet' "
            "href='/static/kefu.css'></head><body class='help-page'><main>"
            f"<h1>{html.escape(a.title)}</h1><div class='help-body'>"
            f"{html.escape(a.body)}</div></main></body></html>")
    return web.Response(text=page, content_type="text/html")
