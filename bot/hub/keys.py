"""Typed application keys: every shared object the hub's handlers reach through ``request.app``."""

from __future__ import annotations

import asyncio
from concurrent.futures import ThreadPoolExecutor
from typing import TYPE_CHECKING, Any

from aiohttp import web

if TYPE_CHECKING:
    from bot.db.session import Database
    from bot.hub.outbound import Outbound
    from bot.hub.passwords import PasswordChecker
    from bot.hub.rasa_client import RasaClient
    from bot.hub.ratelimit import LoginLimiters
    from bot.hub.realtime import Realtime
    from bot.hub.router import ConversationRouter
    from bot.hub.staff import StaffDirectory
    from bot.recommend.live import LiveRecommender
    from bot.services.kb_index import KbIndexer
    from bot.settings import Settings
    from channels.base import ChannelAdapter
    from channels.webchat import WebChatAdapter

SETTINGS: web.AppKey[Settings] = web.AppKey("settings")
DB: web.AppKey[Database] = web.AppKey("db")
RASA: web.AppKey[RasaClient] = web.AppKey("rasa")
REALTIME: web.AppKey[Realtime] = web.AppKey("realtime")
ROUTER: web.AppKey[ConversationRouter] = web.AppKey("router")
WEBCHAT: web.AppKey[WebChatAdapter] = web.AppKey("webchat")
KB_INDEXER: web.AppKey[KbIndexer] = web.AppKey("kb_indexer")
RECOMMENDER: web.AppKey[LiveRecommender] = web.AppKey("recommender")
CHANNELS: web.AppKey[dict[str, ChannelAdapter]] = web.AppKey("channels")
OUTBOUND: web.AppKey[Outbound] = web.AppKey("outbound")
# Background work started by requests (answers to webhooks), awaited on shutdown.
BACKGROUND: web.AppKey[set[asyncio.Future[Any]]] = web.AppKey("background")
# FAISS writes go through one thread, one at a time.
INDEX_WRITER: web.AppKey[ThreadPoolExecutor] = web.AppKey("index_writer")
# Sign-in: failures counted per client address and per username; bcrypt on its own pool.
LOGIN_LIMITERS: web.AppKey[LoginLimiters] = web.AppKey("login_limiters")
PASSWORDS: web.AppKey[PasswordChecker] = web.AppKey("passwords")
# Staff accounts as they are now (role, active), cached a few seconds.
STAFF: web.AppKey[StaffDirectory] = web.AppKey("staff")
