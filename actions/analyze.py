"""Runs after every customer message (custom slot mapping, via ``action_extract_slots``):
sets the language, scores the turn's sentiment with the transformer model, remembers which
order task was asked for, and stores the NLU and sentiment results on the hub's turn row."""

from __future__ import annotations

import asyncio
import logging
from functools import lru_cache
from typing import Any

from rasa_sdk import Action, Tracker
from rasa_sdk.events import SlotSet
from rasa_sdk.executor import CollectingDispatcher

from actions.batching import Batcher
from actions.runtime import database, metadata
from bot.sentiment.model import Sentiment, TransformersSentiment
from bot.services import conversations as convs
from bot.services.language import detect_language
from bot.settings import get_settings

log = logging.getLogger(__name__)
ORDER_TASKS = {"order_status", "cancel_order", "change_address"}


class ActionAnalyzeTurn(Action):
    def name(self) -> str:
        return "action_analyze_turn"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker,
                  domain: dict[str, Any]) -> list[dict[str, Any]]:
        msg = tracker.latest_message
        meta = metadata(tracker)
        text = msg.get("text") or ""
        lang = detect_language(text, default=tracker.get_slot("language") or "en")
        intent = (msg.get("intent") or {}).get("name")
        confidence = (msg.get("intent") or {}).get("confidence")
        sentiment = await sentiment_batcher()(text)
        events: list[dict[str, Any]] = [SlotSet("language", lang)]
        if sentiment is not None:
            events += [SlotSet("sentiment", sentiment.label),
                       SlotSet("sentiment_score", round(sentiment.score, 4))]
        if intent in ORDER_TASKS:
            events.append(SlotSet("order_task", intent))
        if meta.get("customer_id") and not tracker.get_slot("customer_id"):
            # The hub only sends customer_id for channel identities already verified.
            events.append(SlotSet("customer_id", str(meta["customer_id"])))
        turn_id = meta.get("turn_id")
        if isinstance(turn_id, int):
            await asyncio.to_thread(self._record, turn_id, intent, confidence, lang, sentiment)
        return events

    @staticmethod
    def _record(turn_id: int, intent: str | None, confidence: float | None, lang: str,
                sentiment: Sentiment | None) -> None:
        with database().session() as s:
            convs.record_nlu(s, turn_id, intent=intent, confidence=confidence, language=lang,
                             sentiment=(sentiment.label, sentiment.score) if sentiment else None)


@lru_cache(maxsize=1)
def sentiment_model() -> TransformersSentiment | None:
    name = get_settings().sentiment_model
    if not name:
        log.error("no sentiment model configured (KEFU_SENTIMENT_MODEL); turns are not scored")
        return None
    model = TransformersSentiment(name)
    model.warm_up()
    return model


def score_sentiment(text: str) -> Sentiment | None:
    return score_many([text])[0]


def score_many(texts: list[str]) -> list[Sentiment | None]:
    model = sentiment_model()
    scored = [t for t in texts if t.strip()]
    if model is None or not scored:
        return [None] * len(texts)
    found = iter(model.score(scored))
    return [next(found) if t.strip() else None for t in texts]


@lru_cache(maxsize=1)
def sentiment_batcher() -> Batcher[str, Sentiment | None]:
    """Every turn is scored: concurrent turns share one forward pass (see actions.batching)."""
    return Batcher(score_many, max_batch=16, name="sentiment")
