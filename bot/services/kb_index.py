"""Keeps the FAISS knowledge index in step with the published articles in the database.

One writer at a time (the hub runs these on a single-worker executor); readers — the action
servers — pick up each new version through ``IndexStore``'s atomic ``CURRENT`` pointer."""

from __future__ import annotations

import logging
import threading

from bot.db.session import Database
from bot.services import kb
from knowledge.embedders import Embedder
from knowledge.retriever import IndexStore, KnowledgeIndex

log = logging.getLogger(__name__)


class KbIndexer:
    def __init__(self, db: Database, store: IndexStore, embedder: Embedder,
                 approx_threshold: int) -> None:
        self.db = db
        self.store = store
        self.embedder = embedder
        self.approx_threshold = approx_threshold
        self._lock = threading.RLock()

    def rebuild(self) -> str:
        with self._lock:
            with self.db.session() as s:
                articles = kb.published_articles(s)
            index = KnowledgeIndex.build(articles, self.embedder, self.approx_threshold)
            version = self.store.publish(index)
            log.info("knowledge index rebuilt: %s, %d articles, %d chunks", version,
                     len(articles), len(index.chunks))
            return version

    def update(self, slug: str, language: str) -> str:
        """Re-index one article (or drop it when deleted/unpublished): incremental."""
        with self._lock:
            current = self.store.load_current()
            if current is None or current.embedder_name != self.embedder.name:
                return self.rebuild()
            with self.db.session() as s:
                live = kb.published_articles(s, slug=slug, language=language)
            if live:
                current.upsert(live[0], self.embedder)
            else:
                current.remove(slug, language)
            version = self.store.publish(current)
            log.info("knowledge index %s: %s/%s %s", version, slug, language,
                     "updated" if live else "removed")
            return version
