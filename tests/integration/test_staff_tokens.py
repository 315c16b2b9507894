"""A token says who signed in, not what they may do now: each request is checked against the
account as it is (disabled -> 401, demoted -> the new role), and the console socket signs in
by its first frame, is re-checked while open, and is closed when its token expires."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import pytest
from aiohttp import WSMsgType
from aiohttp.test_utils import TestClient
from sqlalchemy import delete, select, update

from bot.db.models import User
from bot.db.session import Database
from bot.hub import keys
from bot.hub.app import create_app
from bot.services import auth
from tests.conftest import make_settings
from tests.integration.test_hub_api import _closed_port


async def _hub(aiohttp_client: Any, tmp: Path, db: Database, **overrides: Any) -> TestClient:
    settings = make_settings(tmp, rasa_url=f"http://127.0.0.1:{_closed_port()}", **overrides)
    with db.session() as s:
        auth.create_user(s, "root", "root-pw", "admin")
        auth.create_user(s, "ann", "ann-pw", "agent")
        auth.create_user(s, "ed", "ed-pw", "editor")
    return await aiohttp_client(create_app(settings, db))


@pytest.fixture
async def client(aiohttp_client, tmp_path, db: Database) -> TestClient:
    # no caching: each request sees the account as it is
    return await _hub(aiohttp_client, tmp_path, db, staff_cache_s=0)


def _token(client: TestClient, username: str, ttl_s: int = 600) -> str:
    with client.app[keys.DB].session() as s:
        user = s.scalar(select(User).where(User.username == username))
        assert user is not None
        who = auth.Principal(user.id, user.username, user.role)
    return auth.issue_token(who, client.app[keys.SETTINGS].secret_key(), ttl_s)


def _bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def _set(db: Database, username: str, **changes: Any) -> None:
    """What ``bot.cli user-set`` (``auth.update_user``) does, straight in the table."""
    with db.session() as s:
        s.execute(update(User).where(User.username == username).values(**changes))


async def test_a_disabled_user_is_refused_at_once(client: TestClient, db: Database) -> None:
    token = _token(client, "ann")
    assert (await client.get("/api/conversations", headers=_bearer(token))).status == 200
    _set(db, "ann", active=False)
    for path in ("/api/conversations", "/api/handoffs", "/api/me"):
        resp = await client.get(path, headers=_bearer(token))
        assert resp.status == 401, path
        assert "disabled" in (await resp.json())["error"]["message"]
    _set(db, "ann", active=True)
    assert (await client.get("/api/me", headers=_bearer(token))).status == 200


async def test_a_demoted_user_gets_the_new_roles_rights(client: TestClient,
                                                        db: Database) -> None:
    token = _token(client, "root")  # the token says "admin"
    assert (await client.get("/api/audit", headers=_bearer(token))).status == 200
    _set(db, "root", role="agent")
    assert (await client.get("/api/audit", headers=_bearer(token))).status == 403
    me = await (await client.get("/api/me", headers=_bearer(token))).json()
    assert me["role"] == "agent"
    assert (await client.get("/api/conversations", headers=_bearer(token))).status == 200


async def test_a_deleted_user_is_refused(client: TestClient, db: Database) -> None:
    token = _token(client, "ann")
    with db.session() as s:
        s.execute(delete(User).where(User.username == "ann"))
    assert (await client.get("/api/me", headers=_bearer(token))).status == 401


async def test_changes_show_within_the_cache_time(aiohttp_client, tmp_path,
                                                  db: Database) -> None:
    client = await _hub(aiohttp_client, tmp_path, db, staff_cache_s=0.3)
    token = _token(client, "ann")
    assert (await client.get("/api/me", headers=_bearer(token))).status == 200
    _set(db, "ann", active=False)
    await asyncio.sleep(0.4)
    assert (await client.get("/api/me", headers=_bearer(token))).status == 401


async def _closed_code(ws: Any, wait_s: float = 5) -> int:
    while True:
        frame = await ws.receive(timeout=wait_s)
        if frame.type in (WSMsgType.CLOSE, WSMsgType.CLOSED):
            return int(frame.data)


async def test_the_console_socket_signs_in_with_its_first_frame(client: TestClient) -> None:
    async with client.ws_connect("/ws/console") as ws:
        await ws.send_json({"type": "auth", "token": _token(client, "ann")})
        ready = await ws.receive_json(timeout=5)
        assert ready["type"] == "ready" and ready["user"] == {"username": "ann",
                                                               "role": "agent"}
        await client.app[keys.REALTIME].broadcast_staff({"type": "ping"})
        assert (await ws.receive_json(timeout=5)) == {"type": "ping"}


async def test_the_console_socket_refuses_a_token_in_the_url(client: TestClient) -> None:
    token = _token(client, "ann")
    async with client.ws_connect(f"/ws/console?token={token}") as ws:
        await ws.send_json({"type": "subscribe"})  # anything but an auth frame
        assert await _closed_code(ws) == 4401
    async with client.ws_connect("/ws/console") as ws:
        await ws.send_str("not json")
        assert await _closed_code(ws) == 4401


async def test_the_console_socket_is_closed_when_its_token_expires(client: TestClient) -> None:
    async with client.ws_connect("/ws/console") as ws:
        await ws.send_json({"type": "auth", "token": _token(client, "ann", ttl_s=1)})
        assert (await ws.receive_json(timeout=5))["type"] == "ready"
        assert await _closed_code(ws, wait_s=5) == 4401


async def test_the_console_socket_notices_a_disabled_or_demoted_account(
        aiohttp_client, tmp_path, db: Database) -> None:
    client = await _hub(aiohttp_client, tmp_path, db, staff_cache_s=0, console_recheck_s=0.2)
    for username, change, code in (("ann", {"active": False}, 4401),
                                   ("root", {"role": "editor"}, 4403)):
        async with client.ws_connect("/ws/console") as ws:
            await ws.send_json({"type": "auth", "token": _token(client, username)})
            assert (await ws.receive_json(timeout=5))["type"] == "ready"
            _set(db, username, **change)
            assert await _closed_code(ws) == code, username
