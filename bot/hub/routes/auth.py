"""Staff sign-in: throttled per client address and per username (HTTP 429 with Retry-After),
passwords checked on the hub's own bcrypt pool."""

from __future__ import annotations

from aiohttp import web

from bot.hub import keys
from bot.hub.errors import BadRequest, TooManyRequests, Unauthorized
from bot.hub.http import in_session, read_json
from bot.hub.security import principal
from bot.services.auth import find_account, issue_token

routes = web.RouteTableDef()


def client_address(request: web.Request, trusted: frozenset[str]) -> str:
    """The caller's address; behind a trusted reverse proxy, the nearest untrusted hop in
    X-Forwarded-For (which any other caller could make up, so it is ignored for them)."""
    remote = request.remote or ""
    if remote in trusted:
        hops = [h.strip() for h in request.headers.get("X-Forwarded-For", "").split(",")]
        for hop in reversed(hops):
            if hop and hop not in trusted:
                return hop
    return remote


@routes.post("/api/auth/login")
async def login(request: web.Request) -> web.Response:
    data = await read_json(request)
    username, password = data.get("username"), data.get("password")
    if not isinstance(username, str) or not isinstance(password, str):
        raise BadRequest("'username' and 'password' are required strings")
    settings, limits = request.app[keys.SETTINGS], request.app[keys.LOGIN_LIMITERS]
    address = client_address(request, settings.proxy_addresses())
    user = username.casefold()[:100]  # bounded: the key is kept in memory
    wait = await limits.by_address.attempt(address)
    if not wait:
        wait = await limits.by_user.attempt(user)
        if wait:  # refused before any password was tried: not a failure of this address
            await limits.by_address.succeeded(address)
    if wait:
        raise TooManyRequests("too many failed sign-ins; try again later", wait)

    account = await in_session(request, find_account, username)
    p = await request.app[keys.PASSWORDS].verify(account, password)
    if p is None:
        raise Unauthorized("wrong username or password")
    await limits.by_user.clear(user)
    await limits.by_address.succeeded(address)
    token = issue_token(p, settings.secret_key(), settings.token_ttl_s)
    return web.json_response({"token": token, "user": {"username": p.username, "role": p.role}})


@routes.get("/api/me")
async def me(request: web.Request) -> web.Response:
    p = principal(request)
    return web.json_response({"username": p.username, "role": p.role, "id": p.user_id})
