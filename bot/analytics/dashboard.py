"""What the dashboard shows, computed from the conversation store for a date range.

Aggregation is done in Python over narrow row sets rather than with SQL date functions, so the
same code runs on SQLite and PostgreSQL; a shop's few thousand conversations a week are cheap."""

from __future__ import annotations

import csv
import io
import statistics
from collections import Counter, defaultdict
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from bot.analytics.topics import SMALL_TALK
from bot.db.models import Conversation, Feedback, Handoff, KbGap, Turn


@dataclass(frozen=True)
class Range:
    since: datetime
    until: datetime  # exclusive

    @classmethod
    def parse(cls, start: str | None, end: str | None, today: date | None = None) -> Range:
        """``start``/``end`` are ISO dates (inclusive); the default is the last 30 days."""
        today = today or datetime.now(UTC).date()
        end_day = date.fromisoformat(end) if end else today
        start_day = date.fromisoformat(start) if start else end_day - timedelta(days=29)
        if start_day > end_day:
            raise ValueError("'from' is after 'to'")
        if (end_day - start_day).days > 731:
            raise ValueError("the range may cover at most two years")
        return cls(datetime.combine(start_day, datetime.min.time(), UTC),
                   datetime.combine(end_day + timedelta(days=1), datetime.min.time(), UTC))

    def days(self) -> list[str]:
        n = (self.until - self.since).days
        return [(self.since + timedelta(days=i)).date().isoformat() for i in range(n)]


def _aware(dt: datetime | None) -> datetime | None:
    if dt is None:
        return None
    return dt if dt.tzinfo else dt.replace(tzinfo=UTC)


def _signed(label: str | None, score: float | None) -> float | None:
    """Sentiment as one number in [-1, 1]: the model's confidence, signed by polarity."""
    if label is None or score is None:
        return None
    return {"positive": score, "negative": -score}.get(label, 0.0)


def _median(xs: list[float]) -> float | None:
    return round(statistics.median(xs), 1) if xs else None


def _mean(xs: list[float]) -> float | None:
    return round(sum(xs) / len(xs), 3) if xs else None


def overview(s: Session, r: Range) -> dict[str, Any]:
    convs = s.execute(select(
        Conversation.id, Conversation.channel, Conversation.language, Conversation.status,
        Conversation.created_at, Conversation.resolved_at,
    ).where(Conversation.created_at >= r.since, Conversation.created_at < r.until)).all()
    ids = [c.id for c in convs]
    day_of = {c.id: _aware(c.created_at).date().isoformat() for c in convs}  # type: ignore[union-attr]

    handoffs = s.execute(select(Handoff.conversation_id, Handoff.reason, Handoff.created_at,
                                Handoff.claimed_at, Handoff.closed_at, Handoff.status)
                         .where(Handoff.created_at >= r.since,
                                Handoff.created_at < r.until)).all()
    handed = {h.conversation_id for h in handoffs}

    turns = s.execute(select(Turn.conversation_id, Turn.role, Turn.intent, Turn.sentiment_label,
                             Turn.sentiment_score, Turn.created_at, Turn.reply_to_id)
                      .where(Turn.created_at >= r.since, Turn.created_at < r.until,
                             Turn.role.in_(("customer", "agent")))).all()

    # volume per day and channel / language
    per_channel: dict[str, Counter[str]] = defaultdict(Counter)
    per_language: dict[str, Counter[str]] = defaultdict(Counter)
    for c in convs:
        per_channel[c.channel][day_of[c.id]] += 1
        per_language[c.language or "unknown"][day_of[c.id]] += 1
    days = r.days()

    # containment: of the conversations that ended, how many ended without a person
    resolved = [c for c in convs if c.status == "resolved"]
    contained = [c for c in resolved if c.id not in handed]

    # sentiment per day
    sent_by_day: dict[str, list[float]] = defaultdict(list)
    negative = 0
    scored = 0
    intents: Counter[str] = Counter()
    first_agent_turn: dict[str, datetime] = {}
    for t in turns:
        if t.role == "agent":
            at = _aware(t.created_at)
            if at and (t.conversation_id not in first_agent_turn
                       or at < first_agent_turn[t.conversation_id]):
                first_agent_turn[t.conversation_id] = at
            continue
        v = _signed(t.sentiment_label, t.sentiment_score)
        if v is not None:
            sent_by_day[_aware(t.created_at).date().isoformat()].append(v)  # type: ignore[union-attr]
            scored += 1
            negative += t.sentiment_label == "negative"
        if t.intent is not None and t.intent not in SMALL_TALK:
            intents[t.intent] += 1

    # agent times (seconds): waiting in the queue, first reply after the handoff, resolution
    waits, first_replies, resolutions = [], [], []
    for h in handoffs:
        created = _aware(h.created_at)
        if h.claimed_at:
            waits.append((_aware(h.claimed_at) - created).total_seconds())  # type: ignore[operator]
        if h.conversation_id in first_agent_turn:
            first_replies.append((first_agent_turn[h.conversation_id] - created).total_seconds())  # type: ignore[operator]
        if h.closed_at and h.status == "resolved":
            resolutions.append((_aware(h.closed_at) - created).total_seconds())  # type: ignore[operator]

    feedback = s.execute(select(Feedback.kind, Feedback.score, Feedback.created_at)
                         .where(Feedback.created_at >= r.since,
                                Feedback.created_at < r.until)).all()
    csat = [f.score for f in feedback if f.kind == "csat"]
    thumbs = [f.score for f in feedback if f.kind == "answer"]
    csat_by_week: dict[str, list[int]] = defaultdict(list)
    for f in feedback:
        if f.kind == "csat":
            y, w, _ = _aware(f.created_at).isocalendar()  # type: ignore[union-attr]
            csat_by_week[f"{y}-W{w:02d}"].append(f.score)

    gaps = Counter()
    gap_last: dict[str, tuple[str, str]] = {}
    for q, lang, at in s.execute(select(KbGap.question, KbGap.language, KbGap.created_at)
                                 .where(KbGap.created_at >= r.since,
                                        KbGap.created_at < r.until)).all():
        key = " ".join(q.lower().split())[:200]
        gaps[key] += 1
        gap_last[key] = (lang, _aware(at).isoformat())  # type: ignore[union-attr]

    n = len(convs)
    return {
        "range": {"from": r.since.date().isoformat(),
                  "to": (r.until - timedelta(days=1)).date().isoformat()},
        "totals": {
            "conversations": n,
            "customer_turns": sum(1 for t in turns if t.role == "customer"),
            "resolved": len(resolved),
            "containment_rate": round(len(contained) / len(resolved), 3) if resolved else None,
            "handoff_rate": round(len(handed & set(ids)) / n, 3) if n else None,
            "handoffs": len(handoffs),
            "mean_sentiment": _mean([v for vs in sent_by_day.values() for v in vs]),
            "negative_share": round(negative / scored, 3) if scored else None,
            "csat_mean": _mean([float(x) for x in csat]),
            "csat_responses": len(csat),
            "answer_helpful_rate": _mean([float(x) for x in thumbs]),
            "answer_votes": len(thumbs),
        },
        "days": days,
        "conversations_by_channel": {ch: [cnt[d] for d in days]
                                     for ch, cnt in sorted(per_channel.items())},
        "conversations_by_language": {lg: [cnt[d] for d in days]
                                      for lg, cnt in sorted(per_language.items())},
        "sentiment_by_day": [_mean(sent_by_day[d]) for d in days],
        "handoff_reasons": [{"reason": k, "count": v}
                            for k, v in Counter(h.reason for h in handoffs).most_common()],
        "top_intents": [{"intent": k, "count": v} for k, v in intents.most_common(12)],
        "knowledge_gaps": [{"question": q, "count": c, "language": gap_last[q][0],
                            "last_seen": gap_last[q][1]} for q, c in gaps.most_common(15)],
        "agents": {
            "queue_wait_s": {"median": _median(waits), "mean": _mean(waits)},
            "first_response_s": {"median": _median(first_replies),
                                 "mean": _mean(first_replies)},
            "resolution_s": {"median": _median(resolutions), "mean": _mean(resolutions)},
        },
        "csat": {"distribution": [csat.count(k) for k in range(1, 6)],
                 "by_week": [{"week": w, "mean": _mean([float(x) for x in v]), "n": len(v)}
                             for w, v in sorted(csat_by_week.items())]},
        "thumbs": {"up": sum(thumbs), "down": len(thumbs) - sum(thumbs)},
    }


CONVERSATION_COLUMNS = ("id", "channel", "language", "status", "created_at", "resolved_at",
                        "customer_turns", "handoff_reason", "mean_sentiment", "csat")


def conversations_csv(s: Session, r: Range) -> str:
    """One row per conversation in the range: no message text, so exports carry no PII."""
    convs = s.execute(select(Conversation).where(
        Conversation.created_at >= r.since, Conversation.created_at < r.until)
        .order_by(Conversation.created_at)).scalars().all()
    ids = [c.id for c in convs]
    turns: dict[str, list[float]] = defaultdict(list)
    counts: Counter[str] = Counter()
    reasons: dict[str, str] = {}
    csat: dict[str, int] = {}
    for start in range(0, len(ids), 500):
        chunk = ids[start:start + 500]
        for cid, label, score in s.execute(select(
                Turn.conversation_id, Turn.sentiment_label, Turn.sentiment_score).where(
                Turn.conversation_id.in_(chunk), Turn.role == "customer")):
            counts[cid] += 1
            v = _signed(label, score)
            if v is not None:
                turns[cid].append(v)
        for cid, reason in s.execute(select(Handoff.conversation_id, Handoff.reason)
                                     .where(Handoff.conversation_id.in_(chunk))):
            reasons.setdefault(cid, reason)
        for cid, score in s.execute(select(Feedback.conversation_id, Feedback.score).where(
                Feedback.conversation_id.in_(chunk), Feedback.kind == "csat")):
            csat[cid] = score
    out = io.StringIO()
    w = csv.writer(out)
    w.writerow(CONVERSATION_COLUMNS)
    for c in convs:
        w.writerow([c.id, c.channel, c.language or "", c.status,
                    _aware(c.created_at).isoformat(),  # type: ignore[union-attr]
                    _aware(c.resolved_at).isoformat() if c.resolved_at else "",  # type: ignore[union-attr]
                    counts[c.id], reasons.get(c.id, ""),
                    _mean(turns[c.id]) if turns[c.id] else "", csat.get(c.id, "")])
    return out.getvalue()
