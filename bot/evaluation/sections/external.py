"""Sections for evaluations owned elsewhere (customer segments, churn, redaction): used when
their module is importable, reported as not available otherwise."""

from __future__ import annotations

import importlib
from types import ModuleType
from typing import Any

from bot.evaluation.context import Context
from bot.evaluation.types import Cell, Chart, Section, Table


def optional_module(name: str) -> ModuleType | None:
    """The module, or None when it (or its package) does not exist; a missing dependency
    inside an existing module is an error, not absence."""
    try:
        return importlib.import_module(name)
    except ModuleNotFoundError as exc:
        if exc.name and (name == exc.name or name.startswith(exc.name + ".")):
            return None
        raise


def numeric_leaves(data: Any, prefix: str = "") -> list[tuple[str, float]]:
    """Every number in a nested JSON value, keyed by its dotted path (lists of numbers are
    skipped: they are per-item data, not metrics)."""
    out: list[tuple[str, float]] = []
    if isinstance(data, dict):
        for k, v in data.items():
            out += numeric_leaves(v, f"{prefix}.{k}" if prefix else str(k))
    elif isinstance(data, bool):
        pass
    elif isinstance(data, int | float):
        out.append((prefix, float(data)))
    return out


def generic_section(key: str, title: str, result: dict[str, Any], dataset: str,
                    source: str = "") -> Section:
    leaves = numeric_leaves(result)
    top: dict[str, Cell] = {k: v for k, v in leaves if "." not in k}
    s = Section(key, title, dataset=dataset, source=source,
                size=str(result.get("n", "")), headline=dict(list(top.items())[:6]))
    s.tables.append(Table(["metric", "value"], [[k, v] for k, v in leaves[:80]]))
    rates = [(k, v) for k, v in top.items() if isinstance(v, float) and 0 <= v <= 1]
    if rates:
        s.charts.append(Chart(f"{key}.png", title, "bars", {
            "categories": [k for k, _ in rates], "series": {key: [v for _, v in rates]}}))
    return s


def _build(ctx: Context, key: str, title: str, module: str, json_name: str,
           call: str) -> Section:
    mod = optional_module(module)
    if mod is None:
        return Section.unavailable(key, title, f"not available: {module} is not in this "
                                               "checkout yet.")
    result, source = ctx.load_or_run(json_name, lambda: getattr(mod, call)())
    return generic_section(key, title, result, f"see {module}", source)


def build_segments(ctx: Context) -> Section:
    return _build(ctx, "segments", "Customer segments", "bot.segments.evaluate",
                  "segments.json", "evaluate")


def build_churn(ctx: Context) -> Section:
    return _build(ctx, "churn", "Churn prediction", "bot.segments.evaluate", "churn.json",
                  "evaluate")


def build_redaction(ctx: Context) -> Section:
    return _build(ctx, "redaction", "PII redaction", "bot.privacy.evaluate", "redaction.json",
                  "evaluate")
