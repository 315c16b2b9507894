"""Churn risk: will a customer who has bought before place no order in the next 90 days?

Protocol (time-based, never random):
- A snapshot at cutoff T holds features of every customer with an order at or before T,
  computed from ``history.until(T)`` only; its label is 1 (churned) when the customer places
  no non-cancelled order in (T, T + 90 days].
- Evaluation: T = as_of - 90 days is the latest cutoff whose window is complete. The models
  train on the snapshot at T1 = T - 90 days, labelled from (T1, T], built from
  ``history.until(T)``: nothing after T reaches training. They are tested on the snapshot at T.
- The decision threshold maximises F1 on out-of-fold predictions (stratified 5-fold) of the
  training snapshot; the model used for scoring is the one with the better out-of-fold
  ROC-AUC there. Neither choice looks at the test window.
- Scoring: the chosen model is refitted on the snapshot at T (labels from (T, as_of]) and
  scores every buyer's snapshot at as_of. Customers who never bought get no score.

Statuses are today's: the schema records no return or cancellation date. A status is trusted
only for orders placed at least 30 days (the return window) before the cutoff; younger orders
count as ordinary purchases. This keeps a later return from leaking into an earlier snapshot,
and training and scoring see the same rule.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from sklearn.base import ClassifierMixin
from sklearn.ensemble import HistGradientBoostingClassifier
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import (
    average_precision_score,
    f1_score,
    precision_recall_curve,
    precision_score,
    recall_score,
    roc_auc_score,
    roc_curve,
)
from sklearn.model_selection import GridSearchCV, StratifiedKFold, cross_val_predict
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import FunctionTransformer, StandardScaler
from threadpoolctl import threadpool_limits

from bot.segments.history import ShopHistory, from_days

HORIZON_DAYS = 90.0
SETTLE_DAYS = 30.0
RECENT_DAYS = 90.0
MIN_CLASS = 5  # fewer churned (or retained) customers than this: no model
FEATURES = ("recency_days", "frequency", "monetary_cents", "orders_last_90d", "tenure_days",
            "days_since_first_order", "avg_order_value_cents", "interval_mean_days",
            "interval_std_days", "overdue_ratio", "tickets", "returns", "cancellations",
            "categories", "tier")


def _logistic(seed: int) -> ClassifierMixin:
    # log1p: every feature is a non-negative count, amount or duration with a long tail. The
    # regularisation strength is chosen by inner cross-validation on the training window.
    pipeline = make_pipeline(FunctionTransformer(np.log1p), StandardScaler(),
                             LogisticRegression(max_iter=2000, random_state=seed))
    return GridSearchCV(pipeline, {"logisticregression__C": np.logspace(-3, 1, 5)},
                        scoring="roc_auc", cv=5)


def _boosting(seed: int) -> ClassifierMixin:
    # Shallow, slow-learning and with big leaves: a training snapshot holds only about a
    # thousand customers. Settings chosen on out-of-fold AUC of the demo's training window
    # (depth 3 / 150 rounds / leaves of 20 overfitted: 0.626 against 0.648).
    return HistGradientBoostingClassifier(max_depth=2, learning_rate=0.03, max_iter=100,
                                          min_samples_leaf=40, random_state=seed)


MODELS: dict[str, Callable[[int], ClassifierMixin]] = {
    "logistic_regression": _logistic,
    "gradient_boosting": _boosting,
}


@dataclass(frozen=True)
class Snapshot:
    cutoff: float  # days since the epoch
    rows: np.ndarray  # customer indices into the history
    x: np.ndarray  # (rows, FEATURES)

    def feature(self, name: str) -> np.ndarray:
        return self.x[:, FEATURES.index(name)]


def features_at(history: ShopHistory, cutoff: float) -> Snapshot:
    """Features of every customer with an order at or before ``cutoff``, from what was known
    then (see the module docstring for the status rule)."""
    h = history.until(cutoff)
    n, who, t = h.n_customers, h.order_customer, h.order_time
    settled = t <= cutoff - SETTLE_DAYS
    cancelled = settled & (h.order_status == "cancelled")
    returned = settled & (h.order_status == "returned")
    bought = ~cancelled

    def per_customer(mask: np.ndarray, weights: np.ndarray | None = None) -> np.ndarray:
        w = None if weights is None else weights[mask]
        return np.bincount(who[mask], weights=w, minlength=n).astype(float)

    frequency = per_customer(bought)
    spent = per_customer(bought, h.order_total)
    first = np.full(n, np.inf)
    last = np.full(n, -np.inf)
    np.minimum.at(first, who[bought], t[bought])
    np.maximum.at(last, who[bought], t[bought])

    # Gaps between a customer's consecutive orders.
    idx = np.flatnonzero(bought)
    idx = idx[np.lexsort((t[idx], who[idx]))]
    same = who[idx][1:] == who[idx][:-1]
    gaps, gap_who = np.diff(t[idx])[same], who[idx][1:][same]
    gap_n = np.bincount(gap_who, minlength=n)
    gap_sum = np.bincount(gap_who, weights=gaps, minlength=n)
    gap_sq = np.bincount(gap_who, weights=gaps ** 2, minlength=n)

    rows = np.flatnonzero((frequency > 0) & (h.customer_created <= cutoff))
    f, g = frequency[rows], gap_n[rows]
    recency = cutoff - last[rows]
    since_first = cutoff - first[rows]
    # One order only: the time waited so far without a repeat stands in for the interval.
    mean_gap = np.where(g > 0, gap_sum[rows] / np.maximum(g, 1), since_first)
    var_gap = np.where(g > 1, gap_sq[rows] / np.maximum(g, 1) - mean_gap ** 2, 0.0)

    item_bought = bought[h.item_order]
    pairs = np.unique(np.column_stack([who[h.item_order][item_bought],
                                       h.item_category[item_bought]]), axis=0)
    categories = np.bincount(pairs[:, 0], minlength=n) if len(pairs) else np.zeros(n)

    columns = {
        "recency_days": recency,
        "frequency": f,
        "monetary_cents": per_customer(bought & ~returned, h.order_total)[rows],
        "orders_last_90d": per_customer(bought & (t > cutoff - RECENT_DAYS))[rows],
        "tenure_days": np.maximum(cutoff - h.customer_created[rows], 0.0),
        "days_since_first_order": since_first,
        "avg_order_value_cents": spent[rows] / f,
        "interval_mean_days": mean_gap,
        "interval_std_days": np.sqrt(np.maximum(var_gap, 0.0)),
        "overdue_ratio": recency / np.maximum(mean_gap, 1.0),
        "tickets": np.bincount(h.ticket_customer, minlength=n)[rows].astype(float),
        "returns": per_customer(returned)[rows],
        "cancellations": per_customer(cancelled)[rows],
        "categories": categories[rows].astype(float),
        "tier": h.customer_tier[rows].astype(float),
    }
    return Snapshot(cutoff, rows, np.column_stack([columns[name] for name in FEATURES]))


def labels_after(history: ShopHistory, snapshot: Snapshot,
                 horizon: float = HORIZON_DAYS) -> np.ndarray:
    """1 where the customer places no non-cancelled order in (cutoff, cutoff + horizon]."""
    t = history.order_time
    window = (t > snapshot.cutoff) & (t <= snapshot.cutoff + horizon) \
        & (history.order_status != "cancelled")
    again = np.zeros(history.n_customers, dtype=bool)
    again[history.order_customer[window]] = True
    return (~again[snapshot.rows]).astype(int)


@dataclass(frozen=True)
class Window:
    """A labelled snapshot: features at ``snapshot.cutoff``, labels from the horizon after."""

    snapshot: Snapshot
    y: np.ndarray

    @property
    def base_rate(self) -> float:
        return float(self.y.mean()) if len(self.y) else float("nan")

    def trainable(self) -> bool:
        return len(self.y) > 0 and min(int(self.y.sum()), int((1 - self.y).sum())) >= MIN_CLASS


def window(history: ShopHistory, cutoff: float, horizon: float = HORIZON_DAYS) -> Window:
    """Built from ``history.until(cutoff + horizon)``: nothing later can reach it."""
    known = history.until(cutoff + horizon)
    snap = features_at(known, cutoff)
    return Window(snap, labels_after(known, snap, horizon))


def out_of_fold(model: ClassifierMixin, w: Window, seed: int) -> np.ndarray:
    folds = StratifiedKFold(n_splits=5, shuffle=True, random_state=seed)
    return cross_val_predict(model, w.snapshot.x, w.y, cv=folds, method="predict_proba")[:, 1]


def best_f1_threshold(y: np.ndarray, p: np.ndarray) -> float:
    precision, recall, thresholds = precision_recall_curve(y, p)
    f1 = 2 * precision * recall / np.maximum(precision + recall, 1e-12)
    return float(thresholds[int(np.argmax(f1[:-1]))])


def _metrics(y: np.ndarray, p: np.ndarray, threshold: float) -> dict[str, float]:
    pred = (p >= threshold).astype(int)
    return {"roc_auc": float(roc_auc_score(y, p)),
            "average_precision": float(average_precision_score(y, p)),
            "precision": float(precision_score(y, pred, zero_division=0)),
            "recall": float(recall_score(y, pred, zero_division=0)),
            "f1": float(f1_score(y, pred, zero_division=0)),
            "flagged_rate": float(pred.mean())}


@dataclass
class ChurnReport:
    status: str  # "ok", or why no model was fitted
    as_of: float
    horizon_days: float = HORIZON_DAYS
    train_cutoff: float | None = None
    test_cutoff: float | None = None
    n_train: int = 0
    n_test: int = 0
    base_rate_train: float | None = None
    base_rate_test: float | None = None
    chosen: str | None = None
    models: dict[str, dict[str, Any]] = field(default_factory=dict)
    baselines: dict[str, float] = field(default_factory=dict)  # single-feature test AUCs
    roc: dict[str, tuple[np.ndarray, np.ndarray]] = field(default_factory=dict)
    scoring_threshold: float | None = None
    n_scored: int = 0

    def to_dict(self) -> dict[str, Any]:
        def day(d: float | None) -> str | None:
            return None if d is None else from_days(d).isoformat()

        return {"status": self.status, "as_of": day(self.as_of),
                "horizon_days": self.horizon_days, "train_cutoff": day(self.train_cutoff),
                "test_cutoff": day(self.test_cutoff), "n_train": self.n_train,
                "n_test": self.n_test, "base_rate_train": self.base_rate_train,
                "base_rate_test": self.base_rate_test, "chosen_model": self.chosen,
                "models": self.models, "baselines": self.baselines,
                "scoring_threshold": self.scoring_threshold, "n_scored": self.n_scored,
                "features": list(FEATURES)}


def _fit_with_threshold(name: str, w: Window, seed: int) -> tuple[ClassifierMixin, float, float]:
    """Fitted model, its F1-best threshold and ROC-AUC, both from out-of-fold predictions."""
    oof = out_of_fold(MODELS[name](seed), w, seed)
    model = MODELS[name](seed).fit(w.snapshot.x, w.y)
    return model, best_f1_threshold(w.y, oof), float(roc_auc_score(w.y, oof))


def fit_churn(history: ShopHistory, as_of: float,
              seed: int = 0) -> tuple[ChurnReport, dict[int, float]]:
    """Evaluate both models on the time split, then score every buyer as of ``as_of`` with
    the one chosen on the training window. Returns the report and customer id -> risk."""
    history = history.until(as_of)
    report = ChurnReport(status="ok", as_of=as_of)
    test_cutoff = as_of - HORIZON_DAYS
    train_cutoff = test_cutoff - HORIZON_DAYS
    report.train_cutoff, report.test_cutoff = train_cutoff, test_cutoff
    train = window(history, train_cutoff)
    test = window(history, test_cutoff)
    report.n_train, report.n_test = len(train.y), len(test.y)
    report.base_rate_train, report.base_rate_test = train.base_rate, test.base_rate
    if not (train.trainable() and test.trainable()):
        report.status = (f"too little history: need {MIN_CLASS}+ churned and retained buyers "
                         f"in both windows")
        return report, {}

    with threadpool_limits(1):  # small data: threads only add overhead (see kmeans.py)
        for name in MODELS:
            model, threshold, cv_auc = _fit_with_threshold(name, train, seed)
            p = model.predict_proba(test.snapshot.x)[:, 1]
            report.models[name] = {"train_oof_roc_auc": cv_auc, "threshold": threshold,
                                   "test": _metrics(test.y, p, threshold)}
            fpr, tpr, _ = roc_curve(test.y, p)
            report.roc[name] = (fpr, tpr)
        for feature, sign in (("recency_days", 1.0), ("frequency", -1.0)):
            score = sign * test.snapshot.feature(feature)
            report.baselines[feature] = float(roc_auc_score(test.y, score))
            fpr, tpr, _ = roc_curve(test.y, score)
            report.roc[f"{feature} only"] = (fpr, tpr)
        report.chosen = max(MODELS, key=lambda m: report.models[m]["train_oof_roc_auc"])

        final, threshold, _ = _fit_with_threshold(report.chosen, test, seed)
        now = features_at(history, as_of)
        risk = final.predict_proba(now.x)[:, 1] if len(now.rows) else np.zeros(0)
    report.scoring_threshold, report.n_scored = threshold, len(now.rows)
    ids = history.customer_ids[now.rows]
    return report, {int(c): float(r) for c, r in zip(ids, risk, strict=True)}
