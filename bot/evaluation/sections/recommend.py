"""Recommendations: leave-last-out hit@k / NDCG@k / coverage for each component and the
blend, against popularity."""

from __future__ import annotations

from typing import Any

from bot.evaluation.context import Context
from bot.evaluation.types import Chart, Section, Table

TITLE = "Product recommendations"


def recommend_section(result: dict[str, Any], source: str = "") -> Section:
    k, test = result["k"], result["test"]
    blend, pop = test["blend"], test["popularity"]
    s = Section("recommend", TITLE, dataset=f"orders in {result.get('database', '?')}",
                size=f"{result['n_test']} test customers", source=source,
                headline={f"blend_hit@{k}": blend["hit"], f"blend_ndcg@{k}": blend["ndcg"],
                          f"popularity_hit@{k}": pop["hit"],
                          "blend_coverage": blend["coverage"]})
    s.tables.append(Table(["model", f"hit@{k}", f"NDCG@{k}", "coverage", "ms/request"],
                          [[name, r["hit"], r["ndcg"], r["coverage"], r["ms_per_request"]]
                           for name, r in test.items()],
                          "Coverage: share of the catalogue that appears in any top-"
                          f"{k} list."))
    s.charts.append(Chart("recommend.png", f"Recommendations: hit@{k} / NDCG@{k} / coverage",
                          "bars", {"categories": list(test), "y_label": "score",
                                   "series": {f"hit@{k}": [r["hit"] for r in test.values()],
                                              f"NDCG@{k}": [r["ndcg"] for r in test.values()],
                                              "coverage": [r["coverage"]
                                                           for r in test.values()]}}))
    rel = result.get("lift_hit_relative")
    weights = ", ".join(f"{c}={w:g}" for c, w in result["weights"].items())
    s.notes.append(f"Blend vs popularity: hit@{k} {result['lift_hit']:+.3f}"
                   + (f" ({rel:+.0%})" if rel is not None else "")
                   + f", NDCG@{k} {result['lift_ndcg']:+.3f}. Blend weights {weights}, chosen "
                   f"on the validation split (hit@{k} {result['validation']['hit']:.3f}).")
    s.provenance = [
        "Time-ordered leave-last-out on the shop's orders: each test customer's last order is "
        "removed from training and its first new product is the target; blend weights are "
        "tuned on a second split of the training data (each customer's second-to-last "
        "order), never on the test targets. Other customers' later orders stay in training "
        "(the usual leave-last-out compromise).",
        f"{result['n_test']} test and {result['n_validation']} validation customers, "
        f"{result['n_products']} products. On the generated demo shop (bot/demo; what the "
        "database holds unless real orders were loaded) these numbers measure how well the "
        "recommender recovers the generator's purchase patterns, not real customers' taste."]
    return s


def run(ctx: Context) -> dict[str, Any]:
    from bot.recommend.evaluate import evaluate_shop

    return evaluate_shop(ctx.settings.db_url())


def build(ctx: Context) -> Section:
    result, source = ctx.load_or_run("recommend.json", lambda: run(ctx))
    return recommend_section(result, source)
