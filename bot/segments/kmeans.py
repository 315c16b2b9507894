"""K-means segments on RFM, with k chosen by silhouette and names derived from the centroids.

- Features: log1p of recency, frequency and monetary (all three are heavy-tailed), then
  standardised, so no single unit dominates the distances.
- Customers without orders are not clustered: they would form a trivially separated cluster
  that inflates the silhouette and uses up one k. They get the fixed segment "Prospects".
- k in 2..8 maximises the silhouette (ties: the smaller k). Inertia (for an elbow plot) and
  the Davies-Bouldin index are recorded for every k, but do not vote.
- Names: each cluster gets R/F/M scores from where its centroid lies among the clusters on
  each axis (min-max scaled in the clustering space: 1 = most recent / most frequent /
  biggest spender, 0 = least), and clusters are matched one-to-one to named archetypes at
  fixed points of that score space by minimum total squared distance (Hungarian assignment).
  Scaling the centroids keeps the rule free of units and of the shop's size, like ranks do,
  but unlike bare ranks it keeps a cluster 2 days out next to one 1 day out, not level with
  one 300 days out.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.optimize import linear_sum_assignment
from sklearn.cluster import KMeans
from sklearn.metrics import davies_bouldin_score, silhouette_score
from sklearn.preprocessing import StandardScaler
from threadpoolctl import threadpool_limits

from bot.segments.rfm import RFM

K_RANGE = range(2, 9)
SILHOUETTE_SAMPLE = 5000  # silhouette is O(n^2): score a seeded sample beyond this
PROSPECTS = "Prospects"

# Archetype -> (recency score, frequency score, monetary score); 1 is best on each axis.
ARCHETYPES: dict[str, tuple[float, float, float]] = {
    "Champions": (1.0, 1.0, 1.0),
    "Loyal": (0.7, 0.9, 0.6),
    "Big spenders": (0.5, 0.3, 1.0),
    "Promising": (0.8, 0.4, 0.4),
    "New": (1.0, 0.0, 0.0),
    "Need attention": (0.5, 0.5, 0.5),
    "At risk": (0.2, 0.6, 0.6),
    "Can't lose them": (0.0, 1.0, 1.0),
    "Hibernating": (0.0, 0.0, 0.0),
}
NAMES_ZH: dict[str, str] = {
    "Champions": "重要价值客户",
    "Loyal": "忠诚客户",
    "Big spenders": "高消费客户",
    "Promising": "潜力客户",
    "New": "新客户",
    "Need attention": "需关注客户",
    "At risk": "流失风险客户",
    "Can't lose them": "重要挽留客户",
    "Hibernating": "沉睡客户",
    PROSPECTS: "未购客户",
}


def segment_label(segment: str, language: str = "en") -> str:
    """The display name of a segment in ``language`` (``en`` or ``zh``)."""
    return NAMES_ZH.get(segment, segment) if language == "zh" else segment


@dataclass(frozen=True)
class KScore:
    k: int
    silhouette: float
    inertia: float
    davies_bouldin: float


@dataclass(frozen=True)
class Segment:
    name: str
    name_zh: str
    size: int
    recency_days: float  # member means, in natural units
    frequency: float
    monetary_cents: float
    scores: tuple[float, float, float] | None  # centroid scores (R, F, M); None: prospects


@dataclass(frozen=True)
class Segmentation:
    k: int | None  # None when there were too few buyers to cluster
    scores: list[KScore]
    segments: list[Segment]
    labels: np.ndarray  # segment name per customer, aligned with the RFM rows

    def silhouette_by_k(self) -> dict[int, float]:
        return {s.k: s.silhouette for s in self.scores}


def rfm_matrix(rfm: RFM, rows: np.ndarray) -> np.ndarray:
    raw = np.column_stack([rfm.recency_days[rows], rfm.frequency[rows],
                           rfm.monetary_cents[rows]]).astype(float)
    return StandardScaler().fit_transform(np.log1p(raw))


def score_k(x: np.ndarray, ks: range = K_RANGE, seed: int = 0) -> list[tuple[KScore, KMeans]]:
    """Fit K-means for every feasible k and score it. Needs k < number of distinct points."""
    distinct = len(np.unique(x, axis=0))
    out = []
    for k in ks:
        if not 2 <= k < distinct:
            continue
        model = KMeans(n_clusters=k, n_init=10, random_state=seed).fit(x)
        sample = SILHOUETTE_SAMPLE if len(x) > SILHOUETTE_SAMPLE else None
        sil = silhouette_score(x, model.labels_, sample_size=sample, random_state=seed)
        out.append((KScore(k, float(sil), float(model.inertia_),
                           float(davies_bouldin_score(x, model.labels_))), model))
    return out


def position_scores(centroids: np.ndarray) -> np.ndarray:
    """(k, 3) centroids of (recency, frequency, monetary) in the clustering space -> (k, 3)
    scores in [0, 1]: each axis min-max scaled over the clusters, oriented so 1 is best."""
    oriented = centroids * np.array([-1.0, 1.0, 1.0])  # recent is good: low recency scores high
    low, high = oriented.min(axis=0), oriented.max(axis=0)
    return (oriented - low) / np.where(high > low, high - low, 1.0)


def name_clusters(centroids: np.ndarray) -> list[str]:
    """One distinct archetype name per centroid (see the module docstring). Centroids are
    (recency, frequency, monetary) in the clustering space; only relative positions matter."""
    scores = position_scores(centroids)
    targets = np.array(list(ARCHETYPES.values()))
    cost = ((scores[:, None, :] - targets[None, :, :]) ** 2).sum(axis=2)
    rows, cols = linear_sum_assignment(cost)
    names = list(ARCHETYPES)
    return [names[c] for _, c in sorted(zip(rows, cols, strict=True))]


def _segment(name: str, rfm: RFM, members: np.ndarray,
             scores: tuple[float, float, float] | None) -> Segment:
    return Segment(name=name, name_zh=NAMES_ZH[name], size=int(members.sum()),
                   recency_days=float(rfm.recency_days[members].mean()),
                   frequency=float(rfm.frequency[members].mean()),
                   monetary_cents=float(rfm.monetary_cents[members].mean()),
                   scores=scores)


def segment_customers(rfm: RFM, ks: range = K_RANGE, seed: int = 0) -> Segmentation:
    buyers = rfm.buyers()
    labels = np.full(len(rfm), PROSPECTS, dtype=object)
    rows = np.flatnonzero(buyers)
    # One thread: at this size OpenMP start-up and spinning cost more than they save, and on a
    # busy 2-core host they made the k sweep 150x slower (38 s instead of 0.2 s).
    with threadpool_limits(1):
        fitted = score_k(rfm_matrix(rfm, rows), ks, seed) if len(rows) else []
    segments: list[Segment] = []
    k = None
    if fitted:
        # max() keeps the first of equal silhouettes, i.e. the smaller k
        best_score, model = max(fitted, key=lambda pair: pair[0].silhouette)
        k = best_score.k
        names = name_clusters(model.cluster_centers_)
        scores = position_scores(model.cluster_centers_)
        labels[rows] = np.array(names, dtype=object)[model.labels_]
        order = {name: i for i, name in enumerate(ARCHETYPES)}
        for c in sorted(range(k), key=lambda c: order[names[c]]):
            s = scores[c]
            segments.append(_segment(names[c], rfm, labels == names[c],
                                     (float(s[0]), float(s[1]), float(s[2]))))
    elif len(rows):
        labels[rows] = "Need attention"  # too few distinct buyers to cluster: one group
        segments.append(_segment("Need attention", rfm, buyers, None))
    if (~buyers).any():
        segments.append(_segment(PROSPECTS, rfm, ~buyers, None))
    return Segmentation(k=k, scores=[s for s, _ in fitted], segments=segments, labels=labels)
