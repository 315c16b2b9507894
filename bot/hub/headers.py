"""Security headers on every response the hub sends, errors included.

Set when a response is prepared (``on_response_prepare``), so they also reach what no handler
or middleware returns: aiohttp's own 404/405, 413, 500s from the error middleware, static
files and the websocket handshake. The pages load only same-origin scripts and styles (no
inline ones; Chart.js is vendored under /static/vendor), so the policy allows nothing else.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from aiohttp import web

from bot.settings import Settings

Hook = Callable[[web.Request, web.StreamResponse], Awaitable[None]]

CSP = "; ".join((
    "default-src 'self'",
    "script-src 'self'",
    "style-src 'self'",
    "img-src 'self' data:",
    "font-src 'self'",
    "object-src 'none'",
    "base-uri 'none'",
    "form-action 'self'",
    "frame-ancestors 'none'",
))
HSTS = "max-age=31536000"


def _connect_src(request: web.BaseRequest) -> str:
    # 'self' covers same-origin websockets in CSP 3; older Safari needs them named
    host = request.host
    return f"connect-src 'self' ws://{host} wss://{host}" if host else "connect-src 'self'"


def security_headers(settings: Settings) -> Hook:
    """The ``on_response_prepare`` hook for an app serving ``settings``."""
    https = settings.hub_url().startswith("https://")

    async def add(request: web.Request, response: web.StreamResponse) -> None:
        h = response.headers
        h.setdefault("Content-Security-Policy", f"{CSP}; {_connect_src(request)}")
        h.setdefault("X-Content-Type-Options", "nosniff")
        h.setdefault("X-Frame-Options", "DENY")
        h.setdefault("Referrer-Policy", "same-origin")
        if https:  # only meaningful, and only honoured, over HTTPS
            h.setdefault("Strict-Transport-Security", HSTS)

    return add
