"""Retrieval evaluation: hit@1, hit@5 and MRR per language and question kind, refusals of
out-of-scope questions, the threshold that best separates answerable from not, and the
out-of-fold comparison of the threshold with the refusal model (``knowledge.refusal``).

``python -m bot.cli kb eval [--embedder use,e5,hf:PATH] [--questions CSV] [--out JSON]``
(or ``python -m knowledge.evaluate`` with the same options) builds a throwaway index from the
bundled articles for each embedder (or uses ``--index-dir``).
"""

from __future__ import annotations

import argparse
import csv
import json
import tempfile
import time
from collections import defaultdict
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from knowledge.articles import load_folder
from knowledge.embedders import make_embedder
from knowledge.refusal import MODEL_PATH, Evidence
from knowledge.refusal_cv import collect, cross_validate, format_table
from knowledge.retriever import IndexStore, KnowledgeIndex, Retriever

DEFAULT_QUESTIONS = Path(__file__).resolve().parent.parent / "tests" / "data" / "kb_questions.csv"


def load_questions(path: Path) -> list[dict[str, str]]:
    with path.open(newline="", encoding="utf-8") as f:
        return list(csv.DictReader(f))


def _rank_metrics(ranks: list[int | None]) -> dict[str, float]:
    n = len(ranks) or 1
    return {"n": len(ranks),
            "hit@1": sum(1 for r in ranks if r == 1) / n,
            "hit@5": sum(1 for r in ranks if r is not None and r <= 5) / n,
            "mrr": sum(1 / r for r in ranks if r is not None) / n}


def evaluate(retriever: Retriever, questions: list[dict[str, str]],
             threshold: float) -> dict[str, Any]:
    t0 = time.monotonic()
    rows = []
    for q in questions:
        ranked = retriever.ranked_articles(q["question"], k=30)
        slugs = [s for s, _ in ranked]
        gold = q.get("article_id") or ""
        rank = slugs.index(gold) + 1 if gold in slugs else None
        rows.append({**q, "rank": rank, "top": slugs[0] if slugs else None,
                     "score": ranked[0][1] if ranked else 0.0})
    elapsed = time.monotonic() - t0
    answerable = [r for r in rows if r.get("article_id")]
    oos = [r for r in rows if not r.get("article_id")]
    report: dict[str, Any] = {"ms_per_question": 1000 * elapsed / max(1, len(rows))}
    report["all"] = _rank_metrics([r["rank"] for r in answerable])
    groups: dict[str, list[int | None]] = defaultdict(list)
    for r in answerable:
        groups[f"language={r['language']}"].append(r["rank"])
        groups[f"kind={r.get('kind', '')}"].append(r["rank"])
    report["groups"] = {k: _rank_metrics(v) for k, v in sorted(groups.items())}

    def outcome(th: float) -> dict[str, float]:
        correct = sum(1 for r in answerable if r["score"] >= th and r["rank"] == 1)
        wrong = sum(1 for r in answerable if r["score"] >= th and r["rank"] != 1)
        refused_ok = sum(1 for r in oos if r["score"] < th)
        return {"threshold": th, "answered_correctly": correct / max(1, len(answerable)),
                "answered_wrongly": wrong / max(1, len(answerable)),
                "oos_refused": refused_ok / max(1, len(oos)),
                "oos_refused_count": refused_ok, "oos_total": len(oos),
                "utility": (correct + refused_ok - wrong) / max(1, len(rows))}

    sweep = [outcome(round(0.2 + 0.005 * i, 3)) for i in range(155)]
    report["at_threshold"] = outcome(threshold)
    report["best_threshold"] = max(sweep, key=lambda o: o["utility"])
    report["misses"] = [{"question": r["question"], "gold": r["article_id"], "top": r["top"],
                         "rank": r["rank"]} for r in answerable if r["rank"] != 1][:40]
    # every question's outcome, so a report can slice, sweep or score it without an index
    report["questions"] = [{"language": r["language"], "kind": r.get("kind", ""),
                            "answerable": bool(r.get("article_id")), "rank": r["rank"],
                            "score": r["score"]} for r in rows]
    return report


@contextmanager
def bundled_retriever(settings: Any, spec: str, threshold: float | None = None,
                      index_dir: Path | None = None) -> Iterator[Retriever]:
    """A retriever on ``index_dir``, or on a throwaway index of the bundled articles."""
    embedder = make_embedder(spec)
    with tempfile.TemporaryDirectory(prefix="kefu-kbeval-") as tmp:
        if index_dir:
            store = IndexStore(index_dir)
        else:
            store = IndexStore(Path(tmp))
            t0 = time.monotonic()
            store.publish(KnowledgeIndex.build(load_folder(settings.kb_articles_dir), embedder))
            print(f"[{spec}] index built in {time.monotonic() - t0:.1f} s")
        yield Retriever(store, embedder,
                        settings.kb_threshold if threshold is None else threshold)


def refusal_report(retriever: Retriever, questions: list[dict[str, str]],
                   shuffles: int = 5) -> dict[str, Any] | None:
    """Out-of-fold: the single threshold against the shipped refusal model's features, each
    refitted and recalibrated in every fold (``knowledge.refusal_cv``); None when the model
    was fitted for another embedder."""
    shipped = json.loads(MODEL_PATH.read_text(encoding="utf-8"))
    if shipped["embedder"] != retriever.embedder.name:
        return None
    cases, ms = collect(retriever, Evidence(), questions)
    cv = cross_validate(cases, [shipped["model"]["features"]],
                        shipped["coverage_of_threshold"], range(shuffles))
    return {"cross_validation": cv, "ms_per_question": ms,
            "features": shipped["model"]["features"], "default_cutoff": shipped["default_cutoff"]}


def evaluate_embedder(settings: Any, spec: str, questions: list[dict[str, str]] | None = None,
                      threshold: float | None = None,
                      index_dir: Path | None = None) -> dict[str, Any]:
    """Evaluate one embedder on ``index_dir``, or on a throwaway index of the bundled
    articles; threshold and questions default to the configured ones."""
    if threshold is None:
        threshold = settings.kb_threshold
    if questions is None:
        questions = load_questions(DEFAULT_QUESTIONS)
    with bundled_retriever(settings, spec, threshold, index_dir) as retriever:
        report = evaluate(retriever, questions, threshold)
        report["refusal"] = refusal_report(retriever, questions)
        return report


def evaluate_cli(settings: Any, args: argparse.Namespace) -> None:
    questions = load_questions(args.questions or DEFAULT_QUESTIONS)
    threshold = args.threshold if args.threshold is not None else settings.kb_threshold
    specs = (args.embedder or settings.kb_embedder).split(",")
    results = {}
    for spec in specs:
        report = evaluate_embedder(settings, spec, questions, threshold, args.index_dir)
        results[spec] = report
        a, t, b = report["all"], report["at_threshold"], report["best_threshold"]
        print(f"[{spec}] n={a['n']} hit@1={a['hit@1']:.3f} hit@5={a['hit@5']:.3f} "
              f"MRR={a['mrr']:.3f}  ({report['ms_per_question']:.1f} ms/question)")
        for name, g in report["groups"].items():
            print(f"    {name:<22} n={g['n']:3d} hit@1={g['hit@1']:.3f} hit@5={g['hit@5']:.3f} "
                  f"MRR={g['mrr']:.3f}")
        print(f"    threshold {t['threshold']:.3f}: answered correctly "
              f"{t['answered_correctly']:.3f}, wrongly {t['answered_wrongly']:.3f}; "
              f"out-of-scope refused {t['oos_refused_count']}/{t['oos_total']}")
        print(f"    best threshold {b['threshold']:.3f}: correct {b['answered_correctly']:.3f}, "
              f"wrong {b['answered_wrongly']:.3f}, refused {b['oos_refused_count']}/"
              f"{b['oos_total']}  (in-sample: chosen on these questions)")
        if report["refusal"]:
            r = report["refusal"]
            print(f"    refusal rules, model features {'+'.join(r['features'])}, shipped "
                  f"cutoff {r['default_cutoff']}:")
            format_table(r["cross_validation"], r["ms_per_question"],
                         lambda line: print(f"    {line}"))
    if args.out:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(json.dumps(results, indent=2, ensure_ascii=False), encoding="utf-8")


if __name__ == "__main__":
    import sys

    from bot.cli_kb import add_parser
    from bot.settings import get_settings

    parser = argparse.ArgumentParser(prog="python -m knowledge.evaluate")
    add_parser(parser.add_subparsers(dest="cmd"))
    evaluate_cli(get_settings(), parser.parse_args(["kb", "eval", *sys.argv[1:]]))
