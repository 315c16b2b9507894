"""Redaction quality on the hand-labelled set, per language and per kind, patterns vs NER.

    python -m bot.privacy.evaluate [--data PATH] [--out reports/redaction.json] [--errors]

Span-level, privacy first: a gold span is recalled when every one of its characters is
covered by predicted spans of any kind (hidden is what matters, not the label); a predicted
span is a true positive when it overlaps any gold span. Per-kind recall is over gold spans of
that kind, per-kind precision over predicted spans of that kind. Also: the character leak
rate (share of gold PII characters, spaces aside, left visible), the share of messages
without PII that were changed anyway, and milliseconds per message after warm-up.
"""

from __future__ import annotations

import argparse
import json
import time
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from bot.privacy import labelled
from bot.privacy.redaction import make_redactor
from bot.privacy.spans import KINDS, Span

DEFAULT_OUT = Path("reports/redaction.json")
COMPARED = ("patterns", "ner")


def _prf(tp_pred: int, n_pred: int, recalled: int, support: int) -> dict[str, float | int]:
    precision = tp_pred / n_pred if n_pred else 1.0
    recall = recalled / support if support else 1.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return {"precision": round(precision, 4), "recall": round(recall, 4), "f1": round(f1, 4),
            "support": support, "predicted": n_pred}


def _covered(spans: Iterable[Span]) -> set[int]:
    return {i for s in spans for i in range(s.start, s.end)}


def score(rows: list[tuple[labelled.Example, tuple[Span, ...]]]) -> dict[str, Any]:
    """Metrics for (gold example, predicted spans) pairs of one language."""
    counts = {k: [0, 0, 0, 0] for k in KINDS}  # tp predicted, predicted, recalled, support
    leaked = pii_chars = clean = clean_changed = 0
    for example, predicted in rows:
        covered = _covered(predicted)
        for start, end, kind in example.spans:
            counts[kind][3] += 1
            counts[kind][2] += all(i in covered for i in range(start, end))
            chars = [i for i in range(start, end) if not example.text[i].isspace()]
            pii_chars += len(chars)
            leaked += sum(i not in covered for i in chars)
        for span in predicted:
            counts[span.kind][1] += 1
            counts[span.kind][0] += any(span.start < e and s < span.end
                                        for s, e, _ in example.spans)
        if not example.spans:
            clean += 1
            clean_changed += bool(predicted)
    total = [sum(c[i] for c in counts.values()) for i in range(4)]
    return {
        "overall": _prf(*total),
        "per_kind": {k: _prf(*c) for k, c in counts.items() if c[1] or c[3]},
        "char_leak_rate": round(leaked / pii_chars, 4) if pii_chars else 0.0,
        "clean_messages": clean,
        "clean_changed_rate": round(clean_changed / clean, 4) if clean else 0.0,
        "messages": len(rows),
    }


def evaluate(mode: str, path: Path = labelled.DEFAULT_PATH,
             errors: list[str] | None = None) -> dict[str, Any]:
    """Metrics per language and over all messages for one redactor mode. The redactor
    detects the language itself, as it would for a log line. ``errors``, when given,
    collects a line per missed or spurious span."""
    examples = labelled.load(path)
    redactor = make_redactor(mode)
    redactor.warm_up()
    results: dict[str, Any] = {}
    by_lang: dict[str, list[tuple[labelled.Example, tuple[Span, ...]]]] = {}
    elapsed: dict[str, float] = {}
    for example in examples:
        t0 = time.perf_counter()
        spans = redactor.redact(example.text).spans
        elapsed[example.language] = elapsed.get(example.language, 0.0) + time.perf_counter() - t0
        by_lang.setdefault(example.language, []).append((example, spans))
        if errors is not None:
            errors += _differences(mode, example, spans)
    for lang, rows in by_lang.items():
        results[lang] = score(rows) | {"ms_per_message": round(1000 * elapsed[lang] / len(rows), 3)}
    everything = [row for rows in by_lang.values() for row in rows]
    results["all"] = score(everything) | {
        "ms_per_message": round(1000 * sum(elapsed.values()) / len(everything), 3)}
    results["ms_per_message"] = results["all"]["ms_per_message"]
    return results


def _differences(mode: str, example: labelled.Example, spans: tuple[Span, ...]) -> list[str]:
    covered = _covered(spans)
    out = [f"{mode} {example.language} MISS {kind}: {example.text[s:e]!r} in {example.text!r}"
           for s, e, kind in example.spans if not all(i in covered for i in range(s, e))]
    out += [f"{mode} {example.language} EXTRA {sp.kind}: {sp.original!r} in {example.text!r}"
            for sp in spans if not any(sp.start < e and s < sp.end for s, e, _ in example.spans)]
    return out


def table(report: dict[str, dict[str, Any]]) -> str:
    lines = [f"{'mode':<9}{'lang':<5}{'kind':<9}{'P':>7}{'R':>7}{'F1':>7}{'n':>5}"]
    for mode, results in report.items():
        for lang in ("en", "zh", "all"):
            res = results[lang]
            rows = [("overall", res["overall"]), *res["per_kind"].items()]
            for kind, m in rows:
                lines.append(f"{mode:<9}{lang:<5}{kind:<9}{m['precision']:>7.3f}"
                             f"{m['recall']:>7.3f}{m['f1']:>7.3f}{m['support']:>5}")
            lines.append(f"{mode:<9}{lang:<5}char leak {res['char_leak_rate']:.3f} · clean "
                         f"messages changed {res['clean_changed_rate']:.3f} · "
                         f"{res['ms_per_message']:.2f} ms/message")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data", type=Path, default=labelled.DEFAULT_PATH)
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT)
    parser.add_argument("--errors", action="store_true", help="print every miss and extra")
    args = parser.parse_args(argv)
    errors: list[str] | None = [] if args.errors else None
    report = {mode: evaluate(mode, args.data, errors) for mode in COMPARED}
    print(table(report))
    for line in errors or []:
        print(line)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(report, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
