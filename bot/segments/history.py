"""The shop history the segment and churn models read, as flat numpy arrays.

Loaded once per job with a handful of column queries (no ORM objects), then sliced in memory:
the churn model builds several snapshots of the same history. Times are float days since the
Unix epoch (UTC), so recency and intervals are plain subtractions.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import UTC, datetime

import numpy as np
from sqlalchemy import select
from sqlalchemy.orm import Session

from bot.db.models import Customer, Order, OrderItem, Product, Ticket

_DAY_S = 86_400.0
# Ordinal so that linear models can use it; unknown tiers count as standard.
TIER_RANK = {"standard": 0, "silver": 1, "gold": 2, "platinum": 3}


def to_days(at: datetime) -> float:
    """Float days since the epoch; naive datetimes (SQLite) are taken as UTC."""
    if at.tzinfo is None:
        at = at.replace(tzinfo=UTC)
    return at.timestamp() / _DAY_S


def from_days(days: float) -> datetime:
    return datetime.fromtimestamp(days * _DAY_S, tz=UTC)


@dataclass(frozen=True)
class ShopHistory:
    """Customers, orders, order categories and tickets. Index arrays (``order_customer`` etc.)
    point into the customer arrays, which are sorted by id."""

    customer_ids: np.ndarray  # int64, sorted
    customer_created: np.ndarray  # days
    customer_tier: np.ndarray  # int, TIER_RANK
    order_customer: np.ndarray  # index into customers
    order_time: np.ndarray  # days
    order_total: np.ndarray  # cents
    order_status: np.ndarray  # str
    item_order: np.ndarray  # index into orders, one row per order line
    item_category: np.ndarray  # int code of the product's category
    ticket_customer: np.ndarray  # index into customers
    ticket_time: np.ndarray  # days

    @property
    def n_customers(self) -> int:
        return len(self.customer_ids)

    def latest_order_time(self) -> float | None:
        return float(self.order_time.max()) if len(self.order_time) else None

    def until(self, cutoff: float) -> ShopHistory:
        """Only what existed at ``cutoff``: orders and tickets created at or before it.

        Statuses are today's (the schema keeps no status history); the churn features decide
        for themselves when a status may be trusted."""
        keep = self.order_time <= cutoff
        new_index = np.cumsum(keep) - 1
        items = keep[self.item_order]
        tickets = self.ticket_time <= cutoff
        return replace(
            self,
            order_customer=self.order_customer[keep], order_time=self.order_time[keep],
            order_total=self.order_total[keep], order_status=self.order_status[keep],
            item_order=new_index[self.item_order[items]],
            item_category=self.item_category[items],
            ticket_customer=self.ticket_customer[tickets], ticket_time=self.ticket_time[tickets],
        )


def load_history(session: Session) -> ShopHistory:
    customers = session.execute(
        select(Customer.id, Customer.created_at, Customer.tier).order_by(Customer.id)).all()
    ids = np.array([c.id for c in customers], dtype=np.int64)
    position = {int(cid): i for i, cid in enumerate(ids)}

    orders = session.execute(
        select(Order.id, Order.customer_id, Order.created_at, Order.total_cents, Order.status)
        .order_by(Order.created_at, Order.id)).all()
    order_position = {o.id: i for i, o in enumerate(orders)}

    items = session.execute(select(OrderItem.order_id, Product.category)
                            .join(Product, Product.id == OrderItem.product_id)).all()
    codes: dict[str, int] = {}
    for _, category in items:
        codes.setdefault(category, len(codes))

    tickets = session.execute(select(Ticket.customer_id, Ticket.created_at)).all()
    return ShopHistory(
        customer_ids=ids,
        customer_created=np.array([to_days(c.created_at) for c in customers], dtype=float),
        customer_tier=np.array([TIER_RANK.get(c.tier, 0) for c in customers], dtype=np.int64),
        order_customer=np.array([position[o.customer_id] for o in orders], dtype=np.int64),
        order_time=np.array([to_days(o.created_at) for o in orders], dtype=float),
        order_total=np.array([o.total_cents for o in orders], dtype=np.int64),
        order_status=np.array([o.status for o in orders], dtype=object),
        item_order=np.array([order_position[oid] for oid, _ in items], dtype=np.int64),
        item_category=np.array([codes[cat] for _, cat in items], dtype=np.int64),
        ticket_customer=np.array([position[t.customer_id] for t in tickets], dtype=np.int64),
        ticket_time=np.array([to_days(t.created_at) for t in tickets], dtype=float),
    )
