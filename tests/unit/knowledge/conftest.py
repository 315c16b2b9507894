"""The real default-style index the retrieval tests share: multilingual USE over a few real
help-centre articles."""

from __future__ import annotations

import pytest

from bot.settings import REPO_ROOT
from knowledge.articles import load_folder
from knowledge.embedders import Embedder, make_embedder
from knowledge.retriever import IndexStore, KnowledgeIndex

SLUGS = {"returns-policy", "payment-methods", "invoices", "shipping-times", "password-reset"}


@pytest.fixture(scope="session")
def use() -> Embedder:
    e = make_embedder("use")
    e.warm_up()
    return e


@pytest.fixture
def small_store(tmp_path, use: Embedder) -> IndexStore:
    """A published index of the SLUGS articles in a fresh folder."""
    articles = [a for a in load_folder(REPO_ROOT / "knowledge" / "articles") if a.slug in SLUGS]
    store = IndexStore(tmp_path / "idx")
    store.publish(KnowledgeIndex.build(articles, use))
    return store
