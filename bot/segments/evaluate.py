"""Segments and churn on the demo shop: a table on stdout, JSON reports and plots.

    python -m bot.segments.evaluate [--out reports]

Builds the deterministic demo shop in a temporary SQLite database, runs
``compute_profiles`` on it and writes ``segments.json``, ``churn.json`` and, under
``segments/``, silhouette_vs_k.png, segments_scatter.png and churn_roc.png.
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import numpy as np
from matplotlib.figure import Figure

from bot.db.migrate import upgrade
from bot.db.session import Database
from bot.demo.generator import DemoSize, generate
from bot.segments.service import SegmentsSummary, compute_profiles


@contextmanager
def demo_shop(size: DemoSize = DemoSize(), seed: int = 42) -> Iterator[Database]:
    with tempfile.TemporaryDirectory() as tmp:
        url = f"sqlite:///{Path(tmp) / 'demo.db'}"
        upgrade(url)
        db = Database(url)
        try:
            generate(db, size, seed=seed)
            yield db
        finally:
            db.dispose()


def plot_k(summary: SegmentsSummary, path: Path) -> None:
    scores = summary.segmentation.scores
    ks = [s.k for s in scores]
    fig = Figure(figsize=(9, 3.6))
    left, right = fig.subplots(1, 2)
    left.plot(ks, [s.silhouette for s in scores], "o-", label="silhouette (higher is better)")
    left.plot(ks, [s.davies_bouldin for s in scores], "s--",
              label="Davies-Bouldin (lower is better)")
    left.axvline(summary.segmentation.k or 0, color="grey", lw=0.8)
    left.set_xlabel("k")
    left.legend(fontsize=8)
    left.set_title("Cluster quality by k")
    right.plot(ks, [s.inertia for s in scores], "o-")
    right.set_xlabel("k")
    right.set_ylabel("inertia")
    right.set_title("Elbow")
    fig.tight_layout()
    fig.savefig(path, dpi=110)


def plot_segments(summary: SegmentsSummary, path: Path) -> None:
    rfm, labels = summary.rfm, summary.segmentation.labels
    fig = Figure(figsize=(6.5, 4.8))
    ax = fig.subplots()
    for seg in summary.segmentation.segments:
        m = labels == seg.name
        ax.scatter(rfm.recency_days[m], rfm.frequency[m] + 1,
                   s=4 + 40 * np.sqrt(rfm.monetary_cents[m] / max(rfm.monetary_cents.max(), 1)),
                   alpha=0.5, label=f"{seg.name} ({seg.size})")
    ax.set_yscale("log")
    ax.set_xlabel("recency (days since last order)")
    ax.set_ylabel("frequency + 1 (log)")
    ax.set_title(f"RFM segments, k = {summary.segmentation.k} (marker size: monetary)")
    ax.legend(fontsize=8, markerscale=1.5)
    fig.tight_layout()
    fig.savefig(path, dpi=110)


def plot_roc(summary: SegmentsSummary, path: Path) -> None:
    churn = summary.churn
    fig = Figure(figsize=(5.2, 5))
    ax = fig.subplots()
    for name, (fpr, tpr) in churn.roc.items():
        auc = (churn.models[name]["test"]["roc_auc"] if name in churn.models
               else churn.baselines[name.removesuffix(" only")])
        ax.plot(fpr, tpr, "-" if name in churn.models else ":", label=f"{name} (AUC {auc:.3f})")
    ax.plot([0, 1], [0, 1], color="grey", lw=0.8)
    ax.set_xlabel("false positive rate")
    ax.set_ylabel("true positive rate")
    ax.set_title(f"Churn in the next {churn.horizon_days:.0f} days (test window)")
    ax.legend(fontsize=8, loc="lower right")
    fig.tight_layout()
    fig.savefig(path, dpi=110)


def format_report(summary: SegmentsSummary, seconds: float) -> str:
    seg, churn = summary.segmentation, summary.churn
    lines = [f"{len(summary.rfm)} customers as of {summary.as_of:%Y-%m-%d %H:%M} UTC "
             f"(profiles computed in {seconds:.1f} s)",
             "k  silhouette  Davies-Bouldin  inertia"]
    lines += [f"{s.k:<3}{s.silhouette:>10.3f}{s.davies_bouldin:>16.3f}{s.inertia:>9.0f}"
              + ("  <- chosen" if s.k == seg.k else "") for s in seg.scores]
    lines.append(f"{'segment':<16}{'zh':<8}{'size':>6}{'R days':>9}{'F':>7}{'M yuan':>10}")
    lines += [f"{s.name:<16}{s.name_zh:<8}{s.size:>6}{s.recency_days:>9.1f}{s.frequency:>7.1f}"
              f"{s.monetary_cents / 100:>10.0f}" for s in seg.segments]
    if churn.status != "ok":
        return "\n".join([*lines, f"churn: {churn.status}"])
    lines.append(f"churn (no order in {churn.horizon_days:.0f} days): train n={churn.n_train} "
                 f"base rate {churn.base_rate_train:.3f}, test n={churn.n_test} "
                 f"base rate {churn.base_rate_test:.3f}")
    lines.append(f"{'model':<22}{'oof AUC':>8}{'thresh':>8}{'AUC':>7}{'AP':>7}{'P':>7}"
                 f"{'R':>7}{'F1':>7}")
    for name, m in churn.models.items():
        t = m["test"]
        lines.append(f"{name:<22}{m['train_oof_roc_auc']:>8.3f}{m['threshold']:>8.3f}"
                     f"{t['roc_auc']:>7.3f}{t['average_precision']:>7.3f}{t['precision']:>7.3f}"
                     f"{t['recall']:>7.3f}{t['f1']:>7.3f}")
    lines.append("single-feature test AUC: " + ", ".join(
        f"{k} {v:.3f}" for k, v in churn.baselines.items()))
    lines.append(f"scoring model: {churn.chosen} ({churn.n_scored} customers scored)")
    return "\n".join(lines)


def evaluate(out_dir: Path | None = Path("reports"), size: DemoSize = DemoSize(),
             seed: int = 42) -> dict[str, Any]:
    """Run on a fresh demo shop; write reports under ``out_dir`` (None: write nothing)."""
    with demo_shop(size, seed) as db:
        start = time.perf_counter()
        summary = compute_profiles(db)
        seconds = time.perf_counter() - start
    result = summary.to_dict() | {"seconds": seconds, "report": format_report(summary, seconds)}
    if out_dir is not None:
        plots = out_dir / "segments"
        plots.mkdir(parents=True, exist_ok=True)
        segments = {k: v for k, v in result.items() if k not in ("churn", "report")}
        (out_dir / "segments.json").write_text(json.dumps(segments, indent=2, ensure_ascii=False),
                                               encoding="utf-8")
        (out_dir / "churn.json").write_text(json.dumps(result["churn"], indent=2),
                                            encoding="utf-8")
        plot_k(summary, plots / "silhouette_vs_k.png")
        plot_segments(summary, plots / "segments_scatter.png")
        if summary.churn.roc:
            plot_roc(summary, plots / "churn_roc.png")
    return result


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--out", type=Path, default=Path("reports"), help="report folder")
    args = ap.parse_args()
    print(evaluate(args.out)["report"])


if __name__ == "__main__":
    main()
