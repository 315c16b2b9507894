"""Customer feedback: the 1-5 rating (CSAT) the bot asks for when a conversation ends, and
thumbs up/down on knowledge-base answers.

The rating is asked for once per conversation (``csat_state`` "asked"); a reply that is just a
rating ("4", "5 stars", "⭐⭐⭐", "五星", "4分") within a day is taken as the answer, even when the
conversation was resolved in between (an agent resolving it is what triggers the question)."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from bot.db.models import Conversation, Feedback, Turn, utcnow

RATING_WINDOW = timedelta(hours=24)
_ZH_DIGITS = {"一": 1, "二": 2, "两": 2, "三": 3, "四": 4, "五": 5}
_RATING = re.compile(
    r"^\s*(?:i\s+(?:give|rate)\s+(?:it\s+)?|rating:?\s*|打|给)?"
    r"(?P<n>[1-5一二两三四五])\s*(?:/\s*5|out of 5|stars?|分|星|颗星)?\s*[!.。！]?\s*$",
    re.IGNORECASE)
_STARS = re.compile(r"^\s*([⭐★]{1,5})\s*$")

PROMPT = {
    "en": "Before you go: how would you rate this conversation? Reply with a number from 1"
          " (poor) to 5 (excellent).",
    "zh": "请为本次服务打分：回复 1（很差）到 5（非常满意）的数字。",
}
THANKS = {
    "en": "Thank you for your rating! It helps us improve.",
    "zh": "感谢您的评分，我们会继续改进！",
}


def parse_rating(text: str) -> int | None:
    m = _RATING.match(text)
    if m:
        n = m.group("n")
        return _ZH_DIGITS.get(n) or int(n)
    m = _STARS.match(text)
    return len(m.group(1)) if m else None


def prompt_message(language: str | None) -> dict[str, Any]:
    lang = language if language in PROMPT else "en"
    return {"text": PROMPT[lang],
            "buttons": [{"title": "★" * n, "payload": str(n)} for n in range(5, 0, -1)],
            "custom": {"csat": True}}


def ask(s: Session, conversation_id: str) -> bool:
    """Mark the rating as asked; False when it was asked before (ask once per conversation)."""
    conv = s.get(Conversation, conversation_id)
    if conv is None or conv.csat_state is not None:
        return False
    conv.csat_state = "asked"
    return True


@dataclass(frozen=True)
class Rated:
    conversation_id: str
    turn_id: int
    score: int
    reply: dict[str, Any]
    duplicate: bool


def awaiting_rating(s: Session, channel: str, sender_id: str) -> Conversation | None:
    """The sender's latest conversation if it asked for a rating within the window."""
    conv = s.scalar(select(Conversation).where(
        Conversation.channel == channel, Conversation.sender_id == sender_id)
        .order_by(Conversation.updated_at.desc()).limit(1))
    if conv is None or conv.csat_state != "asked":
        return None
    updated = conv.updated_at if conv.updated_at.tzinfo else conv.updated_at.replace(
        tzinfo=utcnow().tzinfo)
    return conv if utcnow() - updated <= RATING_WINDOW else None


def accept_rating(s: Session, conv: Conversation, text: str, score: int,
                  client_message_id: str | None) -> Rated:
    """Store the rating turn, the feedback row and the thank-you reply; resolve a conversation
    still with the bot. A redelivery finds the stored turn."""
    if client_message_id:
        existing = s.scalar(select(Turn).where(Turn.conversation_id == conv.id,
                                               Turn.client_message_id == client_message_id))
        if existing is not None:
            return Rated(conv.id, existing.id, score, _thanks(conv.language), True)
    turn = Turn(conversation_id=conv.id, role="customer", text=text, language=conv.language,
                client_message_id=client_message_id, state="answered", intent="rate")
    s.add(turn)
    s.flush()
    reply = _thanks(conv.language)
    s.add(Turn(conversation_id=conv.id, role="bot", text=reply["text"],
               language=conv.language, reply_to_id=turn.id))
    s.add(Feedback(conversation_id=conv.id, kind="csat", score=score))
    conv.csat_state = "rated"
    conv.updated_at = utcnow()
    if conv.status != "resolved" and conv.owner == "bot":
        conv.status, conv.resolved_at = "resolved", utcnow()
    return Rated(conv.id, turn.id, score, reply, False)


def _thanks(language: str | None) -> dict[str, Any]:
    return {"text": THANKS[language if language in THANKS else "en"]}


class FeedbackError(LookupError):
    """The answer being rated is not one of this sender's."""


def rate_answer(s: Session, channel: str, sender_id: str, turn_id: int, helpful: bool) -> None:
    """Thumbs on the bot's answer to customer turn ``turn_id``; the latest vote counts."""
    row = s.execute(select(Turn, Conversation).join(
        Conversation, Turn.conversation_id == Conversation.id).where(Turn.id == turn_id)).first()
    if row is None or row[1].channel != channel or row[1].sender_id != sender_id \
            or row[0].role != "customer":
        raise FeedbackError("no such answer in your conversations")
    turn, conv = row
    vote = select(Feedback).where(Feedback.conversation_id == conv.id,
                                  Feedback.kind == "answer", Feedback.turn_id == turn.id)
    existing = s.scalar(vote)
    if existing is not None:
        existing.score, existing.created_at = int(helpful), utcnow()
        return
    try:
        with s.begin_nested():
            s.add(Feedback(conversation_id=conv.id, turn_id=turn.id, kind="answer",
                           score=int(helpful)))
    except IntegrityError:  # a concurrent vote on the same answer: keep the later one
        existing = s.scalar(vote)
        if existing is not None:
            existing.score = int(helpful)


# Turns with any other intent give a conversation real content worth rating.
_SMALL_TALK = frozenset({"greet", "goodbye", "thank", "affirm", "deny", "rate"})


def close_with_rating(s: Session, conversation_id: str, turn_id: int) -> dict[str, Any] | None:
    """After the bot answered a goodbye: resolve the conversation (contained: no person was
    needed) and return the rating question, when there was something to rate."""
    turn = s.get(Turn, turn_id)
    conv = s.get(Conversation, conversation_id)
    if turn is None or conv is None or turn.intent != "goodbye" or conv.owner != "bot" \
            or conv.status == "resolved":
        return None
    substantive = s.scalar(select(Turn.id).where(
        Turn.conversation_id == conversation_id, Turn.role == "customer",
        Turn.intent.is_not(None), Turn.intent.not_in(_SMALL_TALK)).limit(1))
    conv.status, conv.resolved_at = "resolved", utcnow()
    if substantive is None or not ask(s, conversation_id):
        return None
    return prompt_message(conv.language)
