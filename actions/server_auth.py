"""The action server accepts calls only from our Rasa: every request but ``/health`` must
carry the shared secret in ``X-Kefu-Action-Token`` (401 otherwise). Rasa sends it from
``endpoints.yml`` (``headers:``, filled from ``KEFU_ACTION_TOKEN``); without it any local
process could run actions (order lookups, handoffs) with a forged ``customer_id``.

Attached through rasa-sdk's plugin hook: ``rasa_sdk_plugins`` (found by that name when the
server starts, also in each spawned worker) calls ``init_hooks``.
"""

from __future__ import annotations

import hmac
import logging
from collections.abc import Awaitable, Callable
from typing import Any

import pluggy
from sanic import Sanic, response
from sanic.request import Request
from sanic.response import HTTPResponse

from bot.settings import get_settings

HEADER = "X-Kefu-Action-Token"
OPEN_PATHS = frozenset({"/health"})
hookimpl = pluggy.HookimplMarker("rasa_sdk")
log = logging.getLogger(__name__)


def token_guard(expected: str) -> Callable[[Request], Awaitable[HTTPResponse | None]]:
    """A Sanic request middleware: 401 unless the request carries ``expected``."""
    want = expected.encode()

    async def guard(request: Request) -> HTTPResponse | None:
        if request.path in OPEN_PATHS:
            return None
        got = request.headers.get(HEADER)
        if got is not None and hmac.compare_digest(got.encode(), want):
            return None
        log.warning("refused an action server call without a valid %s header", HEADER)
        return response.json({"error": "unauthorized",
                              "message": f"a valid {HEADER} header is required"}, status=401)

    return guard


class _Plugin:
    @hookimpl
    def attach_sanic_app_extensions(self, app: Sanic) -> None:
        app.register_middleware(token_guard(get_settings().action_auth_token()), "request")


def init_hooks(manager: Any) -> None:
    """rasa-sdk's plugin entry point (``rasa_sdk_plugins.init_hooks``)."""
    manager.register(_Plugin())
