"""One evaluation report for every model: Markdown with a summary table, a section per model
(metrics, data provenance, charts) and ``summary.json`` with the headline numbers.

    python -m bot.evaluation.report [--only nlu,kb] [--skip stories] [--reuse]

``--reuse`` takes each evaluation's existing JSON under reports/ instead of recomputing it
(and computes those that are missing). Output: reports/eval/report.md, *.png, summary.json.
"""

from __future__ import annotations

import argparse
import importlib
import json
import os
import sys
import time
import traceback
from collections.abc import Callable, Iterable
from datetime import UTC, datetime
from pathlib import Path

from bot.evaluation.charts import render
from bot.evaluation.context import Context
from bot.evaluation.types import Cell, Section, Table
from bot.settings import REPO_ROOT

# key -> (title, "module:function" that builds the section); imported only when run
SECTIONS: dict[str, tuple[str, str]] = {
    "nlu": ("NLU intent classification", "bot.evaluation.sections.nlu:build"),
    "stories": ("Dialogue test stories", "bot.evaluation.sections.nlu:build_stories"),
    "kb": ("Knowledge-base retrieval", "bot.evaluation.sections.kb:build"),
    "sentiment": ("Sentiment", "bot.evaluation.sections.sentiment:build"),
    "escalation": ("Escalation policy", "bot.evaluation.sections.escalation:build"),
    "recommend": ("Product recommendations", "bot.evaluation.sections.recommend:build"),
    "segments": ("Customer segments", "bot.evaluation.sections.segments:build_segments"),
    "churn": ("Churn prediction", "bot.evaluation.sections.segments:build_churn"),
    "redaction": ("PII redaction", "bot.evaluation.sections.redaction:build"),
}


def fmt(value: Cell) -> str:
    if value is None:
        return "n/a"
    if isinstance(value, float):
        return f"{value:.3f}"
    return str(value).replace("|", "\\|").replace("\n", " ")


def markdown_table(table: Table) -> str:
    lines = ["| " + " | ".join(table.headers) + " |",
             "|" + "|".join("---" for _ in table.headers) + "|"]
    lines += ["| " + " | ".join(fmt(c) for c in row) + " |" for row in table.rows]
    if table.caption:
        lines.insert(0, f"*{table.caption}*\n")
    return "\n".join(lines)


def headline_text(section: Section) -> str:
    return ", ".join(f"{k} {fmt(v)}" for k, v in section.headline.items())


def summary_table(sections: Iterable[Section]) -> Table:
    return Table(["model", "dataset", "size", "main metrics", "status"],
                 [[s.title, s.dataset, s.size, headline_text(s), s.status] for s in sections])


def _section_markdown(s: Section, charts: list[str]) -> str:
    parts = [f"## {s.title}"]
    if s.status != "ok":
        parts.append(f"**{s.status}.** " + " ".join(s.notes))
        return "\n\n".join(parts)
    parts.append(f"**Data:** {s.dataset} ({s.size})." + (f" Results: `{s.source}`."
                                                          if s.source else ""))
    if s.provenance:
        parts.append("**Provenance:**\n" + "\n".join(f"- {p}" for p in s.provenance))
    parts += [markdown_table(t) for t in s.tables]
    parts += charts
    if s.notes:
        parts.append("\n".join(f"- {n}" for n in s.notes))
    return "\n\n".join(parts)


def write_report(sections: list[Section], out: Path, command: str = "") -> Path:
    """Write report.md, one PNG per chart and summary.json under ``out``; returns report.md."""
    out.mkdir(parents=True, exist_ok=True)
    for old in out.glob("*.png"):  # charts of sections not in this run must not linger
        old.unlink()
    bodies = []
    for s in sections:
        charts = []
        for chart in s.charts if s.status == "ok" else []:
            try:
                render(chart, out)
                charts.append(f"![{chart.title}]({chart.file})")
            except Exception as exc:  # one bad chart must not lose the report
                s.notes.append(f"chart {chart.file} failed: {exc!r}")
        bodies.append(_section_markdown(s, charts))
    when = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
    # latencies in the sections are only comparable on an otherwise idle machine
    load = f"load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores at the end"
    doc = [f"# Kefu evaluation report\n\nGenerated {when}"
           + (f" by `{command}`" if command else "") + f" ({load}; timings in the sections "
           "grow with load). Every number below is on data the model never trained on unless "
           "the section's provenance says otherwise.",
           "## Summary", markdown_table(summary_table(sections)), *bodies]
    path = out / "report.md"
    path.write_text("\n\n".join(doc) + "\n", encoding="utf-8")
    summary = {"generated": when, "sections": {
        s.key: {"title": s.title, "status": s.status, "dataset": s.dataset, "size": s.size,
                "metrics": s.headline, "source": s.source, "notes": s.notes if s.status != "ok"
                else []} for s in sections}}
    (out / "summary.json").write_text(json.dumps(summary, indent=2, ensure_ascii=False),
                                      encoding="utf-8")
    return path


def select(only: str | None, skip: str | None) -> list[str]:
    """The section keys to run, in report order; unknown names are an error."""
    def names(text: str | None) -> set[str]:
        got = {n.strip() for n in (text or "").split(",") if n.strip()}
        unknown = got - SECTIONS.keys()
        if unknown:
            raise SystemExit(f"unknown section(s) {sorted(unknown)}; choose from "
                             f"{', '.join(SECTIONS)}")
        return got

    chosen, skipped = names(only), names(skip)
    return [k for k in SECTIONS if (not chosen or k in chosen) and k not in skipped]


def _builder(key: str) -> Callable[[Context], Section]:
    module, _, func = SECTIONS[key][1].partition(":")
    return getattr(importlib.import_module(module), func)  # type: ignore[no-any-return]


def build_sections(keys: list[str], ctx: Context) -> list[Section]:
    sections = []
    for key, (title, _) in SECTIONS.items():
        if key not in keys:
            sections.append(Section.unavailable(key, title, "skipped in this run "
                                                            "(--only / --skip)", "skipped"))
            continue
        print(f"== {key}: {title}", flush=True)
        t0 = time.monotonic()
        try:
            section = _builder(key)(ctx)
        except Exception as exc:  # report the failure and go on with the other models
            traceback.print_exc()
            section = Section.unavailable(key, title, f"failed: {exc!r}"[:600], "failed")
        print(f"   {section.status} in {time.monotonic() - t0:.0f} s", flush=True)
        sections.append(section)
    return sections


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--only", help=f"comma-separated sections: {', '.join(SECTIONS)}")
    ap.add_argument("--skip", help="comma-separated sections to leave out")
    ap.add_argument("--reuse", action="store_true",
                    help="use existing JSON under reports/ instead of recomputing")
    ap.add_argument("--reports", type=Path, default=REPO_ROOT / "reports")
    ap.add_argument("--out", type=Path, default=None, help="default: <reports>/eval")
    args = ap.parse_args(argv)
    keys = select(args.only, args.skip)
    sections = build_sections(keys, Context(reports=args.reports, reuse=args.reuse))
    command = "python -m bot.evaluation.report " + " ".join(argv if argv is not None
                                                             else sys.argv[1:])
    path = write_report(sections, args.out or args.reports / "eval", command.strip())
    print()
    print(markdown_table(summary_table(sections)))
    print(f"\nreport: {path}")
    return 1 if any(s.status == "failed" for s in sections) else 0


if __name__ == "__main__":
    sys.exit(main())
