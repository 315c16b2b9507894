"""Fits the refusal model shipped as ``knowledge/refusal_model.json`` (deterministic):

    .venv-app/bin/python -m knowledge.refusal_fit [--questions CSV] [--out JSON] [--shuffles N]

1. builds a throwaway index of the bundled articles with the configured embedder (e5) and
   records, for every question of ``tests/data/kb_questions.csv``, the features of
   ``knowledge.refusal.Evidence`` and whether the best article was the gold one;
2. measures the whole procedure out-of-fold (nested: the feature set too is chosen inside each
   fold) against the single threshold, and stores that table in the JSON;
3. chooses the feature set, coefficients and cutoffs on all questions and writes them.

About two minutes on two cores, most of it building the e5 index.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from bot.settings import get_settings
from knowledge.evaluate import DEFAULT_QUESTIONS, bundled_retriever, load_questions
from knowledge.refusal import MODEL_PATH, Evidence
from knowledge.refusal_cv import collect, cross_validate, fit_rules, format_table

# Written down before fitting: the brief's candidate signals, from the cheapest on.
CANDIDATES: tuple[tuple[str, ...], ...] = (
    ("top_score", "margin"),
    ("top_score", "margin", "title_overlap"),
    ("top_score", "margin", "use_at_top"),
    ("top_score", "margin", "use_at_top", "use_top"),
    ("top_score", "margin", "use_at_top", "use_agrees", "title_overlap"),
    ("top_score", "margin", "use_at_top", "use_agrees", "title_overlap", "zh"),
)
# The goal is fewer wrong answers without fewer right ones than the configured threshold gave.
DEFAULT_CUTOFF = "same-coverage"


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--questions", type=Path, default=DEFAULT_QUESTIONS)
    p.add_argument("--out", type=Path, default=MODEL_PATH)
    p.add_argument("--shuffles", type=int, default=10)
    args = p.parse_args()
    settings = get_settings()
    questions = load_questions(args.questions)
    with bundled_retriever(settings, settings.kb_embedder) as retriever:
        cases, ms = collect(retriever, Evidence(), questions)
        embedder = retriever.embedder.name
    cv = cross_validate(cases, CANDIDATES, settings.kb_threshold, range(args.shuffles))
    format_table(cv, ms)
    print("feature sets chosen in the folds:", cv["features_chosen"])
    fitted = fit_rules(cases, CANDIDATES, settings.kb_threshold)
    print("features:", "+".join(fitted.model.features), "cutoffs:", fitted.cutoffs,
          f"(threshold chosen the same way: {fitted.threshold:.4f})")
    try:
        source = str(args.questions.resolve().relative_to(Path.cwd()))
    except ValueError:
        source = str(args.questions)
    args.out.write_text(json.dumps({
        "about": "P(best article is right) = logistic(intercept + sum coef * (x - mean) / "
                 "scale); answer when it reaches the cutoff. Written by "
                 "`python -m knowledge.refusal_fit`; see knowledge/refusal.py.",
        "embedder": embedder, "questions": source, "n": len(cases),
        "model": fitted.model.to_json(), "cutoffs": fitted.cutoffs,
        "default_cutoff": DEFAULT_CUTOFF, "coverage_of_threshold": settings.kb_threshold,
        "threshold_same_protocol": fitted.threshold,
        "candidates": [list(c) for c in CANDIDATES],
        "cross_validation": cv, "ms_per_question": ms,
    }, indent=1) + "\n", encoding="utf-8")
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
