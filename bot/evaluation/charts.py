"""Draw a section's ``Chart`` specs as PNG files (matplotlib's object API: no pyplot state,
no display needed)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
from matplotlib.axes import Axes
from matplotlib.figure import Figure

from bot.evaluation.types import Chart


def _bars(fig: Figure, data: dict[str, Any]) -> None:
    categories: list[str] = data["categories"]
    series: dict[str, list[float | None]] = data["series"]
    ax = fig.subplots()
    pos = np.arange(len(categories))
    width = 0.8 / max(1, len(series))
    horizontal = bool(data.get("horizontal"))
    for i, (name, values) in enumerate(series.items()):
        vals = [np.nan if v is None else v for v in values]
        offset = pos - 0.4 + width * (i + 0.5)
        if horizontal:
            ax.barh(offset, vals, height=width, label=name)
        else:
            ax.bar(offset, vals, width=width, label=name)
    if horizontal:
        ax.set_yticks(pos, categories, fontsize=8)
        ax.invert_yaxis()
        ax.set_xlabel(data.get("y_label", ""))
    else:
        ax.set_xticks(pos, categories, rotation=30 if len(categories) > 4 else 0, ha="right"
                      if len(categories) > 4 else "center", fontsize=8)
        ax.set_ylabel(data.get("y_label", ""))
    if len(series) > 1:
        ax.legend(fontsize=8)


def _heatmap_panel(ax: Axes, panel: dict[str, Any]) -> None:
    labels: list[str] = panel["labels"]
    matrix = np.asarray(panel["matrix"], dtype=float)
    ax.imshow(matrix, cmap="Blues")
    small = len(labels) <= 12
    ticks = range(len(labels))
    ax.set_xticks(ticks, labels, rotation=90 if len(labels) > 4 else 0,
                  fontsize=8 if small else 6)
    ax.set_yticks(ticks, labels, fontsize=8 if small else 6)
    ax.set_xlabel("predicted")
    ax.set_ylabel("true")
    ax.set_title(panel.get("title", ""), fontsize=9)
    top = matrix.max() if matrix.size else 0
    for (i, j), v in np.ndenumerate(matrix):
        if v:
            ax.text(j, i, f"{v:g}", ha="center", va="center", fontsize=8 if small else 5,
                    color="white" if v > top / 2 else "black")


def _lines(fig: Figure, data: dict[str, Any]) -> None:
    ax = fig.subplots()
    for name, s in data["series"].items():
        ax.plot(s["x"], s["y"], label=name)
    if data.get("diagonal"):
        ax.plot([0, 1], [0, 1], linestyle=":", color="grey", label="chance")
    if data.get("vline") is not None:
        ax.axvline(data["vline"], linestyle="--", color="black", linewidth=1,
                   label=data.get("vline_label", f"x = {data['vline']}"))
    ax.set_xlabel(data.get("x_label", ""))
    ax.set_ylabel(data.get("y_label", ""))
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8)


def render(chart: Chart, folder: Path) -> Path:
    if chart.kind == "heatmap":
        panels = chart.data["panels"]
        side = max(4.0, 0.3 * max(len(p["labels"]) for p in panels))
        fig = Figure(figsize=(side * len(panels) + 0.5, side + 0.8))
        axes = fig.subplots(1, len(panels), squeeze=False)[0]
        for ax, panel in zip(axes, panels, strict=True):
            _heatmap_panel(ax, panel)
    elif chart.kind == "bars":
        n = len(chart.data["categories"])
        fig = Figure(figsize=(8, max(3.5, 0.28 * n * max(1, len(chart.data["series"])) / 1.6))
                     if chart.data.get("horizontal") else (max(6.0, 0.6 * n + 2), 4.2))
        _bars(fig, chart.data)
    elif chart.kind == "lines":
        fig = Figure(figsize=(6.5, 4.5))
        _lines(fig, chart.data)
    else:
        raise ValueError(f"unknown chart kind {chart.kind!r}")
    fig.suptitle(chart.title, fontsize=10)
    fig.tight_layout()
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / chart.file
    fig.savefig(path, dpi=100)
    return path
