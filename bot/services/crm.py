"""CRM reads and identity verification.

A customer sees an order only after proving it is theirs: the order number together with the
email or phone on the order's account, or a channel identity already linked and verified.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import UTC, datetime

from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload

from bot.db.models import ChannelIdentity, Customer, Order, OrderItem, Ticket, utcnow


def _digits(s: str) -> str:
    return re.sub(r"\D", "", s)


def contact_matches(customer: Customer, contact: str) -> bool:
    """Email (case-insensitive) or phone (digits only; the last 7+ digits must agree)."""
    contact = contact.strip()
    if "@" in contact:
        return contact.lower() == customer.email.lower()
    given, known = _digits(contact), _digits(customer.phone)
    return len(given) >= 7 and len(known) >= 7 and (known.endswith(given) or given.endswith(known))


@dataclass(frozen=True)
class ShipmentView:
    carrier: str
    tracking_number: str
    status: str
    shipped_at: datetime | None
    eta: datetime | None
    delivered_at: datetime | None


@dataclass(frozen=True)
class OrderView:
    id: int
    status: str
    created_at: datetime
    total_cents: int
    currency: str
    items: list[tuple[str, str, int]] = field(default_factory=list)  # (name_en, name_zh, qty)
    shipment: ShipmentView | None = None


@dataclass(frozen=True)
class TicketView:
    id: int
    subject: str
    status: str
    order_id: int | None
    created_at: datetime


def _aware(dt: datetime | None) -> datetime | None:
    # SQLite returns naive datetimes; everything we store is UTC.
    if dt is not None and dt.tzinfo is None:
        return dt.replace(tzinfo=UTC)
    return dt


def _order_view(o: Order) -> OrderView:
    ship = None
    if o.shipment is not None:
        sh = o.shipment
        ship = ShipmentView(sh.carrier, sh.tracking_number, sh.status, _aware(sh.shipped_at),
                            _aware(sh.eta), _aware(sh.delivered_at))
    return OrderView(
        id=o.id, status=o.status, created_at=_aware(o.created_at) or utcnow(),
        total_cents=o.total_cents, currency=o.currency,
        items=[(i.product.name_en, i.product.name_zh, i.quantity) for i in o.items],
        shipment=ship,
    )


def _load_order(s: Session, order_id: int) -> Order | None:
    return s.scalar(
        select(Order).where(Order.id == order_id).options(
            selectinload(Order.items).selectinload(OrderItem.product),
            selectinload(Order.shipment), selectinload(Order.customer),
        )
    )


def verify_order_owner(s: Session, order_id: int, contact: str) -> int | None:
    """Customer id when ``contact`` belongs to the account that placed ``order_id``."""
    order = s.get(Order, order_id)
    if order is None:
        return None
    customer = s.get(Customer, order.customer_id)
    if customer is None or not contact_matches(customer, contact):
        return None
    return customer.id


def order_for_customer(s: Session, order_id: int, customer_id: int) -> OrderView | None:
    """The order, only if it belongs to ``customer_id`` (never leaks others' orders)."""
    order = _load_order(s, order_id)
    if order is None or order.customer_id != customer_id:
        return None
    return _order_view(order)


def recent_orders(s: Session, customer_id: int, limit: int = 5) -> list[OrderView]:
    orders = s.scalars(
        select(Order).where(Order.customer_id == customer_id)
        .order_by(Order.created_at.desc()).limit(limit)
        .options(selectinload(Order.items).selectinload(OrderItem.product),
                 selectinload(Order.shipment))
    ).all()
    return [_order_view(o) for o in orders]


def open_tickets(s: Session, customer_id: int) -> list[TicketView]:
    rows = s.scalars(
        select(Ticket).where(Ticket.customer_id == customer_id, Ticket.status != "closed")
        .order_by(Ticket.created_at.desc())
    ).all()
    return [TicketView(t.id, t.subject, t.status, t.order_id, _aware(t.created_at) or utcnow())
            for t in rows]


def customer_summary(s: Session, customer_id: int) -> dict | None:
    c = s.get(Customer, customer_id)
    if c is None:
        return None
    return {"id": c.id, "name": c.name, "email": c.email, "phone": c.phone, "tier": c.tier,
            "language": c.language, "city": c.city}


def link_identity(s: Session, channel: str, external_id: str, customer_id: int) -> None:
    """Record that this channel identity proved it is ``customer_id``."""
    ident = s.scalar(select(ChannelIdentity).where(
        ChannelIdentity.channel == channel, ChannelIdentity.external_id == external_id))
    if ident is None:
        ident = ChannelIdentity(channel=channel, external_id=external_id)
        s.add(ident)
    ident.customer_id = customer_id
    ident.verified_at = utcnow()


def verified_customer(s: Session, channel: str, external_id: str) -> int | None:
    ident = s.scalar(select(ChannelIdentity).where(
        ChannelIdentity.channel == channel, ChannelIdentity.external_id == external_id))
    if ident is None or ident.verified_at is None:
        return None
    return ident.customer_id


CANCELLABLE = {"placed", "paid"}


def cancel_order(s: Session, order_id: int, customer_id: int) -> str:
    """Cancel an unshipped order of this customer. Returns the outcome:
    ``cancelled``, ``already_cancelled``, ``shipped`` (too late: return it instead),
    ``delivered``, ``returned`` or ``not_found``."""
    order = s.get(Order, order_id)
    if order is None or order.customer_id != customer_id:
        return "not_found"
    if order.status == "cancelled":
        return "already_cancelled"
    if order.status not in CANCELLABLE:
        return order.status
    order.status = "cancelled"
    if order.shipment is not None and order.shipment.status == "pending":
        order.shipment.status = "cancelled"
    return "cancelled"
