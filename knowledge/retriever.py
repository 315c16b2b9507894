"""Knowledge index (chunks + FAISS) saved as versioned directories, and the retriever that
answers questions from the current version, hot-swapping when a new one is published.

Layout under the index root: ``v-<n>/`` (``index.faiss``, ``chunks.json``) and ``CURRENT``
(the name of the live version, replaced atomically). Readers only ever see complete versions.
"""

from __future__ import annotations

import json
import logging
import os
import shutil
import threading
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np

from knowledge.articles import Article
from knowledge.chunking import Chunk, chunk
from knowledge.embedders import Embedder
from knowledge.index import DEFAULT_APPROX_THRESHOLD, VectorIndex
from knowledge.refusal import AnswerRule

log = logging.getLogger(__name__)
KEEP_VERSIONS = 3


@dataclass(frozen=True)
class Hit:
    slug: str
    language: str
    title: str
    position: int
    text: str
    score: float


class KnowledgeIndex:
    def __init__(self, embedder_name: str, chunks: dict[int, Chunk], index: VectorIndex,
                 approx_threshold: int = DEFAULT_APPROX_THRESHOLD) -> None:
        self.embedder_name = embedder_name
        self.chunks = chunks
        self.index = index
        self.approx_threshold = approx_threshold

    @classmethod
    def build(cls, articles: list[Article], embedder: Embedder,
              approx_threshold: int = DEFAULT_APPROX_THRESHOLD) -> KnowledgeIndex:
        chunks = [c for a in articles for c in chunk(a)]
        ids = np.arange(1, len(chunks) + 1, dtype=np.int64)
        vectors = embedder.embed_passages([c.embed_text for c in chunks])
        if not chunks:
            vectors = np.zeros((0, embedder.dim or 1), np.float32)
        index = VectorIndex.build(vectors, ids, approx_threshold)
        return cls(embedder.name, dict(zip(ids.tolist(), chunks, strict=True)), index,
                   approx_threshold)

    def remove(self, slug: str, language: str) -> int:
        ids = [i for i, c in self.chunks.items() if c.slug == slug and c.language == language]
        self.index.remove(ids)
        for i in ids:
            del self.chunks[i]
        return len(ids)

    def upsert(self, article: Article, embedder: Embedder) -> int:
        """Replace one article (slug + language): incremental, no full rebuild."""
        self.remove(article.slug, article.language)
        new = chunk(article)
        start = max(self.chunks, default=0) + 1
        ids = np.arange(start, start + len(new), dtype=np.int64)
        self.index.add(embedder.embed_passages([c.embed_text for c in new]), ids)
        self.chunks.update(zip(ids.tolist(), new, strict=True))
        return len(new)

    def search(self, query_vector: np.ndarray, k: int = 10) -> list[Hit]:
        if not self.chunks:
            return []
        scores, ids = self.index.search(query_vector.reshape(1, -1), k)
        hits = []
        for score, cid in zip(scores[0], ids[0], strict=True):
            c = self.chunks.get(int(cid))
            if c is not None:
                hits.append(Hit(c.slug, c.language, c.title, c.position, c.text, float(score)))
        return hits

    def article_chunks(self, slug: str, language: str) -> list[Chunk]:
        return sorted((c for c in self.chunks.values()
                       if c.slug == slug and c.language == language and c.position >= 0),
                      key=lambda c: c.position)

    def save(self, folder: Path) -> None:
        folder.mkdir(parents=True, exist_ok=True)
        self.index.save(folder / "index.faiss")
        meta = {"embedder": self.embedder_name, "approx_threshold": self.approx_threshold,
                "chunks": {str(i): asdict(c) for i, c in self.chunks.items()}}
        (folder / "chunks.json").write_text(json.dumps(meta, ensure_ascii=False),
                                            encoding="utf-8")

    @classmethod
    def load(cls, folder: Path) -> KnowledgeIndex:
        meta = json.loads((folder / "chunks.json").read_text(encoding="utf-8"))
        chunks = {int(i): Chunk(**c) for i, c in meta["chunks"].items()}
        return cls(meta["embedder"], chunks, VectorIndex.load(folder / "index.faiss"),
                   meta.get("approx_threshold", DEFAULT_APPROX_THRESHOLD))


class IndexStore:
    """Versioned index directories with an atomically replaced ``CURRENT`` pointer."""

    def __init__(self, root: Path) -> None:
        self.root = root

    def current(self) -> str | None:
        try:
            return (self.root / "CURRENT").read_text().strip() or None
        except FileNotFoundError:
            return None

    def load_current(self) -> KnowledgeIndex | None:
        version = self.current()
        return KnowledgeIndex.load(self.root / version) if version else None

    def publish(self, kindex: KnowledgeIndex) -> str:
        self.root.mkdir(parents=True, exist_ok=True)
        existing = sorted(int(p.name[2:]) for p in self.root.glob("v-*") if p.name[2:].isdigit())
        version = f"v-{(existing[-1] + 1) if existing else 1}"
        tmp = self.root / f".{version}.tmp"
        shutil.rmtree(tmp, ignore_errors=True)
        kindex.save(tmp)
        os.replace(tmp, self.root / version)
        pointer = self.root / ".CURRENT.tmp"
        pointer.write_text(version)
        os.replace(pointer, self.root / "CURRENT")
        for old in existing[:-KEEP_VERSIONS]:
            shutil.rmtree(self.root / f"v-{old}", ignore_errors=True)
        return version


@dataclass(frozen=True)
class Answer:
    slug: str
    language: str
    title: str
    text: str
    score: float


class Retriever:
    """Answers from the live index version; picks up a newly published version on the next
    question (a cheap read of ``CURRENT``), swapping the whole index in one assignment.

    Whether the best article answers is the ``rule``'s call (``knowledge.refusal``); without
    one, its top score must reach ``threshold``."""

    def __init__(self, store: IndexStore, embedder: Embedder, threshold: float,
                 rule: AnswerRule | None = None) -> None:
        self.store = store
        self.embedder = embedder
        self.threshold = threshold
        self.rule = rule
        self._version: str | None = None
        self._kb: KnowledgeIndex | None = None
        self._lock = threading.Lock()

    def refresh(self) -> None:
        version = self.store.current()
        if version == self._version:
            return
        with self._lock:
            if version == self._version:
                return
            kb = KnowledgeIndex.load(self.store.root / version) if version else None
            self._kb, self._version = kb, version
            log.info("knowledge index %s loaded (%d chunks)", version,
                     len(kb.chunks) if kb else 0)

    def warm_up(self) -> None:
        self.embedder.warm_up()
        self.refresh()
        if self.rule is not None:
            self.rule.warm_up(self._kb)

    @property
    def version(self) -> str | None:
        return self._version

    def search(self, query: str, k: int = 10) -> list[Hit]:
        self.refresh()
        kb = self._kb
        if kb is None:
            return []
        return kb.search(self.embedder.embed_queries([query])[0], k)

    def ranked_articles(self, query: str, k: int = 20) -> list[tuple[str, float]]:
        """Article slugs by their best chunk's score (languages merged)."""
        best: dict[str, float] = {}
        for h in self.search(query, k):
            best[h.slug] = max(best.get(h.slug, -1.0), h.score)
        return sorted(best.items(), key=lambda kv: -kv[1])

    def accepts(self, query: str, language: str, hits: list[Hit]) -> bool:
        """Whether the best of ``hits`` (from ``search``) answers the question."""
        kb = self._kb
        if self.rule is None or kb is None:
            return max(h.score for h in hits) >= self.threshold
        return self.rule.accepts(query, language, hits, kb)

    def answer(self, query: str, language: str) -> tuple[Answer | None, float]:
        """The best article's passage in ``language``, or None when the rule refuses."""
        hits = self.search(query, 20)
        if not hits:
            return None, 0.0
        best = max(hits, key=lambda h: h.score)
        if not self.accepts(query, language, hits):
            return None, best.score
        same = [h for h in hits if h.slug == best.slug and h.language == language]
        if same:
            h = max(same, key=lambda h: h.score)
            return Answer(h.slug, h.language, h.title, h.text, best.score), best.score
        kb = self._kb
        translated = kb.article_chunks(best.slug, language) if kb else []
        if translated:
            pos = min(max(best.position, 0), len(translated) - 1)
            c = translated[pos]
            return Answer(c.slug, c.language, c.title, c.text, best.score), best.score
        return Answer(best.slug, best.language, best.title, best.text, best.score), best.score
