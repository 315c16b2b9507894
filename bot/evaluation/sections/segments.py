"""Customer segments (RFM k-means) and churn risk, from ``bot.segments.evaluate``: one run
yields both ``segments.json`` and ``churn.json``."""

from __future__ import annotations

from typing import Any

from bot.evaluation.context import Context
from bot.evaluation.sections.external import optional_module
from bot.evaluation.types import Chart, Section, Table

MODULE = "bot.segments.evaluate"
SEGMENTS_TITLE = "Customer segments"
CHURN_TITLE = "Churn prediction"


def segments_section(result: dict[str, Any], source: str = "") -> Section:
    k = result.get("k")
    scores = result.get("k_scores") or []
    chosen = next((s for s in scores if s["k"] == k), {})
    s = Section("segments", SEGMENTS_TITLE, dataset="demo shop (generated)",
                size=f"{result.get('customers')} customers", source=source,
                headline={"k": k, "silhouette": chosen.get("silhouette"),
                          "davies_bouldin": chosen.get("davies_bouldin")})
    s.tables.append(Table(["k", "silhouette", "Davies-Bouldin", "inertia"],
                          [[x["k"], x["silhouette"], x["davies_bouldin"], x["inertia"]]
                           for x in scores],
                          "k-means on RFM features: silhouette (higher is better) and "
                          "Davies-Bouldin (lower is better) by number of clusters."))
    segs = result.get("segments") or []
    s.tables.append(Table(["segment", "中文", "customers", "recency (days)", "orders",
                           "spent (yuan)"],
                          [[g["name"], g.get("name_zh"), g["size"], g["recency_days"],
                            g["frequency"], g["monetary_cents"] / 100] for g in segs]))
    if scores:
        s.charts.append(Chart("segments_k.png", "Segments: cluster quality by k", "lines", {
            "x_label": "k", "y_label": "score", "vline": k, "vline_label": f"chosen k = {k}",
            "series": {"silhouette": {"x": [x["k"] for x in scores],
                                      "y": [x["silhouette"] for x in scores]},
                       "Davies-Bouldin": {"x": [x["k"] for x in scores],
                                          "y": [x["davies_bouldin"] for x in scores]}}}))
    s.provenance = ["Unsupervised: there are no labels, so only internal cluster quality is "
                    "measured, on the deterministic generated demo shop (bot/demo); the "
                    "segments describe the generator's customers, not real ones."]
    return s


def churn_section(churn: dict[str, Any], source: str = "") -> Section:
    s = Section("churn", CHURN_TITLE, dataset="demo shop (generated), time split",
                size=f"{churn.get('n_train')} train / {churn.get('n_test')} test customers",
                source=source)
    if churn.get("status") != "ok":
        s.notes.append(f"No model: {churn.get('status')}.")
        return s
    models: dict[str, Any] = churn.get("models") or {}
    chosen = churn.get("chosen_model")
    best = models.get(chosen, {}).get("test", {})
    s.headline = {"model": chosen, "test_roc_auc": best.get("roc_auc"),
                  "test_f1": best.get("f1"), "base_rate_test": churn.get("base_rate_test")}
    s.tables.append(Table(
        ["model", "out-of-fold AUC (train)", "threshold", "test ROC-AUC", "test AP",
         "precision", "recall", "F1"],
        [[name, m.get("train_oof_roc_auc"), m.get("threshold"), m["test"].get("roc_auc"),
          m["test"].get("average_precision"), m["test"].get("precision"),
          m["test"].get("recall"), m["test"].get("f1")] for name, m in models.items()],
        f"Churn = no order in the next {churn.get('horizon_days', 90):.0f} days; threshold "
        "maximises F1 on out-of-fold training predictions."))
    baselines: dict[str, float] = churn.get("baselines") or {}
    s.tables.append(Table(["single feature", "test ROC-AUC"],
                          [[name, auc] for name, auc in baselines.items()],
                          "Baselines: one feature as the score."))
    top = max(baselines.items(), key=lambda kv: kv[1], default=None)
    if top and best.get("roc_auc") is not None and top[1] > best["roc_auc"]:
        s.notes.append(f"A single feature ({top[0]}, test AUC {top[1]:.3f}) ranks churners "
                       f"better than the chosen model ({best['roc_auc']:.3f}): the models add "
                       "little on this data.")
    names = [*models, *baselines]
    s.charts.append(Chart("churn_auc.png", "Churn: test ROC-AUC, models vs single features",
                          "bars", {"categories": names, "y_label": "ROC-AUC",
                                   "series": {"test ROC-AUC": [
                                       *[m["test"].get("roc_auc") for m in models.values()],
                                       *baselines.values()]}}))
    s.provenance = [
        f"Time-based split on the generated demo shop: train on the snapshot at "
        f"{str(churn.get('train_cutoff'))[:10]} labelled from the following window, test on "
        f"the snapshot at {str(churn.get('test_cutoff'))[:10]}; nothing after the test "
        "cutoff reaches "
        "training, and model choice and threshold use out-of-fold training predictions "
        "only. The data is synthetic: the numbers show the method works on the generator's "
        "behaviour, not on real customers.",
        f"Base rate: {churn.get('base_rate_train', 0):.3f} (train), "
        f"{churn.get('base_rate_test', 0):.3f} (test)."]
    return s


def _result(ctx: Context, name: str) -> tuple[dict[str, Any], str] | None:
    mod = optional_module(MODULE)
    if mod is None:
        return None
    path = ctx.reports / name
    if ctx.reuse and path.exists():
        return ctx.load_or_run(name, dict)
    if "segments" not in ctx.memo:  # one run writes both JSON files
        ctx.memo["segments"] = mod.evaluate(ctx.reports)
    result = ctx.memo["segments"]
    return (result["churn"] if name == "churn.json" else result), ctx.shown(path)


def build_segments(ctx: Context) -> Section:
    got = _result(ctx, "segments.json")
    if got is None:
        return Section.unavailable("segments", SEGMENTS_TITLE,
                                   f"not available: {MODULE} is not in this checkout.")
    return segments_section(*got)


def build_churn(ctx: Context) -> Section:
    got = _result(ctx, "churn.json")
    if got is None:
        return Section.unavailable("churn", CHURN_TITLE,
                                   f"not available: {MODULE} is not in this checkout.")
    return churn_section(*got)
