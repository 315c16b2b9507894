"""Product suggestions (popularity baseline, in stock, not already bought when we know who asks)."""

from __future__ import annotations

import asyncio
from typing import Any

from rasa_sdk import Action, Tracker
from rasa_sdk.executor import CollectingDispatcher

from actions import messages as M
from actions.runtime import database, language, t
from bot.services import catalog


class ActionRecommend(Action):
    def name(self) -> str:
        return "action_recommend"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker,
                  domain: dict[str, Any]) -> list[dict[str, Any]]:
        lang = language(tracker)
        category = catalog.detect_category(tracker.latest_message.get("text") or "")
        cid = tracker.get_slot("customer_id")
        picks = await asyncio.to_thread(_picks, category, int(cid) if cid else None)
        if not picks:
            dispatcher.utter_message(text=t(M.RECOMMEND_NONE, lang))
            return []
        scope = ""
        if category:
            name = catalog.CATEGORY_ZH[category] if lang == "zh" else category
            scope = t(M.RECOMMEND_SCOPE, lang, category=name)
        lines = [t(M.RECOMMEND_INTRO, lang, scope=scope)]
        lines += [t(M.RECOMMEND_LINE, lang, name=p.name_zh if lang == "zh" else p.name_en,
                    price=f"{p.price_cents / 100:,.0f}") for p in picks]
        dispatcher.utter_message(text="\n".join(lines))
        dispatcher.utter_message(json_message={"recommendations": [
            {"product_id": p.id, "name": p.name_zh if lang == "zh" else p.name_en,
             "category": p.category, "price": p.price_cents / 100,
             "reason": t(M.RECOMMEND_REASON, lang)} for p in picks]})
        return []


def _picks(category: str | None, customer_id: int | None) -> list[catalog.ProductPick]:
    with database().session() as s:
        return catalog.popular_in_stock(s, category, customer_id)
