"""Customer profiles: the job that fits segments and churn risk and stores one
``CustomerProfile`` row per customer, and the reads behind the CRM card and the dashboard."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import func, insert, select, update
from sqlalchemy.orm import Session

from bot.db.models import CustomerProfile, utcnow
from bot.db.session import Database
from bot.segments.churn import ChurnReport, fit_churn
from bot.segments.history import load_history, to_days
from bot.segments.kmeans import Segmentation, segment_customers, segment_label
from bot.segments.rfm import RFM, compute_rfm, default_as_of

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class SegmentsSummary:
    as_of: datetime
    computed_at: datetime
    rfm: RFM
    segmentation: Segmentation
    churn: ChurnReport

    def to_dict(self) -> dict[str, Any]:
        seg = self.segmentation
        return {
            "as_of": self.as_of.isoformat(),
            "computed_at": self.computed_at.isoformat(),
            "customers": len(self.rfm),
            "k": seg.k,
            "silhouette_by_k": {str(k): v for k, v in seg.silhouette_by_k().items()},
            "k_scores": [{"k": s.k, "silhouette": s.silhouette, "inertia": s.inertia,
                          "davies_bouldin": s.davies_bouldin} for s in seg.scores],
            "segments": [{"name": s.name, "name_zh": s.name_zh, "size": s.size,
                          "recency_days": s.recency_days, "frequency": s.frequency,
                          "monetary_cents": s.monetary_cents,
                          "rank_scores": list(s.scores) if s.scores else None}
                         for s in seg.segments],
            "churn": self.churn.to_dict(),
        }


def _upsert(session: Session, rows: list[dict[str, Any]]) -> None:
    """Portable upsert (SQLite and PostgreSQL): bulk UPDATE by primary key, bulk INSERT."""
    existing = set(session.scalars(select(CustomerProfile.customer_id)))
    old = [r for r in rows if r["customer_id"] in existing]
    new = [r for r in rows if r["customer_id"] not in existing]
    if old:
        session.execute(update(CustomerProfile), old)
    if new:
        session.execute(insert(CustomerProfile), new)


def compute_profiles(db: Database, as_of: datetime | None = None,
                     seed: int = 0) -> SegmentsSummary:
    """Fit segments and churn risk as of ``as_of`` (default: the latest order) and store a
    profile for every customer."""
    with db.session() as s:
        history = load_history(s)
    as_of = as_of or default_as_of(history) or utcnow()
    rfm = compute_rfm(history, as_of)
    segmentation = segment_customers(rfm, seed=seed)
    churn, risk = fit_churn(history, to_days(as_of), seed=seed)
    if churn.status != "ok":
        log.warning("churn model not fitted: %s", churn.status)
    computed_at = utcnow()
    rows = [{"customer_id": int(cid),
             "recency_days": float(rfm.recency_days[i]),
             "frequency": int(rfm.frequency[i]),
             "monetary_cents": int(rfm.monetary_cents[i]),
             "segment": str(segmentation.labels[i]),
             "churn_risk": risk.get(int(cid)),
             "computed_at": computed_at}
            for i, cid in enumerate(rfm.customer_ids)]
    with db.session() as s:
        _upsert(s, rows)
    log.info("customer profiles stored: %d customers, k=%s, churn %s", len(rows),
             segmentation.k, churn.status)
    return SegmentsSummary(as_of, computed_at, rfm, segmentation, churn)


def has_profiles(db: Database) -> bool:
    with db.session() as s:
        return s.scalar(select(CustomerProfile.customer_id).limit(1)) is not None


def profile_for(session: Session, customer_id: int) -> dict[str, Any] | None:
    """The stored profile for the CRM card, or None before the first computation."""
    p = session.get(CustomerProfile, customer_id)
    if p is None:
        return None
    return {"customer_id": p.customer_id, "recency_days": round(p.recency_days, 1),
            "frequency": p.frequency, "monetary_cents": p.monetary_cents,
            "segment": p.segment, "segment_zh": segment_label(p.segment, "zh"),
            "churn_risk": None if p.churn_risk is None else round(p.churn_risk, 3),
            "computed_at": p.computed_at.isoformat()}


def segment_summary(session: Session) -> list[dict[str, Any]]:
    """One row per stored segment, largest first: size, mean R/F/M and mean churn risk
    (over the customers that have one)."""
    q = (select(CustomerProfile.segment, func.count(),
                func.avg(CustomerProfile.recency_days), func.avg(CustomerProfile.frequency),
                func.avg(CustomerProfile.monetary_cents), func.avg(CustomerProfile.churn_risk))
         .group_by(CustomerProfile.segment)
         .order_by(func.count().desc(), CustomerProfile.segment))
    return [{"segment": seg, "segment_zh": segment_label(seg, "zh"), "customers": n,
             "recency_days": round(float(r), 1), "frequency": round(float(f), 2),
             "monetary_cents": round(float(m)),
             "churn_risk": None if c is None else round(float(c), 3)}
            for seg, n, r, f, m, c in session.execute(q)]
