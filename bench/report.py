"""The stack benchmark's outputs: ``stack.json`` (everything), ``stack.md`` (tables, the chart,
and a before/after comparison when a baseline JSON is given) and ``stack.png``; plus the compact
table printed at the end of a run."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # the backend is chosen before pyplot loads

SERIES = (("kefu", "rest"), ("kefu", "ws"), ("bare", "rest"))


def _run(result: dict[str, Any], target: str, transport: str, level: int
         ) -> dict[str, Any] | None:
    return next((r for r in result["runs"] if r["target"] == target
                 and r["transport"] == transport and r["level"] == level), None)


def overhead(result: dict[str, Any]) -> list[dict[str, Any]]:
    """Kefu latency / bare latency, per level and Kefu transport (p50 and p95)."""
    rows = []
    for level in result["meta"]["levels"]:
        bare = _run(result, "bare", "rest", level)
        for transport in ("rest", "ws"):
            kefu = _run(result, "kefu", transport, level)
            if not bare or not kefu:
                continue
            row: dict[str, Any] = {"level": level, "transport": transport}
            for p in ("p50", "p95"):
                k, b = kefu.get(p), bare.get(p)
                row[p] = round(k / b, 2) if k and b else None
            rows.append(row)
    return rows


def _fmt(v: Any, digits: int = 0) -> str:
    if v is None:
        return "-"
    if isinstance(v, float):
        return f"{v:,.{digits}f}"
    return str(v)


def table(result: dict[str, Any]) -> str:
    """The compact load table: one row per target, transport and level."""
    head = (f"{'target':<6} {'via':<4} {'conc':>4} {'turns':>6} {'p50 ms':>8} {'p95 ms':>8} "
            f"{'p99 ms':>8} {'turns/s':>8} {'errors':>6} {'x bare p50':>10}")
    over = {(o["level"], o["transport"]): o for o in overhead(result)}
    lines = [head]
    for r in result["runs"]:
        o = over.get((r["level"], r["transport"])) if r["target"] == "kefu" else None
        lines.append(
            f"{r['target']:<6} {r['transport']:<4} {r['level']:>4} {r['answered']:>6} "
            f"{_fmt(r['p50']):>8} {_fmt(r['p95']):>8} {_fmt(r['p99']):>8} "
            f"{_fmt(r['throughput_tps'], 2):>8} {r['errors']:>6} "
            f"{_fmt(o['p50'] if o else None, 1):>10}")
    return "\n".join(lines)


def chart(result: dict[str, Any], path: Path) -> None:
    fig, axes = plt.subplots(1, 2, figsize=(11, 4.2), sharey=True)
    levels = result["meta"]["levels"]
    for ax, p in zip(axes, ("p50", "p95"), strict=True):
        for target, transport in SERIES:
            ys = [(_run(result, target, transport, n) or {}).get(p) for n in levels]
            if any(y is not None for y in ys):
                ax.plot(levels, [y if y is not None else float("nan") for y in ys], marker="o",
                        linestyle="--" if target == "bare" else "-",
                        label=f"{'Kefu' if target == 'kefu' else 'bare Rasa'} {transport.upper()}")
        ax.set_xscale("log")
        ax.set_yscale("log")
        ax.set_xticks(levels, [str(n) for n in levels])
        ax.set_xlabel("concurrent conversations")
        ax.set_title(f"turn latency {p}")
        ax.grid(True, which="both", alpha=0.3)
    axes[0].set_ylabel("ms (log)")
    axes[0].legend()
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def _md_table(header: list[str], rows: list[list[Any]]) -> str:
    out = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    out += ["| " + " | ".join(_fmt(c, 2 if abs(c) < 1 else 1) if isinstance(c, float)
                              else _fmt(c) for c in row) + " |" for row in rows]
    return "\n".join(out)


def _cpu_table(result: dict[str, Any]) -> str:
    runs = [r for r in result["runs"] if r.get("cpu_ms_per_turn")]
    if not runs:
        return "(not measured)"
    names = list(runs[0]["cpu_ms_per_turn"])
    return _md_table(["target", "via", "conc", *names],
                     [[r["target"], r["transport"], r["level"],
                       *(r["cpu_ms_per_turn"].get(n) for n in names)] for r in runs])


def _comparison(before: dict[str, Any], after: dict[str, Any]) -> str:
    rows = []
    for r in after["runs"]:
        b = _run(before, r["target"], r["transport"], r["level"])
        if b is None:
            continue
        rows.append([r["target"], r["transport"], r["level"],
                     f"{_fmt(b['p50'])} → {_fmt(r['p50'])}",
                     f"{_fmt(b['p95'])} → {_fmt(r['p95'])}",
                     f"{_fmt(b['throughput_tps'], 2)} → {_fmt(r['throughput_tps'], 2)}",
                     f"{b['errors']} → {r['errors']}"])
    out = _md_table(["target", "via", "conc", "p50 ms", "p95 ms", "turns/s", "errors"], rows)
    comp = [[name, f"{_fmt(before['components'][name]['p50'], 1)} → {_fmt(c['p50'], 1)}",
             f"{_fmt(before['components'][name]['p95'], 1)} → {_fmt(c['p95'], 1)}"]
            for name, c in after.get("components", {}).items()
            if name in before.get("components", {})]
    if comp:
        out += "\n\n" + _md_table(["component", "p50 ms", "p95 ms"], comp)
    return out


def markdown(result: dict[str, Any], chart_name: str, before: dict[str, Any] | None) -> str:
    meta = result["meta"]
    parts = [
        "# Full-stack benchmark: Kefu vs bare Rasa\n",
        f"Run {meta['started']} at commit {meta.get('commit', '?')}, {meta['cpus']} CPU cores, "
        f"{meta['duration_s']:g} s per level, levels {meta['levels']} concurrent conversations "
        "(closed loop: each simulated customer waits for the reply before its next turn). "
        f"Load average before the run: {meta.get('loadavg_before', '?')}. Other work shares "
        "this machine, so the numbers are noisy (expect ±20 % run to run).\n",
        "Kefu = hub → Rasa (SQL tracker store) → action server → database; bare = the same NLU "
        "pipeline and data with one static response per intent, no actions, in-memory "
        "tracker store. Latency is per turn, answered turns only; errors are turns that "
        "were not answered (statuses below).\n",
        f"![latency]({chart_name})\n",
        "## Load\n",
        _md_table(["target", "via", "conc", "turns", "p50 ms", "p95 ms", "p99 ms", "turns/s",
                   "errors", "statuses"],
                  [[r["target"], r["transport"], r["level"], r["answered"], r["p50"], r["p95"],
                    r["p99"], r["throughput_tps"], r["errors"],
                    ", ".join(f"{k} {v}" for k, v in r["statuses"].items()) or "-"]
                   for r in result["runs"]]),
        "\n## Overhead (Kefu latency / bare Rasa latency)\n",
        _md_table(["conc", "Kefu via", "p50 ×", "p95 ×"],
                  [[o["level"], o["transport"], o["p50"], o["p95"]]
                   for o in result.get("overhead", [])]),
        "\n## Latency by turn kind (Kefu REST, p50 / p95 ms)\n",
        _md_table(["conc", *sorted({k for r in result["runs"] for k in r["by_kind"]})],
                  [[r["level"], *(f"{_fmt(v['p50'])} / {_fmt(v['p95'])}" for _, v in
                                  sorted(r["by_kind"].items()))]
                   for r in result["runs"] if r["target"] == "kefu" and r["transport"] == "rest"]),
        "\n## CPU time per answered turn (ms, each process tree; client = this benchmark)\n",
        _cpu_table(result),
        "\n## Components (one call at a time, no load)\n",
        "NLU on bare Rasa's `/model/parse` (same pipeline); models, retrieval and database calls "
        "in this process with the servers' code; `rasa_turn_no_hub`: Kefu's Rasa and action "
        "server driven directly by one customer.\n",
        _md_table(["component", "p50 ms", "p95 ms", "n"],
                  [[name, c["p50"], c["p95"], c["n"]]
                   for name, c in result.get("components", {}).items()]),
        "\n## Peak memory per process (MB; a server's worker processes included)\n",
        _md_table(["process", "peak RSS (sampled)", "sum of VmHWM", "processes"],
                  [[name, m["peak_rss_mb"], m["hwm_sum_mb"], m["processes"]]
                   for name, m in result.get("memory", {}).items()]),
    ]
    if before is not None:
        parts += ["\n## Before → after\n", _comparison(before, result)]
    if result.get("notes"):
        parts += ["\n## Notes\n", *(f"- {n}" for n in result["notes"])]
    return "\n".join(parts) + "\n"


def write(result: dict[str, Any], out: Path, before: dict[str, Any] | None = None,
          name: str = "stack") -> list[Path]:
    out.mkdir(parents=True, exist_ok=True)
    result = {**result, "overhead": overhead(result)}
    paths = [out / f"{name}.json", out / f"{name}.md", out / f"{name}.png"]
    paths[0].write_text(json.dumps(result, indent=2, ensure_ascii=False), encoding="utf-8")
    chart(result, paths[2])
    paths[1].write_text(markdown(result, paths[2].name, before), encoding="utf-8")
    return paths
