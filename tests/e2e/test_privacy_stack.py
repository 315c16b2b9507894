"""Privacy and feedback on the running stack: PII is redacted at rest while the agent of an
open conversation still sees it; the rating asked at the end of a conversation is stored;
erasing a customer removes them from the database and from Rasa's tracker store."""

from __future__ import annotations

from typing import Any

import aiohttp
import pytest
from sqlalchemy import func, select

from bot.db.models import AuditEntry, Conversation, Customer, Feedback, KbGap, Order, Turn
from bot.services import erasure
from tests.e2e.conftest import RunningStack
from tests.e2e.test_chat_stack import chat, order_in_transit, texts

pytestmark = pytest.mark.e2e


async def admin_request(stack: RunningStack, method: str, path: str,
                        **kwargs: Any) -> tuple[int, Any]:
    async with aiohttp.ClientSession() as http:
        async with http.post(f"{stack.url}/api/auth/login", json={
                "username": "admin", "password": "e2e-admin-password"}) as resp:
            token = (await resp.json())["token"]
        async with http.request(method, f"{stack.url}{path}", **kwargs,
                                headers={"Authorization": f"Bearer {token}"}) as resp:
            body = await resp.json() if resp.content_type == "application/json" else None
            return resp.status, body


async def test_pii_is_redacted_at_rest_and_visible_while_active(stack: RunningStack) -> None:
    text = "hi, I'm Sarah Connor, my email is sarah.connor@example.org and phone 415-555-0134"
    reply = await chat(stack, "privacy-en", text)
    cid = reply["conversation_id"]
    with stack.db.session() as s:
        turn = s.scalar(select(Turn).where(Turn.conversation_id == cid,
                                           Turn.role == "customer"))
        assert "sarah.connor@example.org" not in turn.text and "[EMAIL]" in turn.text
        assert "415-555-0134" not in turn.text and "Sarah Connor" not in turn.text
        assert turn.raw_text == text
    status, detail = await admin_request(stack, "GET", f"/api/conversations/{cid}")
    assert status == 200 and detail["turns"][0]["text"] == text  # active: staff see it
    status, _ = await admin_request(stack, "DELETE", f"/api/conversations/{cid}")
    assert status == 200


async def test_chinese_pii_is_redacted_and_order_numbers_kept(stack: RunningStack) -> None:
    reply = await chat(stack, "privacy-zh", "我叫王小明，手机13912345678，订单104233到哪了")
    with stack.db.session() as s:
        stored = s.scalar(select(Turn.text).where(
            Turn.conversation_id == reply["conversation_id"], Turn.role == "customer"))
    assert "13912345678" not in stored and "王小明" not in stored
    assert "104233" in stored


async def test_goodbye_asks_for_a_rating_and_the_rating_is_stored(stack: RunningStack) -> None:
    first = await chat(stack, "rater-1", "how long do refunds take?")
    assert first["turn_id"]
    bye = await chat(stack, "rater-1", "ok that's all, bye!")
    question = [m for m in bye["messages"] if (m.get("custom") or {}).get("csat")]
    assert question, texts(bye)
    assert [b["payload"] for b in question[0]["buttons"]] == ["5", "4", "3", "2", "1"]
    rated = await chat(stack, "rater-1", "4")
    assert rated["conversation_id"] == first["conversation_id"]
    assert "rating" in texts(rated).lower()
    with stack.db.session() as s:
        conv = s.get(Conversation, first["conversation_id"])
        assert conv.status == "resolved" and conv.csat_state == "rated"
        assert s.scalars(select(Feedback.score).where(
            Feedback.conversation_id == conv.id, Feedback.kind == "csat")).all() == [4]
    # after the rating, a digit is an ordinary message in a new conversation
    later = await chat(stack, "rater-1", "5")
    assert later["conversation_id"] != first["conversation_id"]


async def test_thumbs_on_an_answer(stack: RunningStack) -> None:
    reply = await chat(stack, "voter-1", "what payment methods do you accept?")
    async with aiohttp.ClientSession() as http:
        async with http.post(f"{stack.url}/api/chat/feedback", json={
                "sender": "voter-1", "turn_id": reply["turn_id"], "helpful": True}) as resp:
            assert resp.status == 204
        async with http.post(f"{stack.url}/api/chat/feedback", json={
                "sender": "someone-else", "turn_id": reply["turn_id"],
                "helpful": False}) as resp:
            assert resp.status == 404
    with stack.db.session() as s:
        assert s.scalars(select(Feedback.score).where(
            Feedback.turn_id == reply["turn_id"])).all() == [1]


async def test_erasing_a_customer_removes_them_from_the_tracker_store_too(
        stack: RunningStack) -> None:
    order_id, customer, _ = order_in_transit(stack, "en")
    sender = "erase-me"
    await chat(stack, sender, f"where is my order {order_id}?")
    reply = await chat(stack, sender, customer.email)
    cid = reply["conversation_id"]
    await chat(stack, sender, "do you sell garden gnomes made of cheese?")  # an unanswered one
    with stack.db.session() as s:
        assert s.get(Conversation, cid).customer_id == customer.id  # verified → linked
    url = stack.settings.tracker_db_url()
    assert erasure.tracker_event_count(url, cid) > 0

    status, report = await admin_request(stack, "DELETE", f"/api/customers/{customer.id}")
    assert status == 200, report
    assert report["removed"]["customers"] == 1
    assert report["removed"]["tracker_events"] > 0
    assert report["removed"]["turns"] >= 6
    assert erasure.tracker_event_count(url, cid) == 0
    with stack.db.session() as s:
        assert s.get(Customer, customer.id) is None
        assert s.get(Conversation, cid) is None
        for model, col in ((Order, Order.customer_id), (Conversation, Conversation.customer_id)):
            assert not s.scalar(select(func.count()).select_from(model)
                                .where(col == customer.id))
        assert not s.scalar(select(func.count()).select_from(Turn)
                            .where(Turn.conversation_id == cid))
        assert not s.scalar(select(func.count()).select_from(KbGap)
                            .where(KbGap.conversation_id == cid))
        audit = s.scalars(select(AuditEntry).where(AuditEntry.entity == "customer",
                                                   AuditEntry.action == "delete",
                                                   AuditEntry.entity_id == str(customer.id))
                          ).all()
        assert len(audit) == 1 and audit[0].actor == "admin"
        assert audit[0].detail["removed"]["customers"] == 1
    status, _ = await admin_request(stack, "DELETE", f"/api/customers/{customer.id}")
    assert status == 404


async def test_viewing_a_crm_card_is_audited(stack: RunningStack) -> None:
    with stack.db.session() as s:
        cid = s.scalar(select(Customer.id).order_by(Customer.id.desc()).limit(1))
    status, _ = await admin_request(stack, "GET", f"/api/customers/{cid}/card")
    assert status == 200
    status, log = await admin_request(stack, "GET",
                                      f"/api/audit?entity=customer&entity_id={cid}")
    assert status == 200
    assert [e["action"] for e in log["entries"]][:1] == ["view"]
