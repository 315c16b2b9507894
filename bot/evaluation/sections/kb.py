"""Knowledge-base retrieval: ranking quality per question kind and language, and the top
score as a detector of questions the help centre cannot answer."""

from __future__ import annotations

from typing import Any

import numpy as np

from bot.evaluation import metrics
from bot.evaluation.context import Context
from bot.evaluation.types import Chart, Section, Table

TITLE = "Knowledge-base retrieval"


def _ranks(rows: list[dict[str, Any]]) -> list[Any]:
    n = len(rows)
    ranks = [r["rank"] for r in rows]
    return [n, sum(r == 1 for r in ranks) / n, sum(r is not None and r <= 5 for r in ranks) / n,
            sum(1 / r for r in ranks if r) / n]


def kb_section(report: dict[str, Any], threshold: float, embedder: str,
               source: str = "") -> Section:
    """The section from one embedder's ``knowledge.evaluate.evaluate`` result."""
    qs: list[dict[str, Any]] = report.get("questions") or []
    answerable = [q for q in qs if q["answerable"]]
    a = report["all"]
    s = Section("kb", TITLE, dataset="tests/data/kb_questions.csv",
                size=(f"{len(answerable)} answerable + {len(qs) - len(answerable)} "
                      "out-of-scope questions") if qs else f"{a['n']} answerable questions",
                headline={"hit@1": a["hit@1"], "hit@5": a["hit@5"], "mrr": a["mrr"]},
                source=source)
    header = ["kind", "language", "n", "hit@1", "hit@5", "MRR"]
    if answerable:
        kinds = sorted({q["kind"] for q in answerable})
        langs = sorted({q["language"] for q in answerable})
        rows = [[k, lang, *_ranks(sub)] for k in [*kinds, "all"] for lang in [*langs, "all"]
                if (sub := [q for q in answerable if k in (q["kind"], "all")
                            and lang in (q["language"], "all")])]
    else:  # an older JSON: only the one-way groups
        rows = [[name.split("=")[1] if name.startswith("kind") else "all",
                 name.split("=")[1] if name.startswith("language") else "all",
                 g["n"], g["hit@1"], g["hit@5"], g["mrr"]]
                for name, g in report["groups"].items()]
        rows.append(["all", "all", a["n"], a["hit@1"], a["hit@5"], a["mrr"]])
    s.tables.append(Table(header, rows, f"Ranking of the gold article ({embedder} embedder, "
                                        "articles ranked by their best chunk)."))
    if not qs:
        s.notes.append("No per-question scores in this JSON: rerun without --reuse for "
                       "refusal precision/recall and ROC-AUC.")
        return s
    scores = [q["score"] for q in qs]
    is_answerable = [q["answerable"] for q in qs]
    auc = metrics.roc_auc(is_answerable, scores)
    auc_correct = metrics.roc_auc([q["rank"] == 1 for q in qs], scores)
    at = metrics.refusal(scores, is_answerable, threshold)
    best = report.get("best_threshold", {}).get("threshold")
    s.headline |= {"refusal_precision": at["precision"], "refusal_recall": at["recall"],
                   "roc_auc_answerable": auc}
    refusal_rows = [["configured", threshold, at["precision"], at["recall"], at["f1"],
                     f"{at['refused']}", f"{at['unanswerable']}"]]
    if best is not None and best != threshold:
        b = metrics.refusal(scores, is_answerable, best)
        refusal_rows.append(["best utility on this set", best, b["precision"], b["recall"],
                             b["f1"], f"{b['refused']}", f"{b['unanswerable']}"])
    s.tables.append(Table(["threshold", "value", "refusal precision", "refusal recall",
                           "refusal F1", "refused", "out-of-scope"], refusal_rows,
                          "The bot refuses when the top score is below the threshold. "
                          "Precision: refused questions that were out of scope; recall: "
                          "out-of-scope questions refused."))
    s.tables.append(Table(["detector", "positive class", "ROC-AUC"], [
        ["top score", "answerable (vs out of scope)", auc],
        ["top score", "top-1 article correct (vs wrong or out of scope)", auc_correct]],
        "Threshold-free: how well the top cosine separates the classes."))
    grid = np.linspace(min(scores) - 0.005, max(scores) + 0.005, 120)
    sweep = [metrics.refusal(scores, is_answerable, float(t)) for t in grid]
    correct = [sum(q["score"] >= t and q["rank"] == 1 for q in answerable) / len(answerable)
               for t in grid]
    x = [float(t) for t in grid]
    s.charts.append(Chart("kb_threshold_sweep.png", "KB: refusal threshold sweep", "lines", {
        "x_label": "threshold on the top score", "y_label": "rate",
        "vline": threshold, "vline_label": f"configured {threshold}",
        "series": {"refusal precision": {"x": x, "y": [r["precision"] for r in sweep]},
                   "refusal recall": {"x": x, "y": [r["recall"] for r in sweep]},
                   "answered correctly": {"x": x, "y": correct}}}))
    s.charts.append(Chart("kb_roc.png", "KB: top score as an answerable detector", "lines", {
        "x_label": "false positive rate", "y_label": "true positive rate", "diagonal": True,
        "series": {f"answerable (AUC {auc:.3f})": metrics.roc_points(is_answerable, scores)}
        if auc is not None else {}}))
    s.notes.append(f"{report.get('ms_per_question', 0):.1f} ms per question.")
    if report.get("refusal"):
        _refusal_rules(s, report["refusal"])
    return s


def _refusal_rules(s: Section, refusal: dict[str, Any]) -> None:
    """The answer/refuse rules compared out-of-fold (``knowledge.refusal_cv``)."""
    cv = refusal["cross_validation"]
    keys = ("answered_correctly", "answered_wrongly", "oos_refused", "refusal_precision")
    rows = []
    for rule, langs in cv["rules"].items():
        name = f"threshold {cv['configured']}" if rule == "threshold:configured" else \
            "threshold chosen in-fold" if rule == "threshold" else rule
        for lang, m in langs.items():
            rows.append([name, lang, *(f"{m[k]['mean']:.3f} ± {m[k]['std']:.3f}" for k in keys)])
    all_model = cv["rules"].get(f"logistic:{refusal['default_cutoff']}", {}).get("all")
    if all_model:
        s.headline |= {"oof_answered_wrongly": all_model["answered_wrongly"]["mean"],
                       "oof_oos_refused": all_model["oos_refused"]["mean"]}
    s.tables.append(Table(
        ["rule", "language", "answered correctly", "answered wrongly", "OOS refused",
         "refusal precision"], rows,
        f"Answer or refuse, out-of-fold ({cv['folds']}-fold grouped by article, "
        f"{cv['shuffles']} shuffles; mean ± sd). The bot uses logistic:"
        f"{refusal['default_cutoff']} (features: {', '.join(refusal['features'])}), refitted "
        "and recalibrated inside each fold here; the configured threshold row is in-sample."))


def run(ctx: Context) -> dict[str, Any]:
    from knowledge.evaluate import evaluate_embedder

    spec = ctx.settings.kb_embedder
    return {spec: evaluate_embedder(ctx.settings, spec)}


def build(ctx: Context) -> Section:
    result, source = ctx.load_or_run("kb_eval.json", lambda: run(ctx))
    spec = ctx.settings.kb_embedder if ctx.settings.kb_embedder in result else next(iter(result))
    report = result[spec]
    threshold = report.get("at_threshold", {}).get("threshold", ctx.settings.kb_threshold)
    s = kb_section(report, threshold, spec, source)
    s.provenance.append(
        "Questions written for evaluation (paraphrases, keyword queries, cross-language "
        "questions, and near-domain out-of-scope ones); the embedder is a pretrained model "
        "and nothing is trained on them.")
    best = report.get("best_threshold", {}).get("threshold")
    if best is not None and abs(best - threshold) < 0.011:
        s.provenance.append(
            f"The refusal threshold ({threshold}) was calibrated on this same set (best "
            f"utility here: {best}), so the refusal numbers at it are in-sample and "
            "optimistic; ROC-AUC does not depend on it.")
    return s
