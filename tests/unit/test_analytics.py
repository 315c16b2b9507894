"""Dashboard metrics on a hand-built history whose numbers are known."""

from __future__ import annotations

import csv
import io
from datetime import UTC, date, datetime, timedelta

import pytest

from bot.analytics import dashboard
from bot.db.models import Conversation, Feedback, Handoff, Turn
from bot.db.session import Database

DAY = datetime(2026, 11, 10, 9, 0, tzinfo=UTC)


@pytest.fixture
def history(db: Database) -> Database:
    with db.session() as s:
        def conv(channel: str, lang: str, day: int, handoff: str | None,
                 sentiment: tuple[str, float], csat: int | None) -> None:
            start = DAY + timedelta(days=day)
            c = Conversation(channel=channel, sender_id=f"s{day}{channel}", language=lang,
                             status="resolved", owner="agent" if handoff else "bot",
                             created_at=start, updated_at=start, resolved_at=start)
            s.add(c)
            s.flush()
            s.add(Turn(conversation_id=c.id, role="customer", text="secret text",
                       intent="refund", sentiment_label=sentiment[0],
                       sentiment_score=sentiment[1], created_at=start))
            if handoff:
                s.add(Handoff(conversation_id=c.id, reason=handoff, status="resolved",
                              created_at=start, claimed_at=start + timedelta(seconds=60),
                              closed_at=start + timedelta(seconds=600)))
                s.add(Turn(conversation_id=c.id, role="agent", text="hi",
                           created_at=start + timedelta(seconds=90)))
            if csat:
                s.add(Feedback(conversation_id=c.id, kind="csat", score=csat,
                               created_at=start))

        conv("webchat", "en", 0, None, ("positive", 0.8), 5)
        conv("webchat", "zh", 1, None, ("neutral", 0.9), 4)
        conv("wechat", "zh", 1, "negative_sentiment", ("negative", 0.9), 2)
        conv("slack", "en", 2, "explicit_request", ("neutral", 0.7), None)
        conv("webchat", "en", 40, None, ("neutral", 0.7), 1)  # outside the range
    return db


def test_overview_numbers(history: Database) -> None:
    r = dashboard.Range.parse("2026-11-10", "2026-11-16")
    with history.session() as s:
        o = dashboard.overview(s, r)
    t = o["totals"]
    assert t["conversations"] == 4 and t["resolved"] == 4
    assert t["containment_rate"] == 0.5 and t["handoff_rate"] == 0.5
    assert t["csat_mean"] == pytest.approx(11 / 3, abs=1e-3) and t["csat_responses"] == 3
    assert t["negative_share"] == 0.25
    assert t["mean_sentiment"] == pytest.approx((0.8 - 0.9) / 4, abs=1e-3)
    assert len(o["days"]) == 7 and o["days"][0] == "2026-11-10"
    assert o["conversations_by_channel"]["webchat"][:3] == [1, 1, 0]
    assert sum(o["conversations_by_language"]["zh"]) == 2
    assert {h["reason"] for h in o["handoff_reasons"]} == {"negative_sentiment",
                                                           "explicit_request"}
    assert o["agents"]["queue_wait_s"]["median"] == 60.0
    assert o["agents"]["first_response_s"]["median"] == 90.0
    assert o["agents"]["resolution_s"]["median"] == 600.0
    assert o["csat"]["distribution"] == [0, 1, 0, 1, 1]
    assert o["top_intents"] == [{"intent": "refund", "count": 4}]


def test_csv_export_has_one_row_per_conversation_and_no_text(history: Database) -> None:
    r = dashboard.Range.parse("2026-11-10", "2026-11-16")
    with history.session() as s:
        body = dashboard.conversations_csv(s, r)
    rows = list(csv.DictReader(io.StringIO(body)))
    assert len(rows) == 4 and set(rows[0]) == set(dashboard.CONVERSATION_COLUMNS)
    assert "secret text" not in body
    assert sorted(r["handoff_reason"] for r in rows) == ["", "", "explicit_request",
                                                         "negative_sentiment"]


@pytest.mark.parametrize(("start", "end"), [("2026-11-10", "2026-11-01"),
                                            ("2020-01-01", "2026-01-01"), ("nope", None)])
def test_bad_ranges_are_refused(start: str, end: str | None) -> None:
    with pytest.raises(ValueError):
        dashboard.Range.parse(start, end)


def test_default_range_is_the_last_30_days() -> None:
    r = dashboard.Range.parse(None, None, today=date(2026, 11, 22))
    assert r.days()[0] == "2026-10-24" and r.days()[-1] == "2026-11-22"
