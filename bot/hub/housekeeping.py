"""The hub's periodic privacy and lifecycle job: resolve conversations left idle with the bot,
drop unredacted originals of resolved conversations, and apply the retention policy (database
and Rasa tracker store)."""

from __future__ import annotations

import asyncio
import logging
from datetime import timedelta
from typing import Any

from bot.db.session import Database
from bot.segments.service import compute_profiles
from bot.services import erasure
from bot.settings import Settings

log = logging.getLogger(__name__)


def run_once(db: Database, settings: Settings) -> dict[str, Any]:
    with db.session() as s:
        resolved = erasure.auto_resolve_idle(s, timedelta(seconds=settings.auto_resolve_after_s))
        scrubbed = erasure.scrub_resolved(s)
        report = erasure.purge_expired(s, settings.retention_days)
    report.add("tracker_events",
               erasure.forget_trackers(settings.tracker_db_url(), report.conversation_ids))
    return {"auto_resolved": resolved, "originals_dropped": scrubbed, **report.as_dict()}


async def refresh_profiles_forever(db: Database, settings: Settings) -> None:
    """Customer segments and churn risk follow the order history (daily by default)."""
    while True:
        await asyncio.sleep(settings.profiles_refresh_s)
        try:
            await asyncio.to_thread(compute_profiles, db)
        except Exception:
            log.exception("recomputing customer profiles failed; will retry")


async def run_forever(db: Database, settings: Settings) -> None:
    while True:
        try:
            result = await asyncio.to_thread(run_once, db, settings)
            if any(result["removed"].values()) or result["auto_resolved"]:
                log.info("housekeeping: %s", result)
        except Exception:
            log.exception("housekeeping failed; will retry")
        await asyncio.sleep(settings.housekeeping_interval_s)
