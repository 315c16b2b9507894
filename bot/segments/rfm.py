"""Recency, frequency and monetary value (RFM) per customer as of a reference time.

Rules:
- Only orders created at or before ``as_of`` count; cancelled orders never count.
- Returned orders count as purchases (recency, frequency) but not as money: it was refunded.
- Every customer gets a row. One without orders has frequency 0, monetary 0 and a recency of
  the days since they signed up (never negative): "inactive since joining".
- ``as_of`` defaults to the latest order time, not the wall clock: the demo shop is historical
  (its orders end on 2026-11-01), and a real shop's latest order is "now" to within minutes.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import numpy as np

from bot.segments.history import ShopHistory, from_days, to_days

NOT_PURCHASES = frozenset({"cancelled"})
NOT_REVENUE = frozenset({"cancelled", "returned"})


@dataclass(frozen=True)
class RFM:
    as_of: datetime
    customer_ids: np.ndarray
    recency_days: np.ndarray  # float
    frequency: np.ndarray  # int
    monetary_cents: np.ndarray  # int

    def __len__(self) -> int:
        return len(self.customer_ids)

    def buyers(self) -> np.ndarray:
        """Boolean mask of customers with at least one counted order."""
        return self.frequency > 0

    def row(self, customer_id: int) -> dict[str, float | int]:
        i = int(np.searchsorted(self.customer_ids, customer_id))
        if i == len(self.customer_ids) or self.customer_ids[i] != customer_id:
            raise KeyError(customer_id)
        return {"recency_days": float(self.recency_days[i]),
                "frequency": int(self.frequency[i]),
                "monetary_cents": int(self.monetary_cents[i])}


def default_as_of(history: ShopHistory) -> datetime | None:
    latest = history.latest_order_time()
    return None if latest is None else from_days(latest)


def compute_rfm(history: ShopHistory, as_of: datetime | None = None) -> RFM:
    if as_of is None:
        as_of = default_as_of(history)
        if as_of is None:
            raise ValueError("no orders: pass as_of explicitly")
    now = to_days(as_of)
    n = history.n_customers
    seen = history.order_time <= now
    bought = seen & ~np.isin(history.order_status, list(NOT_PURCHASES))
    paid = seen & ~np.isin(history.order_status, list(NOT_REVENUE))

    who = history.order_customer
    frequency = np.bincount(who[bought], minlength=n)
    monetary = np.bincount(who[paid], weights=history.order_total[paid], minlength=n)
    last = np.full(n, -np.inf)
    np.maximum.at(last, who[bought], history.order_time[bought])
    since = np.where(frequency > 0, last, history.customer_created)
    return RFM(as_of=as_of, customer_ids=history.customer_ids.copy(),
               recency_days=np.maximum(now - since, 0.0),
               frequency=frequency.astype(np.int64),
               monetary_cents=np.rint(monetary).astype(np.int64))
