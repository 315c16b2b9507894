"""Erasing a customer leaves nothing behind; the retention job removes only what is old."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

from sqlalchemy import create_engine, func, select, text

from bot.db.models import (
    ChannelIdentity,
    Conversation,
    Customer,
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
from bot.db.session import Database
from bot.services import conversations as convs
from bot.services import erasure


def _tracker(tmp: Path, senders: list[str]) -> str:
    """A tracker store with Rasa's events table layout (the e2e test uses Rasa's own)."""
    url = f"sqlite:///{tmp / 'rasa_tracker.db'}"
    engine = create_engine(url)
    with engine.begin() as c:
        c.execute(text("CREATE TABLE events (id INTEGER PRIMARY KEY, sender_id VARCHAR(255),"
                       " type_name VARCHAR(255), timestamp FLOAT, data TEXT)"))
        for sid in senders:
            for i in range(3):
                c.execute(text("INSERT INTO events (sender_id, type_name, timestamp, data)"
                               " VALUES (:s, 'user', :t, '{}')"), {"s": sid, "t": i})
    engine.dispose()
    return url


def _count(s, model, *where) -> int:  # type: ignore[no-untyped-def]
    return int(s.scalar(select(func.count()).select_from(model).where(*where)) or 0)


def test_deleting_a_customer_removes_them_everywhere(shop: Database, tmp_path: Path) -> None:
    with shop.session() as s:
        victim = s.scalar(select(Customer.id).join(Order).join(Ticket, isouter=True)
                          .order_by(Customer.id).limit(1))
        other = s.scalar(select(Customer.id).where(Customer.id != victim).limit(1))
        s.add(ChannelIdentity(channel="wechat", external_id="o-victim", customer_id=victim))
        linked = convs.accept_customer_turn(s, "webchat", "web-victim", "my email is a@b.co",
                                            "en", customer_id=victim, redacted="my email is"
                                            " [EMAIL]")
        # a WeChat conversation never linked to the account, found through the identity
        unlinked = convs.accept_customer_turn(s, "wechat", "o-victim", "你好", "zh")
        kept = convs.accept_customer_turn(s, "webchat", "web-other", "hi", "en",
                                          customer_id=other)
        convs.store_replies(s, linked.turn_id, [{"text": "Here you go"}])
        convs.start_handoff(s, linked.conversation_id, "explicit_request")
        s.add(Feedback(conversation_id=linked.conversation_id, kind="csat", score=2))
        s.add(KbGap(question="q", language="en", best_score=0.5,
                    conversation_id=unlinked.conversation_id))
        before_orders = _count(s, Order, Order.customer_id == victim)
    assert before_orders > 0
    url = _tracker(tmp_path, [linked.conversation_id, unlinked.conversation_id,
                              kept.conversation_id])

    with shop.session() as s:
        report = erasure.delete_customer(s, victim)
    report.add("tracker_events", erasure.forget_trackers(url, report.conversation_ids))

    assert report.removed["customers"] == 1
    assert report.removed["orders"] == before_orders
    assert report.removed["conversations"] == 2
    assert report.removed["tracker_events"] == 6
    with shop.session() as s:
        assert s.get(Customer, victim) is None
        for model, col in ((Order, Order.customer_id), (Ticket, Ticket.customer_id),
                           (ChannelIdentity, ChannelIdentity.customer_id),
                           (Conversation, Conversation.customer_id)):
            assert _count(s, model, col == victim) == 0, model.__name__
        ids = [linked.conversation_id, unlinked.conversation_id]
        assert _count(s, Conversation, Conversation.id.in_(ids)) == 0
        for model, col in ((Turn, Turn.conversation_id), (Handoff, Handoff.conversation_id),
                           (Feedback, Feedback.conversation_id),
                           (KbGap, KbGap.conversation_id)):
            assert _count(s, model, col.in_(ids)) == 0, model.__name__
        # no orphans left by the order cascade
        assert _count(s, OrderItem, OrderItem.order_id.not_in(select(Order.id))) == 0
        assert _count(s, Shipment, Shipment.order_id.not_in(select(Order.id))) == 0
        # the other customer is untouched
        assert s.get(Conversation, kept.conversation_id) is not None
    assert erasure.tracker_event_count(url, kept.conversation_id) == 3
    assert erasure.tracker_event_count(url, linked.conversation_id) == 0


def test_erasing_an_unknown_customer_is_a_lookup_error(db: Database) -> None:
    import pytest

    with db.session() as s, pytest.raises(LookupError):
        erasure.delete_customer(s, 424242)


def test_retention_removes_only_old_resolved_conversations(db: Database,
                                                           tmp_path: Path) -> None:
    now = utcnow()
    with db.session() as s:
        old = convs.accept_customer_turn(s, "webchat", "old", "hi", "en").conversation_id
        recent = convs.accept_customer_turn(s, "webchat", "recent", "hi", "en").conversation_id
        active = convs.accept_customer_turn(s, "webchat", "active", "hi", "en").conversation_id
        for cid, age in ((old, 400), (recent, 10)):
            conv = s.get(Conversation, cid)
            conv.status, conv.resolved_at = "resolved", now - timedelta(days=age)
        s.get(Conversation, active).updated_at = now - timedelta(days=500)
    url = _tracker(tmp_path, [old, recent])
    with db.session() as s:
        report = erasure.purge_expired(s, retention_days=365, now=now)
    assert report.conversation_ids == [old]
    assert erasure.forget_trackers(url, report.conversation_ids) == 3
    with db.session() as s:
        assert s.get(Conversation, old) is None
        assert s.get(Conversation, recent) is not None
        assert s.get(Conversation, active) is not None  # never purge a live conversation


def test_idle_bot_conversations_resolve_and_originals_are_dropped(db: Database) -> None:
    with db.session() as s:
        idle = convs.accept_customer_turn(s, "webchat", "idle", "call me on 13800138000",
                                          "zh", redacted="call me on [PHONE]")
        busy = convs.accept_customer_turn(s, "webchat", "busy", "hello", "en")
        s.get(Conversation, idle.conversation_id).updated_at = utcnow() - timedelta(hours=3)
        assert convs.conversation_detail(s, idle.conversation_id)["turns"][0]["text"] \
            == "call me on 13800138000"
    with db.session() as s:
        assert erasure.auto_resolve_idle(s, timedelta(hours=2)) == 1
        assert erasure.scrub_resolved(s) == 1
    with db.session() as s:
        conv = s.get(Conversation, idle.conversation_id)
        assert conv.status == "resolved" and conv.resolved_at is not None
        assert s.get(Conversation, busy.conversation_id).status == "pending"
        turn = s.get(Turn, idle.turn_id)
        assert turn.raw_text is None and turn.text == "call me on [PHONE]"
        assert convs.conversation_detail(s, idle.conversation_id)["turns"][0]["text"] \
            == "call me on [PHONE]"


def test_housekeeping_forgets_the_trackers_of_finished_conversations(
        db: Database, tmp_path: Path) -> None:
    from bot.hub.housekeeping import run_once
    from tests.conftest import make_settings

    settings = make_settings(tmp_path)
    with db.session() as s:
        done = convs.accept_customer_turn(s, "webchat", "done", "hi", "en").conversation_id
        live = convs.accept_customer_turn(s, "webchat", "live", "hi", "en").conversation_id
        convs.resolve(s, done)
    url = _tracker(tmp_path, [done, live, "kefu-warm-up"])
    assert url == settings.tracker_db_url()
    result = run_once(db, settings)
    assert result["finished_tracker_events"] == 3
    assert erasure.tracker_senders(url) == {live, "kefu-warm-up"}
    with db.session() as s:  # the transcript itself stays until the retention period ends
        assert s.get(Conversation, done) is not None
