from sqlalchemy import func, select

from bot.db.migrate import upgrade
from bot.db.models import Customer, Order, Product, Shipment
from bot.db.session import Database
from bot.demo.generator import FIRST_ORDER_NUMBER, generate
from tests.conftest import SMALL


def _snapshot(db: Database) -> list[tuple]:
    with db.session() as s:
        return [tuple(r) for r in s.execute(
            select(Order.id, Order.customer_id, Order.status, Order.total_cents)
            .order_by(Order.id)).all()]


def test_generation_is_deterministic(tmp_path) -> None:
    snaps = []
    for name in ("a", "b"):
        url = f"sqlite:///{tmp_path / name}.db"
        upgrade(url)
        db = Database(url)
        generate(db, SMALL, seed=7)
        snaps.append(_snapshot(db))
        db.dispose()
    assert snaps[0] == snaps[1]
    assert len(snaps[0]) == SMALL.orders


def test_demo_shop_is_consistent(shop: Database) -> None:
    with shop.session() as s:
        assert s.scalar(select(func.count()).select_from(Customer)) == SMALL.customers
        assert s.scalar(select(func.min(Order.id))) == FIRST_ORDER_NUMBER
        langs = set(s.scalars(select(Customer.language)))
        assert langs == {"en", "zh"}
        products = s.scalars(select(Product)).all()
        assert all(p.name_en and p.name_zh and p.price_cents > 0 for p in products)
        assert any(p.stock == 0 for p in products) and any(p.stock > 0 for p in products)
        # delivered orders have a delivered shipment; cancelled ones have none
        for order in s.scalars(select(Order)).all():
            if order.status == "delivered":
                assert order.shipment is not None and order.shipment.status == "delivered"
            if order.status == "cancelled":
                assert order.shipment is None
        assert s.scalar(select(func.count()).select_from(Shipment)) > 0


def test_refuses_to_overwrite_a_real_crm(shop: Database) -> None:
    import pytest

    with pytest.raises(RuntimeError):
        generate(shop, SMALL)
