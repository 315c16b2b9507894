"""The hub on its own: input validation, persistence when Rasa cannot be reached, staff auth.

Rasa's URL points at a closed port here; the full stack is exercised in tests/e2e."""

from __future__ import annotations

import socket

import pytest
from aiohttp.test_utils import TestClient

from bot.db.session import Database
from bot.hub.app import create_app
from bot.services import auth
from bot.settings import Settings
from tests.conftest import make_settings


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def hub_settings(tmp_path) -> Settings:
    return make_settings(tmp_path, rasa_url=f"http://127.0.0.1:{_closed_port()}",
                         reply_wait_s=0.3)


@pytest.fixture
async def client(aiohttp_client, hub_settings: Settings, db: Database) -> TestClient:
    with db.session() as s:
        auth.create_user(s, "ann", "agent-pw", "agent")
        auth.create_user(s, "ed", "editor-pw", "editor")
    return await aiohttp_client(create_app(hub_settings, db))


async def _token(client: TestClient, user: str, pw: str) -> str:
    resp = await client.post("/api/auth/login", json={"username": user, "password": pw})
    assert resp.status == 200
    return (await resp.json())["token"]


@pytest.mark.parametrize("body", [
    b"{", b"[]", b'{"sender": "u1"}', b'{"sender": "u1", "text": "  "}',
    b'{"sender": "bad sender!", "text": "hi"}',
    b'{"sender": "u1", "text": "hi", "client_message_id": "%s"}' % (b"m" * 65),
])
async def test_malformed_chat_requests_get_a_4xx_json_error(client: TestClient,
                                                             body: bytes) -> None:
    resp = await client.post("/api/chat", data=body,
                             headers={"Content-Type": "application/json"})
    assert resp.status == 400
    assert (await resp.json())["error"]["code"]


async def test_oversized_bodies_are_refused(client: TestClient) -> None:
    resp = await client.post("/api/chat", data=b"x" * (300 * 1024))
    assert resp.status == 413


async def test_a_message_is_stored_even_when_rasa_is_down(client: TestClient) -> None:
    resp = await client.post("/api/chat", json={"sender": "u1", "text": "where is my order?",
                                                "client_message_id": "m-1"})
    assert resp.status == 202
    body = await resp.json()
    assert body["status"] == "pending" and body["messages"] == []
    # the retry of the same message is recognised, not stored twice
    again = await client.post("/api/chat", json={"sender": "u1", "text": "where is my order?",
                                                 "client_message_id": "m-1"})
    assert (await again.json())["conversation_id"] == body["conversation_id"]
    token = await _token(client, "ann", "agent-pw")
    conv = await client.get(f"/api/conversations/{body['conversation_id']}",
                            headers={"Authorization": f"Bearer {token}"})
    turns = (await conv.json())["turns"]
    assert [(t["role"], t["text"], t["state"]) for t in turns] == [
        ("customer", "where is my order?", "received")]
    assert turns[0]["language"] == "en"


async def test_readiness_reports_rasa_down(client: TestClient) -> None:
    resp = await client.get("/health/ready")
    assert resp.status == 503
    assert (await resp.json())["components"] == {"database": True, "rasa": False}
    assert (await client.get("/health")).status == 200


async def test_staff_routes_need_a_valid_token_and_role(client: TestClient) -> None:
    assert (await client.get("/api/conversations")).status == 401
    bad = await client.get("/api/conversations", headers={"Authorization": "Bearer nope"})
    assert bad.status == 401
    wrong = await client.post("/api/auth/login", json={"username": "ann", "password": "x"})
    assert wrong.status == 401
    editor = await _token(client, "ed", "editor-pw")
    refused = await client.get("/api/conversations",
                               headers={"Authorization": f"Bearer {editor}"})
    assert refused.status == 403
    agent = await _token(client, "ann", "agent-pw")
    ok = await client.get("/api/conversations", headers={"Authorization": f"Bearer {agent}"})
    assert ok.status == 200 and (await ok.json())["conversations"] == []
    me = await client.get("/api/me", headers={"Authorization": f"Bearer {agent}"})
    assert (await me.json())["role"] == "agent"


async def test_pages_and_openapi_are_served(client: TestClient) -> None:
    for path in ("/chat", "/console", "/editor", "/dashboard", "/static/chat.js",
                 "/static/kefu.css", "/static/kefu-common.js",
                 "/static/vendor/chart.umd.min.js"):
        assert (await client.get(path)).status == 200, path
    spec = await (await client.get("/openapi.json")).json()
    routes = {(r.resource.canonical, r.method.lower()) for r in client.app.router.routes()
              if r.resource is not None and r.resource.canonical.startswith(("/api/", "/ws/"))
              and r.method != "HEAD"}
    documented = {(path, method) for path, ops in spec["paths"].items() for method in ops}
    assert routes and routes <= documented, routes - documented


async def test_a_redelivery_does_not_mark_the_first_delivery_as_duplicate(
        hub_settings: Settings, db: Database) -> None:
    """Both deliveries wait on the same turn; only the second may be flagged."""
    import asyncio

    from bot.hub.rasa_client import RasaClient
    from bot.hub.router import ConversationRouter
    from channels.base import IncomingMessage

    class SlowRasa(RasaClient):
        async def send(self, sender, text, metadata):  # type: ignore[no-untyped-def]
            await asyncio.sleep(0.2)
            return [{"recipient_id": sender, "text": "hello!"}]

    router = ConversationRouter(db, SlowRasa("http://unused", 5, "unused-token"))
    msg = IncomingMessage("slack", "T1:U1", "hi", "Ev-9")
    first, second = await asyncio.gather(router.handle(msg), router.handle(msg))
    assert (first.duplicate, second.duplicate) == (False, True)
    assert first.messages == second.messages == [{"text": "hello!"}]
    await router.close()
