"""Topic analysis of customer turns: two clear topics written in English and Chinese
separate and get the expected terms; counts per week and channel add up; only customer
turns in the range are read; reports are cached until a turn arrives."""

from __future__ import annotations

from collections import Counter, defaultdict
from datetime import UTC, datetime, timedelta

import numpy as np
import pytest
from sqlalchemy import insert

from bot.analytics import topics
from bot.analytics.topics import LsaVectors, ReportCache, c_tf_idf, tokenize, topic_report
from bot.db.models import Conversation, Turn
from bot.db.session import Database

REFUND = [
    "I want a refund for my order", "when will I get my refund", "refund has not arrived yet",
    "please refund the money to my card", "how long does a refund take",
    "I returned the item, where is my refund", "can I get a refund for the broken item",
    "my refund is still pending", "refund me please, the product was wrong",
    "still waiting for the refund money",
    "我要退款", "退款什么时候到账", "退款还没到", "请把钱退到我的卡上", "退款需要多久",
    "退货寄回去了，退款呢", "东西坏了能退款吗", "退款一直显示处理中", "发错货了，给我退款",
    "钱还没退回来",
]
DELIVERY = [
    "where is my package", "my parcel has not been delivered", "the delivery is late",
    "when will my package arrive", "the courier has not delivered my parcel",
    "tracking says delivered but no package", "how long does delivery take",
    "my package is stuck in transit", "delivery is delayed again",
    "the parcel still hasn't arrived",
    "我的快递到哪了", "包裹还没送到", "快递太慢了", "包裹什么时候能到", "快递员一直没送货",
    "显示已签收但是没收到包裹", "快递要几天能到", "包裹一直在运输中", "快递又延迟了", "包裹还没到",
]
CHANNELS = ("web", "wechat", "slack")
START = datetime(2026, 10, 19, 9, tzinfo=UTC)  # a Monday: ISO week 2026-W43


def _topic_of(text: str) -> str:
    return "refund" if text in REFUND else "delivery"


@pytest.fixture
def turns_db(db: Database) -> Database:
    """The 40 turns spread over three channels and three ISO weeks, interleaved, plus turns
    the report must ignore: the bot's replies and small talk."""
    texts = [t for pair in zip(REFUND, DELIVERY, strict=True) for t in pair]
    with db.session() as s:
        s.execute(insert(Conversation), [{"id": c, "channel": c, "sender_id": f"u-{c}"}
                                         for c in CHANNELS])
        rows = [{"conversation_id": CHANNELS[i % 3], "role": "customer", "text": text,
                 "intent": "refund" if _topic_of(text) == "refund" else "order_status",
                 "created_at": START + timedelta(days=i // 2)}  # 20 days: 3 weeks
                for i, text in enumerate(texts)]
        rows += [{"conversation_id": "web", "role": "bot", "text": "Your refund is on its way",
                  "created_at": START},
                 {"conversation_id": "web", "role": "customer", "text": "hi there",
                  "intent": "greet", "created_at": START},
                 {"conversation_id": "web", "role": "customer", "text": "谢谢",
                  "intent": "thank", "created_at": START}]
        s.execute(insert(Turn), rows)
    return db


def test_tokenize_drops_stop_words_placeholders_and_debris() -> None:
    words = tokenize("Where's my [EMAIL] parcel?? 我的快递还没到 order 100123")
    assert "parcel" in words and "快递" in words and "order" in words
    assert not {"where", "my", "email", "[", "s", "?", "100123", "的"} & set(words)


def test_c_tf_idf_prefers_words_of_one_topic() -> None:
    # terms: shared, only-in-0, only-in-1
    w = c_tf_idf(np.array([[5, 5, 0], [5, 0, 5]], dtype=float))
    assert w[0, 1] > w[0, 0] and w[1, 2] > w[1, 0]
    assert w[0, 2] == 0


def test_two_topics_separate_across_languages(turns_db: Database) -> None:
    with turns_db.session() as s:
        report = topic_report(s, None, None, cache=None)
    assert report["analysed"] == 40 and report["turns"] == 42  # small talk read, left out
    assert report["k"] == 2
    by_topic = {t["top_intent"]: t for t in report["topics"]}
    refund, delivery = by_topic["refund"], by_topic["order_status"]
    assert refund["size"] == delivery["size"] == 20
    assert _purity(report) == 1.0
    assert {"refund", "退款"} <= set(refund["terms"])
    assert {"package", "parcel", "delivery"} & set(delivery["terms"])
    assert {"快递", "包裹"} & set(delivery["terms"])
    assert "refund" in refund["label"] or "退款" in refund["label"]
    for topic, name in ((refund, "refund"), (delivery, "delivery")):
        assert len(topic["examples"]) == 3
        assert all(_topic_of(e) == name for e in topic["examples"])


def _purity(report: dict) -> float:
    """Share of turns in their topic's majority intent (intent stands for the true topic)."""
    return sum(max(t["intents"].values()) for t in report["topics"]) / report["analysed"]


def test_lexical_vectors_keep_topics_mostly_apart(turns_db: Database) -> None:
    """TF-IDF cannot join the two languages, but its topics stay nearly pure."""
    with turns_db.session() as s:
        report = topic_report(s, None, None, vectors=LsaVectors(), cache=None)
    assert report["method"] == "tfidf-lsa" and report["k"] >= 2
    terms = {w for t in report["topics"] for w in t["terms"]}
    assert {"refund", "退款", "快递", "包裹"} <= terms
    # measured 0.975: "how long does a refund take" joins "how long does delivery take"
    assert _purity(report) >= 0.9


def test_weekly_and_channel_counts_add_up(turns_db: Database) -> None:
    with turns_db.session() as s:
        report = topic_report(s, None, None, cache=None)
    sizes = {t["id"]: t["size"] for t in report["topics"]}
    for key, expected in (("week", {"2026-W43", "2026-W44", "2026-W45"}),
                          ("channel", set(CHANNELS))):
        rows = report[f"by_{key}"]
        assert {r[key] for r in rows} == expected
        per_topic: dict[int, int] = defaultdict(int)
        for r in rows:
            per_topic[r["topic"]] += r["count"]
        assert per_topic == sizes
        assert sum(r["count"] for r in rows) == report["analysed"]
    # the 40 turns are interleaved over the channels: 14 + 13 + 13
    per_channel = Counter()
    for r in report["by_channel"]:
        per_channel[r["channel"]] += r["count"]
    assert per_channel == {"web": 14, "wechat": 13, "slack": 13}


def test_range_and_max_turns(turns_db: Database) -> None:
    since = START + timedelta(days=7)  # days 7..13: week 2026-W44 only
    with turns_db.session() as s:
        week = topic_report(s, since, since + timedelta(days=7), cache=None)
        newest = topic_report(s, None, None, max_turns=10, cache=None)
    assert week["analysed"] == 14
    assert {r["week"] for r in week["by_week"]} == {"2026-W44"}
    assert newest["turns"] == 10
    # the newest ten turns are the last ten of the interleaved list: days 15..19
    assert {r["week"] for r in newest["by_week"]} == {"2026-W45"}


def test_reports_are_cached_until_a_turn_arrives(turns_db: Database,
                                                monkeypatch: pytest.MonkeyPatch) -> None:
    calls = []
    real = topics.build_report

    def counting(*args: object, **kwargs: object) -> dict:
        calls.append(1)
        return real(*args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(topics, "build_report", counting)
    cache = ReportCache()
    lsa = LsaVectors()
    with turns_db.session() as s:
        first = topic_report(s, None, None, vectors=lsa, cache=cache)
        first["topics"].clear()  # a caller's edit must not reach the cache
        again = topic_report(s, None, None, vectors=lsa, cache=cache)
    assert len(calls) == 1 and again["topics"]
    with turns_db.session() as s:
        s.add(Turn(conversation_id="web", role="customer", text="refund please",
                   intent="refund", created_at=START + timedelta(days=20)))
    with turns_db.session() as s:
        later = topic_report(s, None, None, vectors=lsa, cache=cache)
    assert len(calls) == 2 and later["analysed"] == 41
