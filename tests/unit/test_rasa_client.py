"""The hub's Rasa client sends the shared token Rasa requires, on every call."""

from __future__ import annotations

from typing import Any

import pytest
from aiohttp import web

from bot.hub.rasa_client import RasaClient, RasaFailed

TOKEN = "rasa-token-" + "t" * 40


async def test_every_call_carries_the_token(aiohttp_server: Any) -> None:
    seen: list[tuple[str, str | None]] = []

    async def webhook(request: web.Request) -> web.Response:
        seen.append((request.path, request.query.get("token")))
        if request.query.get("token") != TOKEN:
            return web.json_response({"error": "unauthorized"}, status=401)
        return web.json_response([{"recipient_id": "s", "text": "hello"}])

    async def root(request: web.Request) -> web.Response:
        seen.append((request.path, request.query.get("token")))
        return web.Response(text="Hello from Rasa: 3.6.21")

    app = web.Application()
    app.router.add_post("/webhooks/rest/webhook", webhook)
    app.router.add_get("/", root)
    server = await aiohttp_server(app)
    client = RasaClient(str(server.make_url("")), 5, TOKEN)
    await client.start()
    try:
        assert await client.send("s", "hi", {"channel": "webchat"}) == [
            {"recipient_id": "s", "text": "hello"}]
        assert await client.healthy()
    finally:
        await client.close()
    assert seen == [("/webhooks/rest/webhook", TOKEN), ("/", TOKEN)]

    wrong = RasaClient(str(server.make_url("")), 5, "not-the-token-" + "x" * 30)
    await wrong.start()
    try:
        with pytest.raises(RasaFailed, match="401") as refused:
            await wrong.send("s", "hi", {})
        assert "not-the-token" not in str(refused.value)
    finally:
        await wrong.close()
