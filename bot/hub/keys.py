"""Typed application keys: every shared object the hub's handlers reach through ``request.app``."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from typing import TYPE_CHECKING

from aiohttp import web

if TYPE_CHECKING:
    from bot.db.session import Database
    from bot.hub.rasa_client import RasaClient
    from bot.hub.realtime import Realtime
    from bot.hub.router import ConversationRouter
    from bot.services.kb_index import KbIndexer
    from bot.settings import Settings
    from channels.webchat import WebChatAdapter

SETTINGS: web.AppKey[Settings] = web.AppKey("settings")
DB: web.AppKey[Database] = web.AppKey("db")
RASA: web.AppKey[RasaClient] = web.AppKey("rasa")
REALTIME: web.AppKey[Realtime] = web.AppKey("realtime")
ROUTER: web.AppKey[ConversationRouter] = web.AppKey("router")
WEBCHAT: web.AppKey[WebChatAdapter] = web.AppKey("webchat")
KB_INDEXER: web.AppKey[KbIndexer] = web.AppKey("kb_indexer")
# FAISS writes go through one thread, one at a time.
INDEX_WRITER: web.AppKey[ThreadPoolExecutor] = web.AppKey("index_writer")
