"""Stand-ins for the WeChat and Slack Web APIs on loopback, as the real ones behave for the
calls we make (token issuing, customer-service messages, chat.postMessage). They record what
Kefu sends so tests can check it."""

from __future__ import annotations

import asyncio
import socket
import threading
import time
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web


@dataclass
class Recorded:
    slack_posts: list[dict[str, Any]] = field(default_factory=list)
    wechat_sends: list[dict[str, Any]] = field(default_factory=list)
    wechat_tokens: int = 0
    slack_auth: list[str] = field(default_factory=list)

    def wait_for(self, what: str, count: int, timeout: float = 60) -> list[dict[str, Any]]:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            items = getattr(self, what)
            if len(items) >= count:
                return items
            time.sleep(0.1)
        return getattr(self, what)


class FakePlatforms:
    def __init__(self) -> None:
        self.recorded = Recorded()
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            self.port = s.getsockname()[1]
        self.url = f"http://127.0.0.1:{self.port}"
        self._loop = asyncio.new_event_loop()
        self._runner: web.AppRunner | None = None
        self._thread = threading.Thread(target=self._loop.run_forever, daemon=True)

    def _app(self) -> web.Application:
        rec = self.recorded
        app = web.Application()

        async def slack_post(request: web.Request) -> web.Response:
            rec.slack_auth.append(request.headers.get("Authorization", ""))
            rec.slack_posts.append(await request.json())
            return web.json_response({"ok": True, "ts": f"{time.time():.6f}"})

        async def wechat_token(request: web.Request) -> web.Response:
            rec.wechat_tokens += 1
            return web.json_response({"access_token": f"tok-{rec.wechat_tokens}",
                                      "expires_in": 7200})

        async def wechat_send(request: web.Request) -> web.Response:
            rec.wechat_sends.append({"token": request.query.get("access_token"),
                                     **(await request.json())})
            return web.json_response({"errcode": 0, "errmsg": "ok"})

        app.router.add_post("/slack/chat.postMessage", slack_post)
        app.router.add_get("/wechat/cgi-bin/token", wechat_token)
        app.router.add_post("/wechat/cgi-bin/message/custom/send", wechat_send)
        return app

    def start(self) -> FakePlatforms:
        self._thread.start()

        async def up() -> None:
            self._runner = web.AppRunner(self._app())
            await self._runner.setup()
            await web.TCPSite(self._runner, "127.0.0.1", self.port).start()

        asyncio.run_coroutine_threadsafe(up(), self._loop).result(10)
        return self

    def stop(self) -> None:
        if self._runner is not None:
            asyncio.run_coroutine_threadsafe(self._runner.cleanup(), self._loop).result(10)
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(5)
