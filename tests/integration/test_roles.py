"""Every staff route refuses the roles that may not use it (403) and anonymous callers (401),
and lets the roles that may through. The table below is the access policy; a test fails when
a new /api route is added without a line in it."""

from __future__ import annotations

import pytest
from aiohttp import WSMsgType
from aiohttp.test_utils import TestClient
from sqlalchemy import select

from bot.db.models import User
from bot.db.session import Database
from bot.hub import keys
from bot.services import auth
from tests.integration.conftest import staff_hub
from tests.integration.test_hub_api import _token

STAFF = ("admin", "agent", "editor")
AGENTS = {"admin", "agent"}
EDITORS = {"admin", "editor"}
ADMIN = {"admin"}

POLICY: dict[tuple[str, str], set[str]] = {
    ("GET", "/api/me"): set(STAFF),
    ("GET", "/api/conversations"): AGENTS,
    ("GET", "/api/conversations/{id}"): AGENTS,
    ("DELETE", "/api/conversations/{id}"): ADMIN,
    ("GET", "/api/handoffs"): AGENTS,
    ("POST", "/api/conversations/{id}/claim"): AGENTS,
    ("POST", "/api/conversations/{id}/messages"): AGENTS,
    ("POST", "/api/conversations/{id}/resolve"): AGENTS,
    ("POST", "/api/conversations/{id}/handback"): AGENTS,
    ("GET", "/api/customers/{id}/card"): AGENTS,
    ("DELETE", "/api/customers/{id}"): ADMIN,
    ("GET", "/api/kb/articles"): EDITORS,
    ("POST", "/api/kb/articles"): EDITORS,
    ("GET", "/api/kb/articles/{slug}/{language}"): EDITORS,
    ("PUT", "/api/kb/articles/{slug}/{language}"): EDITORS,
    ("DELETE", "/api/kb/articles/{slug}/{language}"): EDITORS,
    ("POST", "/api/kb/articles/{slug}/{language}/publish"): EDITORS,
    ("POST", "/api/kb/articles/{slug}/{language}/rollback"): EDITORS,
    ("GET", "/api/kb/articles/{slug}/{language}/revisions/{revision}"): EDITORS,
    ("GET", "/api/kb/gaps"): EDITORS | AGENTS,
    ("POST", "/api/kb/reindex"): ADMIN,
    ("GET", "/api/analytics"): AGENTS,
    ("GET", "/api/analytics/topics"): AGENTS,
    ("GET", "/api/analytics/conversations.csv"): AGENTS,
    ("POST", "/api/privacy/retention"): ADMIN,
    ("GET", "/api/audit"): ADMIN,
}
# Customer-facing or public: no staff token involved.
PUBLIC = {("POST", "/api/chat"), ("POST", "/api/chat/feedback"), ("POST", "/api/auth/login")}
SAMPLE = {"id": "999999", "slug": "no-such-article", "language": "en", "revision": "1"}


@pytest.fixture
async def client(aiohttp_client, tmp_path, db: Database) -> TestClient:
    return await staff_hub(aiohttp_client, tmp_path, db,
                           [(f"{role}-user", f"{role}-pw", role) for role in STAFF])


def _api_routes(client: TestClient) -> set[tuple[str, str]]:
    return {(r.method, r.resource.canonical) for r in client.app.router.routes()
            if r.resource is not None and r.resource.canonical.startswith("/api/")
            and r.method != "HEAD"}


async def test_every_api_route_has_an_access_rule(client: TestClient) -> None:
    missing = _api_routes(client) - set(POLICY) - PUBLIC
    assert not missing, f"routes without an access rule: {sorted(missing)}"


def _issue(client: TestClient, role: str) -> str:
    """A token as the login route issues it (bcrypt logins per route would make this slow;
    logging in is tested in test_hub_api)."""
    with client.app[keys.DB].session() as s:
        user = s.scalar(select(User).where(User.username == f"{role}-user"))
        assert user is not None
        who = auth.Principal(user.id, user.username, user.role)
    return auth.issue_token(who, client.app[keys.SETTINGS].secret_key(), ttl_s=60)


def _url(template: str) -> str:
    for k, v in SAMPLE.items():
        template = template.replace("{" + k + "}", v)
    return template


async def test_roles_are_enforced_on_every_route(client: TestClient) -> None:
    """One app for all routes (a fresh app per route made this slow); every failure listed."""
    tokens = {role: _issue(client, role) for role in STAFF}
    wrong: list[str] = []
    for (method, route), allowed in sorted(POLICY.items()):
        url = _url(route)
        anon = await client.request(method, url, json={})
        if anon.status != 401:
            wrong.append(f"anonymous got {anon.status} on {method} {route}")
        for role in STAFF:
            resp = await client.request(method, url, json={},
                                        headers={"Authorization": f"Bearer {tokens[role]}"})
            if role in allowed and resp.status in (401, 403):
                wrong.append(f"{role} refused {method} {route}")
            if role not in allowed and resp.status != 403:
                wrong.append(f"{role} got {resp.status} on {method} {route}")
    assert not wrong, wrong


async def test_forged_and_expired_tokens_are_refused(client: TestClient) -> None:
    admin = auth.Principal(1, "admin-user", "admin")
    forged = auth.issue_token(admin, "not-the-server-secret" * 2, ttl_s=60)
    resp = await client.get("/api/audit", headers={"Authorization": f"Bearer {forged}"})
    assert resp.status == 401
    expired = auth.issue_token(admin, client.app[keys.SETTINGS].secret_key(), ttl_s=-10)
    resp = await client.get("/api/audit", headers={"Authorization": f"Bearer {expired}"})
    assert resp.status == 401
    valid = auth.issue_token(admin, client.app[keys.SETTINGS].secret_key(), ttl_s=60)
    resp = await client.get("/api/audit", headers={"Authorization": f"Bearer {valid}"})
    assert resp.status == 200


async def test_console_socket_refuses_editors(client: TestClient) -> None:
    token = await _token(client, "editor-user", "editor-pw")
    for sent, code in ((token, 4403), ("nonsense", 4401)):
        async with client.ws_connect("/ws/console") as ws:
            await ws.send_json({"type": "auth", "token": sent})
            closed = await ws.receive(timeout=5)
        assert closed.type == WSMsgType.CLOSE and closed.data == code
