"""Metric helpers shared by the report sections (thin wrappers over ``sklearn.metrics`` that
return plain floats and ``None`` where a metric is undefined)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sklearn.metrics import (
    confusion_matrix,
    precision_recall_fscore_support,
    roc_auc_score,
    roc_curve,
)


def roc_auc(positive: Sequence[bool], scores: Sequence[float]) -> float | None:
    """Area under the ROC curve of ``scores`` as a detector of ``positive``; ``None`` when
    only one class is present (the area is undefined)."""
    if len(set(positive)) < 2:
        return None
    return float(roc_auc_score([int(p) for p in positive], list(scores)))


def roc_points(positive: Sequence[bool], scores: Sequence[float]) -> dict[str, list[float]]:
    fpr, tpr, _ = roc_curve([int(p) for p in positive], list(scores))
    return {"x": [float(v) for v in fpr], "y": [float(v) for v in tpr]}


def one_vs_rest_auc(gold: Sequence[str], probs: Sequence[Sequence[float]],
                    labels: Sequence[str]) -> dict[str, float | None]:
    """Per-label ROC-AUC of that label's probability against all other gold labels, for the
    labels present in ``gold``, and their unweighted mean under ``macro``."""
    out: dict[str, float | None] = {}
    for i, lab in enumerate(labels):
        if lab in gold:
            out[lab] = roc_auc([g == lab for g in gold], [p[i] for p in probs])
    defined = [v for v in out.values() if v is not None]
    out["macro"] = sum(defined) / len(defined) if defined else None
    return out


def classification(gold: Sequence[str], pred: Sequence[str]) -> dict[str, Any]:
    """Accuracy, macro-F1 over the gold labels (a label never true but predicted still costs
    precision elsewhere), and per-label precision / recall / F1 / support."""
    labels = sorted(set(gold))
    if not labels:
        return {"n": 0, "accuracy": 0.0, "macro_f1": 0.0, "per_label": {}}
    p, r, f, s = precision_recall_fscore_support(gold, pred, labels=labels, zero_division=0)
    per = {lab: {"precision": float(p[i]), "recall": float(r[i]), "f1": float(f[i]),
                 "support": int(s[i])} for i, lab in enumerate(labels)}
    accuracy = sum(g == q for g, q in zip(gold, pred, strict=True)) / len(gold)
    return {"n": len(gold), "accuracy": accuracy, "macro_f1": float(f.mean()),
            "per_label": per}


def confusion(gold: Sequence[str], pred: Sequence[str]) -> dict[str, Any]:
    """Confusion matrix over every label seen on either side (rows true, columns predicted)."""
    labels = sorted(set(gold) | set(pred))
    matrix = confusion_matrix(gold, pred, labels=labels)
    return {"labels": labels, "matrix": matrix.tolist()}


def precision_recall(tp: int, fp: int, fn: int) -> dict[str, float]:
    p = tp / (tp + fp) if tp + fp else 0.0
    r = tp / (tp + fn) if tp + fn else 0.0
    return {"precision": p, "recall": r, "f1": 2 * p * r / (p + r) if p + r else 0.0}


def refusal(scores: Sequence[float], answerable: Sequence[bool],
            threshold: float) -> dict[str, float]:
    """Refusing below ``threshold`` as a detector of unanswerable questions: precision is the
    share of refusals that were unanswerable, recall the share of unanswerable ones refused."""
    refused = [s < threshold for s in scores]
    tp = sum(r and not a for r, a in zip(refused, answerable, strict=True))
    fp = sum(r and a for r, a in zip(refused, answerable, strict=True))
    fn = sum(not r and not a for r, a in zip(refused, answerable, strict=True))
    return {"threshold": threshold, **precision_recall(tp, fp, fn),
            "refused": tp + fp, "unanswerable": tp + fn}
