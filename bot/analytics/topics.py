"""Topics of customer turns: what customers write about, and how that moves per week and
channel.

Pipeline:
1. Customer turns in [since, until), the newest ``max_turns``; only ``Turn.text`` (stored
   redacted) is read. Small talk (greetings, thanks, yes/no, bare order numbers) and turns
   with no content word are left out: they are not topics.
2. Tokens: jieba for both languages (it passes English words through), lower-cased, without
   spaCy's English and Chinese stop words, redaction placeholders, numbers and punctuation.
3. Vectors: multilingual Universal Sentence Encoder (``use``) embeddings, cached per turn id,
   by default; TF-IDF + LSA (``LsaVectors``) needs no model. Then PCA to 64 dimensions.
4. K-means, k in 2..12 by cosine silhouette (ties: the smaller k; at most 12 topics so a
   dashboard stays readable), seeded.
5. Each topic: its top c-TF-IDF terms (a class-based TF-IDF: term frequency within the topic,
   weighted by log(1 + mean words per topic / the term's frequency over all topics), so
   words every topic uses sink), its commonest NLU intent, and the three turns nearest the
   centroid.

Why USE (measured on the 1,197 non-small-talk lines of the held-out NLU set, EN + ZH,
21 intents, as a stand-in for real turns; 2-core host shared with other jobs): agreement of
the chosen clusters with the intents was NMI 0.60 / ARI 0.39 for USE (k = 12, topics mixing
both languages: "warranty / 保修 / repair", "invoice / 发票 / 报销"), against NMI 0.21 /
ARI 0.06 for TF-IDF + LSA (one language per topic, one catch-all topic) and a language split
for e5 (silhouette chose k = 4, NMI 0.06). Cost on 5,000 turns: USE embeds 1.1-1.8 ms per
turn single-threaded (~9 s cold, then only new turns), clustering and labels ~3 s;
TF-IDF + LSA ~4 s in all.

Reports are cached keyed by the database, the arguments and the newest customer turn id and
count in the range: a new or deleted turn recomputes. Call ``default_vectors().warm_up()`` at
start-up so the first report does not load the model.
"""

from __future__ import annotations

import copy
import re
import threading
from collections import Counter, OrderedDict
from collections.abc import Hashable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Protocol

import jieba
import numpy as np
from sklearn.cluster import KMeans
from sklearn.decomposition import PCA, TruncatedSVD
from sklearn.feature_extraction.text import CountVectorizer, TfidfTransformer
from sklearn.metrics import silhouette_score
from sklearn.preprocessing import normalize
from spacy.lang.en.stop_words import STOP_WORDS as STOP_EN
from spacy.lang.zh.stop_words import STOP_WORDS as STOP_ZH
from sqlalchemy import Select, func, select
from sqlalchemy.orm import Session
from threadpoolctl import threadpool_limits

from bot.db.models import Conversation, Turn
from knowledge.embedders import Embedder, make_embedder

K_RANGE = range(2, 13)
REDUCED_DIMS = 64  # K-means and silhouette run on this many dimensions
SILHOUETTE_SAMPLE = 2000
TOP_TERMS = 8
EXAMPLE_CHARS = 80
# Intents that say nothing about what the customer needs.
SMALL_TALK = frozenset({"greet", "goodbye", "thank", "affirm", "deny", "inform", "rate"})
_PLACEHOLDER = re.compile(r"\[[A-Z_]+\]")
_WORD = re.compile(r"[^\W\d_]", re.UNICODE)  # at least one letter or Han character
_STOP = frozenset(w.lower() for w in STOP_EN | STOP_ZH) | {"hi", "hello", "pls", "please"}

jieba.setLogLevel(60)  # jieba logs its dictionary loading at INFO


def tokenize(text: str) -> list[str]:
    """Content words of an English or Chinese (or mixed) text."""
    words = (w.strip().lower() for w in jieba.lcut(_PLACEHOLDER.sub(" ", text)))
    # one character is too little for a label: Latin ones are contraction debris ("what's" ->
    # "what", "'", "s"), Han ones mostly particles and adverbs (太, 还, 退 beside 退货)
    return [w for w in words if _WORD.search(w) and w not in _STOP and len(w) > 1]


@dataclass(frozen=True)
class TurnRow:
    id: int
    text: str
    intent: str | None
    channel: str
    created_at: datetime


def _customer_turns(since: datetime | None, until: datetime | None) -> Select[Any]:
    q = (select(Turn.id, Turn.text, Turn.intent, Conversation.channel, Turn.created_at)
         .join(Conversation, Conversation.id == Turn.conversation_id)
         .where(Turn.role == "customer"))
    if since is not None:
        q = q.where(Turn.created_at >= since)
    if until is not None:
        q = q.where(Turn.created_at < until)
    return q


def load_turns(session: Session, since: datetime | None, until: datetime | None,
               max_turns: int) -> list[TurnRow]:
    q = _customer_turns(since, until).order_by(Turn.id.desc()).limit(max_turns)
    return [TurnRow(*row) for row in session.execute(q)]


def iso_week(at: datetime) -> str:
    year, week, _ = (at if at.tzinfo else at.replace(tzinfo=UTC)).isocalendar()
    return f"{year}-W{week:02d}"


def c_tf_idf(counts: np.ndarray) -> np.ndarray:
    """(topics, terms) word counts -> class-based TF-IDF weights."""
    tf = counts / np.maximum(counts.sum(axis=1, keepdims=True), 1)
    mean_words = counts.sum() / len(counts)
    return tf * np.log1p(mean_words / np.maximum(counts.sum(axis=0), 1))


class TopicVectors(Protocol):
    """Turns (and their word counts) in, one row vector per turn out."""

    name: str

    def vectors(self, turns: list[TurnRow], counts: Any) -> np.ndarray: ...


class LsaVectors:
    """TF-IDF of the content words, reduced by truncated SVD (latent semantic analysis).

    No model to load, but English and Chinese turns about one thing share no words, so they
    land in different topics."""

    name = "tfidf-lsa"

    def __init__(self, dims: int = REDUCED_DIMS, seed: int = 0) -> None:
        self.dims, self.seed = dims, seed

    def vectors(self, turns: list[TurnRow], counts: Any) -> np.ndarray:
        tfidf = TfidfTransformer(sublinear_tf=True).fit_transform(counts)
        dims = min(self.dims, tfidf.shape[1] - 1, len(turns) - 1)
        if dims < 2:
            return normalize(tfidf.toarray())
        return normalize(TruncatedSVD(dims, random_state=self.seed).fit_transform(tfidf))


class EmbeddingCache:
    """Sentence embeddings of the turns' texts, cached by text (a vector depends on the text
    only, and the same short messages recur), so each text is embedded once per process."""

    def __init__(self, embedder: Embedder, max_items: int = 50_000) -> None:
        self.embedder = embedder
        self.name = embedder.name
        self.max_items = max_items
        self._vectors: OrderedDict[str, np.ndarray] = OrderedDict()
        self._lock = threading.Lock()

    def warm_up(self) -> None:
        self.embedder.warm_up()

    def vectors(self, turns: list[TurnRow], counts: Any = None) -> np.ndarray:
        texts = [t.text for t in turns]
        with self._lock:
            missing = list(dict.fromkeys(x for x in texts if x not in self._vectors))
        fresh = self.embedder.embed_passages(missing) if missing else []
        with self._lock:
            for text, v in zip(missing, fresh, strict=True):
                self._vectors[text] = v
            for text in texts:
                self._vectors.move_to_end(text)
            out = np.stack([self._vectors[text] for text in texts])
            while len(self._vectors) > self.max_items:
                self._vectors.popitem(last=False)
        return normalize(out)


_default_vectors: EmbeddingCache | None = None
_default_lock = threading.Lock()


def default_vectors() -> EmbeddingCache:
    """The process-wide USE embedding cache (the model loads on ``warm_up()`` or first use:
    call ``default_vectors().warm_up()`` at start-up)."""
    global _default_vectors
    with _default_lock:
        if _default_vectors is None:
            _default_vectors = EmbeddingCache(make_embedder("use"))
        return _default_vectors


class ReportCache:
    """A few recent reports, bounded, thread-safe (the hub computes them in worker threads)."""

    def __init__(self, size: int = 16) -> None:
        self.size = size
        self._items: OrderedDict[Hashable, dict[str, Any]] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, key: Hashable) -> dict[str, Any] | None:
        with self._lock:
            if key in self._items:
                self._items.move_to_end(key)
                return self._items[key]
            return None

    def put(self, key: Hashable, report: dict[str, Any]) -> None:
        with self._lock:
            self._items[key] = report
            while len(self._items) > self.size:
                self._items.popitem(last=False)


_REPORTS = ReportCache()


def reduce(x: np.ndarray, dims: int = REDUCED_DIMS, seed: int = 0) -> np.ndarray:
    """PCA to ``dims`` and back to unit length. On USE vectors of the held-out lines this made
    clustering about 5x faster and agreed better with the intents (NMI 0.63 against 0.54)."""
    dims = min(dims, len(x) - 1)
    if x.shape[1] <= dims or dims < 2:
        return x
    return normalize(PCA(dims, random_state=seed).fit_transform(x))


def cluster(x: np.ndarray, ks: range = K_RANGE,
            seed: int = 0) -> tuple[np.ndarray, int, dict[int, float]]:
    """Labels, chosen k and the silhouette of every k tried (cosine distance)."""
    distinct = len(np.unique(np.round(x, 6), axis=0))
    tried: dict[int, float] = {}
    best: tuple[float, int, np.ndarray] | None = None
    for k in ks:
        if not 2 <= k < distinct:
            continue
        labels = KMeans(n_clusters=k, n_init=4, random_state=seed).fit_predict(x)
        sample = SILHOUETTE_SAMPLE if len(x) > SILHOUETTE_SAMPLE else None
        tried[k] = float(silhouette_score(x, labels, metric="cosine", sample_size=sample,
                                          random_state=seed))
        if best is None or tried[k] > best[0]:
            best = (tried[k], k, labels)
    if best is None:  # too few distinct turns to split: one topic
        return np.zeros(len(x), dtype=int), 1, tried
    return best[2], best[1], tried


def _short(text: str) -> str:
    text = " ".join(text.split())
    return text if len(text) <= EXAMPLE_CHARS else text[:EXAMPLE_CHARS - 1] + "…"


def _topics(turns: list[TurnRow], x: np.ndarray, labels: np.ndarray, counts: Any,
            vocabulary: np.ndarray) -> list[dict[str, Any]]:
    k = int(labels.max()) + 1
    per_topic = np.vstack([np.asarray(counts[labels == c].sum(axis=0)).ravel()
                           for c in range(k)])
    weights = c_tf_idf(per_topic)
    out = []
    for c in range(k):
        members = np.flatnonzero(labels == c)
        top = [str(vocabulary[j]) for j in np.argsort(-weights[c], kind="stable")[:TOP_TERMS]
               if weights[c, j] > 0]
        intents = Counter(turns[i].intent for i in members if turns[i].intent)
        centre = x[members].mean(axis=0)
        examples: list[str] = []
        for i in members[np.argsort(-(x[members] @ centre), kind="stable")]:
            text = _short(turns[i].text)
            if text not in examples:
                examples.append(text)
            if len(examples) == 3:
                break
        out.append({"id": c, "label": " / ".join(top[:3]), "terms": top,
                    "top_intent": intents.most_common(1)[0][0] if intents else None,
                    "intents": dict(intents.most_common(5)),
                    "size": len(members), "examples": examples})
    return out


def _counts_by(turns: list[TurnRow], labels: np.ndarray, field: str,
               key: str) -> list[dict[str, Any]]:
    tally = Counter(
        (iso_week(t.created_at) if field == "week" else t.channel, int(c))
        for t, c in zip(turns, labels, strict=True))
    return [{key: k, "topic": topic, "count": n} for (k, topic), n in sorted(tally.items())]


def build_report(turns: list[TurnRow], vectors: TopicVectors, *,
                 seed: int = 0) -> dict[str, Any]:
    """The topic report of already loaded turns (see the module docstring)."""
    kept = [t for t in turns if t.intent not in SMALL_TALK]
    tokens = [tokenize(t.text) for t in kept]
    kept = [t for t, words in zip(kept, tokens, strict=True) if words]
    tokens = [words for words in tokens if words]
    report: dict[str, Any] = {"turns": len(turns), "analysed": len(kept), "k": 0,
                              "silhouette_by_k": {},
                              "method": vectors.name,
                              "topics": [], "by_week": [], "by_channel": []}
    if not kept:
        return report
    vectorizer = CountVectorizer(analyzer=lambda words: words)
    counts = vectorizer.fit_transform(tokens)
    # Single-threaded: thread start-up costs more than it saves at this size, and much more
    # on a busy host (see bot/segments/kmeans.py).
    with threadpool_limits(1):
        x = reduce(vectors.vectors(kept, counts), seed=seed)
        labels, k, tried = cluster(x, seed=seed)
    report |= {"k": k, "silhouette_by_k": tried,
               "topics": _topics(kept, x, labels, counts, vectorizer.get_feature_names_out()),
               "by_week": _counts_by(kept, labels, "week", "week"),
               "by_channel": _counts_by(kept, labels, "channel", "channel")}
    return report


def topic_report(session: Session, since: datetime | None, until: datetime | None,
                 max_turns: int = 5000, *, vectors: TopicVectors | None = None,
                 cache: ReportCache | None = _REPORTS) -> dict[str, Any]:
    """Topics of the customer turns in [since, until) (see the module docstring).

    Returns {"topics": [{"id", "label", "terms", "top_intent", "intents" (the five commonest,
    with counts), "size", "examples"}],
    "by_week": [{"week", "topic", "count"}], "by_channel": [{"channel", "topic", "count"}],
    plus "turns", "analysed", "k", "silhouette_by_k" and "method"}."""
    vectors = vectors or default_vectors()
    key = None
    if cache is not None:
        newest = _customer_turns(since, until).with_only_columns(func.max(Turn.id),
                                                                 func.count(Turn.id))
        key = (str(session.get_bind().url), since, until, max_turns,
               vectors.name,
               *session.execute(newest).one())
        if (hit := cache.get(key)) is not None:
            return copy.deepcopy(hit)  # callers may edit theirs
    report = build_report(load_turns(session, since, until, max_turns), vectors)
    if cache is not None and key is not None:
        cache.put(key, copy.deepcopy(report))
    return report
