"""Recommendation requests on the running stack, in English and Chinese."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import select

from bot.db.models import Order, OrderItem, Product
from tests.e2e.conftest import RunningStack
from tests.e2e.test_chat_stack import chat, order_in_transit

pytestmark = pytest.mark.e2e


def recommendations(reply: dict[str, Any]) -> list[dict[str, Any]]:
    return [r for m in reply["messages"]
            for r in (m.get("custom") or {}).get("recommendations", [])]


def bought(stack: RunningStack, customer_id: int) -> set[int]:
    with stack.db.session() as s:
        return set(s.scalars(select(OrderItem.product_id).join(Order)
                             .where(Order.customer_id == customer_id)))


def in_stock(stack: RunningStack, product_ids: list[int]) -> bool:
    with stack.db.session() as s:
        return all((s.get(Product, pid) or Product(stock=0)).stock > 0 for pid in product_ids)


async def test_verified_customer_gets_personal_picks_in_english(stack: RunningStack) -> None:
    oid, customer, _ = order_in_transit(stack, "en")
    sender = "reco-en"
    await chat(stack, sender, f"where is my order {oid}")
    await chat(stack, sender, customer.email)
    reply = await chat(stack, sender, "what would you recommend for me?")
    recs = recommendations(reply)
    assert recs, reply
    ids = [r["product_id"] for r in recs]
    assert in_stock(stack, ids) and not set(ids) & bought(stack, customer.id)
    assert all(r["reason_text"] for r in recs)
    assert any(r["reason"] in ("bought_together", "similar_to") for r in recs)


async def test_chinese_request_with_a_category(stack: RunningStack) -> None:
    reply = await chat(stack, "reco-zh", "有什么好的耳机推荐吗？")
    recs = recommendations(reply)
    assert recs and all(r["category"] == "electronics" for r in recs)
    assert in_stock(stack, [r["product_id"] for r in recs])
    assert "推荐" in reply["messages"][0]["text"]
