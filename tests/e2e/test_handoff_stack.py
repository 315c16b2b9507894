"""Escalation and the human handoff on the running stack, as customers and agents use it."""

from __future__ import annotations

from typing import Any

import aiohttp
import pytest

from tests.e2e.conftest import RunningStack
from tests.e2e.test_chat_stack import chat, staff_get, texts

pytestmark = pytest.mark.e2e


def handed_off(reply: dict[str, Any]) -> bool:
    return any((m.get("custom") or {}).get("handoff") for m in reply["messages"])


async def login(http: aiohttp.ClientSession, stack: RunningStack) -> dict[str, str]:
    async with http.post(f"{stack.url}/api/auth/login", json={
            "username": "admin", "password": "e2e-admin-password"}) as resp:
        return {"Authorization": f"Bearer {(await resp.json())['token']}"}


async def test_every_customer_turn_gets_a_sentiment(stack: RunningStack) -> None:
    reply = await chat(stack, "senti", "thank you so much, the headphones are fantastic!")
    detail = await staff_get(stack, f"/api/conversations/{reply['conversation_id']}")
    turn = next(t for t in detail["turns"] if t["role"] == "customer")
    assert turn["sentiment"]["label"] == "positive" and 0.34 < turn["sentiment"]["score"] <= 1


@pytest.mark.parametrize(("sender", "lines"), [
    ("angry-en", ["my order still hasn't arrived after three weeks",
                  "this is ridiculous, worst service ever, I'm furious and want my money back"]),
    ("angry-zh", ["订单三个星期了还没到", "太离谱了，什么破服务，气死我了，赶紧给我退钱！"]),
])
async def test_an_angry_conversation_escalates(stack: RunningStack, sender: str,
                                               lines: list[str]) -> None:
    replies = [await chat(stack, sender, line) for line in lines]
    handed = [r for r in replies if handed_off(r)]
    assert len(handed) == 1  # once with a person, later turns wait for the agent
    detail = await staff_get(stack, f"/api/conversations/{replies[0]['conversation_id']}")
    assert detail["owner"] == "agent" and detail["status"] == "open"
    assert detail["handoffs"][0]["reason"] in ("negative_sentiment", "negative_trend")
    notice = texts(handed[0])
    assert ("queue" in notice) if sender.endswith("en") else ("前面" in notice)
    after = replies[replies.index(handed[0]) + 1:]
    assert all(r["messages"] == [] and r["status"] == "with_agent" for r in after)


async def test_a_neutral_conversation_does_not(stack: RunningStack) -> None:
    for line in ("hello", "what payment methods do you accept?", "ok thanks"):
        reply = await chat(stack, "calm", line)
        assert not handed_off(reply)
    detail = await staff_get(stack, f"/api/conversations/{reply['conversation_id']}")
    assert detail["owner"] == "bot" and detail["handoffs"] == []


async def test_agent_claims_replies_and_hands_back(stack: RunningStack) -> None:
    ws_url = stack.url.replace("http", "ws")
    async with aiohttp.ClientSession() as http:
        auth = await login(http, stack)
        token = auth["Authorization"].split()[1]
        async with http.ws_connect(f"{ws_url}/ws/chat?sender=needs-human") as customer, \
                http.ws_connect(f"{ws_url}/ws/console") as console:
            await console.send_json({"type": "auth", "token": token})  # the first frame signs in
            assert (await console.receive_json(timeout=10))["type"] == "ready"
            await customer.send_json({"text": "转人工", "client_message_id": "h-1"})
            frame = await customer.receive_json(timeout=60)
            assert any((m.get("custom") or {}).get("handoff") for m in frame["messages"])
            cid = frame["conversation_id"]
            event = await console.receive_json(timeout=10)
            assert event["type"] == "handoff_created"
            assert event["handoff"]["conversation_id"] == cid

            async with http.get(f"{stack.url}/api/handoffs", headers=auth) as resp:
                assert cid in [h["conversation_id"] for h in (await resp.json())["handoffs"]]
            async with http.post(f"{stack.url}/api/conversations/{cid}/claim",
                                 headers=auth) as resp:
                assert resp.status == 200
            # with a person now: the bot stays quiet and the console hears the customer
            await customer.send_json({"text": "你好，有人吗", "client_message_id": "h-2"})
            quiet = await customer.receive_json(timeout=30)
            assert quiet["messages"] == [] and quiet["status"] == "with_agent"
            async with http.post(f"{stack.url}/api/conversations/{cid}/messages", headers=auth,
                                 json={"text": "您好，我是客服小王，请问有什么可以帮您？"}) as resp:
                assert (await resp.json())["delivery"] == "delivered"
            agent = await customer.receive_json(timeout=10)
            assert agent["type"] == "agent_message" and "小王" in agent["messages"][0]["text"]

            async with http.post(f"{stack.url}/api/conversations/{cid}/handback",
                                 headers=auth) as resp:
                assert (await resp.json())["owner"] == "bot"
            await customer.receive_json(timeout=10)  # "back with the assistant"
            await customer.send_json({"text": "你们支持哪些支付方式", "client_message_id": "h-3"})
            back = await customer.receive_json(timeout=60)
            assert back["type"] == "messages" and back["messages"]
            assert back["conversation_id"] == cid
