"""What every action shares: the database (opened lazily, never at import: rasa-sdk starts its
workers with "spawn"), the turn's language, and its metadata from the hub."""

from __future__ import annotations

from functools import lru_cache
from typing import Any

from rasa_sdk import Tracker

from bot.db.session import Database
from bot.privacy.redaction import Redactor, make_redactor
from bot.services.catalog import brand_names
from bot.services.language import detect_language
from bot.settings import get_settings


@lru_cache(maxsize=1)
def database() -> Database:
    return Database(get_settings().db_url())


@lru_cache(maxsize=1)
def redactor() -> Redactor:
    """What actions store about a customer (e.g. unanswered questions) is redacted too."""
    with database().session() as s:
        brands = brand_names(s)
    return make_redactor(get_settings().redaction, keep=brands)


def metadata(tracker: Tracker) -> dict[str, Any]:
    meta = tracker.latest_message.get("metadata") or {}
    return meta if isinstance(meta, dict) else {}


def language(tracker: Tracker) -> str:
    lang = tracker.get_slot("language") or metadata(tracker).get("language")
    if lang in ("en", "zh"):
        return str(lang)
    return detect_language(tracker.latest_message.get("text") or "")


def t(messages: dict[str, str], lang: str, **kwargs: Any) -> str:
    return (messages.get(lang) or messages["en"]).format(**kwargs)
