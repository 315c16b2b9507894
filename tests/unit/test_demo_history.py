"""The demo conversation history: plausible, finished, and loaded once."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import func, select

from bot.db.models import Conversation, Feedback, Handoff, Turn
from bot.db.session import Database
from bot.demo.history import generate_history

END = datetime(2026, 11, 22, 12, tzinfo=UTC)


def test_history_is_finished_bilingual_and_loaded_once(shop: Database) -> None:
    assert generate_history(shop, conversations=300, end=END) == 300
    assert generate_history(shop, conversations=300, end=END) == 0
    with shop.session() as s:
        assert s.scalar(select(func.count()).select_from(Conversation)) == 300
        assert set(s.scalars(select(Conversation.status).distinct())) == {"resolved"}
        assert set(s.scalars(select(Handoff.status).distinct())) <= {"resolved"}
        assert set(s.scalars(select(Conversation.language).distinct())) == {"en", "zh"}
        assert len(set(s.scalars(select(Conversation.channel).distinct()))) == 4
        newest = s.scalar(select(func.max(Conversation.created_at)))
        assert newest.replace(tzinfo=UTC) <= END
        assert s.scalar(select(func.count()).select_from(Feedback)
                        .where(Feedback.kind == "csat")) > 50
        # customer lines come from the NLU examples with entity annotations removed
        texts = s.scalars(select(Turn.text).where(Turn.role == "customer")).all()
        assert not any("](" in t for t in texts)
