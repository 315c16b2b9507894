"""Offline evaluation of the recommender: time-ordered leave-last-out, hit@10 and NDCG@10 of
popularity, item-item CF, content similarity and the blend, plus catalogue coverage.

    python -m bot.recommend.evaluate [--db URL] [--out JSON] [--embedder e5]

Protocol (one fit per split, per-customer hold-out):
- Test: a customer is evaluated when their last non-cancelled order holds a product they had
  not bought before and they have at least one earlier order; the target is the first such
  order line. Their whole last order leaves the training data (its other lines would leak the
  answer through co-purchase), so their history stops before the held-out order.
- Training: every other order of every customer. A customer's own history is strictly
  earlier than their target, but other customers' orders after that date stay in: the
  usual leave-last-out compromise. A single global date cutoff would keep time strict but
  only evaluate customers who happen to order after it.
- Validation: the same split applied again to the test's training data (each customer's
  second-to-last order). Blend weights are chosen there by grid search on hit@10 (NDCG@10
  breaks ties); the test targets never influence them.
- Ranking: top 10, already-bought (training) products excluded, no stock filter: this
  measures taste, not what happens to be in stock today.
"""

from __future__ import annotations

import argparse
import itertools
import json
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from sqlalchemy import func, make_url, select
from sqlalchemy.exc import SQLAlchemyError

from bot.db.models import Order
from bot.db.session import Database
from bot.recommend.model import (
    COMPONENTS,
    Interactions,
    ProductInfo,
    Recommender,
    embed_products,
    load_interactions,
    load_products,
)
from knowledge.embedders import Embedder, make_embedder

K = 10


@dataclass(frozen=True)
class Split:
    train: Interactions
    targets: dict[int, int]  # customer id -> held-out product id


def leave_last_out(interactions: Interactions) -> Split:
    """Hold out each eligible customer's last order; see the module docstring."""
    targets: dict[int, int] = {}
    held_orders: set[int] = set()
    for cid, purchases in interactions.by_customer.items():
        last_order = purchases[-1].order_id
        earlier = {p.product_id for p in purchases if p.order_id != last_order}
        new = [p.product_id for p in purchases
               if p.order_id == last_order and p.product_id not in earlier]
        if earlier and new:
            targets[cid] = new[0]
            held_orders.add(last_order)
    return Split(interactions.without_orders(held_orders), targets)


def weight_grid(step: float = 0.1) -> np.ndarray:
    """Every weight vector on the simplex with the given step (pure components included)."""
    n = round(1 / step)
    rows = [c for c in itertools.product(range(n + 1), repeat=len(COMPONENTS)) if sum(c) == n]
    return np.asarray(rows, dtype=float) / n


def _ranks(model: Recommender, targets: dict[int, int], grid: np.ndarray) -> np.ndarray:
    """(customers, weight vectors) 0-based rank of each target under each blend, with the
    same tie-break as ``recommend`` (lower catalogue position first)."""
    out = []
    for cid, pid in targets.items():
        scored = model.score(cid, in_stock_only=False)
        pos = model.position(pid)
        hit = np.flatnonzero(scored.candidates == pos) if pos is not None else []
        if not len(hit):
            out.append(np.full(len(grid), len(model.product_ids)))
            continue
        j = int(hit[0])
        totals = grid @ scored.parts
        t = totals[:, j:j + 1]
        out.append((totals > t).sum(axis=1) + (totals[:, :j] == t).sum(axis=1))
    return np.asarray(out)


def _hit_ndcg(ranks: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
    hit = ranks < k
    return hit.mean(axis=0), np.where(hit, 1.0 / np.log2(ranks + 2.0), 0.0).mean(axis=0)


def tune_weights(model: Recommender, targets: dict[int, int], *, k: int = K,
                 step: float = 0.1) -> tuple[dict[str, float], dict[str, float]]:
    """Blend weights with the best validation hit@k (then NDCG@k) and their scores."""
    grid = weight_grid(step)
    hits, ndcgs = _hit_ndcg(_ranks(model, targets, grid), k)
    best = max(range(len(grid)), key=lambda g: (round(hits[g], 9), round(ndcgs[g], 9)))
    weights = {c: round(float(w), 3) for c, w in zip(COMPONENTS, grid[best], strict=True)}
    return weights, {"hit": float(hits[best]), "ndcg": float(ndcgs[best])}


def score_rankings(model: Recommender, targets: dict[int, int], *,
                   k: int = K) -> dict[str, float]:
    """hit@k, NDCG@k, coverage and latency of ``model.recommend`` on the held-out targets."""
    hits, gains, seen = [], [], set()
    start = time.perf_counter()
    for cid, pid in targets.items():
        recs = [r.product_id for r in model.recommend(cid, k=k, in_stock_only=False)]
        seen.update(recs)
        rank = recs.index(pid) if pid in recs else None
        hits.append(rank is not None)
        gains.append(0.0 if rank is None else 1.0 / np.log2(rank + 2.0))
    elapsed = time.perf_counter() - start
    n = max(1, len(targets))
    return {"hit": sum(hits) / n, "ndcg": float(sum(gains)) / n,
            "coverage": len(seen) / max(1, len(model.product_ids)),
            "ms_per_request": 1000 * elapsed / n}


def evaluate(products: list[ProductInfo], interactions: Interactions, vectors: np.ndarray, *,
             k: int = K, step: float = 0.1) -> dict[str, Any]:
    test = leave_last_out(interactions)
    val = leave_last_out(test.train)
    weights, val_scores = tune_weights(Recommender.build(products, val.train, vectors),
                                       val.targets, k=k, step=step)
    model = Recommender.build(products, test.train, vectors, weights=weights)
    variants = {c: {c: 1.0} for c in COMPONENTS} | {"blend": weights}
    table = {name: score_rankings(model.with_weights(w), test.targets, k=k)
             for name, w in variants.items()}
    pop, blend = table["popularity"], table["blend"]
    return {"k": k, "n_test": len(test.targets), "n_validation": len(val.targets),
            "n_products": len(products), "weights": weights, "validation": val_scores,
            "test": table,
            "lift_hit": blend["hit"] - pop["hit"],
            "lift_hit_relative": (blend["hit"] / pop["hit"] - 1) if pop["hit"] else None,
            "lift_ndcg": blend["ndcg"] - pop["ndcg"]}


def evaluate_db(db: Database, embedder: Embedder, *, k: int = K) -> dict[str, Any]:
    with db.session() as s:
        products = load_products(s)
        interactions = load_interactions(s)
    result = evaluate(products, interactions, embed_products(products, embedder), k=k)
    return result | {"embedder": embedder.name}


def format_report(result: dict[str, Any]) -> str:
    k = result["k"]
    lines = [f"leave-last-out: {result['n_test']} test customers, "
             f"{result['n_validation']} validation customers, {result['n_products']} products",
             f"{'model':<12}{f'hit@{k}':>9}{f'NDCG@{k}':>9}{'coverage':>10}{'ms/req':>8}"]
    for name, r in result["test"].items():
        lines.append(f"{name:<12}{r['hit']:>9.3f}{r['ndcg']:>9.3f}{r['coverage']:>10.2f}"
                     f"{r['ms_per_request']:>8.2f}")
    w = ", ".join(f"{c}={v:g}" for c, v in result["weights"].items())
    val = result["validation"]
    lines.append(f"blend weights (validation hit@{k} {val['hit']:.3f}, "
                 f"NDCG@{k} {val['ndcg']:.3f}): {w}")
    rel = result["lift_hit_relative"]
    rel_txt = f" ({rel:+.0%})" if rel is not None else ""
    lines.append(f"blend vs popularity: hit@{k} {result['lift_hit']:+.3f}{rel_txt}, "
                 f"NDCG@{k} {result['lift_ndcg']:+.3f}")
    return "\n".join(lines)


def _has_orders(url: str) -> bool:
    if url.startswith("sqlite:///") and not Path(url.removeprefix("sqlite:///")).exists():
        return False  # don't let the check create an empty database file
    db = Database(url)
    try:
        with db.session() as s:
            return bool(s.scalar(select(func.count()).select_from(Order)))
    except SQLAlchemyError:  # no schema yet
        return False
    finally:
        db.dispose()


@contextmanager
def shop_database(url: str) -> Iterator[Database]:
    """The database at ``url``, or a generated demo shop in a temporary SQLite file when it
    holds no orders."""
    if _has_orders(url):
        db = Database(url)
        try:
            yield db
        finally:
            db.dispose()
        return
    from bot.db.migrate import upgrade
    from bot.demo.generator import generate

    print(f"{url} holds no orders: evaluating on a generated demo shop")
    with tempfile.TemporaryDirectory() as tmp:
        demo_url = f"sqlite:///{Path(tmp) / 'demo.db'}"
        upgrade(demo_url)
        db = Database(demo_url)
        try:
            generate(db)
            yield db
        finally:
            db.dispose()


def evaluate_shop(db_url: str | None = None, embedder: str = "e5") -> dict[str, Any]:
    """Evaluate on the configured database (or ``db_url``), or on a generated demo shop when
    it holds no orders."""
    if db_url is None:
        from bot.settings import get_settings

        db_url = get_settings().db_url()
    source = (make_url(db_url).render_as_string(hide_password=True) if _has_orders(db_url)
              else "generated demo shop")
    with shop_database(db_url) as db:
        return evaluate_db(db, make_embedder(embedder)) | {"database": source}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--db", default=None, help="database URL (default: the configured one)")
    ap.add_argument("--out", type=Path, default=None, help="write the result as JSON")
    ap.add_argument("--embedder", default="e5", help="embedder spec for the content component")
    args = ap.parse_args()
    result = evaluate_shop(args.db, args.embedder)
    print(format_report(result))
    if args.out:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(json.dumps(result, indent=2), encoding="utf-8")


if __name__ == "__main__":
    main()
