"""Product recommendations: popularity, item-item CF and content similarity, blended."""

from bot.recommend.model import (
    Interactions,
    Purchase,
    Recommendation,
    Recommender,
    load_interactions,
)

__all__ = ["Interactions", "Purchase", "Recommendation", "Recommender", "load_interactions"]
