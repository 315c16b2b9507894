"""Bearer-token authentication and role checks for staff routes.

A token proves who signed in and until when; it does not say what they may do now. Every
request with a token is checked against the account as it is (``StaffDirectory``: role and
active flag from the database, a few seconds old at most): a disabled or deleted account gets
401, a demoted one the new role's rights. ``auth_middleware`` does this before the handler, so
``principal`` / ``require`` stay plain functions for the routes.
"""

from __future__ import annotations

from typing import Any

from aiohttp import web

from bot.hub import keys
from bot.hub.errors import Forbidden, Unauthorized
from bot.services.auth import Principal, read_token

# The verified caller, kept on the request: the audit trail needs it after the handler.
PRINCIPAL: web.RequestKey[Principal] = web.RequestKey("principal", Principal)
# Why the bearer token on this request was refused (absent when there was none).
REFUSED: web.RequestKey[str] = web.RequestKey("token_refused", str)


async def verify_token(app: web.Application, token: str) -> Principal:
    """The caller a token names, with their current role; Unauthorized when the token is
    invalid or expired or the account is disabled or gone."""
    p = read_token(token, app[keys.SETTINGS].secret_key())
    if p is None:
        raise Unauthorized("the token is invalid or expired")
    now = await app[keys.STAFF].current(p.user_id)
    if now is None or not now.active or now.username != p.username:
        raise Unauthorized("this account is disabled or no longer exists")
    return Principal(now.user_id, now.username, now.role, p.expires_at)


@web.middleware
async def auth_middleware(request: web.Request, handler: Any) -> web.StreamResponse:
    scheme, _, token = request.headers.get("Authorization", "").partition(" ")
    if scheme.lower() == "bearer" and token.strip():
        try:
            request[PRINCIPAL] = await verify_token(request.app, token.strip())
        except Unauthorized as e:  # refused only if the route needs a caller
            request[REFUSED] = str(e)
    return await handler(request)


def principal(request: web.Request) -> Principal:
    """The caller of this request (verified by ``auth_middleware``)."""
    if PRINCIPAL in request:
        return request[PRINCIPAL]
    raise Unauthorized(request.get(REFUSED) or "a bearer token is required")


def require(request: web.Request, *roles: str) -> Principal:
    """The caller, if signed in with one of ``roles`` (admins may do everything)."""
    p = principal(request)
    if p.role != "admin" and p.role not in roles:
        raise Forbidden(f"role {p.role!r} may not do this")
    return p
