"""Bearer-token authentication and role checks for staff routes."""

from __future__ import annotations

from aiohttp import web

from bot.hub import keys
from bot.hub.errors import Forbidden, Unauthorized
from bot.services.auth import Principal, read_token

# The verified caller, kept on the request: the audit trail needs it after the handler.
PRINCIPAL: web.RequestKey[Principal] = web.RequestKey("principal", Principal)


def principal(request: web.Request) -> Principal:
    """The caller of this request, verified once (later calls reuse the result)."""
    if PRINCIPAL in request:
        return request[PRINCIPAL]
    header = request.headers.get("Authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token:
        raise Unauthorized("a bearer token is required")
    p = read_token(token.strip(), request.app[keys.SETTINGS].secret_key())
    if p is None:
        raise Unauthorized("the token is invalid or expired")
    request[PRINCIPAL] = p
    return p


def require(request: web.Request, *roles: str) -> Principal:
    """The caller, if signed in with one of ``roles`` (admins may do everything)."""
    p = principal(request)
    if p.role != "admin" and p.role not in roles:
        raise Forbidden(f"role {p.role!r} may not do this")
    return p
