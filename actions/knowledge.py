"""Answers policy and how-to questions from the knowledge base, citing the article, and says
so (offering a person) when nothing fits well enough. Unanswered questions are logged."""

from __future__ import annotations

import asyncio
from functools import lru_cache
from typing import Any
from urllib.parse import quote

from rasa_sdk import Action, Tracker
from rasa_sdk.executor import CollectingDispatcher

from actions import messages as M
from actions.runtime import database, language, metadata, redactor, t
from bot.services import kb
from bot.settings import get_settings
from knowledge.embedders import make_embedder
from knowledge.refusal import make_rule
from knowledge.retriever import Answer, IndexStore, Retriever


@lru_cache(maxsize=1)
def retriever() -> Retriever:
    settings = get_settings()
    embedder = make_embedder(settings.kb_embedder)
    r = Retriever(IndexStore(settings.kb_index_path()), embedder, settings.kb_threshold,
                  make_rule(settings.kb_refusal, embedder.name))
    r.warm_up()
    return r


def article_url(a: Answer) -> str:
    return f"/help/{quote(a.slug)}?lang={a.language}"


def answer_message(a: Answer, lang: str) -> tuple[str, dict[str, Any]]:
    url = article_url(a)
    text = f"{a.text}\n\n{t(M.KB_SOURCE, lang, title=a.title, url=url)}"
    source = {"title": a.title, "url": url, "slug": a.slug, "language": a.language,
              "score": round(a.score, 4)}
    return text, {"sources": [source]}


async def answer_from_kb(dispatcher: CollectingDispatcher, tracker: Tracker) -> bool:
    """Utter the best article passage; False (and log the gap) when nothing fits."""
    question = tracker.latest_message.get("text") or ""
    lang = language(tracker)
    found, score = await asyncio.to_thread(retriever().answer, question, lang)
    if found is None:
        conv = metadata(tracker).get("conversation_id")
        await asyncio.to_thread(_log_gap, question, lang, score, conv)
        return False
    text, custom = answer_message(found, lang)
    dispatcher.utter_message(text=text, json_message=custom)
    return True


def _log_gap(question: str, lang: str, score: float, conversation_id: Any) -> None:
    question = redactor().redact(question, lang).text
    with database().session() as s:
        kb.record_gap(s, question, lang, score, str(conversation_id) if conversation_id else None)


class ActionAnswerKb(Action):
    def name(self) -> str:
        return "action_answer_kb"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker,
                  domain: dict[str, Any]) -> list[dict[str, Any]]:
        if not await answer_from_kb(dispatcher, tracker):
            lang = language(tracker)
            dispatcher.utter_message(text=t(M.KB_NO_ANSWER, lang), buttons=[
                {"title": t(M.HUMAN_BUTTON, lang), "payload": "/request_human"}])
        return []
