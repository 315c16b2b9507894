"""The benchmark's message mix: customer lines (``bench/messages.jsonl``, written for the
benchmark, not taken from the NLU data) and the short conversations built from them.

A line is ``{"kind": ..., "lang": "en"|"zh", "text": ...}``; order lines carry ``{order_id}``
and contact lines ``{email}``, filled with a real demo order and its customer's email so that
verification runs."""

from __future__ import annotations

import json
import random
from dataclasses import dataclass
from pathlib import Path

MESSAGES = Path(__file__).with_name("messages.jsonl")
LANGS = ("en", "zh")
# Conversation shapes: the kinds of their turns, in order.
SHAPES: dict[str, tuple[str, ...]] = {
    "faq": ("greeting", "faq", "faq"),
    "order": ("order", "contact", "thanks"),
    "recommend": ("greeting", "recommend", "thanks"),
}
KINDS = frozenset(k for shape in SHAPES.values() for k in shape)


@dataclass(frozen=True)
class Line:
    kind: str
    lang: str
    text: str


@dataclass(frozen=True)
class OrderRef:
    order_id: int
    email: str


@dataclass(frozen=True)
class Script:
    shape: str
    lang: str
    turns: tuple[Line, ...]


def load_mix(path: Path = MESSAGES) -> list[Line]:
    """All lines; fails on an unknown kind or language, and unless every kind of every shape
    has a line in both languages."""
    lines = []
    for n, raw in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        if not raw.strip():
            continue
        d = json.loads(raw)
        if d.get("kind") not in KINDS or d.get("lang") not in LANGS or not d.get("text"):
            raise ValueError(f"{path}:{n}: need kind in {sorted(KINDS)}, lang in {LANGS}, text")
        lines.append(Line(d["kind"], d["lang"], d["text"]))
    missing = {(k, g) for k in KINDS for g in LANGS} - {(x.kind, x.lang) for x in lines}
    if missing:
        raise ValueError(f"{path}: no lines for {sorted(missing)}")
    return lines


def conversation(rng: random.Random, lines: list[Line], orders: list[OrderRef]) -> Script:
    """One conversation: a random shape and language, a random line of each kind, with the
    placeholders filled from one random demo order."""
    shape = rng.choice(sorted(SHAPES))
    lang = rng.choice(LANGS)
    order = rng.choice(orders)
    turns = []
    for kind in SHAPES[shape]:
        line = rng.choice([x for x in lines if x.kind == kind and x.lang == lang])
        text = line.text.format(order_id=order.order_id, email=order.email)
        turns.append(Line(kind, lang, text))
    return Script(shape, lang, tuple(turns))
