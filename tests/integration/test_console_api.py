"""The agent console's API on the hub: queue, claim (one winner), reply on the customer's own
channel, resolve, hand back; roles enforced. Rasa is not needed for these."""

from __future__ import annotations

import asyncio

import pytest
from aiohttp import WSMsgType
from aiohttp.test_utils import TestClient
from sqlalchemy import select

from bot.db.models import Feedback
from bot.db.session import Database
from bot.hub.app import create_app
from bot.services import auth
from bot.services import conversations as convs
from tests.conftest import make_settings
from tests.integration.conftest import staff_hub
from tests.integration.test_hub_api import _closed_port, _token


@pytest.fixture
async def client(aiohttp_client, tmp_path, shop: Database) -> TestClient:
    return await staff_hub(aiohttp_client, tmp_path, shop, [
        ("ann", "ann-pw", "agent"), ("bob", "bob-pw", "agent"), ("ed", "ed-pw", "editor")])


def _handed_off(db: Database, sender: str, customer_id: int | None = 1) -> str:
    with db.session() as s:
        acc = convs.accept_customer_turn(s, "webchat", sender, "I want a person", "en",
                                         customer_id=customer_id)
        convs.start_handoff(s, acc.conversation_id, "explicit_request", priority=1.5)
        return acc.conversation_id


async def test_queue_claim_reply_resolve(client: TestClient, shop: Database) -> None:
    cid = _handed_off(shop, "cust-1")
    ann = {"Authorization": f"Bearer {await _token(client, 'ann', 'ann-pw')}"}
    bob = {"Authorization": f"Bearer {await _token(client, 'bob', 'bob-pw')}"}
    queue = await (await client.get("/api/handoffs", headers=ann)).json()
    assert [h["conversation_id"] for h in queue["handoffs"]] == [cid]
    assert queue["handoffs"][0]["reason"] == "explicit_request"

    # replying before claiming is refused
    early = await client.post(f"/api/conversations/{cid}/messages", json={"text": "hi"},
                              headers=ann)
    assert early.status == 409

    # two agents claim at once: exactly one wins
    results = await asyncio.gather(client.post(f"/api/conversations/{cid}/claim", headers=ann),
                                   client.post(f"/api/conversations/{cid}/claim", headers=bob))
    assert sorted(r.status for r in results) == [200, 409]
    winner = ann if results[0].status == 200 else bob
    loser = bob if winner is ann else ann
    assert "already claimed" in (await results[1 if winner is ann else 0].json())[
        "error"]["message"]

    # the reply reaches the customer's open web chat
    async with client.ws_connect("/ws/chat?sender=cust-1") as ws:
        sent = await client.post(f"/api/conversations/{cid}/messages",
                                 json={"text": "Hello, I'm here to help."}, headers=winner)
        assert sent.status == 201 and (await sent.json())["delivery"] == "delivered"
        frame = await ws.receive_json(timeout=5)
    assert frame["type"] == "agent_message"
    assert frame["messages"][0]["text"] == "Hello, I'm here to help."
    assert (await client.post(f"/api/conversations/{cid}/messages", json={"text": "x"},
                              headers=loser)).status == 403  # claimed by the winner

    card = await client.get("/api/customers/1/card", headers=winner)
    body = await card.json()
    assert body["customer"]["id"] == 1 and isinstance(body["orders"], list)
    assert "profile" in body  # segment + churn risk once profiles are computed

    async with client.ws_connect("/ws/chat?sender=cust-1") as ws:
        done = await (await client.post(f"/api/conversations/{cid}/resolve",
                                        headers=winner)).json()
        frame = await ws.receive_json(timeout=5)
    assert done["status"] == "resolved" and done["handoffs"][0]["status"] == "resolved"
    assert [t["role"] for t in done["turns"]] == ["customer", "system", "agent", "system", "bot"]
    # resolving asks the customer for a rating, on their channel
    assert frame["messages"][0]["custom"]["csat"] is True
    rated = await client.post("/api/chat", json={"sender": "cust-1", "text": "5"})
    assert rated.status == 200 and (await rated.json())["conversation_id"] == cid
    with shop.session() as s:
        assert s.scalars(select(Feedback.score).where(Feedback.conversation_id == cid)).all() \
            == [5]


async def test_hand_back_returns_the_conversation_to_the_bot(client: TestClient,
                                                             shop: Database) -> None:
    cid = _handed_off(shop, "cust-2")
    ann = {"Authorization": f"Bearer {await _token(client, 'ann', 'ann-pw')}"}
    await client.post(f"/api/conversations/{cid}/claim", headers=ann)
    detail = await (await client.post(f"/api/conversations/{cid}/handback",
                                      headers=ann)).json()
    assert (detail["status"], detail["owner"], detail["assignee"]) == ("pending", "bot", None)
    with shop.session() as s:
        nxt = convs.accept_customer_turn(s, "webchat", "cust-2", "thanks", "en")
    assert nxt.conversation_id == cid and nxt.owner == "bot"


async def test_only_the_claiming_agent_or_an_admin_may_act(client: TestClient,
                                                         shop: Database) -> None:
    with shop.session() as s:
        auth.create_user(s, "root", "root-pw", "admin")
    ann = {"Authorization": f"Bearer {await _token(client, 'ann', 'ann-pw')}"}
    bob = {"Authorization": f"Bearer {await _token(client, 'bob', 'bob-pw')}"}
    root = {"Authorization": f"Bearer {await _token(client, 'root', 'root-pw')}"}
    first, second = _handed_off(shop, "cust-own-1"), _handed_off(shop, "cust-own-2")
    for cid in (first, second):
        assert (await client.post(f"/api/conversations/{cid}/claim", headers=ann)).status == 200

    # another agent may not reply, resolve or hand back what ann claimed
    for action, body in (("resolve", None), ("handback", None),
                         ("messages", {"text": "I'll take it"})):
        resp = await client.post(f"/api/conversations/{first}/{action}", json=body,
                                 headers=bob)
        assert resp.status == 403, action
        assert "claimed by ann" in (await resp.json())["error"]["message"]
    detail = await (await client.get(f"/api/conversations/{first}", headers=ann)).json()
    assert (detail["status"], detail["owner"]) == ("open", "agent")
    assert [t for t in detail["turns"] if t["role"] == "agent"] == []

    # the agent who claimed it may; so may an admin, on anyone's
    assert (await client.post(f"/api/conversations/{first}/messages", json={"text": "Hi"},
                              headers=ann)).status == 201
    assert (await client.post(f"/api/conversations/{first}/resolve",
                              headers=ann)).status == 200
    assert (await client.post(f"/api/conversations/{second}/messages",
                              json={"text": "A supervisor here"}, headers=root)).status == 201
    assert (await client.post(f"/api/conversations/{second}/handback",
                              headers=root)).status == 200


async def test_console_socket_hears_about_changes(client: TestClient, shop: Database) -> None:
    cid = _handed_off(shop, "cust-3")
    token = await _token(client, "ann", "ann-pw")
    async with client.ws_connect("/ws/console") as ws:
        await ws.send_json({"type": "auth", "token": token})  # signed in by the first frame
        assert (await ws.receive_json(timeout=5))["type"] == "ready"
        await client.post(f"/api/conversations/{cid}/claim",
                          headers={"Authorization": f"Bearer {token}"})
        frame = await ws.receive_json(timeout=5)
    assert frame == {"type": "conversation_updated", "conversation_id": cid, "status": "open",
                     "owner": "agent", "assignee": frame["assignee"]}
    assert frame["assignee"]["username"] == "ann"


async def test_roles_are_enforced_on_console_routes(client: TestClient, shop: Database) -> None:
    cid = _handed_off(shop, "cust-4")
    editor = {"Authorization": f"Bearer {await _token(client, 'ed', 'ed-pw')}"}
    for method, path in (("GET", "/api/handoffs"), ("POST", f"/api/conversations/{cid}/claim"),
                         ("POST", f"/api/conversations/{cid}/resolve"),
                         ("GET", "/api/customers/1/card")):
        assert (await client.request(method, path, headers=editor)).status == 403, path
        assert (await client.request(method, path)).status == 401, path
    async with client.ws_connect("/ws/console") as ws:
        await ws.send_json({"type": "auth", "token": "forged"})
        closed = await ws.receive(timeout=5)
    assert closed.type == WSMsgType.CLOSE and closed.data == 4401


async def test_handoffs_and_replies_survive_a_hub_restart(aiohttp_client, tmp_path,
                                                          shop: Database) -> None:
    settings = make_settings(tmp_path, rasa_url=f"http://127.0.0.1:{_closed_port()}")
    with shop.session() as s:
        auth.create_user(s, "ann", "ann-pw", "agent")
    cid = _handed_off(shop, "cust-restart")
    first = await aiohttp_client(create_app(settings, shop))
    ann = {"Authorization": f"Bearer {await _token(first, 'ann', 'ann-pw')}"}
    await first.post(f"/api/conversations/{cid}/claim", headers=ann)
    await first.post(f"/api/conversations/{cid}/messages", json={"text": "On it."}, headers=ann)
    await first.close()
    second = await aiohttp_client(create_app(settings, shop))  # a fresh hub, same database
    queue = await (await second.get("/api/handoffs?status=claimed", headers=ann)).json()
    assert [h["conversation_id"] for h in queue["handoffs"]] == [cid]
    detail = await (await second.get(f"/api/conversations/{cid}", headers=ann)).json()
    assert detail["assignee"]["username"] == "ann"
    assert [t["text"] for t in detail["turns"] if t["role"] == "agent"] == ["On it."]


async def test_one_customer_across_channels_on_the_card(client: TestClient,
                                                        shop: Database) -> None:
    from bot.services import crm

    with shop.session() as s:
        crm.link_identity(s, "slack", "T1:U9", 1)
    with shop.session() as s:
        for channel, sender in (("webchat", "browser-9"), ("slack", "T1:U9")):
            convs.accept_customer_turn(s, channel, sender, "hello", "en",
                                       customer_id=crm.verified_customer(s, channel, sender)
                                       or (1 if channel == "webchat" else None))
    ann = {"Authorization": f"Bearer {await _token(client, 'ann', 'ann-pw')}"}
    card = await (await client.get("/api/customers/1/card", headers=ann)).json()
    assert {c["channel"] for c in card["conversations"]} >= {"webchat", "slack"}


async def test_the_card_shows_segment_and_churn_risk(client: TestClient, shop: Database) -> None:
    from bot.segments.service import compute_profiles

    compute_profiles(shop)
    ann = {"Authorization": f"Bearer {await _token(client, 'ann', 'ann-pw')}"}
    card = await (await client.get("/api/customers/1/card", headers=ann)).json()
    profile = card["profile"]
    assert profile["segment"] and profile["frequency"] >= 0
    assert profile["churn_risk"] is None or 0.0 <= profile["churn_risk"] <= 1.0
