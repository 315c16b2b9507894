"""Runs after every customer message (custom slot mapping, via ``action_extract_slots``):
sets the language, remembers which order task was asked for, and stores the turn's NLU result
on the hub's turn row."""

from __future__ import annotations

import asyncio
import logging
from typing import Any

from rasa_sdk import Action, Tracker
from rasa_sdk.events import SlotSet
from rasa_sdk.executor import CollectingDispatcher

from actions.runtime import database, metadata
from bot.services import conversations as convs
from bot.services.language import detect_language

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
        events: list[dict[str, Any]] = [SlotSet("language", lang)]
        if intent in ORDER_TASKS:
            events.append(SlotSet("order_task", intent))
        if meta.get("customer_id") and not tracker.get_slot("customer_id"):
            # The hub only sends customer_id for channel identities already verified.
            events.append(SlotSet("customer_id", str(meta["customer_id"])))
        turn_id = meta.get("turn_id")
        if isinstance(turn_id, int):
            await asyncio.to_thread(self._record, turn_id, intent, confidence, lang)
        return events

    @staticmethod
    def _record(turn_id: int, intent: str | None, confidence: float | None, lang: str) -> None:
        with database().session() as s:
            convs.record_nlu(s, turn_id, intent=intent, confidence=confidence, language=lang)
