"""Conversation store: find-or-open conversations, record turns idempotently, read transcripts.

A customer turn is stored (state ``received``) before anything else happens, so an accepted
message is never lost; replies are stored against it (``reply_to_id``) and the turn becomes
``answered``. A retried delivery with the same ``client_message_id`` finds the stored turn and
gets the stored replies instead of a second answer.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC
from typing import Any

from sqlalchemy import func, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, selectinload

from bot.db.models import Conversation, Customer, Handoff, Turn, User, utcnow

ACTIVE = ("pending", "open", "snoozed")


@dataclass(frozen=True)
class Accepted:
    conversation_id: str
    turn_id: int
    duplicate: bool
    status: str  # conversation status when the turn arrived
    owner: str
    customer_id: int | None


def open_conversation(s: Session, channel: str, sender_id: str) -> Conversation:
    """The sender's active conversation on this channel, or a new one (pending with the bot)."""
    conv = s.scalar(
        select(Conversation)
        .where(Conversation.channel == channel, Conversation.sender_id == sender_id,
               Conversation.status.in_(ACTIVE))
        .order_by(Conversation.created_at.desc()).limit(1)
    )
    if conv is None:
        conv = Conversation(channel=channel, sender_id=sender_id, status="pending", owner="bot")
        s.add(conv)
        s.flush()
    return conv


def accept_customer_turn(
    s: Session, channel: str, sender_id: str, text: str, language: str,
    client_message_id: str | None = None, customer_id: int | None = None,
    reply_target: str | None = None, redacted: str | None = None,
) -> Accepted:
    """``redacted``: the text with PII replaced; it is what is kept at rest, while the
    original stays in ``raw_text`` until the conversation is resolved."""
    conv = open_conversation(s, channel, sender_id)
    if client_message_id:
        existing = s.scalar(select(Turn).where(
            Turn.conversation_id == conv.id, Turn.client_message_id == client_message_id))
        if existing is not None:
            return Accepted(conv.id, existing.id, True, conv.status, conv.owner, conv.customer_id)
    if customer_id is not None and conv.customer_id is None:
        conv.customer_id = customer_id
    turn = Turn(conversation_id=conv.id, role="customer", language=language,
                text=redacted if redacted is not None else text,
                raw_text=text if redacted is not None and redacted != text else None,
                client_message_id=client_message_id, state="received",
                payload={"reply_target": reply_target} if reply_target else None)
    s.add(turn)
    conv.language = language
    conv.updated_at = utcnow()
    try:
        s.flush()
    except IntegrityError:
        # A concurrent delivery of the same message won the race: treat this one as a retry.
        s.rollback()
        conv = open_conversation(s, channel, sender_id)
        existing = s.scalar(select(Turn).where(
            Turn.conversation_id == conv.id, Turn.client_message_id == client_message_id))
        assert existing is not None
        return Accepted(conv.id, existing.id, True, conv.status, conv.owner, conv.customer_id)
    return Accepted(conv.id, turn.id, False, conv.status, conv.owner, conv.customer_id)


def latest_reply_target(s: Session, conversation_id: str) -> str | None:
    """Where the channel wants replies for this conversation (e.g. a Slack thread)."""
    for turn in s.scalars(select(Turn).where(Turn.conversation_id == conversation_id,
                                             Turn.role == "customer")
                          .order_by(Turn.id.desc()).limit(20)):
        target = (turn.payload or {}).get("reply_target")
        if target:
            return str(target)
    return None


def store_replies(
    s: Session, turn_id: int, messages: list[dict[str, Any]], role: str = "bot",
    state: str = "answered", redact: Callable[[str], str] | None = None,
) -> None:
    turn = s.get(Turn, turn_id)
    if turn is None:
        return
    for m in messages:
        custom = m.get("custom") if isinstance(m.get("custom"), dict) else None
        payload = {k: m[k] for k in ("buttons", "custom", "image") if m.get(k)}
        sources = custom.get("sources") if custom else None
        text = m.get("text") or ""
        stored = redact(text) if redact and text else text
        s.add(Turn(conversation_id=turn.conversation_id, role=role, text=stored,
                   raw_text=text if stored != text else None,
                   language=turn.language, reply_to_id=turn.id, payload=payload or None,
                   sources=sources if isinstance(sources, list) else None))
    turn.state = state
    conv = s.get(Conversation, turn.conversation_id)
    if conv is not None:
        conv.updated_at = utcnow()


def replies_to(s: Session, turn_id: int) -> list[dict[str, Any]]:
    rows = s.scalars(select(Turn).where(Turn.reply_to_id == turn_id).order_by(Turn.id)).all()
    return [message_dict(t) for t in rows]


def visible_text(t: Turn) -> str:
    """What staff and the customer see: the original while the conversation is active (the
    retention job and resolving drop it), else the redacted text."""
    return t.raw_text if t.raw_text is not None else t.text


def turn_state(s: Session, turn_id: int) -> str | None:
    turn = s.get(Turn, turn_id)
    return turn.state if turn else None


def unanswered_turns(s: Session) -> list[tuple[int, str, str, str, str | None]]:
    """Customer turns accepted but never answered (hub stopped mid-turn): (turn, conv, ...)."""
    rows = s.execute(
        select(Turn.id, Conversation.id, Conversation.channel, Conversation.sender_id,
               func.coalesce(Turn.raw_text, Turn.text))
        .join(Conversation, Turn.conversation_id == Conversation.id)
        .where(Turn.role == "customer", Turn.state == "received", Conversation.owner == "bot")
        .order_by(Turn.id)
    ).all()
    return [(r[0], r[1], r[2], r[3], r[4]) for r in rows]


def record_nlu(
    s: Session, turn_id: int, *, intent: str | None = None, confidence: float | None = None,
    language: str | None = None, sentiment: tuple[str, float] | None = None,
) -> bool:
    turn = s.get(Turn, turn_id)
    if turn is None or turn.role != "customer":
        return False
    if intent is not None:
        turn.intent, turn.confidence = intent, confidence
    if language is not None:
        turn.language = language
    if sentiment is not None:
        turn.sentiment_label, turn.sentiment_score = sentiment
    return True


def link_customer(s: Session, conversation_id: str, customer_id: int) -> None:
    conv = s.get(Conversation, conversation_id)
    if conv is not None:
        conv.customer_id = customer_id


def message_dict(t: Turn) -> dict[str, Any]:
    text = visible_text(t)
    out: dict[str, Any] = {"text": text} if text else {}
    if t.payload:
        out.update({k: v for k, v in t.payload.items() if k in ("buttons", "custom", "image")})
    return out


def _iso(dt: Any) -> str | None:
    if dt is None:
        return None
    if dt.tzinfo is None:
        dt = dt.replace(tzinfo=UTC)
    return dt.isoformat()


def _customer_dict(c: Customer | None) -> dict[str, Any] | None:
    if c is None:
        return None
    return {"id": c.id, "name": c.name, "tier": c.tier}


def conversation_detail(s: Session, conversation_id: str) -> dict[str, Any] | None:
    conv = s.scalar(select(Conversation).where(Conversation.id == conversation_id).options(
        selectinload(Conversation.turns), selectinload(Conversation.handoffs),
        selectinload(Conversation.customer)))
    if conv is None:
        return None
    assignee = s.get(User, conv.assignee_id) if conv.assignee_id else None
    return {
        "id": conv.id, "channel": conv.channel, "sender_id": conv.sender_id,
        "status": conv.status, "owner": conv.owner, "language": conv.language,
        "assignee": {"id": assignee.id, "username": assignee.username} if assignee else None,
        "customer": _customer_dict(conv.customer),
        "created_at": _iso(conv.created_at), "updated_at": _iso(conv.updated_at),
        "turns": [{
            "id": t.id, "role": t.role, "text": visible_text(t), "language": t.language,
            "redacted": t.raw_text is not None,
            "intent": t.intent, "confidence": t.confidence,
            "sentiment": ({"label": t.sentiment_label, "score": t.sentiment_score}
                          if t.sentiment_label else None),
            "sources": t.sources or [], "state": t.state, "reply_to": t.reply_to_id,
            "payload": t.payload, "created_at": _iso(t.created_at),
        } for t in conv.turns],
        "handoffs": [{"id": h.id, "reason": h.reason, "status": h.status,
                      "priority": h.priority, "created_at": _iso(h.created_at),
                      "claimed_at": _iso(h.claimed_at), "closed_at": _iso(h.closed_at)}
                     for h in conv.handoffs],
    }


def list_conversations(s: Session, status: str | None = None, limit: int = 50) -> list[dict]:
    q = select(Conversation).options(selectinload(Conversation.customer)).order_by(
        Conversation.updated_at.desc()).limit(limit)
    if status:
        q = q.where(Conversation.status == status)
    convs = s.scalars(q).all()
    ids = [c.id for c in convs]
    counts = dict(s.execute(select(Turn.conversation_id, func.count()).where(
        Turn.conversation_id.in_(ids)).group_by(Turn.conversation_id)).all()) if ids else {}
    last: dict[str, str] = {}
    if ids:
        latest = select(func.max(Turn.id)).where(Turn.conversation_id.in_(ids)).group_by(
            Turn.conversation_id)
        for cid, text in s.execute(select(Turn.conversation_id,
                                          func.coalesce(Turn.raw_text, Turn.text)).where(
                Turn.id.in_(latest))).all():
            last[cid] = text
    return [{
        "id": c.id, "channel": c.channel, "sender_id": c.sender_id, "status": c.status,
        "owner": c.owner, "language": c.language, "customer": _customer_dict(c.customer),
        "created_at": _iso(c.created_at), "updated_at": _iso(c.updated_at),
        "last_text": last.get(c.id, ""), "turn_count": counts.get(c.id, 0),
    } for c in convs]


def start_handoff(s: Session, conversation_id: str, reason: str, priority: float = 0.0) -> bool:
    """Bot → human: the conversation becomes ``open`` with an agent owner and a queued handoff.

    Returns False when it is already with a human (a second request adds nothing)."""
    conv = s.get(Conversation, conversation_id)
    if conv is None or conv.owner == "agent" or conv.status == "resolved":
        return False
    conv.status, conv.owner, conv.updated_at = "open", "agent", utcnow()
    s.add(Handoff(conversation_id=conv.id, reason=reason[:200], status="queued",
                  priority=priority))
    s.add(Turn(conversation_id=conv.id, role="system", text=f"handoff: {reason}",
               language=conv.language))
    return True


def handoff_reason(messages: list[dict[str, Any]]) -> str | None:
    """The reason in a bot reply's handoff payload, if the reply asks for a human."""
    for m in messages:
        custom = m.get("custom")
        if isinstance(custom, dict) and custom.get("handoff"):
            return str(custom.get("reason") or "bot_request")
    return None


class ConflictError(Exception):
    """The conversation is not in a state that allows this (e.g. already claimed)."""


class NotAssignee(Exception):
    """The conversation is claimed by another agent: only they (or an admin) may act on it."""


@dataclass(frozen=True)
class Actor:
    """Who acts on a conversation: an agent, or an admin (who may act on anyone's)."""

    user_id: int
    admin: bool = False


def _check_assignee(s: Session, conv: Conversation, actor: Actor | None) -> None:
    if actor is None or actor.admin or conv.assignee_id in (None, actor.user_id):
        return
    holder = s.get(User, conv.assignee_id)
    raise NotAssignee(f"claimed by {holder.username if holder else 'another agent'}: "
                      "only they or an admin may act on it")


def _open_handoff(s: Session, conversation_id: str) -> Handoff | None:
    return s.scalar(select(Handoff).where(
        Handoff.conversation_id == conversation_id,
        Handoff.status.in_(("queued", "claimed"))).order_by(Handoff.id.desc()).limit(1))


def claim(s: Session, conversation_id: str, agent_id: int) -> None:
    """Take a queued handoff. A conditional UPDATE, so two agents cannot both win."""
    handoff = _open_handoff(s, conversation_id)
    if handoff is None:
        raise ConflictError("this conversation is not waiting for an agent")
    won = s.execute(update(Handoff).where(Handoff.id == handoff.id,
                                          Handoff.status == "queued")
                    .values(status="claimed", agent_id=agent_id, claimed_at=utcnow())
                    ).rowcount
    if not won:
        s.refresh(handoff)
        if handoff.agent_id == agent_id:
            return
        holder = s.get(User, handoff.agent_id) if handoff.agent_id else None
        raise ConflictError(f"already claimed by {holder.username if holder else 'someone'}")
    conv = s.get(Conversation, conversation_id)
    assert conv is not None
    conv.assignee_id, conv.updated_at = agent_id, utcnow()


def add_agent_turn(s: Session, conversation_id: str, agent_id: int, text: str,
                   admin: bool = False) -> Turn:
    """An agent's reply: only from the agent who claimed the conversation, or an admin."""
    conv = s.get(Conversation, conversation_id)
    if conv is None:
        raise LookupError("no such conversation")
    _check_assignee(s, conv, Actor(agent_id, admin))
    if conv.owner != "agent" or conv.status != "open" or conv.assignee_id is None:
        raise ConflictError("claim this conversation before replying")
    turn = Turn(conversation_id=conv.id, role="agent", text=text, language=conv.language,
                payload={"agent_id": agent_id})
    s.add(turn)
    conv.updated_at = utcnow()
    s.flush()
    return turn


def _close(s: Session, conversation_id: str, handoff_status: str,
           actor: Actor | None) -> Conversation:
    conv = s.get(Conversation, conversation_id)
    if conv is None:
        raise LookupError("no such conversation")
    _check_assignee(s, conv, actor)
    handoff = _open_handoff(s, conversation_id)
    if handoff is not None:
        handoff.status, handoff.closed_at = handoff_status, utcnow()
    conv.updated_at = utcnow()
    return conv


def add_bot_message(s: Session, conversation_id: str, message: dict[str, Any]) -> None:
    """A message from the platform itself (e.g. the rating question), outside any turn."""
    conv = s.get(Conversation, conversation_id)
    if conv is None:
        raise LookupError("no such conversation")
    payload = {k: message[k] for k in ("buttons", "custom") if message.get(k)}
    s.add(Turn(conversation_id=conv.id, role="bot", text=message.get("text") or "",
               language=conv.language, payload=payload or None))


def resolve(s: Session, conversation_id: str, actor: Actor | None = None) -> None:
    """Close the conversation. ``actor``: the staff member doing it, refused (NotAssignee)
    when another agent has claimed it; None for the platform itself (housekeeping)."""
    conv = _close(s, conversation_id, "resolved", actor)
    conv.status, conv.resolved_at = "resolved", utcnow()
    s.execute(update(Turn).where(Turn.conversation_id == conv.id, Turn.raw_text.is_not(None))
              .values(raw_text=None))
    s.add(Turn(conversation_id=conv.id, role="system", text="resolved", language=conv.language))


def hand_back(s: Session, conversation_id: str, actor: Actor | None = None) -> None:
    """Human → bot: the next customer message goes to Rasa again, whose tracker holds the
    whole conversation, so the bot resumes with context. ``actor`` as for ``resolve``."""
    conv = _close(s, conversation_id, "returned", actor)
    if conv.status == "resolved":
        raise ConflictError("the conversation is resolved")
    conv.status, conv.owner, conv.assignee_id = "pending", "bot", None
    s.add(Turn(conversation_id=conv.id, role="system", text="handed back to the bot",
               language=conv.language))


def handoff_queue(s: Session, status: str = "queued") -> list[dict[str, Any]]:
    statuses = ("queued", "claimed") if status == "all" else (status,)
    rows = s.execute(
        select(Handoff, Conversation).join(Conversation, Handoff.conversation_id == Conversation.id)
        .where(Handoff.status.in_(statuses)).options(selectinload(Conversation.customer))
    ).all()
    now = utcnow()
    ids = [conv.id for _, conv in rows]
    latest: dict[str, Turn] = {}
    if ids:  # each conversation's last customer turn, in one query
        newest = select(func.max(Turn.id)).where(
            Turn.conversation_id.in_(ids), Turn.role == "customer").group_by(Turn.conversation_id)
        latest = {t.conversation_id: t for t in s.scalars(select(Turn).where(Turn.id.in_(newest)))}
    agent_ids = {h.agent_id for h, _ in rows if h.agent_id}
    agents = {u.id: u for u in s.scalars(select(User).where(User.id.in_(agent_ids)))} \
        if agent_ids else {}
    out = []
    for h, conv in rows:
        last = latest.get(conv.id)
        agent = agents.get(h.agent_id) if h.agent_id else None
        created = h.created_at if h.created_at.tzinfo else h.created_at.replace(
            tzinfo=UTC)
        out.append({
            "id": h.id, "conversation_id": conv.id, "reason": h.reason, "status": h.status,
            "priority": h.priority, "created_at": _iso(h.created_at),
            "claimed_at": _iso(h.claimed_at),
            "agent": {"id": agent.id, "username": agent.username} if agent else None,
            "customer": _customer_dict(conv.customer), "channel": conv.channel,
            "language": conv.language, "last_text": visible_text(last) if last else "",
            "sentiment": ({"label": last.sentiment_label, "score": last.sentiment_score}
                          if last and last.sentiment_label else None),
            "waiting_s": max(0.0, (now - created).total_seconds()),
        })
    return sorted(out, key=lambda r: (-r["priority"], r["created_at"]))
