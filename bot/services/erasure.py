"""Forgetting customers: deletion on request across the CRM, conversations, turns, feedback,
knowledge gaps and the Rasa tracker store; the retention job for old conversations.

Rasa keys its trackers by our conversation id (the hub sends it as the sender), so a
conversation's dialogue state is removed by deleting that sender's events from the tracker
store, which is Rasa's own SQL database."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import (
    Engine,
    column,
    create_engine,
    delete,
    func,
    inspect,
    or_,
    select,
    table,
    update,
)
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


@dataclass
class ErasureReport:
    """Rows removed per table (and tracker events), for the requester and the audit log."""

    removed: dict[str, int] = field(default_factory=dict)
    conversation_ids: list[str] = field(default_factory=list)

    def add(self, table: str, n: int) -> None:
        self.removed[table] = self.removed.get(table, 0) + int(n or 0)

    def as_dict(self) -> dict[str, object]:
        return {"removed": dict(self.removed), "conversations": len(self.conversation_ids)}


CHUNK = 500  # ids per IN (...): SQLite caps bound parameters per statement


def _chunks(ids: list[Any]) -> Iterator[list[Any]]:
    for start in range(0, len(ids), CHUNK):
        yield ids[start:start + CHUNK]


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
    for chunk in _chunks(ids):
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
    for chunk in _chunks(order_ids):
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


# Rasa's SQL tracker store: one row per dialogue event, keyed by sender (our conversation id).
EVENTS = table("events", column("sender_id"))


@contextmanager
def _tracker_store(tracker_url: str) -> Iterator[Engine | None]:
    """An engine on Rasa's tracker store, or None while Rasa has not created it yet."""
    engine = create_engine(tracker_url)
    try:
        yield engine if inspect(engine).has_table("events") else None
    finally:
        engine.dispose()


def forget_trackers(tracker_url: str, sender_ids: Iterable[str]) -> int:
    """Delete the Rasa tracker events of these senders; returns the number of events."""
    ids = list(sender_ids)
    if not ids:
        return 0
    with _tracker_store(tracker_url) as engine:
        if engine is None:
            return 0
        with engine.begin() as conn:
            return sum(conn.execute(delete(EVENTS).where(EVENTS.c.sender_id.in_(chunk))).rowcount
                       for chunk in _chunks(ids))


def tracker_senders(tracker_url: str) -> set[str]:
    """The senders (our conversation ids) that have dialogue state in Rasa's tracker store."""
    with _tracker_store(tracker_url) as engine:
        if engine is None:
            return set()
        with engine.connect() as conn:
            return set(conn.scalars(select(EVENTS.c.sender_id).distinct()))


def finished_conversations(s: Session, ids: Iterable[str]) -> list[str]:
    """Which of these conversations are resolved: a resolved conversation never goes back to
    Rasa (the customer's next message opens a new one), so its tracker can go."""
    out: list[str] = []
    for chunk in _chunks(list(ids)):
        out += s.scalars(select(Conversation.id).where(
            Conversation.id.in_(chunk), Conversation.status == "resolved"))
    return out


def tracker_event_count(tracker_url: str, sender_id: str) -> int:
    with _tracker_store(tracker_url) as engine:
        if engine is None:
            return 0
        with engine.connect() as conn:
            return int(conn.scalar(select(func.count()).select_from(EVENTS)
                                   .where(EVENTS.c.sender_id == sender_id)) or 0)


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
