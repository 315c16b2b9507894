"""Escalation: precision / recall / F1 of "should hand over" on labelled conversations, and
the ROC-AUC of the peak negative-sentiment probability, the policy's one continuous input."""

from __future__ import annotations

from typing import Any

from bot.evaluation import metrics, provenance
from bot.evaluation.context import Context
from bot.evaluation.types import Chart, Section, Table

TITLE = "Escalation policy"


def escalation_section(result: dict[str, Any], source: str = "") -> Section:
    groups = {k.removeprefix("language="): v for k, v in result.items()
              if k == "all" or k.startswith("language=")}
    a = result["all"]
    s = Section("escalation", TITLE, dataset="tests/data/escalation_conversations.jsonl",
                size=f"{a['n']} conversations", source=source,
                headline={"precision": a["precision"], "recall": a["recall"], "f1": a["f1"]})
    convs: list[dict[str, Any]] = result.get("conversations") or []
    aucs: dict[str, float | None] = {}
    for lang in groups:
        sub = [c for c in convs if lang in ("all", c["language"])]
        aucs[lang] = metrics.roc_auc([c["should_escalate"] for c in sub],
                                     [c["peak_negative"] for c in sub]) if sub else None
    s.tables.append(Table(
        ["language", "n", "precision", "recall", "F1", "TP", "FP", "FN",
         "ROC-AUC peak P(negative)"],
        [[lang, g["n"], g["precision"], g["recall"], g["f1"], g["tp"], g["fp"], g["fn"],
          aucs.get(lang)] for lang, g in groups.items()],
        "A conversation counts as escalated when the policy hands it over at any turn."))
    s.tables.append(Table(["reason", "recall"],
                          [[r, v] for r, v in result.get("recall_by_reason", {}).items()],
                          "Recall per labelled reason."))
    s.charts.append(Chart("escalation_prf.png", "Escalation: precision / recall / F1", "bars", {
        "categories": list(groups), "y_label": "score",
        "series": {m: [g[m] for g in groups.values()] for m in ("precision", "recall", "f1")}}))
    if convs:
        s.headline["roc_auc_peak_negative"] = aucs.get("all")
        y = [c["should_escalate"] for c in convs]
        scores = [c["peak_negative"] for c in convs]
        s.charts.append(Chart("escalation_roc.png", "Escalation: peak P(negative) as a score",
                              "lines", {"x_label": "false positive rate",
                                        "y_label": "true positive rate", "diagonal": True,
                                        "series": {f"all (AUC {aucs['all']:.3f})":
                                                   metrics.roc_points(y, scores)}}))
        s.notes.append("The policy is a set of rules (explicit request, one strongly negative "
                       "turn, a negative trend, repeated misunderstandings, VIP tier), not a "
                       "scored classifier; the ROC-AUC scores only its sentiment input, the "
                       "highest P(negative) over the customer's turns.")
    if result.get("false_alarms") or result.get("missed"):
        s.notes.append(f"False alarms: {', '.join(result.get('false_alarms', []))}. "
                       f"Missed: {', '.join(result.get('missed', []))}.")
    if result.get("mode", "offline") == "offline":
        s.notes.append("Offline mode: sentiment model + policy on the raw turns, without NLU "
                       "(a request worded as the request_human intent only counts when the "
                       "wording rules catch it).")
    return s


def provenance_lines() -> list[str]:
    from bot.evaluation.escalation import load
    from bot.sentiment import data

    turns = [t for c in load() for t in c["turns"]]
    shared = provenance.overlap(turns, [e.text for e in data.training_set()])
    return [f"Conversations written for this evaluation, labelled with whether and why a "
            f"person should take over; {len(shared)} of {len(turns)} turns also occur in the "
            "sentiment training set.",
            "Nothing is trained on them, but the policy's hand-set thresholds (e.g. P(negative) "
            ">= 0.95 for one strongly negative turn) were chosen while looking at these "
            "results: read them as development-set numbers, not a blind test."]


def run(ctx: Context) -> dict[str, Any]:
    from bot.evaluation.escalation import evaluate

    return evaluate(ctx.sentiment_model())


def build(ctx: Context) -> Section:
    result, source = ctx.load_or_run("escalation.json", lambda: run(ctx))
    s = escalation_section(result, source)
    s.provenance = provenance_lines()
    return s
