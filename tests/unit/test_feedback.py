"""Ratings (CSAT) and thumbs on answers."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from bot.db.models import Conversation, Feedback, Turn
from bot.db.session import Database
from bot.services import conversations as convs
from bot.services import feedback as fb


@pytest.mark.parametrize(("text", "score"), [
    ("5", 5), (" 4 ", 4), ("3/5", 3), ("4 stars", 4), ("1 star", 1), ("I give it 2", 2),
    ("⭐⭐⭐⭐", 4), ("★★", 2), ("五星", 5), ("4分", 4), ("给3分", 3), ("打5分！", 5), ("三星", 3),
])
def test_ratings_in_both_languages_are_understood(text: str, score: int) -> None:
    assert fb.parse_rating(text) == score


@pytest.mark.parametrize("text", [
    "0", "6", "15", "104233", "5 items please", "my order 5", "five", "⭐⭐⭐⭐⭐⭐",
    "我要5个", "where is order 3",
])
def test_other_messages_are_not_ratings(text: str) -> None:
    assert fb.parse_rating(text) is None


def _conversation(db: Database, intents: list[str]) -> tuple[str, int]:
    with db.session() as s:
        last = 0
        for i, intent in enumerate(intents):
            acc = convs.accept_customer_turn(s, "webchat", "rater", f"msg {i}", "en")
            convs.record_nlu(s, acc.turn_id, intent=intent, confidence=0.9)
            convs.store_replies(s, acc.turn_id, [{"text": "ok"}])
            last = acc.turn_id
        return acc.conversation_id, last


def test_goodbye_after_a_real_question_resolves_and_asks_for_a_rating(db: Database) -> None:
    cid, last = _conversation(db, ["order_status", "goodbye"])
    with db.session() as s:
        question = fb.close_with_rating(s, cid, last)
        assert question is not None and question["custom"]["csat"]
        assert [b["payload"] for b in question["buttons"]] == ["5", "4", "3", "2", "1"]
        conv = s.get(Conversation, cid)
        assert conv.status == "resolved" and conv.csat_state == "asked"
    with db.session() as s:
        conv = fb.awaiting_rating(s, "webchat", "rater")
        assert conv is not None and conv.id == cid
        rated = fb.accept_rating(s, conv, "4", 4, "m-rate")
        assert rated.score == 4 and not rated.duplicate
    with db.session() as s:
        again = fb.accept_rating(s, s.get(Conversation, cid), "4", 4, "m-rate")
        assert again.duplicate
        scores = s.scalars(select(Feedback.score).where(Feedback.kind == "csat")).all()
        assert scores == [4]
        assert fb.awaiting_rating(s, "webchat", "rater") is None  # asked once


def test_small_talk_only_is_resolved_without_a_rating_question(db: Database) -> None:
    cid, last = _conversation(db, ["greet", "goodbye"])
    with db.session() as s:
        assert fb.close_with_rating(s, cid, last) is None
        assert s.get(Conversation, cid).status == "resolved"


def test_thumbs_only_on_the_senders_own_answers(db: Database) -> None:
    with db.session() as s:
        acc = convs.accept_customer_turn(s, "webchat", "alice", "how do refunds work", "en")
        convs.store_replies(s, acc.turn_id, [{"text": "Refunds take 3-5 days"}])
    with db.session() as s:
        with pytest.raises(LookupError):
            fb.rate_answer(s, "webchat", "mallory", acc.turn_id, False)
        fb.rate_answer(s, "webchat", "alice", acc.turn_id, False)
    with db.session() as s:
        fb.rate_answer(s, "webchat", "alice", acc.turn_id, True)  # changed their mind
    with db.session() as s:
        rows = s.scalars(select(Feedback).where(Feedback.kind == "answer")).all()
        assert [(r.turn_id, r.score) for r in rows] == [(acc.turn_id, 1)]
        bot_turn = s.scalar(select(Turn).where(Turn.role == "bot"))
        with pytest.raises(LookupError):  # only customer turns identify an answer
            fb.rate_answer(s, "webchat", "alice", bot_turn.id, True)
