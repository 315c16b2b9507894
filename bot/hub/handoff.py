"""After each bot turn: apply the escalation policy, move the conversation to a person when
it says so (or when the bot itself asked for a handoff), tell the customer their place in the
queue, and notify the consoles."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from bot.db.models import Conversation, Customer, CustomerProfile, Turn
from bot.services import conversations as convs
from bot.services.escalation import Policy, TurnSignal, decide

QUEUE_NOTICE = {
    "en": "A person from our team will take over shortly. You are number {n} in the queue"
          " (about {m} min). You can keep writing here.",
    "zh": "人工客服将很快为您服务，您前面还有 {ahead} 位（预计约 {m} 分钟），可以继续在这里留言。",
}
MINUTES_PER_CUSTOMER = 3


@dataclass(frozen=True)
class HandoffStarted:
    handoff: dict[str, Any]
    notice: dict[str, Any]


# The policy looks at a short window (trend, unanswered streak): recent turns are enough,
# and a long conversation does not make every bot turn slower.
RECENT_TURNS = 12


def _signals(s: Session, conversation_id: str) -> list[TurnSignal]:
    turns = list(reversed(s.scalars(
        select(Turn).where(Turn.conversation_id == conversation_id, Turn.role == "customer")
        .order_by(Turn.id.desc()).limit(RECENT_TURNS)).all()))
    replies: dict[int, list[Turn]] = {}
    if turns:
        for r in s.scalars(select(Turn).where(Turn.reply_to_id.in_([t.id for t in turns]))):
            replies.setdefault(r.reply_to_id or 0, []).append(r)
    out = []
    for t in turns:
        answered = not any((r.payload or {}).get("buttons") and "/request_human" in str(
            (r.payload or {}).get("buttons")) for r in replies.get(t.id, []))
        out.append(TurnSignal(t.text, t.intent, t.sentiment_label, t.sentiment_score,
                              answered))
    return out


def after_bot_turn(s: Session, conversation_id: str, bot_messages: list[dict[str, Any]],
                   policy: Policy) -> HandoffStarted | None:
    conv = s.get(Conversation, conversation_id)
    if conv is None or conv.owner == "agent" or conv.status == "resolved":
        return None
    customer = s.get(Customer, conv.customer_id) if conv.customer_id else None
    profile = s.get(CustomerProfile, conv.customer_id) if conv.customer_id else None
    requested = convs.handoff_reason(bot_messages)
    decision = decide(_signals(s, conversation_id), customer.tier if customer else None, policy,
                      segment=profile.segment if profile else None)
    if requested is None and not decision.escalate:
        return None
    # The policy's reason is more specific than the bot's generic "customer_request"
    # (e.g. the customer agreed to a person after an angry turn).
    specific = decision.reason not in (None, "explicit_request")
    if requested is None or (requested == "customer_request" and specific):
        reason = decision.reason or "policy"
    else:
        reason = requested
    if not convs.start_handoff(s, conversation_id, reason, decision.priority):
        return None
    s.flush()
    queue = convs.handoff_queue(s, "queued")
    position, mine = next(((i + 1, h) for i, h in enumerate(queue)
                           if h["conversation_id"] == conversation_id), (1, None))
    lang = conv.language if conv.language in QUEUE_NOTICE else "en"
    notice = {"text": QUEUE_NOTICE[lang].format(n=position, ahead=position - 1,
                                                 m=position * MINUTES_PER_CUSTOMER),
              "custom": {"handoff": True, "reason": reason, "queue_position": position}}
    return HandoffStarted(mine or {"conversation_id": conversation_id, "reason": reason},
                          notice)
