"""Recommender: constraints, cold start, explanations, persistence, speed and the offline
evaluation (blend vs popularity on a full-size demo shop)."""

from __future__ import annotations

import re
import time
import zlib
from collections import Counter
from datetime import timedelta
from pathlib import Path

import numpy as np
import pytest
from sqlalchemy import select

from bot.db.migrate import upgrade
from bot.db.models import Order, Product
from bot.db.session import Database
from bot.demo.generator import generate
from bot.recommend.evaluate import evaluate_db, leave_last_out
from bot.recommend.model import (
    Interactions,
    Recommender,
    embed_products,
    load_interactions,
    load_products,
)


class HashingEmbedder:
    """TEST DOUBLE of the ``knowledge.embedders.Embedder`` seam (not a product embedder):
    deterministic bag-of-words vectors, one seeded random vector per word, so products that
    share words (brand, noun, category) are similar. Milliseconds instead of e5's seconds."""

    name = "test-hashing"
    dim = 64

    def warm_up(self) -> None:
        pass

    def _vector(self, text: str) -> np.ndarray:
        v = np.zeros(self.dim)
        for word in re.findall(r"\w+", text.lower()):
            v += np.random.default_rng(zlib.crc32(word.encode())).normal(size=self.dim)
        return v / max(float(np.linalg.norm(v)), 1e-12)

    def embed_queries(self, texts: list[str]) -> np.ndarray:
        return self.embed_passages(texts)

    def embed_passages(self, texts: list[str]) -> np.ndarray:
        return np.array([self._vector(t) for t in texts], dtype=np.float32).reshape(-1, self.dim)


@pytest.fixture
def model(shop: Database) -> Recommender:
    with shop.session() as s:
        return Recommender.fit(s, embedder=HashingEmbedder())


@pytest.fixture
def interactions(shop: Database) -> Interactions:
    with shop.session() as s:
        return load_interactions(s)


@pytest.fixture
def products(shop: Database) -> dict[int, Product]:
    with shop.session() as s:
        return {p.id: p for p in s.scalars(select(Product))}


def _bought(interactions: Interactions, customer_id: int) -> set[int]:
    return {p.product_id for p in interactions.history(customer_id)}


def test_interactions_are_time_ordered_without_cancelled_orders(shop: Database) -> None:
    with shop.session() as s:
        everything = load_interactions(s)
        cancelled = set(s.scalars(select(Order.id).where(Order.status == "cancelled")))
        until = min(p.created_at for ps in everything.by_customer.values() for p in ps) \
            + timedelta(days=365)
        early = load_interactions(s, until=until)
    assert cancelled, "the demo shop should have cancelled orders"
    for purchases in everything.by_customer.values():
        times = [p.created_at for p in purchases]
        assert times == sorted(times)
        assert not {p.order_id for p in purchases} & cancelled
    assert 0 < len(early) < len(everything)
    assert all(p.created_at < until for ps in early.by_customer.values() for p in ps)


def test_recommendations_respect_constraints(model: Recommender, interactions: Interactions,
                                             products: dict[int, Product]) -> None:
    median_price = int(np.median([p.price_cents for p in products.values()]))
    checked = 0
    for cid in list(interactions.by_customer)[:20]:
        for category in (None, "electronics", "kitchen", "books"):
            recs = model.recommend(cid, k=5, category=category, max_price_cents=median_price)
            for r in recs:
                p = products[r.product_id]
                assert category is None or p.category == category
                assert p.price_cents <= median_price and p.stock > 0
                assert r.product_id not in _bought(interactions, cid)
            checked += len(recs)
            scores = [r.score for r in recs]
            assert scores == sorted(scores, reverse=True)
    assert checked > 100
    assert model.recommend(1, category="no-such-category") == []


def test_stock_and_bought_filters_can_be_lifted(model: Recommender,
                                                interactions: Interactions,
                                                products: dict[int, Product]) -> None:
    everything = [r.product_id for r in model.recommend(None, k=1000, in_stock_only=False)]
    assert len(everything) == len(products)
    assert any(products[pid].stock == 0 for pid in everything)
    cid = max(interactions.by_customer, key=lambda c: len(_bought(interactions, c)))
    again = {r.product_id for r in model.recommend(cid, k=1000, exclude_bought=False)}
    assert _bought(interactions, cid) & again


def test_cold_start_is_popular_in_stock(shop: Database, interactions: Interactions,
                                        products: dict[int, Product]) -> None:
    with shop.session() as s:
        items = load_products(s)
    plain = Recommender.build(items, interactions, HashingEmbedder().embed_passages(
        [p.text for p in items]), popularity_half_life_days=None)
    sold = Counter[int]()
    for ps in interactions.by_customer.values():
        for p in ps:
            sold[p.product_id] += p.quantity
    expected = sorted((pid for pid, p in products.items() if p.stock > 0),
                      key=lambda pid: (-sold[pid], pid))[:3]
    for customer in (None, 10**9):  # anonymous, and a customer with no orders
        recs = plain.recommend(customer, k=3)
        assert [r.product_id for r in recs] == expected
        assert {r.reason for r in recs} == {"popular"}
        assert all(r.because_of is None for r in recs)
    in_books = plain.recommend(None, k=3, category="books")
    assert in_books and {r.reason for r in in_books} == {"popular_in_category"}
    assert all(products[r.product_id].category == "books" for r in in_books)


def test_reasons_name_a_product_the_customer_bought(model: Recommender,
                                                    interactions: Interactions) -> None:
    customers = [c for c in interactions.by_customer if len(_bought(interactions, c)) >= 2][:15]
    for weights, reason in (({"cf": 1.0}, "bought_together"), ({"content": 1.0}, "similar_to")):
        single = model.with_weights(weights)
        for cid in customers:
            for r in single.recommend(cid, k=3):
                assert r.reason == reason
                assert r.because_of in _bought(interactions, cid)
    blended = [r for cid in customers for r in model.recommend(cid, k=5)]
    assert {"bought_together"} <= {r.reason for r in blended}
    assert all(r.because_of is None for r in blended if r.reason.startswith("popular"))


def test_save_load_round_trip(model: Recommender, interactions: Interactions,
                              tmp_path: Path) -> None:
    model.save(tmp_path / "rec")
    again = Recommender.load(tmp_path / "rec")
    assert again.weights == model.weights
    requests = [{}, {"category": "fashion"}, {"max_price_cents": 20_000},
                {"in_stock_only": False, "exclude_bought": False, "k": 10}]
    for cid in [None, 10**9, *interactions.by_customer]:
        for kwargs in requests:
            assert again.recommend(cid, **kwargs) == model.recommend(cid, **kwargs)


def test_refresh_stock_drops_sold_out_products(model: Recommender, shop: Database) -> None:
    top = model.recommend(None, k=1)[0].product_id
    with shop.session() as s:
        s.get_one(Product, top).stock = 0
    with shop.session() as s:
        model.refresh_stock(s)
    assert top not in [r.product_id for r in model.recommend(None, k=5)]


def test_weights_must_be_usable(model: Recommender) -> None:
    with pytest.raises(ValueError):
        model.with_weights({"cf": -1.0, "content": 2.0})
    with pytest.raises(ValueError):
        model.with_weights({})
    assert sum(model.with_weights({"cf": 3.0, "content": 1.0}).weights.values()) == 1.0


def test_requests_are_fast(model: Recommender, interactions: Interactions) -> None:
    customers = list(interactions.by_customer)
    start = time.perf_counter()
    for i in range(300):
        model.recommend(customers[i % len(customers)], k=3, category="home")
    assert (time.perf_counter() - start) / 300 < 0.020


def test_leave_last_out_holds_out_each_last_order(interactions: Interactions) -> None:
    split = leave_last_out(interactions)
    assert split.targets
    for cid, target in split.targets.items():
        full, train = interactions.history(cid), split.train.history(cid)
        last_order = full[-1].order_id
        assert train and all(p.order_id != last_order for p in train)
        assert target not in {p.product_id for p in train}
        assert max(p.created_at for p in train) <= full[-1].created_at
        assert target in {p.product_id for p in full if p.order_id == last_order}


def test_blend_beats_popularity_on_full_demo_shop(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'full.db'}"
    upgrade(url)
    db = Database(url)
    try:
        generate(db)  # 1,000 customers, 200 products, 10,000 orders
        result = evaluate_db(db, HashingEmbedder())
    finally:
        db.dispose()
    test = result["test"]
    assert result["n_test"] > 500 and result["n_validation"] > 300
    assert test["blend"]["hit"] > test["popularity"]["hit"] + 0.03
    assert test["blend"]["ndcg"] > test["popularity"]["ndcg"]
    assert test["cf"]["hit"] > test["popularity"]["hit"]  # co-purchase structure is found
    assert test["blend"]["coverage"] > test["popularity"]["coverage"]
    assert sum(result["weights"].values()) == pytest.approx(1.0)


def test_content_component_with_real_e5(shop: Database) -> None:
    from knowledge.embedders import make_embedder

    with shop.session() as s:
        items = load_products(s)
    vectors = embed_products(items, make_embedder("e5"))
    sim = vectors @ vectors.T
    cats = np.array([p.category for p in items])
    same = cats[:, None] == cats[None, :]
    np.fill_diagonal(same, False)
    other = cats[:, None] != cats[None, :]
    # e5 puts products of one category closer together than products of different ones
    assert sim[same].mean() > sim[other].mean()
    with shop.session() as s:
        model = Recommender.build(items, load_interactions(s), vectors,
                                  weights={"content": 1.0})
    recs = model.recommend(int(model.histories.customer_ids[0]), k=3)
    assert recs and {r.reason for r in recs} == {"similar_to"}
