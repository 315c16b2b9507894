"""Staff sign-in."""

from __future__ import annotations

import asyncio

from aiohttp import web

from bot.hub import keys
from bot.hub.errors import BadRequest, Unauthorized
from bot.hub.http import read_json
from bot.hub.security import principal
from bot.services.auth import authenticate, issue_token

routes = web.RouteTableDef()


@routes.post("/api/auth/login")
async def login(request: web.Request) -> web.Response:
    data = await read_json(request)
    username, password = data.get("username"), data.get("password")
    if not isinstance(username, str) or not isinstance(password, str):
        raise BadRequest("'username' and 'password' are required strings")
    db, settings = request.app[keys.DB], request.app[keys.SETTINGS]

    def check():  # type: ignore[no-untyped-def]
        with db.session() as s:
            return authenticate(s, username, password)

    p = await asyncio.to_thread(check)
    if p is None:
        raise Unauthorized("wrong username or password")
    token = issue_token(p, settings.secret_key(), settings.token_ttl_s)
    return web.json_response({"token": token, "user": {"username": p.username, "role": p.role}})


@routes.get("/api/me")
async def me(request: web.Request) -> web.Response:
    p = principal(request)
    return web.json_response({"username": p.username, "role": p.role, "id": p.user_id})
