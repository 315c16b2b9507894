"""The hub's app factory: ``create_app(settings)`` wires the database, Rasa client, router,
channels and routes; start-up and clean-up hooks own every long-lived resource."""

from __future__ import annotations

import asyncio
import logging
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from aiohttp import web

from bot.analytics.topics import default_vectors
from bot.db.session import Database
from bot.hub import keys
from bot.hub.audit_trail import audit_middleware
from bot.hub.channel_registry import build_channels
from bot.hub.errors import error_middleware
from bot.hub.headers import security_headers
from bot.hub.housekeeping import refresh_profiles_forever
from bot.hub.housekeeping import run_forever as housekeeping
from bot.hub.outbound import Outbound
from bot.hub.passwords import PasswordChecker
from bot.hub.rasa_client import RasaClient
from bot.hub.ratelimit import LoginLimiters, MemoryLimiter
from bot.hub.realtime import Realtime
from bot.hub.router import ConversationRouter
from bot.hub.routes import (
    analytics,
    auth,
    chat,
    console,
    conversations,
    health,
    kb,
    pages,
    privacy,
)
from bot.hub.routes import channels as channels_routes
from bot.hub.security import auth_middleware
from bot.hub.staff import StaffDirectory
from bot.privacy.redaction import Redactor, make_redactor
from bot.recommend.live import LiveRecommender, refit_on_schedule
from bot.services.catalog import brand_names
from bot.services.kb_index import KbIndexer
from bot.settings import Settings
from channels import webchat
from channels.webchat import WebChatAdapter
from knowledge.embedders import make_embedder
from knowledge.retriever import IndexStore

log = logging.getLogger(__name__)


def _warm_redactor(db: Database, mode: str) -> Redactor:
    """Loads spaCy and jieba before the first customer; brand names are not people."""
    with db.session() as s:
        brands = brand_names(s)
    redactor = make_redactor(mode, keep=brands)
    redactor.warm_up()
    return redactor


def create_app(settings: Settings, db: Database | None = None) -> web.Application:
    app = web.Application(middlewares=[error_middleware, auth_middleware, audit_middleware],
                          client_max_size=256 * 1024)
    app.on_response_prepare.append(security_headers(settings))
    app[keys.SETTINGS] = settings
    app[keys.DB] = db or Database(settings.db_url())
    app[keys.RASA] = RasaClient(settings.rasa_url, settings.rasa_timeout_s,
                                settings.rasa_auth_token())
    app[keys.REALTIME] = realtime = Realtime()
    app[keys.ROUTER] = router = ConversationRouter(
        app[keys.DB], app[keys.RASA], reply_wait_s=settings.reply_wait_s,
        staff_notifier=realtime.broadcast_staff, csat=settings.csat_enabled)
    app[keys.WEBCHAT] = WebChatAdapter(settings.max_message_chars, realtime.push)

    async def push_webchat(sender_id: str, conversation_id: str, frame: dict[str, Any]) -> bool:
        if await realtime.push(sender_id, frame) == 0:
            log.info("message for conversation %s stored; customer %s is offline",
                     conversation_id, sender_id)
            return False
        return True

    router.register_channel(webchat.NAME, push_webchat)
    app[keys.KB_INDEXER] = KbIndexer(app[keys.DB], IndexStore(settings.kb_index_path()),
                                     make_embedder(settings.kb_embedder),
                                     settings.kb_approx_threshold)
    app[keys.INDEX_WRITER] = ThreadPoolExecutor(max_workers=1, thread_name_prefix="kb-index")
    app[keys.RECOMMENDER] = LiveRecommender(settings.recommender_path())
    app[keys.CHANNELS] = build_channels(settings)
    app[keys.OUTBOUND] = Outbound(app[keys.DB], realtime.broadcast_staff)
    app[keys.BACKGROUND] = set()
    lockout = settings.login_lockout_max_s
    app[keys.LOGIN_LIMITERS] = LoginLimiters(
        by_address=MemoryLimiter(settings.login_max_failures_ip, lockout, lockout),
        by_user=MemoryLimiter(settings.login_max_failures_user, lockout, lockout))
    app[keys.PASSWORDS] = PasswordChecker(settings.password_workers)
    app[keys.STAFF] = StaffDirectory(app[keys.DB], settings.staff_cache_s)
    channels_routes.attach_delivery(app)

    for table in (pages.routes, health.routes, auth.routes, chat.routes, conversations.routes,
                  console.routes, kb.routes, channels_routes.routes, analytics.routes,
                  privacy.routes):
        app.add_routes(table)
    app.router.add_static("/static", pages.STATIC)

    async def lifecycle(app: web.Application):  # type: ignore[no-untyped-def]
        await app[keys.RASA].start()
        if settings.redaction != "off":
            redactor = await asyncio.to_thread(_warm_redactor, app[keys.DB], settings.redaction)
            router.redact = lambda text, language: redactor.redact(text, language).text
        # the topic model loads in the background: the dashboard's first report is then quick
        topics_ready = asyncio.ensure_future(asyncio.to_thread(default_vectors().warm_up))
        refits = asyncio.ensure_future(refit_on_schedule(app[keys.DB], settings))
        chores = asyncio.gather(housekeeping(app[keys.DB], settings),
                                refresh_profiles_forever(app[keys.DB], settings))
        resumed = await router.resume_unanswered()
        if resumed:
            log.info("resuming %d unanswered customer turns", resumed)
        yield
        refits.cancel()
        chores.cancel()
        await asyncio.gather(refits, chores, topics_ready, return_exceptions=True)
        for task in list(app[keys.BACKGROUND]):
            task.cancel()
        await asyncio.gather(*app[keys.BACKGROUND], return_exceptions=True)
        for adapter in app[keys.CHANNELS].values():
            close = getattr(adapter, "close", None)
            if close is not None:
                await close()
        app[keys.INDEX_WRITER].shutdown(wait=True)
        await router.close()
        await realtime.close_all()
        await app[keys.RASA].close()

    async def password_pool(app: web.Application):  # type: ignore[no-untyped-def]
        await app[keys.PASSWORDS].start()
        yield
        await app[keys.PASSWORDS].close()

    app.cleanup_ctx.append(password_pool)
    app.cleanup_ctx.append(lifecycle)
    return app
