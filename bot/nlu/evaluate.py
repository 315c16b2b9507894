"""Evaluate a trained Rasa model's intent classification on a labelled CSV (text,intent,language).

Runs in the Rasa environment (Python 3.10): ``.venv-rasa/bin/python -m bot.nlu.evaluate MODEL``.
Prints accuracy and macro-F1 per language and overall, and writes a JSON report (with the
per-intent precision/recall/F1 and the confusion pairs) when ``--out`` is given.
"""

import argparse
import asyncio
import csv
import json
import logging
import os
import time
from collections import Counter, defaultdict
from pathlib import Path
from typing import Any

DEFAULT_DATA = Path(__file__).resolve().parents[2] / "tests" / "data" / "nlu_heldout.csv"


def prf(gold: list[str], pred: list[str]) -> dict[str, Any]:
    labels = sorted(set(gold))
    per: dict[str, dict[str, float]] = {}
    for lab in labels:
        tp = sum(1 for g, p in zip(gold, pred, strict=False) if g == lab and p == lab)
        fp = sum(1 for g, p in zip(gold, pred, strict=False) if g != lab and p == lab)
        fn = sum(1 for g, p in zip(gold, pred, strict=False) if g == lab and p != lab)
        precision = tp / (tp + fp) if tp + fp else 0.0
        recall = tp / (tp + fn) if tp + fn else 0.0
        f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
        per[lab] = {"precision": precision, "recall": recall, "f1": f1, "support": tp + fn}
    accuracy = sum(g == p for g, p in zip(gold, pred, strict=False)) / len(gold) if gold else 0.0
    macro_f1 = sum(v["f1"] for v in per.values()) / len(per) if per else 0.0
    return {"n": len(gold), "accuracy": accuracy, "macro_f1": macro_f1, "per_intent": per}


async def predict(model: str, texts: list[str]) -> list[tuple[str, float]]:
    from rasa.core.agent import Agent

    agent = Agent.load(model)
    out = []
    for text in texts:
        parsed = await agent.parse_message(text)
        intent = parsed.get("intent") or {}
        out.append((intent.get("name") or "", float(intent.get("confidence") or 0.0)))
    return out


def evaluate(model: str, data: Path = DEFAULT_DATA) -> dict[str, Any]:
    """Scores per language and overall, the most frequent confusions, and every prediction
    (so a report can recompute any slice without Rasa)."""
    with data.open(newline="", encoding="utf-8") as f:
        rows = list(csv.DictReader(f))
    t0 = time.monotonic()
    preds = asyncio.run(predict(model, [r["text"] for r in rows]))
    elapsed = time.monotonic() - t0
    # Below the fallback threshold the bot says it did not understand: for out_of_scope rows
    # that is a correct outcome, so nlu_fallback counts as out_of_scope.
    pred = ["out_of_scope" if p == "nlu_fallback" else p for p, _ in preds]
    report: dict[str, Any] = {"model": model, "data": str(data),
                              "parse_ms": 1000 * elapsed / max(1, len(rows))}
    by_lang: dict[str, list[int]] = defaultdict(list)
    for i, r in enumerate(rows):
        by_lang[r["language"]].append(i)
    for lang, idx in sorted(by_lang.items()):
        report[lang] = prf([rows[i]["intent"] for i in idx], [pred[i] for i in idx])
    report["all"] = prf([r["intent"] for r in rows], pred)
    report["confusions"] = Counter(
        f"{r['intent']} -> {p}" for r, p in zip(rows, pred, strict=False) if r["intent"] != p
    ).most_common(25)
    report["predictions"] = [
        {"text": r["text"], "language": r["language"], "intent": r["intent"], "predicted": p,
         "confidence": c} for r, p, (_, c) in zip(rows, pred, preds, strict=True)]
    return report


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("model")
    ap.add_argument("--data", type=Path, default=DEFAULT_DATA)
    ap.add_argument("--out", type=Path)
    args = ap.parse_args()
    logging.disable(logging.WARNING)
    os.environ.setdefault("RASA_TELEMETRY_ENABLED", "false")
    report = evaluate(args.model, args.data)
    languages = [k for k in report if k not in ("model", "data", "parse_ms", "all",
                                                "confusions", "predictions")]
    for key in [*languages, "all"]:
        m = report[key]
        print(f"{key:>4}: n={m['n']:5d}  accuracy={m['accuracy']:.3f}  "
              f"macro-F1={m['macro_f1']:.3f}")
    print("most frequent confusions:")
    for pair, n in report["confusions"][:12]:
        print(f"  {n:3d}  {pair}")
    if args.out:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(json.dumps(report, indent=2, ensure_ascii=False), encoding="utf-8")


if __name__ == "__main__":
    main()
