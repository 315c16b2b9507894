"""Out-of-fold comparison of answer/refuse rules on a question set.

Folds are grouped by gold article (an article's questions never sit on both sides; each
out-of-scope question is its own group) and repeated with several shuffles. Within each fold the
training part alone chooses everything: the single threshold, the model's coefficients, its
feature set when there are several candidates (by inner grouped cross-validation), and its
cutoff. The reported numbers are those of the held-out parts only.

Cutoffs: ``utility`` maximises correct answers + refused out-of-scope − wrong answers (the
objective ``knowledge.evaluate`` calibrates the threshold with); ``same-coverage`` keeps at
least as many correct answers (on the training part) as the configured threshold, the rule the
bot ran before, and otherwise maximises that utility: it trades only wrong answers for
refusals. Rows: ``threshold`` (chosen in each fold), ``threshold:configured`` (fixed, as
configured; chosen on all these questions, so optimistic), and the model at each cutoff.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import roc_auc_score
from sklearn.model_selection import GroupKFold

from knowledge.refusal import Evidence, LogisticModel, ranked
from knowledge.retriever import Retriever

CUTOFFS = ("same-coverage", "utility")


@dataclass(frozen=True)
class Case:
    """One question of the set, as the retriever saw it."""

    language: str
    answerable: bool
    correct: bool  # the best article is the gold one
    group: str
    features: dict[str, float]


def collect(retriever: Retriever, evidence: Evidence,
            questions: list[dict[str, str]]) -> tuple[list[Case], dict[str, float]]:
    """Cases, and the milliseconds per question of retrieval and of the second opinion."""
    retriever.warm_up()
    evidence.warm_up(retriever.store.load_current())
    cases, t_search, t_evidence = [], 0.0, 0.0
    for i, q in enumerate(questions):
        t0 = time.perf_counter()
        hits = retriever.search(q["question"], 20)
        t1 = time.perf_counter()
        kb = retriever._kb  # the version search() just used
        assert kb is not None and hits, "evaluation needs a non-empty index"
        features = evidence.features(q["question"], q["language"], hits, kb)
        t_evidence += time.perf_counter() - t1
        t_search += t1 - t0
        gold = q.get("article_id") or ""
        cases.append(Case(q["language"], bool(gold), ranked(hits)[0][0] == gold,
                          gold or f"oos-{i}", features))
    n = max(1, len(questions))
    return cases, {"retrieval": 1000 * t_search / n, "second_opinion": 1000 * t_evidence / n}


def _arrays(cases: Sequence[Case]) -> tuple[np.ndarray, np.ndarray]:
    return (np.array([c.correct for c in cases]), np.array([c.answerable for c in cases]))


def matrix(cases: Sequence[Case], features: Sequence[str]) -> np.ndarray:
    return np.array([[c.features[f] for f in features] for c in cases], dtype=np.float64)


def fit_logistic(x: np.ndarray, y: np.ndarray, features: Sequence[str]) -> LogisticModel:
    mean, scale = x.mean(axis=0), x.std(axis=0)
    scale = np.where(scale > 0, scale, 1.0)
    lr = LogisticRegression(C=1.0, max_iter=1000).fit((x - mean) / scale, y)
    return LogisticModel(tuple(features), tuple(mean.tolist()), tuple(scale.tolist()),
                         tuple(lr.coef_[0].tolist()), float(lr.intercept_[0]))


def _probabilities(model: LogisticModel, cases: Sequence[Case]) -> np.ndarray:
    return np.array([model.probability(c.features) for c in cases])


def _utility(answered: np.ndarray, correct: np.ndarray, answerable: np.ndarray) -> int:
    return int(np.sum(answered & correct) + np.sum(~answered & ~answerable)
               - np.sum(answered & answerable & ~correct))


def _candidates(scores: np.ndarray) -> np.ndarray:
    """Cutoffs halfway between neighbouring scores (and past both ends)."""
    s = np.unique(scores)
    return np.concatenate([[s[0] - 1e-6], (s[:-1] + s[1:]) / 2, [s[-1] + 1e-6]])


def correct_rate(scores: np.ndarray, cutoff: float, correct: np.ndarray,
                 answerable: np.ndarray) -> float:
    return float(np.sum((scores >= cutoff) & correct) / max(1, answerable.sum()))


def choose_cutoff(scores: np.ndarray, correct: np.ndarray, answerable: np.ndarray,
                  min_correct_rate: float = 0.0) -> float:
    """The utility-best cutoff among those answering at least ``min_correct_rate`` of the
    answerable questions correctly (ties: the lowest, answering more)."""
    best, best_u = float(_candidates(scores)[0]), None
    for t in _candidates(scores):
        if correct_rate(scores, t, correct, answerable) < min_correct_rate - 1e-12:
            break  # higher cutoffs answer even fewer
        u = _utility(scores >= t, correct, answerable)
        if best_u is None or u > best_u:
            best, best_u = float(t), u
    return best


def select_features(cases: Sequence[Case], candidates: Sequence[Sequence[str]],
                    seed: int) -> tuple[str, ...]:
    """The candidate feature set with the best grouped-CV ROC-AUC (right article vs not)."""
    if len(candidates) == 1:
        return tuple(candidates[0])
    correct, _ = _arrays(cases)
    groups = np.array([c.group for c in cases])
    best, best_auc = tuple(candidates[0]), -1.0
    for features in candidates:
        x, p = matrix(cases, features), np.zeros(len(cases))
        for tr, te in GroupKFold(5, shuffle=True, random_state=seed).split(x, correct, groups):
            p[te] = _probabilities(fit_logistic(x[tr], correct[tr], features),
                                   [cases[i] for i in te])
        auc = float(roc_auc_score(correct, p))
        if auc > best_auc:
            best, best_auc = tuple(features), auc
    return best


@dataclass(frozen=True)
class Fitted:
    """Everything one training set chooses."""

    threshold: float
    model: LogisticModel
    cutoffs: dict[str, float]


def fit_rules(cases: Sequence[Case], candidates: Sequence[Sequence[str]], configured: float,
              seed: int = 0) -> Fitted:
    """Threshold, model and cutoffs from ``cases``; ``configured``: the threshold whose
    correct answers the ``same-coverage`` cutoff keeps."""
    correct, answerable = _arrays(cases)
    top = matrix(cases, ["top_score"])[:, 0]
    threshold = choose_cutoff(top, correct, answerable)
    features = select_features(cases, candidates, seed)
    model = fit_logistic(matrix(cases, features), correct, features)
    p = _probabilities(model, cases)
    coverage = correct_rate(top, configured, correct, answerable)
    return Fitted(threshold, model, {
        "same-coverage": choose_cutoff(p, correct, answerable, coverage),
        "utility": choose_cutoff(p, correct, answerable)})


def outcome(answered: np.ndarray, cases: Sequence[Case]) -> dict[str, float]:
    correct, answerable = _arrays(cases)
    refused = ~answered
    n_ans, n_oos = max(1, int(answerable.sum())), max(1, int((~answerable).sum()))
    n_refused = max(1, int(refused.sum()))
    return {"answered_correctly": float(np.sum(answered & correct) / n_ans),
            "answered_wrongly": float(np.sum(answered & answerable & ~correct) / n_ans),
            "oos_refused": float(np.sum(refused & ~answerable) / n_oos),
            "refusal_precision": float(np.sum(refused & ~answerable) / n_refused),
            # a refusal also helps when the best article was the wrong one
            "refusal_useful": float(np.sum(refused & ~(answerable & correct)) / n_refused)}


def _by_language(answered: np.ndarray, cases: Sequence[Case]) -> dict[str, dict[str, float]]:
    out = {"all": outcome(answered, cases)}
    for lang in sorted({c.language for c in cases}):
        idx = [i for i, c in enumerate(cases) if c.language == lang]
        out[lang] = outcome(answered[idx], [cases[i] for i in idx])
    return out


def cross_validate(cases: Sequence[Case], candidates: Sequence[Sequence[str]],
                   configured: float, seeds: Sequence[int] = range(5),
                   folds: int = 5) -> dict[str, Any]:
    """Out-of-fold outcomes of the thresholds and of the model at each cutoff: the mean and
    standard deviation over the shuffles, per language and overall."""
    correct, _ = _arrays(cases)
    groups = np.array([c.group for c in cases])
    rules = ("threshold", "threshold:configured", *(f"logistic:{c}" for c in CUTOFFS))
    runs: dict[str, list[dict[str, dict[str, float]]]] = {r: [] for r in rules}
    chosen: list[str] = []
    for seed in seeds:
        answered = {r: np.zeros(len(cases), bool) for r in rules}
        for tr, te in GroupKFold(folds, shuffle=True, random_state=seed).split(
                np.zeros(len(cases)), correct, groups):
            train, test = [cases[i] for i in tr], [cases[i] for i in te]
            fitted = fit_rules(train, candidates, configured, seed + 1000)
            chosen.append("+".join(fitted.model.features))
            top = matrix(test, ["top_score"])[:, 0]
            answered["threshold"][te] = top >= fitted.threshold
            answered["threshold:configured"][te] = top >= configured
            p = _probabilities(fitted.model, test)
            for c in CUTOFFS:
                answered[f"logistic:{c}"][te] = p >= fitted.cutoffs[c]
        for r in rules:
            runs[r].append(_by_language(answered[r], cases))
    summary: dict[str, Any] = {}
    for r, per_seed in runs.items():
        summary[r] = {lang: {m: {"mean": float(np.mean([s[lang][m] for s in per_seed])),
                                 "std": float(np.std([s[lang][m] for s in per_seed]))}
                             for m in per_seed[0][lang]} for lang in per_seed[0]}
    return {"folds": folds, "shuffles": len(seeds), "n": len(cases), "configured": configured,
            "features_chosen": {f: chosen.count(f) for f in sorted(set(chosen))},
            "rules": summary}


def format_table(cv: dict[str, Any], ms: dict[str, float] | None = None,
                 out: Callable[[str], None] = print) -> None:
    metrics = ("answered_correctly", "answered_wrongly", "oos_refused", "refusal_precision",
               "refusal_useful")
    out(f"out-of-fold ({cv['folds']}-fold grouped by article, {cv['shuffles']} shuffles; "
        "mean ± sd): correct / wrong / OOS refused / refusal precision / useful refusals")
    for rule, langs in cv["rules"].items():
        cost = ""
        if ms is not None:
            cost = f"  +{ms['second_opinion']:.1f} ms" if rule.startswith("logistic") else \
                "  +0 ms"
        for lang, m in langs.items():
            cells = " ".join(f"{m[k]['mean']:.3f}±{m[k]['std']:.3f}" for k in metrics)
            name = f"threshold={cv['configured']}" if rule == "threshold:configured" else rule
            out(f"    {name:<24} {lang:<4} {cells}{cost if lang == 'all' else ''}")
