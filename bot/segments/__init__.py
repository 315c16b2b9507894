"""Customer segments (RFM + K-means) and churn risk, stored as customer profiles."""

from bot.segments.kmeans import segment_label
from bot.segments.service import (
    SegmentsSummary,
    compute_profiles,
    profile_for,
    segment_summary,
)

__all__ = ["SegmentsSummary", "compute_profiles", "profile_for", "segment_label",
           "segment_summary"]
