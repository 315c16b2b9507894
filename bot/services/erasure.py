"""Forgetting customers: deletion on request across the CRM, conversations, turns, feedback,
knowledge gaps and the Rasa tracker store; the retention job for old conversations.

Rasa keys its trackers by our conversation id (the hub sends it as the sender), so a
conversation's dialogue state is removed by deleting that sender's events from the tracker
store, which is Rasa's own SQL database."""

from __future__ import annotations

import logging
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy import create_engine, delete, func, inspect, or_, select, text, update
from sqlalchemy.orm import Session

from bot.db.models import (
    ChannelIdentity,
    Conversation,
    Customer,
    CustomerProfile,
    Feedback,
    Handoff,
    KbGap,
    Order,
    OrderItem,
    Shipment,
    Ticket,
    Turn,
    utcnow,
)

log = logging.getLogger(__name__)


@dataclass
class ErasureReport:
    """Rows removed per table (and tracker events), for the requester and the audit log."""

    removed: dict[str, int] = field(default_factory=dict)
    conversation_ids: list[str] = field(default_factory=list)

    def add(self, table: str, n: int) -> None:
        self.removed[table] = self.removed.get(table, 0) + int(n or 0)

    def as_dict(self) -> dict[str, object]:
        return {"removed": dict(self.removed), "conversations": len(self.conversation_ids)}


def _conversations_of(s: Session, customer_id: int) -> list[str]:
    """Linked conversations, and those of the customer's channel identities (WeChat, Slack)
    that were never linked (e.g. before verification)."""
    idents = s.execute(select(ChannelIdentity.channel, ChannelIdentity.external_id)
                       .where(ChannelIdentity.customer_id == customer_id)).all()
    conds = [Conversation.customer_id == customer_id]
    conds += [(Conversation.channel == ch) & (Conversation.sender_id == ext)
              for ch, ext in idents]
    return list(s.scalars(select(Conversation.id).where(or_(*conds))))


def _delete_conversations(s: Session, ids: list[str], report: ErasureReport) -> None:
    if not ids:
        return
    for start in range(0, len(ids), 500):
        chunk = ids[start:start + 500]
        report.add("feedback", s.execute(
            delete(Feedback).where(Feedback.conversation_id.in_(chunk))).rowcount)
        report.add("kb_gaps", s.execute(
            delete(KbGap).where(KbGap.conversation_id.in_(chunk))).rowcount)
        report.add("handoffs", s.execute(
            delete(Handoff).where(Handoff.conversation_id.in_(chunk))).rowcount)
        # replies reference the customer turn they answer: remove them first
        report.add("turns", s.execute(delete(Turn).where(
            Turn.conversation_id.in_(chunk), Turn.reply_to_id.is_not(None))).rowcount)
        report.add("turns", s.execute(
            delete(Turn).where(Turn.conversation_id.in_(chunk))).rowcount)
        report.add("conversations", s.execute(
            delete(Conversation).where(Conversation.id.in_(chunk))).rowcount)
    report.conversation_ids.extend(ids)


def delete_customer(s: Session, customer_id: int) -> ErasureReport:
    """Remove the customer and everything about them from the application database.
    Call :func:`forget_trackers` with ``report.conversation_ids`` after the commit."""
    if s.get(Customer, customer_id) is None:
        raise LookupError("no such customer")
    report = ErasureReport()
    _delete_conversations(s, _conversations_of(s, customer_id), report)
    order_ids = list(s.scalars(select(Order.id).where(Order.customer_id == customer_id)))
    for start in range(0, len(order_ids), 500):
        chunk = order_ids[start:start + 500]
        report.add("shipments", s.execute(
            delete(Shipment).where(Shipment.order_id.in_(chunk))).rowcount)
        report.add("order_items", s.execute(
            delete(OrderItem).where(OrderItem.order_id.in_(chunk))).rowcount)
    report.add("tickets", s.execute(
        delete(Ticket).where(Ticket.customer_id == customer_id)).rowcount)
    report.add("orders", s.execute(
        delete(Order).where(Order.customer_id == customer_id)).rowcount)
    report.add("channel_identities", s.execute(
        delete(ChannelIdentity).where(ChannelIdentity.customer_id == customer_id)).rowcount)
    report.add("customer_profiles", s.execute(
        delete(CustomerProfile).where(CustomerProfile.customer_id == customer_id)).rowcount)
    report.add("customers", s.execute(
        delete(Customer).where(Customer.id == customer_id)).rowcount)
    return report


def delete_conversation(s: Session, conversation_id: str) -> ErasureReport:
    """An anonymous visitor's conversation (web chat without an account)."""
    if s.get(Conversation, conversation_id) is None:
        raise LookupError("no such conversation")
    report = ErasureReport()
    _delete_conversations(s, [conversation_id], report)
    return report


def forget_trackers(tracker_url: str, sender_ids: Iterable[str]) -> int:
    """Delete the Rasa tracker events of these senders; returns the number of events."""
    ids = list(sender_ids)
    if not ids:
        return 0
    engine = create_engine(tracker_url)
    try:
        if not inspect(engine).has_table("events"):
            return 0
        removed = 0
        with engine.begin() as conn:
            for start in range(0, len(ids), 500):
                chunk = ids[start:start + 500]
                params = {f"s{i}": v for i, v in enumerate(chunk)}
                marks = ", ".join(f":s{i}" for i in range(len(chunk)))
                removed += conn.execute(
                    text(f"DELETE FROM events WHERE sender_id IN ({marks})"), params).rowcount
        return removed
    finally:
        engine.dispose()


def tracker_senders(tracker_url: str) -> set[str]:
    """The senders (our conversation ids) that have dialogue state in Rasa's tracker store."""
    engine = create_engine(tracker_url)
    try:
        if not inspect(engine).has_table("events"):
            return set()
        with engine.connect() as conn:
            return {r[0] for r in conn.execute(text("SELECT DISTINCT sender_id FROM events"))}
    finally:
        engine.dispose()


def finished_conversations(s: Session, ids: Iterable[str]) -> list[str]:
    """Which of these conversations are resolved: a resolved conversation never goes back to
    Rasa (the customer's next message opens a new one), so its tracker can go."""
    ids = list(ids)
    out: list[str] = []
    for start in range(0, len(ids), 500):
        out += s.scalars(select(Conversation.id).where(
            Conversation.id.in_(ids[start:start + 500]), Conversation.status == "resolved"))
    return out


def tracker_event_count(tracker_url: str, sender_id: str) -> int:
    engine = create_engine(tracker_url)
    try:
        if not inspect(engine).has_table("events"):
            return 0
        with engine.connect() as conn:
            return int(conn.execute(text("SELECT count(*) FROM events WHERE sender_id = :s"),
                                    {"s": sender_id}).scalar() or 0)
    finally:
        engine.dispose()


def auto_resolve_idle(s: Session, idle: timedelta, now: datetime | None = None) -> int:
    """Conversations left with the bot (no human involved) for ``idle`` are resolved."""
    cutoff = (now or utcnow()) - idle
    return s.execute(update(Conversation).where(
        Conversation.status == "pending", Conversation.owner == "bot",
        Conversation.updated_at < cutoff).values(status="resolved",
                                                 resolved_at=now or utcnow())).rowcount


def scrub_resolved(s: Session) -> int:
    """Drop the unredacted originals once a conversation is resolved."""
    done = select(Conversation.id).where(Conversation.status == "resolved")
    return s.execute(update(Turn).where(Turn.raw_text.is_not(None),
                                        Turn.conversation_id.in_(done))
                     .values(raw_text=None)).rowcount


def purge_expired(s: Session, retention_days: int,
                  now: datetime | None = None) -> ErasureReport:
    """The retention policy: resolved conversations older than ``retention_days`` go."""
    cutoff = (now or utcnow()) - timedelta(days=retention_days)
    ids = list(s.scalars(select(Conversation.id).where(
        Conversation.status == "resolved",
        func.coalesce(Conversation.resolved_at, Conversation.updated_at) < cutoff)))
    report = ErasureReport()
    _delete_conversations(s, ids, report)
    return report
