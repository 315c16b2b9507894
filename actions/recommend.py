"""Product suggestions: the blended recommender (collaborative + content + popularity) for the
verified customer, popular picks for anyone else; always in stock and not already bought,
within the category or price the customer mentioned, each with its reason."""

from __future__ import annotations

import asyncio
import re
from functools import lru_cache
from typing import Any

from rasa_sdk import Action, Tracker
from rasa_sdk.events import SlotSet
from rasa_sdk.executor import CollectingDispatcher

from actions import messages as M
from actions.runtime import database, language, t
from bot.db.models import Product
from bot.recommend.live import LiveRecommender
from bot.recommend.model import Recommendation
from bot.services import catalog
from bot.settings import get_settings

_MAX_PRICE = re.compile(
    r"(?:under|below|less than|max(?:imum)?|up to|<)\s*[¥$]?\s*(\d+)"
    r"|(\d+)\s*(?:元|块|rmb|yuan)?\s*(?:以内|以下|之内)", re.IGNORECASE)


@lru_cache(maxsize=1)
def live() -> LiveRecommender:
    return LiveRecommender(get_settings().recommender_path())


def max_price_cents(text: str) -> int | None:
    m = _MAX_PRICE.search(text)
    if m is None:
        return None
    return int(m.group(1) or m.group(2)) * 100


class ActionRecommend(Action):
    def name(self) -> str:
        return "action_recommend"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker,
                  domain: dict[str, Any]) -> list[dict[str, Any]]:
        lang = language(tracker)
        text = tracker.latest_message.get("text") or ""
        category = catalog.detect_category(text)
        cid = tracker.get_slot("customer_id")
        picks = await asyncio.to_thread(_recommend, int(cid) if cid else None, category,
                                        max_price_cents(text))
        if not picks:
            dispatcher.utter_message(text=t(M.RECOMMEND_NONE, lang))
            return []
        scope = ""
        if category:
            scope = t(M.RECOMMEND_SCOPE, lang, category=catalog.CATEGORY_ZH[category]
                      if lang == "zh" else category)
        lines = [t(M.RECOMMEND_INTRO, lang, scope=scope)]
        items = []
        for rec, product, because in picks:
            name = product.name_zh if lang == "zh" else product.name_en
            reason = _reason(rec, because, lang, category)
            lines.append(t(M.RECOMMEND_LINE, lang, name=name,
                           price=f"{product.price_cents / 100:,.0f}") + f" — {reason}")
            items.append({"product_id": product.id, "name": name, "category": product.category,
                          "price": product.price_cents / 100, "reason": rec.reason,
                          "reason_text": reason, "because_of": rec.because_of})
        # Buttons where the channel shows them; "the second one" works everywhere (the slot
        # remembers the list for action_product_details).
        buttons = [{"title": item["name"],
                    "payload": f'/choose_product{{"product_id": "{item["product_id"]}"}}'}
                   for item in items]
        dispatcher.utter_message(text="\n".join(lines), buttons=buttons)
        dispatcher.utter_message(json_message={"recommendations": items})
        return [SlotSet("last_recommendations", [str(i["product_id"]) for i in items])]


_ORDINALS = [("first", "1st", "第一", "一号", "1号", "option one"),
             ("second", "2nd", "第二", "二号", "2号", "option two"),
             ("third", "3rd", "第三", "三号", "3号", "option three")]


def chosen_index(text: str) -> int | None:
    lowered = text.lower()
    for i, words in enumerate(_ORDINALS):
        if any(w in lowered for w in words):
            return i
    m = re.search(r"\b([1-3])\b", lowered)
    return int(m.group(1)) - 1 if m else None


class ActionProductDetails(Action):
    """The follow-up on a choice: details of the product the customer picked."""

    def name(self) -> str:
        return "action_product_details"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker,
                  domain: dict[str, Any]) -> list[dict[str, Any]]:
        lang = language(tracker)
        product_id = next(tracker.get_latest_entity_values("product_id"), None)
        if product_id is None:
            shown = tracker.get_slot("last_recommendations") or []
            index = chosen_index(tracker.latest_message.get("text") or "")
            if index is not None and index < len(shown):
                product_id = shown[index]
        if product_id is None or not str(product_id).isdigit():
            dispatcher.utter_message(text=t(M.CHOOSE_WHICH, lang))
            return []
        product = await asyncio.to_thread(_product, int(product_id))
        if product is None:
            dispatcher.utter_message(text=t(M.CHOOSE_WHICH, lang))
            return []
        stock = t(M.IN_STOCK if product.stock > 0 else M.OUT_OF_STOCK, lang, n=product.stock)
        dispatcher.utter_message(text=t(
            M.PRODUCT_DETAILS, lang,
            name=product.name_zh if lang == "zh" else product.name_en,
            description=product.description_zh if lang == "zh" else product.description_en,
            price=f"{product.price_cents / 100:,.0f}", stock=stock))
        dispatcher.utter_message(json_message={"product": {
            "product_id": product.id, "sku": product.sku, "stock": product.stock,
            "price": product.price_cents / 100}})
        return []


def _product(product_id: int) -> Product | None:
    with database().session() as s:
        return s.get(Product, product_id)


def _reason(rec: Recommendation, because: Product | None, lang: str,
            category: str | None) -> str:
    other = (because.name_zh if lang == "zh" else because.name_en) if because else ""
    if rec.reason == "bought_together" and other:
        return t(M.REASON_BOUGHT_TOGETHER, lang, product=other)
    if rec.reason == "similar_to" and other:
        return t(M.REASON_SIMILAR, lang, product=other)
    return t(M.RECOMMEND_REASON, lang)


def _recommend(customer_id: int | None, category: str | None, max_price: int | None
               ) -> list[tuple[Recommendation, Product, Product | None]]:
    model = live().get()
    with database().session() as s:
        if model is None:  # not fitted yet: plain popularity from the database
            picks = catalog.popular_in_stock(s, category, customer_id)
            return [(Recommendation(p.id, 0.0, "popular", None), s.get(Product, p.id), None)
                    for p in picks]
        model.refresh_stock(s)
        recs = model.recommend(customer_id, k=3, category=category, max_price_cents=max_price)
        return [(r, s.get(Product, r.product_id),
                 s.get(Product, r.because_of) if r.because_of else None) for r in recs]
