"""The answer/refuse rule: its features on a real index, the shipped model, and the grouped
cross-validation that chose it."""

from __future__ import annotations

import json
import zlib

import numpy as np
import pytest
from sklearn.linear_model import LogisticRegression

from knowledge.articles import Article
from knowledge.refusal import (
    FEATURES,
    MODEL_PATH,
    Evidence,
    LogisticModel,
    LogisticRule,
    make_rule,
)
from knowledge.refusal_cv import Case, choose_cutoff, correct_rate, cross_validate, fit_logistic
from knowledge.retriever import IndexStore, Retriever


@pytest.fixture
def retriever(small_store: IndexStore, use) -> Retriever:
    r = Retriever(small_store, use, threshold=0.0)
    r.warm_up()
    return r


def features(r: Retriever, evidence: Evidence, q: str, lang: str) -> dict[str, float]:
    hits = r.search(q)
    assert r._kb is not None
    return evidence.features(q, lang, hits, r._kb)


def test_features_tell_an_in_scope_question_from_an_unrelated_one(retriever, use) -> None:
    evidence = Evidence(use)
    good = features(retriever, evidence, "which payment methods do you accept", "en")
    bad = features(retriever, evidence, "how tall is the eiffel tower", "en")
    assert set(good) == set(FEATURES)
    assert good["use_agrees"] == 1.0 and good["zh"] == 0.0
    assert good["title_overlap"] > bad["title_overlap"]
    assert good["use_at_top"] > bad["use_at_top"]
    assert good["margin"] >= 0 and good["use_top"] >= good["use_at_top"]
    assert features(retriever, evidence, "发票怎么开", "zh")["zh"] == 1.0


def test_a_rule_refuses_through_the_retriever(retriever, use) -> None:
    # One feature, a hand-set weight: answer only when the best article leads by 0.1 or more.
    model = LogisticModel(("margin",), (0.0,), (1.0,), (40.0,), -4.0)
    retriever.rule = LogisticRule(model, 0.5, Evidence(use))
    answer, score = retriever.answer("can I pay with alipay? which payment methods", "en")
    assert answer is not None and answer.slug == "payment-methods"
    refused, score = retriever.answer("how tall is the eiffel tower", "en")
    assert refused is None and score > 0  # the threshold (0.0) alone would have answered
    retriever.rule = None
    assert retriever.answer("how tall is the eiffel tower", "en")[0] is not None


class CountingEmbedder:
    """Deterministic vectors from the text's hash; counts what it embeds."""

    name, dim = "counting", 8

    def __init__(self) -> None:
        self.embedded: list[str] = []

    def warm_up(self) -> None:
        pass

    def _vec(self, texts: list[str]) -> np.ndarray:
        self.embedded += texts
        v = np.array([np.random.default_rng(zlib.crc32(t.encode())).normal(size=self.dim)
                      for t in texts], np.float32).reshape(-1, self.dim)
        return v / np.linalg.norm(v, axis=1, keepdims=True)

    embed_queries = embed_passages = _vec


def test_a_new_index_version_re_embeds_only_changed_chunks(retriever, use) -> None:
    counting = CountingEmbedder()
    evidence = Evidence(counting)
    kb = retriever.store.load_current()
    evidence.warm_up(kb)
    first = len(counting.embedded)
    assert first == len(kb.chunks)
    kb.upsert(Article("drone-delivery", "en", "Drone delivery", "We deliver by drone.",
                      ["drone"], ["all"]), use)
    retriever.store.publish(kb)
    evidence.warm_up(retriever.store.load_current())
    new = counting.embedded[first:]
    assert new and all("Drone" in t or "drone" in t for t in new)


def test_logistic_model_matches_scikit_learn_and_round_trips() -> None:
    rng = np.random.default_rng(3)
    x = rng.normal(size=(200, 3)) * [1.0, 5.0, 0.1] + [0.8, 0.0, 2.0]
    y = (x[:, 0] + x[:, 1] / 5 + rng.normal(scale=0.5, size=200)) > 0.8
    names = ("top_score", "margin", "use_at_top")
    model = fit_logistic(x, y, names)
    lr = LogisticRegression(max_iter=1000).fit((x - x.mean(0)) / x.std(0), y)
    expected = lr.predict_proba((x - x.mean(0)) / x.std(0))[:, 1]
    got = [model.probability(dict(zip(names, row, strict=True))) for row in x]
    assert np.allclose(got, expected, atol=1e-6)
    assert LogisticModel.from_json(json.loads(json.dumps(model.to_json()))) == model
    with pytest.raises(ValueError, match="unknown features"):
        LogisticModel.from_json({**model.to_json(), "features": ["shoe_size", "margin",
                                                                 "use_at_top"]})


def test_cutoff_is_the_best_utility_and_respects_a_coverage_floor() -> None:
    rng = np.random.default_rng(5)
    scores = rng.uniform(size=120)
    answerable = rng.uniform(size=120) < 0.8
    correct = answerable & (rng.uniform(size=120) < scores)

    def utility(t: float) -> int:
        a = scores >= t
        wrong = np.sum(a & answerable & ~correct)
        return int(np.sum(a & correct) + np.sum(~a & ~answerable) - wrong)

    grid = np.concatenate([[0.0], np.sort(scores) + 1e-9, [1.1]])
    best = choose_cutoff(scores, correct, answerable)
    assert utility(best) == max(utility(t) for t in grid)
    floor = correct_rate(scores, 0.0, correct, answerable) - 0.05
    constrained = choose_cutoff(scores, correct, answerable, floor)
    assert correct_rate(scores, constrained, correct, answerable) >= floor
    assert utility(constrained) == max(utility(t) for t in grid
                                       if correct_rate(scores, t, correct, answerable) >= floor)


def synthetic_cases(seed: int) -> list[Case]:
    """A weak top score, and a margin that knows whether the best article is right."""
    rng = np.random.default_rng(seed)
    cases = []
    for i in range(300):
        group = f"article-{i // 6}" if i < 250 else f"oos-{i}"
        answerable = i < 250
        correct = answerable and rng.uniform() < 0.7
        top = rng.normal(0.86 if answerable else 0.84, 0.02)
        margin = rng.normal(0.03 if correct else 0.0, 0.01)
        cases.append(Case("en" if i % 2 else "zh", answerable, correct, group,
                          {"top_score": top, "margin": margin}))
    return cases


def test_cross_validation_finds_the_better_signal_out_of_fold() -> None:
    cv = cross_validate(synthetic_cases(0), [("top_score",), ("top_score", "margin")], 0.85,
                        [0, 1])
    rules = cv["rules"]
    assert set(rules) == {"threshold", "threshold:configured", "logistic:same-coverage",
                          "logistic:utility"}
    assert set(rules["threshold"]) == {"all", "en", "zh"}
    assert cv["features_chosen"] == {"top_score+margin": 10}  # 5 folds x 2 shuffles
    wrong = {r: m["all"]["answered_wrongly"]["mean"] for r, m in rules.items()}
    assert wrong["logistic:utility"] < wrong["threshold"] / 2
    assert wrong["logistic:same-coverage"] < wrong["threshold:configured"]
    correct = {r: m["all"]["answered_correctly"]["mean"] for r, m in rules.items()}
    assert correct["logistic:same-coverage"] >= correct["threshold:configured"] - 0.02


def test_shipped_model_loads_for_its_embedder_only() -> None:
    shipped = json.loads(MODEL_PATH.read_text(encoding="utf-8"))
    rule = make_rule("logistic", shipped["embedder"])
    assert isinstance(rule, LogisticRule)
    assert rule.cutoff == shipped["cutoffs"][shipped["default_cutoff"]]
    assert set(rule.model.features) <= set(FEATURES)
    assert make_rule("logistic", "use") is None  # fitted on e5 scores: the threshold decides
    assert make_rule("threshold", shipped["embedder"]) is None
    with pytest.raises(ValueError, match="no cutoff"):
        make_rule("logistic:reckless", shipped["embedder"])
    with pytest.raises(ValueError, match="unknown KB refusal rule"):
        make_rule("coin-flip", shipped["embedder"])


def test_shipped_model_beat_the_threshold_out_of_fold() -> None:
    """The ship criterion, as recorded by the script that fitted the model."""
    shipped = json.loads(MODEL_PATH.read_text(encoding="utf-8"))
    rules = shipped["cross_validation"]["rules"]
    base = rules["threshold"]["all"]
    ours = rules[f"logistic:{shipped['default_cutoff']}"]["all"]
    assert ours["answered_wrongly"]["mean"] < base["answered_wrongly"]["mean"]
    assert ours["answered_correctly"]["mean"] >= base["answered_correctly"]["mean"] - 0.01
