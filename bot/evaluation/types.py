"""What an evaluation section hands to the report builder: plain data, no rendering.

Sections are built from the evaluations' JSON (fresh or reused), so the builder and its
tests never need a model."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

Cell = str | int | float | None
Status = Literal["ok", "not available", "skipped", "failed"]


@dataclass(frozen=True)
class Table:
    headers: list[str]
    rows: list[list[Cell]]
    caption: str = ""


@dataclass(frozen=True)
class Chart:
    """A PNG to draw. ``kind`` picks the renderer in ``charts.py``; ``data`` is JSON-able:

    - bars: ``categories``, ``series`` {name: [value per category]}, optional ``y_label``,
      ``horizontal``
    - heatmap: ``panels`` [{``title``, ``labels``, ``matrix``}] (rows true, columns predicted)
    - lines: ``series`` {name: {``x``: [...], ``y``: [...]}}, optional ``x_label``,
      ``y_label``, ``vline`` (a marked x), ``diagonal`` (the chance line of a ROC plot)
    """

    file: str
    title: str
    kind: Literal["bars", "heatmap", "lines"]
    data: dict[str, Any]


@dataclass
class Section:
    key: str
    title: str
    status: Status = "ok"
    dataset: str = ""
    size: str = ""
    # the numbers that go to the summary table and summary.json
    headline: dict[str, Cell] = field(default_factory=dict)
    provenance: list[str] = field(default_factory=list)
    tables: list[Table] = field(default_factory=list)
    charts: list[Chart] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    source: str = ""  # the JSON the section was built from

    @classmethod
    def unavailable(cls, key: str, title: str, why: str,
                    status: Status = "not available") -> Section:
        return cls(key, title, status=status, notes=[why])
