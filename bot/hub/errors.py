"""The hub's error hierarchy and the one middleware that maps it (and bad input) to JSON."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable

from aiohttp import web

from channels.base import ChannelError

log = logging.getLogger(__name__)


class HubError(Exception):
    status = 500
    code = "internal_error"


class BadRequest(HubError):
    status = 400
    code = "bad_request"


class Unauthorized(HubError):
    status = 401
    code = "unauthorized"


class Forbidden(HubError):
    status = 403
    code = "forbidden"


class NotFound(HubError):
    status = 404
    code = "not_found"


class Conflict(HubError):
    status = 409
    code = "conflict"


def error_response(status: int, code: str, message: str) -> web.Response:
    return web.json_response({"error": {"code": code, "message": message}}, status=status)


@web.middleware
async def error_middleware(
    request: web.Request, handler: Callable[[web.Request], Awaitable[web.StreamResponse]]
) -> web.StreamResponse:
    try:
        return await handler(request)
    except HubError as e:
        return error_response(e.status, e.code, str(e) or e.code)
    except ChannelError as e:
        return error_response(e.status, type(e).__name__.lower(), str(e))
    except web.HTTPRequestEntityTooLarge:
        return error_response(413, "payload_too_large", "request body is too large")
    except web.HTTPException as e:
        if e.status >= 400 and request.path.startswith("/api/"):
            return error_response(e.status, e.reason.lower().replace(" ", "_"), e.reason)
        raise
    except Exception:
        log.exception("unhandled error on %s %s", request.method, request.path)
        return error_response(500, "internal_error", "internal error")
