"""Loads the models before the first customer needs them (the launcher calls this action once
the server is up): rasa-sdk starts its workers by "spawn", so nothing heavy loads at import."""

from __future__ import annotations

import asyncio
import time
from typing import Any

from rasa_sdk import Action, Tracker
from rasa_sdk.executor import CollectingDispatcher

from actions.analyze import score_sentiment
from actions.knowledge import retriever
from actions.runtime import database, redactor

WARM_UP_ACTION = "action_kefu_warm_up"


class ActionWarmUp(Action):
    def name(self) -> str:
        return WARM_UP_ACTION

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker,
                  domain: dict[str, Any]) -> list[dict[str, Any]]:
        t0 = time.monotonic()
        await asyncio.to_thread(_warm)
        dispatcher.utter_message(json_message={"warm_up_s": round(time.monotonic() - t0, 2)})
        return []


def _warm() -> None:
    database().engine.connect().close()
    score_sentiment("warm up")
    retriever().search("warm up")
    redactor().warm_up()
