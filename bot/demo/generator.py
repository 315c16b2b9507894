"""Generate the demo shop: customers, products, orders with shipments, tickets.

Deterministic for a given seed: Faker and ``random.Random`` are both seeded, and dates are
relative to a fixed reference day (``REFERENCE_DAY``) rather than to the wall clock.

Realism the later features rely on: each customer has one or two favourite categories and a
heavy-tailed number of orders; products have a popularity skew; some products are bought
together (a "companion" in another category), so co-purchase structure exists.
"""

from __future__ import annotations

import logging
import random
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from faker import Faker
from sqlalchemy import func, insert, select

from bot.db.models import Customer, Order, OrderItem, Product, Shipment, Ticket
from bot.db.session import Database
from bot.demo.catalog import BRANDS, CARRIERS, COLOURS, PRODUCT_TYPES, TICKET_SUBJECTS, VARIANTS

log = logging.getLogger(__name__)

REFERENCE_DAY = datetime(2026, 11, 1, 12, 0, tzinfo=UTC)
FIRST_ORDER_NUMBER = 100001
TIERS = [("standard", 0.6), ("silver", 0.25), ("gold", 0.12), ("platinum", 0.03)]


@dataclass(frozen=True)
class DemoSize:
    customers: int = 1000
    products: int = 200
    orders: int = 10_000


def _products(rng: random.Random, n: int) -> list[dict]:
    rows: list[dict] = []
    categories = list(PRODUCT_TYPES)
    i = 0
    while len(rows) < n:
        cat = categories[i % len(categories)]
        noun_en, noun_zh, base = rng.choice(PRODUCT_TYPES[cat])
        var_en, var_zh = VARIANTS[(i // len(categories)) % len(VARIANTS)]
        col_en, col_zh = rng.choice(COLOURS)
        brand = rng.choice(BRANDS[cat])
        price = round(base * rng.uniform(0.8, 1.5), 0)
        rows.append({
            "id": len(rows) + 1,
            "sku": f"KF-{cat[:3].upper()}-{len(rows) + 1:04d}",
            "category": cat,
            "brand": brand,
            "name_en": f"{brand} {noun_en} {var_en} ({col_en})",
            "name_zh": f"{brand} {noun_zh}{var_zh}（{col_zh}）",
            "description_en": (
                f"The {brand} {noun_en} {var_en} in {col_en}: a {cat} favourite with a "
                f"{rng.choice([1, 2])}-year warranty. Free returns within 30 days."
            ),
            "description_zh": (
                f"{brand}{noun_zh}{var_zh}，{col_zh}。{rng.choice([1, 2])}年质保，"
                f"支持七天无理由退货。"
            ),
            "price_cents": int(price * 100),
            # about one product in eight is out of stock
            "stock": 0 if rng.random() < 0.12 else rng.randint(3, 500),
        })
        i += 1
    return rows


def _customers(fake_en: Faker, fake_zh: Faker, rng: random.Random, n: int) -> list[dict]:
    rows = []
    for cid in range(1, n + 1):
        zh = rng.random() < 0.5
        fake = fake_zh if zh else fake_en
        tier = rng.choices([t for t, _ in TIERS], weights=[w for _, w in TIERS])[0]
        user = fake_en.user_name()
        rows.append({
            "id": cid,
            "name": fake.name(),
            # customer id in the address keeps emails unique without retries
            "email": f"{user}{cid}@{fake_en.free_email_domain()}",
            "phone": fake.phone_number() if zh else fake_en.numerify("(###) 555-####"),
            "language": "zh" if zh else "en",
            "tier": tier,
            "city": fake.city(),
            "address": fake.address().replace("\n", ", "),
            "created_at": REFERENCE_DAY - timedelta(days=rng.randint(30, 1500)),
        })
    return rows


def _shipment_for(order_id: int, created: datetime, rng: random.Random) -> tuple[str, dict | None]:
    """Order status and shipment row, consistent with how old the order is."""
    age = (REFERENCE_DAY - created).days
    carrier = rng.choice(CARRIERS)
    tracking = f"{carrier[:2].upper()}{rng.randint(10**9, 10**10 - 1)}"
    base = {"order_id": order_id, "carrier": carrier, "tracking_number": tracking}
    if rng.random() < 0.04:
        return "cancelled", None
    if age < 1:
        return "paid", {**base, "status": "pending", "shipped_at": None,
                        "eta": created + timedelta(days=4), "delivered_at": None}
    shipped = created + timedelta(days=rng.choice([0, 1, 1, 2]))
    transit_days = rng.randint(2, 6)
    eta = shipped + timedelta(days=transit_days)
    if age < 7 and REFERENCE_DAY < eta + timedelta(days=1):
        status = "out_for_delivery" if (eta - REFERENCE_DAY).days <= 0 else "in_transit"
        if rng.random() < 0.08:
            status = "exception"
        return "shipped", {**base, "status": status, "shipped_at": shipped, "eta": eta,
                           "delivered_at": None}
    order_status = "returned" if rng.random() < 0.03 else "delivered"
    return order_status, {**base, "status": "delivered", "shipped_at": shipped, "eta": eta,
                          "delivered_at": eta - timedelta(hours=rng.randint(0, 30))}


def generate(db: Database, size: DemoSize = DemoSize(), seed: int = 42) -> dict[str, int]:
    """Fill an empty database. Returns row counts. Refuses to touch a non-empty CRM."""
    with db.session() as s:
        if s.scalar(select(func.count()).select_from(Customer)):
            raise RuntimeError("the database already holds customers; not generating demo data")

    rng = random.Random(seed)
    fake_en, fake_zh = Faker("en_US"), Faker("zh_CN")
    fake_en.seed_instance(seed)
    fake_zh.seed_instance(seed + 1)

    products = _products(rng, size.products)
    customers = _customers(fake_en, fake_zh, rng, size.customers)
    by_cat: dict[str, list[dict]] = {}
    for p in products:
        by_cat.setdefault(p["category"], []).append(p)
    # popularity skew: Zipf-like weights within each category
    weights = {c: [1.0 / (r + 1) ** 0.8 for r in range(len(ps))] for c, ps in by_cat.items()}
    # companion products: buying one often brings the other
    companion = {p["id"]: rng.choice(products)["id"] for p in products}
    cats = list(by_cat)
    taste = {c["id"]: rng.sample(cats, k=rng.choice([1, 2])) for c in customers}
    activity = [rng.paretovariate(1.3) for _ in customers]

    orders, items, shipments = [], [], []
    order_id = FIRST_ORDER_NUMBER
    chosen = rng.choices(customers, weights=activity, k=size.orders)
    for cust in chosen:
        created = REFERENCE_DAY - timedelta(
            days=rng.triangular(0, 720, 0), hours=rng.randint(0, 23)
        )
        created = max(created, cust["created_at"])
        n_items = rng.choices([1, 2, 3], weights=[0.7, 0.22, 0.08])[0]
        picked: list[int] = []
        for _ in range(n_items):
            cat = rng.choice(taste[cust["id"]]) if rng.random() < 0.8 else rng.choice(cats)
            pid = rng.choices(by_cat[cat], weights=weights[cat])[0]["id"]
            if pid not in picked:
                picked.append(pid)
        if rng.random() < 0.25 and companion[picked[0]] not in picked:
            picked.append(companion[picked[0]])
        total = 0
        for pid in picked:
            qty = rng.choices([1, 2], weights=[0.85, 0.15])[0]
            price = products[pid - 1]["price_cents"]
            total += qty * price
            items.append({"order_id": order_id, "product_id": pid, "quantity": qty,
                          "unit_price_cents": price})
        status, ship = _shipment_for(order_id, created, rng)
        if ship:
            shipments.append(ship)
        orders.append({"id": order_id, "customer_id": cust["id"], "status": status,
                       "total_cents": total, "currency": "CNY",
                       "shipping_address": cust["address"], "created_at": created})
        order_id += 1

    tickets = []
    for i, o in enumerate(rng.sample(orders, k=max(1, len(orders) // 12))):
        subj_en, subj_zh = rng.choice(TICKET_SUBJECTS)
        lang = customers[o["customer_id"] - 1]["language"]
        age = (REFERENCE_DAY - o["created_at"]).days
        tickets.append({
            "id": i + 1, "customer_id": o["customer_id"], "order_id": o["id"],
            "subject": subj_zh if lang == "zh" else subj_en,
            "status": "open" if age < 20 else rng.choice(["closed", "closed", "pending"]),
            "priority": rng.choice(["low", "normal", "normal", "high"]),
            "created_at": o["created_at"] + timedelta(days=rng.randint(1, 5)),
        })

    with db.session() as s:
        for model, rows in ((Customer, customers), (Product, products), (Order, orders),
                            (OrderItem, items), (Shipment, shipments), (Ticket, tickets)):
            for start in range(0, len(rows), 5000):
                s.execute(insert(model), rows[start:start + 5000])
    counts = {"customers": len(customers), "products": len(products), "orders": len(orders),
              "order_items": len(items), "shipments": len(shipments), "tickets": len(tickets)}
    log.info("demo shop generated: %s", counts)
    return counts
