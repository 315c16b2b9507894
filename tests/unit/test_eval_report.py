"""The evaluation report builder and its metric helpers, on fake section results (no model
is loaded and no evaluation runs)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from bot.evaluation import metrics
from bot.evaluation.report import markdown_table, select, write_report
from bot.evaluation.sections.escalation import escalation_section
from bot.evaluation.sections.external import optional_module
from bot.evaluation.sections.kb import kb_section
from bot.evaluation.sections.nlu import nlu_section
from bot.evaluation.sections.redaction import redaction_section
from bot.evaluation.sections.segments import churn_section
from bot.evaluation.types import Chart, Section, Table

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


def test_roc_auc_on_a_hand_computed_example() -> None:
    # positives 0.35, 0.8 vs negatives 0.1, 0.4: 3 of the 4 pairs ordered right
    assert metrics.roc_auc([False, False, True, True], [0.1, 0.4, 0.35, 0.8]) == 0.75
    assert metrics.roc_auc([True, False], [0.9, 0.1]) == 1.0
    assert metrics.roc_auc([True, True], [0.2, 0.3]) is None  # one class: undefined


def test_one_vs_rest_auc_skips_absent_labels_and_averages_the_rest() -> None:
    gold = ["negative", "positive", "negative", "positive"]
    probs = [[0.7, 0.1, 0.2], [0.2, 0.1, 0.7], [0.3, 0.2, 0.5], [0.6, 0.1, 0.3]]
    auc = metrics.one_vs_rest_auc(gold, probs, ("negative", "neutral", "positive"))
    # negative: positives 0.7, 0.3 vs 0.2, 0.6 -> 3/4; positive: 0.7, 0.3 vs 0.2, 0.5 -> 3/4
    assert auc == {"negative": 0.75, "positive": 0.75, "macro": 0.75}


def test_classification_and_confusion() -> None:
    gold = ["a", "a", "b", "b"]
    pred = ["a", "b", "b", "c"]
    m = metrics.classification(gold, pred)
    assert m["accuracy"] == 0.5
    # a: P 1, R 0.5, F1 2/3; b: P 0.5, R 0.5, F1 0.5
    assert m["per_label"]["a"]["f1"] == pytest.approx(2 / 3)
    assert m["per_label"]["b"]["precision"] == 0.5
    assert m["macro_f1"] == pytest.approx((2 / 3 + 0.5) / 2)
    assert metrics.confusion(gold, pred) == {
        "labels": ["a", "b", "c"], "matrix": [[1, 1, 0], [0, 1, 1], [0, 0, 0]]}


def test_refusal_precision_and_recall() -> None:
    scores = [0.9, 0.5, 0.4, 0.8, 0.3]
    answerable = [True, True, False, False, False]
    r = metrics.refusal(scores, answerable, threshold=0.6)
    # refused: 0.5 (answerable), 0.4, 0.3 (out of scope) -> precision 2/3; 2 of 3 refused
    assert (r["refused"], r["unanswerable"]) == (3, 3)
    assert r["precision"] == pytest.approx(2 / 3) and r["recall"] == pytest.approx(2 / 3)


def fake_sections() -> list[Section]:
    nlu = Section("nlu", "NLU intent classification", dataset="held-out.csv",
                  size="4 messages", headline={"en_accuracy": 0.875, "en_macro_f1": 0.8125},
                  provenance=["written apart from the training data"],
                  tables=[Table(["language", "n", "accuracy"], [["en", 4, 0.875]], "scores")],
                  charts=[Chart("f1.png", "F1", "bars", {"categories": ["greet", "thank"],
                                                          "series": {"en": [1.0, None]},
                                                          "horizontal": True}),
                          Chart("cm.png", "confusion", "heatmap", {"panels": [
                              {"title": "t", "labels": ["a", "b"], "matrix": [[3, 1], [0, 2]]}]}),
                          Chart("roc.png", "roc", "lines", {"diagonal": True, "vline": 0.5,
                                                            "series": {"s": {"x": [0, 0.5, 1],
                                                                             "y": [0, 0.9, 1]}}})])
    missing = Section.unavailable("redaction", "PII redaction", "not available: no module")
    return [nlu, missing]


def test_write_report_has_summary_sections_charts_and_json(tmp_path: Path) -> None:
    (tmp_path / "stale.png").write_bytes(PNG_MAGIC)
    path = write_report(fake_sections(), tmp_path, "python -m bot.evaluation.report")
    text = path.read_text(encoding="utf-8")
    assert "| model | dataset | size | main metrics | status |" in text
    assert ("| NLU intent classification | held-out.csv | 4 messages | "
            "en_accuracy 0.875, en_macro_f1 0.812 | ok |") in text
    assert "| PII redaction |  |  |  | not available |" in text
    assert "## NLU intent classification" in text and "- written apart from" in text
    assert "| en | 4 | 0.875 |" in text
    assert "**not available.** not available: no module" in text
    for name in ("f1.png", "cm.png", "roc.png"):
        assert f"]({name})" in text
        assert (tmp_path / name).read_bytes().startswith(PNG_MAGIC)
    assert not (tmp_path / "stale.png").exists()
    summary = json.loads((tmp_path / "summary.json").read_text())
    assert summary["sections"]["nlu"]["metrics"] == {"en_accuracy": 0.875, "en_macro_f1": 0.8125}
    assert summary["sections"]["redaction"]["status"] == "not available"


def test_a_failing_chart_is_noted_not_fatal(tmp_path: Path) -> None:
    bad = Section("x", "X", charts=[Chart("bad.png", "bad", "bars", {"series": {}})])
    text = write_report([bad], tmp_path).read_text()
    assert "chart bad.png failed" in text and not (tmp_path / "bad.png").exists()


def test_markdown_table_formats_cells() -> None:
    out = markdown_table(Table(["a", "b"], [[0.12345, None], ["x|y", 3]]))
    assert out.splitlines() == ["| a | b |", "|---|---|", "| 0.123 | n/a |", "| x\\|y | 3 |"]


def test_select_keeps_report_order_and_rejects_unknown_names() -> None:
    assert select("kb,nlu", None) == ["nlu", "kb"]
    assert "stories" not in select(None, "stories") and "nlu" in select(None, "stories")
    with pytest.raises(SystemExit):
        select("nope", None)


def test_nlu_section_scores_the_unseen_subset_and_counts_overlap() -> None:
    def m(n: int, acc: float) -> dict[str, Any]:
        return {"n": n, "accuracy": acc, "macro_f1": acc,
                "per_intent": {"greet": {"f1": acc, "support": n}}}

    preds = [{"text": "Hi!", "language": "en", "intent": "greet", "predicted": "greet"},
             {"text": "hello there", "language": "en", "intent": "greet", "predicted": "thank"}]
    report = {"en": m(2, 0.5), "all": m(2, 0.5), "predictions": preds, "confusions": []}
    s = nlu_section(report, [{"text": p["text"], "intent": "greet"} for p in preds], ["hi"])
    assert s.headline["overlap_with_training"] == 1  # "Hi!" normalises to "hi"
    en_row = s.tables[0].rows[0]
    assert en_row[:4] == ["en", 2, 0.5, 0.5] and en_row[4:6] == [1, 0.0]  # unseen: 1 wrong
    assert {c.kind for c in s.charts} == {"bars", "heatmap"}


def test_kb_section_refusal_and_auc_from_question_scores() -> None:
    qs = [{"language": "en", "kind": "paraphrase", "answerable": True, "rank": 1, "score": 0.9},
          {"language": "zh", "kind": "keyword", "answerable": True, "rank": 2, "score": 0.7},
          {"language": "en", "kind": "oos", "answerable": False, "rank": None, "score": 0.8},
          {"language": "en", "kind": "oos", "answerable": False, "rank": None, "score": 0.6}]
    report = {"all": {"n": 2, "hit@1": 0.5, "hit@5": 1.0, "mrr": 0.75}, "questions": qs}
    s = kb_section(report, threshold=0.75, embedder="fake")
    # refused: 0.7 (answerable) and 0.6 (out of scope); AUC: 0.9, 0.7 vs 0.8, 0.6 -> 3/4
    assert s.headline["refusal_precision"] == 0.5 and s.headline["refusal_recall"] == 0.5
    assert s.headline["roc_auc_answerable"] == 0.75
    rows = {(r[0], r[1]): r[2:] for r in s.tables[0].rows}
    assert rows[("all", "all")] == [2, 0.5, 1.0, 0.75]
    assert rows[("keyword", "zh")] == [1, 0.0, 1.0, 0.5]


def test_escalation_section_per_language_and_auc() -> None:
    def g(n: int, p: float) -> dict[str, Any]:
        return {"n": n, "precision": p, "recall": p, "f1": p, "tp": 1, "fp": 1, "fn": 1}

    convs = [{"language": "en", "should_escalate": True, "peak_negative": 0.9},
             {"language": "en", "should_escalate": False, "peak_negative": 0.2},
             {"language": "zh", "should_escalate": True, "peak_negative": 0.3},
             {"language": "zh", "should_escalate": False, "peak_negative": 0.4}]
    result = {"all": g(4, 0.5), "language=en": g(2, 1.0), "language=zh": g(2, 0.0),
              "recall_by_reason": {"vip": 0.25}, "conversations": convs}
    s = escalation_section(result)
    auc = {row[0]: row[-1] for row in s.tables[0].rows}
    assert auc == {"all": 0.75, "en": 1.0, "zh": 0.0}
    assert s.headline["roc_auc_peak_negative"] == 0.75


def test_optional_modules() -> None:
    assert optional_module("bot.no_such_package.evaluate") is None
    assert optional_module("bot.evaluation.metrics") is metrics


def test_redaction_section_headlines_the_configured_redactor() -> None:
    def res(recall: float) -> dict[str, Any]:
        kind = {"precision": 1.0, "recall": recall, "f1": recall, "support": 4, "predicted": 4}
        return {"overall": kind, "per_kind": {"EMAIL": kind}, "char_leak_rate": 1 - recall,
                "clean_changed_rate": 0.0, "messages": 10, "ms_per_message": 1.0}

    report = {"patterns": {"en": res(0.5), "all": res(0.5)},
              "ner": {"en": res(0.75), "all": res(0.75)}}
    s = redaction_section(report, configured="ner")
    assert s.headline["ner_recall"] == 0.75 and s.headline["ner_char_leak"] == 0.25
    assert [r[:2] for r in s.tables[0].rows] == [["patterns", "en"], ["patterns", "all"],
                                                  ["ner", "en"], ["ner", "all"]]
    assert s.tables[1].rows == [["EMAIL", 0.5, 0.75, 1.0, 1.0, 4]]


def test_churn_section_flags_a_baseline_that_beats_the_model() -> None:
    test = {"roc_auc": 0.6, "average_precision": 0.5, "precision": 0.4, "recall": 0.9, "f1": 0.55}
    churn = {"status": "ok", "n_train": 10, "n_test": 12, "chosen_model": "lr",
             "models": {"lr": {"train_oof_roc_auc": 0.62, "threshold": 0.3, "test": test}},
             "baselines": {"frequency": 0.7}, "base_rate_train": 0.4, "base_rate_test": 0.3}
    s = churn_section(churn)
    assert s.headline["test_roc_auc"] == 0.6
    assert any("frequency" in n and "better than the chosen model" in n for n in s.notes)
    assert "No model" in churn_section({"status": "too little history"}).notes[0]
