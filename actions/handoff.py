"""Handing the conversation to a person, and what to do when the bot keeps not understanding.

The handoff itself is a custom payload (``{"handoff": true, "reason": ...}``) in the bot's
reply; the hub acts on it (the conversation moves to ``open`` with an agent)."""

from __future__ import annotations

from typing import Any

from rasa_sdk import Action, Tracker
from rasa_sdk.executor import CollectingDispatcher

from actions import messages as M
from actions.knowledge import answer_from_kb
from actions.runtime import language, t

FALLBACKS_BEFORE_OFFER = 2
FALLBACKS_BEFORE_HANDOFF = 3


def handoff_reason(tracker: Tracker) -> str:
    intent = (tracker.latest_message.get("intent") or {}).get("name")
    if intent == "request_human":
        return "customer_request"
    if tracker.latest_action_name == "utter_empathize" or any(
        e.get("event") == "bot"
        and (e.get("metadata") or {}).get("utter_action") == "utter_empathize"
        for e in tracker.events[-6:]
    ):
        return "complaint"
    return "customer_request"


class ActionHandoff(Action):
    def name(self) -> str:
        return "action_handoff"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker,
                  domain: dict[str, Any]) -> list[dict[str, Any]]:
        dispatcher.utter_message(text=t(M.HANDOFF, language(tracker)))
        dispatcher.utter_message(json_message={"handoff": True, "reason": handoff_reason(tracker)})
        return []


def consecutive_fallbacks(tracker: Tracker) -> int:
    """How many customer turns in a row ended in NLU fallback, this one included."""
    n = 0
    for e in reversed(tracker.events):
        if e.get("event") != "user":
            continue
        if ((e.get("parse_data") or {}).get("intent") or {}).get("name") != "nlu_fallback":
            break
        n += 1
    return n


class ActionFallback(Action):
    def name(self) -> str:
        return "action_fallback"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker,
                  domain: dict[str, Any]) -> list[dict[str, Any]]:
        lang, n = language(tracker), consecutive_fallbacks(tracker)
        # The classifier was unsure, but the help centre may still know the answer.
        if n < FALLBACKS_BEFORE_HANDOFF and await answer_from_kb(dispatcher, tracker):
            return []
        if n >= FALLBACKS_BEFORE_HANDOFF:
            dispatcher.utter_message(text=t(M.HANDOFF, lang))
            dispatcher.utter_message(json_message={"handoff": True, "reason": "repeated_fallback"})
        elif n >= FALLBACKS_BEFORE_OFFER:
            dispatcher.utter_message(text=t(M.FALLBACK_OFFER, lang), buttons=[
                {"title": t(M.HUMAN_BUTTON, lang), "payload": "/request_human"}])
        else:
            dispatcher.utter_message(response="utter_default")
        return []
