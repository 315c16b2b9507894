"""The audit log records who read or changed customer records, conversations and articles."""

from __future__ import annotations

from typing import Any

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


async def test_bulk_reads_are_logged_once_per_request(client: TestClient,
                                                      shop: Database) -> None:
    ann_token = await _token(client, "ann", "ann-pw")
    ann = {"Authorization": f"Bearer {ann_token}"}
    ed = {"Authorization": f"Bearer {await _token(client, 'ed', 'ed-pw')}"}
    root = {"Authorization": f"Bearer {await _token(client, 'root', 'root-pw')}"}
    with shop.session() as s:
        for sender in ("b1", "b2", "b3"):  # several rows, still one entry per request
            cid = convs.accept_customer_turn(s, "webchat", sender, "a person please", "en",
                                             customer_id=3).conversation_id
            convs.start_handoff(s, cid, "explicit_request")

    listed = await client.get("/api/conversations?status=open&limit=20", headers=ann)
    assert listed.status == 200 and len((await listed.json())["conversations"]) == 3
    assert (await client.get("/api/handoffs", headers=ann)).status == 200
    assert (await client.get("/api/kb/gaps", headers=ed)).status == 200
    # a refused bulk read is not an entry
    assert (await client.get("/api/handoffs", headers=ed)).status == 403

    async def logged() -> list[tuple[Any, ...]]:
        log = (await (await client.get("/api/audit", headers=root)).json())["entries"]
        return [(e["actor"], e["action"], e["entity"], e["entity_id"], e["detail"])
                for e in reversed(log)]

    assert await logged() == [
        ("ann", "list", "conversations", "*", {"status": "open", "limit": "20"}),
        ("ann", "list", "handoffs", "*", None),
        ("ed", "list", "kb_gaps", "*", None),
    ]
    # the console socket's subscription to every conversation's events
    async with client.ws_connect("/ws/console") as ws:
        await ws.send_json({"type": "auth", "token": ann_token})
        assert (await ws.receive_json(timeout=5))["type"] == "ready"
    assert (await logged())[3:] == [
        ("ann", "subscribe", "conversations", "*", {"via": "console_socket"})]
