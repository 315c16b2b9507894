"""The audit log records who read or changed customer records, conversations and articles."""

from __future__ import annotations

import pytest
from aiohttp.test_utils import TestClient

from bot.db.session import Database
from bot.hub.audit_trail import AUDITED
from bot.services import conversations as convs
from tests.integration.conftest import staff_hub
from tests.integration.test_hub_api import _token


@pytest.fixture
async def client(aiohttp_client, tmp_path, shop: Database) -> TestClient:
    return await staff_hub(aiohttp_client, tmp_path, shop, [
        ("root", "root-pw", "admin"), ("ann", "ann-pw", "agent"), ("ed", "ed-pw", "editor")])


async def test_every_audited_route_exists(client: TestClient) -> None:
    routes = {(r.method, r.resource.canonical) for r in client.app.router.routes()
              if r.resource is not None}
    assert set(AUDITED) <= routes, set(AUDITED) - routes


async def test_views_and_changes_are_logged_with_the_actor(client: TestClient,
                                                           shop: Database) -> None:
    ann = {"Authorization": f"Bearer {await _token(client, 'ann', 'ann-pw')}"}
    ed = {"Authorization": f"Bearer {await _token(client, 'ed', 'ed-pw')}"}
    root = {"Authorization": f"Bearer {await _token(client, 'root', 'root-pw')}"}
    with shop.session() as s:
        cid = convs.accept_customer_turn(s, "webchat", "v1", "hi", "en",
                                         customer_id=2).conversation_id

    assert (await client.get("/api/customers/2/card", headers=ann)).status == 200
    assert (await client.get(f"/api/conversations/{cid}", headers=ann)).status == 200
    article = {"slug": "gift-wrap", "language": "en", "title": "Gift wrapping",
               "body": "We wrap gifts for 10 yuan."}
    assert (await client.post("/api/kb/articles", json=article, headers=ed)).status == 201
    assert (await client.put("/api/kb/articles/gift-wrap/en", headers=ed,
                             json={**article, "body": "We wrap gifts for free."})).status == 200
    # refused and failed requests change nothing and are not entries
    assert (await client.get("/api/customers/3/card", headers=ed)).status == 403
    assert (await client.get("/api/customers/999999/card", headers=ann)).status == 404

    log = (await (await client.get("/api/audit", headers=root)).json())["entries"]
    seen = [(e["actor"], e["action"], e["entity"], e["entity_id"]) for e in reversed(log)]
    assert seen == [("ann", "view", "customer", "2"), ("ann", "view", "conversation", cid),
                    ("ed", "create", "article", "gift-wrap/en"),
                    ("ed", "update", "article", "gift-wrap/en")]
    only = await (await client.get("/api/audit?entity=customer&entity_id=2",
                                   headers=root)).json()
    assert [e["actor"] for e in only["entries"]] == ["ann"]
    assert (await client.get("/api/audit", headers=ann)).status == 403


async def test_erasure_report_is_returned_and_kept_in_the_log(client: TestClient,
                                                              shop: Database) -> None:
    root = {"Authorization": f"Bearer {await _token(client, 'root', 'root-pw')}"}
    with shop.session() as s:
        convs.accept_customer_turn(s, "webchat", "v2", "hi", "en", customer_id=5)
    resp = await client.delete("/api/customers/5", headers=root)
    assert resp.status == 200
    report = await resp.json()
    assert report["removed"]["customers"] == 1 and report["conversations"] == 1
    assert report["removed"]["tracker_events"] == 0  # Rasa never saw this one
    log = (await (await client.get("/api/audit?entity=customer&entity_id=5",
                                   headers=root)).json())["entries"]
    assert log[0]["action"] == "delete" and log[0]["detail"]["removed"] == report["removed"]
    assert (await client.get("/api/customers/5/card", headers=root)).status == 404
