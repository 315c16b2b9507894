"""When the bot should hand a conversation to a person, and how urgent it is.

Signals, each configurable: an explicit request (the ``request_human`` intent or wording such
as "talk to a human" / "转人工"), one strongly negative turn, a negative trend over the last
turns, repeated turns the bot could not answer, and the customer's tier. Pure functions: the
hub feeds in the stored turns and acts on the decision."""

from __future__ import annotations

import re
from dataclasses import dataclass, field

EXPLICIT = re.compile(
    r"转人工|人工客服|人工服务|找人工|真人|找客服|客服电话|叫你们(?:经理|领导|主管)|找你们(?:经理|领导|主管)"
    r"|\b(?:talk|speak|chat|connect me|put me through)\b[^.?!]{0,30}\b(?:human|person|agent|"
    r"representative|rep|someone|somebody|manager|supervisor|operator)\b"
    r"|\b(?:real|live|actual)\s+(?:person|human|agent|people)\b"
    r"|^\s*(?:agent|human|representative|operator|manager)\s*[.!?]*\s*$",
    re.IGNORECASE,
)
# "no need for a human" / "不用转人工" mention a person but decline one
DECLINED = re.compile(
    r"(不用|不需要|不必|别|无需|不要)\s*(转|找|叫)?\s*(人工|真人|客服)"
    r"|\b(don'?t|do not|no need to|no need for a|not)\s+(need\s+)?(a\s+|to\s+)?"
    r"(talk to\s+|speak to\s+)?(a\s+)?(human|person|agent|real person)",
    re.IGNORECASE,
)
UNANSWERED_INTENTS = {"nlu_fallback", "out_of_scope"}
# A VIP reporting one of these gets a person even when they write calmly ("two of the chairs
# arrived cracked"): the sentiment model rightly calls such reports neutral.
PROBLEM_INTENTS = {"complaint", "return_item", "refund", "warranty"}


def explicit_request(text: str, intent: str | None = None) -> bool:
    if DECLINED.search(text):
        return False
    return intent == "request_human" or EXPLICIT.search(text) is not None


@dataclass(frozen=True)
class TurnSignal:
    text: str
    intent: str | None = None
    sentiment: str | None = None  # negative / neutral / positive
    sentiment_score: float | None = None  # probability of that label
    answered: bool = True  # False when the bot had no answer (fallback, knowledge gap)


@dataclass(frozen=True)
class Policy:
    strong_negative: float = 0.95
    trend_window: int = 3
    trend_negatives: int = 2
    max_unanswered: int = 2
    vip_tiers: tuple[str, ...] = ("gold", "platinum")
    tier_weight: dict[str, float] = field(default_factory=lambda: {
        "standard": 0.0, "silver": 0.5, "gold": 1.0, "platinum": 2.0})
    # Customers worth most (or about to be lost) wait less: RFM segments from bot.segments.
    segment_weight: dict[str, float] = field(default_factory=lambda: {
        "Champions": 1.0, "Can't lose them": 1.0, "Big spenders": 0.5, "Loyal": 0.5,
        "At risk": 0.5})


@dataclass(frozen=True)
class Decision:
    escalate: bool
    reason: str | None = None
    priority: float = 0.0


def _negative(t: TurnSignal) -> float:
    return (t.sentiment_score or 0.0) if t.sentiment == "negative" else 0.0


def decide(turns: list[TurnSignal], tier: str | None = None,
           policy: Policy | None = None, segment: str | None = None) -> Decision:
    """Decide on the conversation so far (customer turns, oldest first). ``tier`` and
    ``segment`` only raise the priority (and a VIP tier's problem escalates)."""
    p = policy or Policy()
    if not turns:
        return Decision(False)
    last = turns[-1]
    window = turns[-p.trend_window:]
    negatives = sum(1 for t in window if t.sentiment == "negative")
    priority = (p.tier_weight.get(tier or "standard", 0.0) + 2 * max(map(_negative, window))
                + p.segment_weight.get(segment or "", 0.0))
    reason = None
    if explicit_request(last.text, last.intent):
        reason = "explicit_request"
    elif _negative(last) >= p.strong_negative:
        reason = "negative_sentiment"
    elif negatives >= p.trend_negatives and last.sentiment == "negative":
        reason = "negative_trend"
    else:
        unanswered = 0
        for t in reversed(turns):
            if t.answered and t.intent not in UNANSWERED_INTENTS:
                break
            unanswered += 1
        if unanswered >= p.max_unanswered:
            reason = "repeated_fallback"
        elif tier in p.vip_tiers and (last.sentiment == "negative"
                                      or last.intent in PROBLEM_INTENTS):
            reason = "vip"
    if reason is None:
        return Decision(False, None, priority)
    return Decision(True, reason, priority + {"negative_sentiment": 1.0, "negative_trend": 1.0,
                                              "explicit_request": 0.5}.get(reason, 0.0))
