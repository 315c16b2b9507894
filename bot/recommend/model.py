"""Blended product recommender: popularity, item-item collaborative filtering (CF) on implicit
feedback and content similarity of product texts.

Each component scores every candidate product for one customer's history; scores are scaled
to [0, 1] over the request's candidates and summed with the blend weights. Customers without
history (cold start) get popularity alone. Everything request-time is numpy over a catalogue
of a few hundred products, so a request takes well under a millisecond after ``fit``.

Histories, stock and the catalogue are a snapshot taken at ``fit`` time: refit (or call
``refresh_stock``) to see new orders and stock changes.
"""

from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Mapping
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import NamedTuple

import numpy as np
from scipy import sparse
from sqlalchemy import select
from sqlalchemy.orm import Session

from bot.db.models import Order, OrderItem, Product
from knowledge.embedders import Embedder, make_embedder

COMPONENTS = ("popularity", "cf", "content")
# Tuned on a validation split of the demo shop by `python -m bot.recommend.evaluate`.
DEFAULT_WEIGHTS: dict[str, float] = {"popularity": 0.3, "cf": 0.5, "content": 0.2}
POPULARITY_HALF_LIFE_DAYS: float | None = 365.0
HISTORY_HALF_LIFE_DAYS: float | None = 180.0
FORMAT_VERSION = 1
_DAY_S = 86_400.0


class Purchase(NamedTuple):
    product_id: int
    created_at: datetime
    order_id: int
    quantity: int = 1


@dataclass(frozen=True)
class Interactions:
    """Per customer, the time-ordered purchases (one per order line) of non-cancelled orders."""

    by_customer: dict[int, list[Purchase]]

    def history(self, customer_id: int) -> list[Purchase]:
        return self.by_customer.get(customer_id, [])

    def without_orders(self, order_ids: set[int]) -> Interactions:
        kept = {c: [p for p in ps if p.order_id not in order_ids]
                for c, ps in self.by_customer.items()}
        return Interactions({c: ps for c, ps in kept.items() if ps})

    def __len__(self) -> int:
        return sum(len(ps) for ps in self.by_customer.values())


@dataclass(frozen=True)
class ProductInfo:
    id: int
    category: str
    price_cents: int
    stock: int
    text: str


@dataclass(frozen=True)
class Recommendation:
    product_id: int
    score: float
    reason: str  # bought_together, similar_to, popular, popular_in_category
    because_of: int | None = None  # the customer's product behind bought_together/similar_to


@dataclass(frozen=True)
class Scored:
    """One request's candidates (catalogue positions) and their per-component scores in
    [0, 1], one row per entry of ``COMPONENTS``."""

    candidates: np.ndarray
    parts: np.ndarray
    history_items: np.ndarray
    history_weights: np.ndarray


def _utc(dt: datetime) -> datetime:
    # SQLite hands back naive datetimes (stored as UTC); PostgreSQL aware ones.
    return dt.replace(tzinfo=UTC) if dt.tzinfo is None else dt.astimezone(UTC)


def load_interactions(session: Session, until: datetime | None = None) -> Interactions:
    """Purchases from orders created strictly before ``until`` (all when None)."""
    q = (select(Order.customer_id, OrderItem.product_id, Order.created_at, Order.id,
                OrderItem.quantity)
         .join(OrderItem, OrderItem.order_id == Order.id)
         .where(Order.status != "cancelled")
         .order_by(Order.created_at, Order.id, OrderItem.id))
    if until is not None:
        q = q.where(Order.created_at < _utc(until))
    by_customer: dict[int, list[Purchase]] = defaultdict(list)
    for cid, pid, at, oid, qty in session.execute(q):
        by_customer[cid].append(Purchase(pid, _utc(at), oid, qty))
    return Interactions(dict(by_customer))


def product_text(p: Product) -> str:
    # Both languages in one passage: e5 is multilingual, and one text per product halves the
    # embedding time of averaging two.
    return f"{p.name_en}. {p.description_en} {p.name_zh}。{p.description_zh}"


def load_products(session: Session) -> list[ProductInfo]:
    return [ProductInfo(p.id, p.category, p.price_cents, p.stock, product_text(p))
            for p in session.scalars(select(Product).order_by(Product.id))]


def embed_products(products: list[ProductInfo], embedder: Embedder) -> np.ndarray:
    return np.asarray(embedder.embed_passages([p.text for p in products]), dtype=np.float32)


def _decay(age_s: np.ndarray, half_life_days: float | None) -> np.ndarray:
    if half_life_days is None:
        return np.ones_like(age_s)
    return np.power(0.5, age_s / (half_life_days * _DAY_S))


def _popularity(interactions: Interactions, index: Mapping[int, int], n: int,
                half_life_days: float | None) -> np.ndarray:
    rows = [(index[p.product_id], p.quantity, p.created_at.timestamp())
            for ps in interactions.by_customer.values() for p in ps if p.product_id in index]
    counts = np.zeros(n)
    if not rows:
        return counts
    cols, qty, ts = (np.asarray(x, dtype=float) for x in zip(*rows, strict=True))
    # Age relative to the newest purchase, not the wall clock: deterministic for a snapshot.
    np.add.at(counts, cols.astype(int), qty * _decay(ts.max() - ts, half_life_days))
    return counts


def _cosine(gram: np.ndarray) -> np.ndarray:
    """Cosine similarities from a Gram matrix of dot products, with a zero diagonal (an item
    is not its own recommendation)."""
    norms = np.sqrt(np.clip(np.diag(gram), 0.0, None))
    sim = gram / np.maximum(np.outer(norms, norms), 1e-12)
    np.fill_diagonal(sim, 0.0)
    return sim


def _content_similarity(vectors: np.ndarray) -> np.ndarray:
    v = vectors.astype(np.float64)
    return _cosine(v @ v.T)


def _item_similarity(interactions: Interactions, index: Mapping[int, int],
                     n: int) -> np.ndarray:
    """Item-item cosine on the customer×item matrix of log(1 + times bought)."""
    counts: dict[tuple[int, int], int] = defaultdict(int)
    customers = {c: r for r, c in enumerate(interactions.by_customer)}
    for cid, ps in interactions.by_customer.items():
        for p in ps:
            if p.product_id in index:
                counts[customers[cid], index[p.product_id]] += 1
    if not counts:
        return np.zeros((n, n))
    rows, cols = (np.fromiter(axis, dtype=np.int64) for axis in zip(*counts, strict=True))
    vals = np.log1p(np.fromiter(counts.values(), dtype=np.float64))
    x = sparse.csr_array((vals, (rows, cols)), shape=(len(customers), n))
    # items × items dot products stay sparse until the (small) result
    return _cosine((x.T @ x).toarray())


@dataclass(frozen=True)
class Histories:
    """Each customer's distinct products (catalogue positions) with recency weights, CSR."""

    customer_ids: np.ndarray
    indptr: np.ndarray
    items: np.ndarray
    weights: np.ndarray

    @classmethod
    def build(cls, interactions: Interactions, index: Mapping[int, int],
              half_life_days: float | None) -> Histories:
        ids, indptr, items, weights = [], [0], [], []
        for cid in sorted(interactions.by_customer):
            ps = [p for p in interactions.by_customer[cid] if p.product_id in index]
            if not ps:
                continue
            ts = np.array([p.created_at.timestamp() for p in ps])
            # Recent purchases say more about the next one; age from the customer's last order.
            w = _decay(ts.max() - ts, half_life_days)
            per_item: dict[int, float] = defaultdict(float)
            for p, wi in zip(ps, w, strict=True):
                per_item[index[p.product_id]] += float(wi)
            ids.append(cid)
            items.extend(per_item)
            weights.extend(per_item.values())
            indptr.append(len(items))
        return cls(np.asarray(ids, dtype=np.int64), np.asarray(indptr, dtype=np.int64),
                   np.asarray(items, dtype=np.int64), np.asarray(weights, dtype=np.float64))

    def get(self, customer_id: int | None) -> tuple[np.ndarray, np.ndarray]:
        pos = -1 if customer_id is None else int(np.searchsorted(self.customer_ids, customer_id))
        if pos < 0 or pos >= len(self.customer_ids) or self.customer_ids[pos] != customer_id:
            return self.items[:0], self.weights[:0]
        lo, hi = self.indptr[pos], self.indptr[pos + 1]
        return self.items[lo:hi], self.weights[lo:hi]


def _minmax(x: np.ndarray) -> np.ndarray:
    if not x.size:
        return x
    lo, hi = x.min(), x.max()
    return (x - lo) / (hi - lo) if hi > lo else np.zeros_like(x)


def _normalised_weights(weights: Mapping[str, float] | None) -> dict[str, float]:
    w = {c: float((weights if weights is not None else DEFAULT_WEIGHTS).get(c, 0.0))
         for c in COMPONENTS}
    if any(v < 0 for v in w.values()) or sum(w.values()) <= 0:
        raise ValueError(f"blend weights must be non-negative and not all zero: {weights}")
    total = sum(w.values())
    return {c: v / total for c, v in w.items()}


@dataclass(frozen=True, eq=False)
class Recommender:
    product_ids: np.ndarray  # (n,) sorted; position = column in every matrix
    categories: np.ndarray  # (n,) str
    price_cents: np.ndarray  # (n,)
    stock: np.ndarray  # (n,)
    popularity: np.ndarray  # (n,) recency-weighted purchase counts
    item_sim: np.ndarray  # (n, n) CF cosine
    vectors: np.ndarray  # (n, d) product text embeddings
    content_sim: np.ndarray  # (n, n) cosine of vectors (derived, not saved)
    histories: Histories
    weights: dict[str, float]
    params: dict[str, object]

    # ---- fitting -------------------------------------------------------------------------

    @classmethod
    def fit(cls, session: Session, *, until: datetime | None = None,
            embedder: Embedder | None = None,
            weights: Mapping[str, float] | None = None) -> Recommender:
        products = load_products(session)
        interactions = load_interactions(session, until)
        emb = embedder or make_embedder("e5")
        vectors = embed_products(products, emb)
        model = cls.build(products, interactions, vectors, weights=weights)
        model.params.update(embedder=emb.name,
                            until=_utc(until).isoformat() if until else None)
        return model

    @classmethod
    def build(cls, products: list[ProductInfo], interactions: Interactions,
              vectors: np.ndarray, *, weights: Mapping[str, float] | None = None,
              popularity_half_life_days: float | None = POPULARITY_HALF_LIFE_DAYS,
              history_half_life_days: float | None = HISTORY_HALF_LIFE_DAYS) -> Recommender:
        """Fit from already loaded data (the evaluation refits on held-out splits this way,
        reusing one set of product vectors)."""
        products = sorted(products, key=lambda p: p.id)
        index = {p.id: i for i, p in enumerate(products)}
        n = len(products)
        vectors = np.asarray(vectors, dtype=np.float32)
        return cls(
            product_ids=np.array([p.id for p in products], dtype=np.int64),
            categories=np.array([p.category for p in products], dtype=str),
            price_cents=np.array([p.price_cents for p in products], dtype=np.int64),
            stock=np.array([p.stock for p in products], dtype=np.int64),
            popularity=_popularity(interactions, index, n, popularity_half_life_days),
            item_sim=_item_similarity(interactions, index, n),
            vectors=vectors,
            content_sim=_content_similarity(vectors),
            histories=Histories.build(interactions, index, history_half_life_days),
            weights=_normalised_weights(weights),
            params={"popularity_half_life_days": popularity_half_life_days,
                    "history_half_life_days": history_half_life_days})

    def position(self, product_id: int) -> int | None:
        """Catalogue position (row/column in the model's arrays) of a product id."""
        pos = int(np.searchsorted(self.product_ids, product_id))
        ok = pos < len(self.product_ids) and self.product_ids[pos] == product_id
        return pos if ok else None

    def with_weights(self, weights: Mapping[str, float]) -> Recommender:
        return replace(self, weights=_normalised_weights(weights))

    def refresh_stock(self, session: Session) -> None:
        """Take current stock levels from the database (stock moves faster than tastes)."""
        stock = dict(session.execute(select(Product.id, Product.stock)).tuples().all())
        self.stock[:] = [stock.get(int(pid), 0) for pid in self.product_ids]

    # ---- serving -------------------------------------------------------------------------

    def candidates(self, bought: np.ndarray, *, category: str | None = None,
                   max_price_cents: int | None = None, in_stock_only: bool = True,
                   exclude_bought: bool = True) -> np.ndarray:
        mask = np.ones(len(self.product_ids), dtype=bool)
        if category is not None:
            mask &= self.categories == category
        if max_price_cents is not None:
            mask &= self.price_cents <= max_price_cents
        if in_stock_only:
            mask &= self.stock > 0
        if exclude_bought:
            mask[bought] = False
        return np.flatnonzero(mask)

    def score(self, customer_id: int | None, *, category: str | None = None,
              max_price_cents: int | None = None, in_stock_only: bool = True,
              exclude_bought: bool = True) -> Scored:
        """Per-component scores of the request's candidates, each scaled to [0, 1]."""
        items, hw = self.histories.get(customer_id)
        cand = self.candidates(items, category=category, max_price_cents=max_price_cents,
                               in_stock_only=in_stock_only, exclude_bought=exclude_bought)
        parts = np.zeros((len(COMPONENTS), cand.size))
        parts[0] = _minmax(self.popularity[cand])
        if items.size and cand.size:
            parts[1] = _minmax(self.item_sim[np.ix_(cand, items)] @ hw)
            # Recency-weighted mean similarity: favours the customer's dominant tastes.
            parts[2] = _minmax(self.content_sim[np.ix_(cand, items)] @ (hw / hw.sum()))
        return Scored(cand, parts, items, hw)

    def recommend(self, customer_id: int | None, *, k: int = 3, category: str | None = None,
                  max_price_cents: int | None = None, in_stock_only: bool = True,
                  exclude_bought: bool = True) -> list[Recommendation]:
        scored = self.score(customer_id, category=category, max_price_cents=max_price_cents,
                            in_stock_only=in_stock_only, exclude_bought=exclude_bought)
        contrib = self._weight_vector(scored)[:, None] * scored.parts
        total = contrib.sum(axis=0)
        # Stable sort on the catalogue order: ties go to the lower product id, reproducibly.
        top = np.argsort(-total, kind="stable")[:k]
        return [self._explain(scored, int(j), float(total[j]), contrib[:, j], category)
                for j in top]

    def _weight_vector(self, scored: Scored) -> np.ndarray:
        if not scored.history_items.size:  # cold start: popularity alone
            return np.array([1.0] + [0.0] * (len(COMPONENTS) - 1))
        return np.array([self.weights[c] for c in COMPONENTS])

    def _explain(self, scored: Scored, j: int, total: float, contrib: np.ndarray,
                 category: str | None) -> Recommendation:
        pos = int(scored.candidates[j])
        pid = int(self.product_ids[pos])
        driver = COMPONENTS[int(np.argmax(contrib))]  # ties go to popularity (first)
        if driver == "popularity" or not scored.history_items.size:
            return Recommendation(pid, total, "popular_in_category" if category else "popular")
        sim = self.item_sim if driver == "cf" else self.content_sim
        per_item = sim[pos, scored.history_items] * scored.history_weights
        cause = int(self.product_ids[scored.history_items[int(np.argmax(per_item))]])
        return Recommendation(pid, total, "bought_together" if driver == "cf" else "similar_to",
                              cause)

    # ---- persistence ---------------------------------------------------------------------

    def save(self, path: str | Path) -> None:
        """Write ``model.npz`` (arrays) and ``model.json`` (weights, parameters) into ``path``."""
        out = Path(path)
        out.mkdir(parents=True, exist_ok=True)
        h = self.histories
        np.savez(out / "model.npz", product_ids=self.product_ids, categories=self.categories,
                 price_cents=self.price_cents, stock=self.stock, popularity=self.popularity,
                 item_sim=self.item_sim, vectors=self.vectors, hist_customer_ids=h.customer_ids,
                 hist_indptr=h.indptr, hist_items=h.items, hist_weights=h.weights)
        meta = {"format": FORMAT_VERSION, "components": list(COMPONENTS),
                "weights": self.weights, "params": self.params}
        (out / "model.json").write_text(json.dumps(meta, indent=2), encoding="utf-8")

    @classmethod
    def load(cls, path: str | Path) -> Recommender:
        src = Path(path)
        meta = json.loads((src / "model.json").read_text(encoding="utf-8"))
        if meta.get("format") != FORMAT_VERSION:
            raise ValueError(f"unsupported recommender format {meta.get('format')!r}")
        with np.load(src / "model.npz", allow_pickle=False) as z:
            a = {name: z[name] for name in z.files}
        vectors = a["vectors"]
        return cls(product_ids=a["product_ids"], categories=a["categories"],
                   price_cents=a["price_cents"], stock=a["stock"], popularity=a["popularity"],
                   item_sim=a["item_sim"], vectors=vectors,
                   content_sim=_content_similarity(vectors),
                   histories=Histories(a["hist_customer_ids"], a["hist_indptr"],
                                       a["hist_items"], a["hist_weights"]),
                   weights=_normalised_weights(meta["weights"]), params=meta["params"])

