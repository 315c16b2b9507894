"""When to admit that no article fits: a second opinion on the retriever's best article.

A single cosine threshold cannot tell a right article from a wrong one that scores as high, so
``LogisticRule`` also looks at how far the best article is ahead of the runner-up, whether the
Universal Sentence Encoder (a second, differently trained embedder) agrees, and how many
character n-grams the question shares with the article's title and tags. A logistic regression
on those features, fitted by ``python -m knowledge.refusal_fit`` and shipped as coefficients in
``refusal_model.json``, says how likely the best article is the right one; below the cutoff the
bot refuses. Measured out-of-fold in ``refusal_model.json`` (``cross_validation``).
"""

from __future__ import annotations

import json
import logging
import math
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

import numpy as np
from sklearn.feature_extraction.text import TfidfVectorizer

from knowledge.chunking import TITLE_POSITION
from knowledge.embedders import Embedder, make_embedder

if TYPE_CHECKING:
    from knowledge.retriever import Hit, KnowledgeIndex

log = logging.getLogger(__name__)

MODEL_PATH = Path(__file__).resolve().parent / "refusal_model.json"
# Every feature Evidence computes; a model uses a subset, named in its JSON.
FEATURES = ("top_score", "margin", "use_at_top", "use_top", "use_agrees", "title_overlap", "zh")


class AnswerRule(Protocol):
    """Decides whether the retriever's best article answers the question."""

    def warm_up(self, kb: KnowledgeIndex | None) -> None: ...

    def accepts(self, query: str, language: str, hits: list[Hit], kb: KnowledgeIndex) -> bool: ...


def ranked(hits: list[Hit]) -> list[tuple[str, float]]:
    """Articles by their best chunk's score, languages merged (as the retriever ranks them)."""
    best: dict[str, float] = {}
    for h in hits:
        best[h.slug] = max(best.get(h.slug, -1.0), h.score)
    return sorted(best.items(), key=lambda kv: -kv[1])


@dataclass(frozen=True)
class _IndexView:
    """What the second opinion needs of one index version, computed once per version."""

    slugs: np.ndarray  # per chunk
    use_vectors: np.ndarray  # per chunk, L2-normalised
    titles: dict[str, Any]  # slug -> TF-IDF rows of its title chunks (one per language)
    vectorizer: TfidfVectorizer


class Evidence:
    """The features of one question's retrieval (see ``FEATURES``)."""

    def __init__(self, second: Embedder | None = None) -> None:
        self.second = second or make_embedder("use")
        self._kb: KnowledgeIndex | None = None
        self._view: _IndexView | None = None
        # Chunk vectors by text: a republished version re-embeds only the chunks that changed.
        self._vectors: dict[str, np.ndarray] = {}
        self._lock = threading.Lock()

    def warm_up(self, kb: KnowledgeIndex | None) -> None:
        self.second.warm_up()
        if kb is not None:
            self._view_of(kb)

    def _view_of(self, kb: KnowledgeIndex) -> _IndexView:
        with self._lock:
            if self._kb is not kb or self._view is None:
                self._view, self._kb = self._build(kb), kb
            return self._view

    def _build(self, kb: KnowledgeIndex) -> _IndexView:
        chunks = list(kb.chunks.values())
        texts = [c.embed_text for c in chunks]
        missing = sorted({t for t in texts if t not in self._vectors})
        if missing:
            self._vectors.update(zip(missing, self.second.embed_passages(missing), strict=True))
        self._vectors = {t: self._vectors[t] for t in texts}
        vectors = np.stack([self._vectors[t] for t in texts]) if texts else \
            np.zeros((0, self.second.dim), np.float32)
        # Character n-grams work for English words and unsegmented Chinese alike.
        vectorizer = TfidfVectorizer(analyzer="char_wb", ngram_range=(2, 4), sublinear_tf=True)
        vectorizer.fit(texts or ["-"])
        by_slug: dict[str, list[str]] = {}
        for c in chunks:
            if c.position == TITLE_POSITION:
                by_slug.setdefault(c.slug, []).append(c.embed_text)
        titles = {slug: vectorizer.transform(t) for slug, t in by_slug.items()}
        return _IndexView(np.array([c.slug for c in chunks]), vectors, titles, vectorizer)

    def features(self, query: str, language: str, hits: list[Hit],
                 kb: KnowledgeIndex) -> dict[str, float]:
        articles = ranked(hits)
        top, top_score = articles[0]
        # A lone article has no runner-up: no margin, rather than a large one.
        margin = top_score - articles[1][1] if len(articles) > 1 else 0.0
        view = self._view_of(kb)
        use = view.use_vectors @ self.second.embed_queries([query])[0]
        on_top = use[view.slugs == top]
        title_rows = view.titles.get(top)
        overlap = 0.0
        if title_rows is not None:
            overlap = float((title_rows @ view.vectorizer.transform([query]).T).max())
        return {"top_score": top_score, "margin": margin,
                "use_at_top": float(on_top.max()) if on_top.size else 0.0,
                "use_top": float(use.max()) if use.size else 0.0,
                "use_agrees": float(bool(use.size) and view.slugs[int(use.argmax())] == top),
                "title_overlap": overlap, "zh": float(language == "zh")}


@dataclass(frozen=True)
class LogisticModel:
    """Standardised features, then a logistic regression: P(the best article is right)."""

    features: tuple[str, ...]
    mean: tuple[float, ...]
    scale: tuple[float, ...]
    coef: tuple[float, ...]
    intercept: float

    def probability(self, x: dict[str, float]) -> float:
        z = self.intercept + sum(w * (x[f] - m) / s for f, m, s, w in
                                 zip(self.features, self.mean, self.scale, self.coef, strict=True))
        return 1.0 / (1.0 + math.exp(-z))

    def to_json(self) -> dict[str, Any]:
        return {"features": list(self.features), "mean": list(self.mean),
                "scale": list(self.scale), "coef": list(self.coef), "intercept": self.intercept}

    @classmethod
    def from_json(cls, d: dict[str, Any]) -> LogisticModel:
        unknown = set(d["features"]) - set(FEATURES)
        if unknown:
            raise ValueError(f"refusal model uses unknown features {sorted(unknown)}")
        return cls(tuple(d["features"]), tuple(d["mean"]), tuple(d["scale"]), tuple(d["coef"]),
                   float(d["intercept"]))


class LogisticRule:
    """Answers when the model's probability reaches the cutoff."""

    def __init__(self, model: LogisticModel, cutoff: float,
                 evidence: Evidence | None = None) -> None:
        self.model, self.cutoff = model, cutoff
        self.evidence = evidence or Evidence()

    def warm_up(self, kb: KnowledgeIndex | None) -> None:
        self.evidence.warm_up(kb)

    def probability(self, query: str, language: str, hits: list[Hit],
                    kb: KnowledgeIndex) -> float:
        return self.model.probability(self.evidence.features(query, language, hits, kb))

    def accepts(self, query: str, language: str, hits: list[Hit], kb: KnowledgeIndex) -> bool:
        return self.probability(query, language, hits, kb) >= self.cutoff


def make_rule(spec: str, embedder_name: str, path: Path = MODEL_PATH) -> AnswerRule | None:
    """``threshold`` → None (the retriever's cosine threshold); ``logistic`` or
    ``logistic:<cutoff name>`` → the shipped model at that cutoff. The model was fitted on one
    retrieval embedder's scores; with another it would be miscalibrated, so the threshold
    stays in charge."""
    name, _, cutoff_name = spec.partition(":")
    if name == "threshold":
        return None
    if name != "logistic":
        raise ValueError(f"unknown KB refusal rule {spec!r}: use 'threshold' or 'logistic'")
    data = json.loads(path.read_text(encoding="utf-8"))
    if data["embedder"] != embedder_name:
        log.warning("refusal model was fitted for the %s embedder, not %s: using the threshold",
                    data["embedder"], embedder_name)
        return None
    cutoffs: dict[str, float] = data["cutoffs"]
    cutoff_name = cutoff_name or data["default_cutoff"]
    if cutoff_name not in cutoffs:
        raise ValueError(f"refusal model has no cutoff {cutoff_name!r}: {sorted(cutoffs)}")
    return LogisticRule(LogisticModel.from_json(data["model"]), cutoffs[cutoff_name])
