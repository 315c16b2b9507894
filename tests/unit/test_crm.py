import itertools

from sqlalchemy import select

from bot.db.models import Customer, Order
from bot.db.session import Database
from bot.services import crm


def _an_order(db: Database, status: str | None = None) -> tuple[int, Customer]:
    with db.session() as s:
        q = select(Order)
        if status:
            q = q.where(Order.status == status)
        order = s.scalars(q.limit(1)).one()
        return order.id, s.get(Customer, order.customer_id)


def test_order_owner_verified_by_email_or_phone(shop: Database) -> None:
    oid, cust = _an_order(shop)
    with shop.session() as s:
        assert crm.verify_order_owner(s, oid, cust.email.upper()) == cust.id
        assert crm.verify_order_owner(s, oid, f" {cust.phone} ") == cust.id
        assert crm.verify_order_owner(s, oid, "someone.else@example.com") is None
        assert crm.verify_order_owner(s, oid, "12") is None  # too short to mean anything
        assert crm.verify_order_owner(s, 999999, cust.email) is None


def test_a_customer_never_sees_another_customers_order(shop: Database) -> None:
    oid, cust = _an_order(shop)
    with shop.session() as s:
        other = s.scalars(select(Customer).where(Customer.id != cust.id).limit(1)).one()
        assert crm.order_for_customer(s, oid, other.id) is None
        mine = crm.order_for_customer(s, oid, cust.id)
        assert mine is not None and mine.id == oid and mine.items


def test_recent_orders_newest_first(shop: Database) -> None:
    _, cust = _an_order(shop)
    with shop.session() as s:
        orders = crm.recent_orders(s, cust.id, limit=10)
    assert orders and all(a.created_at >= b.created_at for a, b in itertools.pairwise(orders))


def test_cancel_only_unshipped_orders_of_the_owner(shop: Database) -> None:
    with shop.session() as s:
        paid = s.scalars(select(Order).where(Order.status == "paid").limit(1)).first()
        delivered = s.scalars(select(Order).where(Order.status == "delivered").limit(1)).one()
        if paid is None:  # make one: the small shop may not have a fresh order
            paid = delivered
            paid.status = "paid"
            delivered = s.scalars(select(Order).where(Order.status == "delivered",
                                                      Order.id != paid.id).limit(1)).one()
        paid_id, paid_owner = paid.id, paid.customer_id
        delivered_id, delivered_owner = delivered.id, delivered.customer_id
    with shop.session() as s:
        assert crm.cancel_order(s, paid_id, paid_owner + 1000) == "not_found"
        assert crm.cancel_order(s, paid_id, paid_owner) == "cancelled"
        assert crm.cancel_order(s, paid_id, paid_owner) == "already_cancelled"
        assert crm.cancel_order(s, delivered_id, delivered_owner) == "delivered"
    with shop.session() as s:
        assert s.get(Order, paid_id).status == "cancelled"


def test_linked_identity_is_remembered(shop: Database) -> None:
    _, cust = _an_order(shop)
    with shop.session() as s:
        assert crm.verified_customer(s, "slack", "U123") is None
        crm.link_identity(s, "slack", "U123", cust.id)
    with shop.session() as s:
        assert crm.verified_customer(s, "slack", "U123") == cust.id
