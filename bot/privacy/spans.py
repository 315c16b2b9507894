"""The shared vocabulary of redaction: what was found (``Span``), what comes back
(``Redaction``), and the ``Redactor`` seam every implementation satisfies."""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Literal, Protocol

Kind = Literal["EMAIL", "PHONE", "CARD", "IBAN", "ID", "PERSON", "ADDRESS"]
# Ties between overlapping detections go to the earlier kind: a checksum-valid identifier
# says more than a name-shaped guess.
KINDS: tuple[Kind, ...] = ("EMAIL", "IBAN", "ID", "CARD", "PHONE", "ADDRESS", "PERSON")
PLACEHOLDER = re.compile(r"\[(?:" + "|".join(KINDS) + r")\]")


def placeholder(kind: Kind) -> str:
    return f"[{kind}]"


@dataclass(frozen=True, slots=True)
class Span:
    """``original`` is ``text[start:end]`` of the text that was redacted."""

    start: int
    end: int
    kind: Kind
    original: str


@dataclass(frozen=True, slots=True)
class Redaction:
    text: str  # the input with every span replaced by its placeholder
    spans: tuple[Span, ...]  # over the original text, sorted, never overlapping

    @property
    def changed(self) -> bool:
        return bool(self.spans)

    @property
    def kinds(self) -> frozenset[Kind]:
        return frozenset(s.kind for s in self.spans)


class Redactor(Protocol):
    def warm_up(self) -> None:
        """Load whatever is heavy now, not on the first message."""

    def redact(self, text: str, language: str | None = None) -> Redaction:
        """``language`` is "en" or "zh"; None means detect it."""


def resolve(text: str, found: Iterable[tuple[int, int, Kind]]) -> list[Span]:
    """Merge overlapping detections into one span covering both (hiding more is the safe
    side), named after the longer one; drop anything touching an existing placeholder so
    that redacting redacted text changes nothing."""
    taken = [m.span() for m in PLACEHOLDER.finditer(text)]
    cands = sorted(
        (s, e, k) for s, e, k in found
        if e > s and not any(s < te and ts < e for ts, te in taken)
    )
    merged: list[tuple[int, int, Kind]] = []
    for s, e, k in cands:
        if merged and s < merged[-1][1]:
            ps, pe, pk = merged[-1]
            longer = k if (e - s, -KINDS.index(k)) > (pe - ps, -KINDS.index(pk)) else pk
            merged[-1] = (ps, max(pe, e), longer)
        else:
            merged.append((s, e, k))
    return [Span(s, e, k, text[s:e]) for s, e, k in merged]


def apply(text: str, spans: list[Span]) -> Redaction:
    parts: list[str] = []
    pos = 0
    for span in spans:
        parts += [text[pos:span.start], placeholder(span.kind)]
        pos = span.end
    parts.append(text[pos:])
    return Redaction("".join(parts), tuple(spans))
