"""The web pages (chat widget, console, editor, dashboard) and the OpenAPI document."""

from __future__ import annotations

from pathlib import Path

import yaml
from aiohttp import web

STATIC = Path(__file__).resolve().parent.parent / "static"
OPENAPI = Path(__file__).resolve().parent.parent / "openapi.yaml"
routes = web.RouteTableDef()


@routes.get("/")
async def index(request: web.Request) -> web.Response:
    raise web.HTTPFound("/chat")


@routes.get("/chat")
async def chat_page(request: web.Request) -> web.FileResponse:
    return web.FileResponse(STATIC / "chat.html")


@routes.get("/console")
async def console_page(request: web.Request) -> web.FileResponse:
    return web.FileResponse(STATIC / "console.html")


@routes.get("/dashboard")
async def dashboard_page(request: web.Request) -> web.FileResponse:
    return web.FileResponse(STATIC / "dashboard.html")


@routes.get("/editor")
async def editor_page(request: web.Request) -> web.FileResponse:
    return web.FileResponse(STATIC / "editor.html")


@routes.get("/openapi.json")
async def openapi_json(request: web.Request) -> web.Response:
    return web.json_response(yaml.safe_load(OPENAPI.read_text(encoding="utf-8")))


@routes.get("/openapi.yaml")
async def openapi_yaml(request: web.Request) -> web.FileResponse:
    return web.FileResponse(OPENAPI)
