"""The hub's periodic privacy and lifecycle job: resolve conversations left idle with the bot,
drop unredacted originals of resolved conversations and their Rasa trackers, and apply the
retention policy."""

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
    tracker = settings.tracker_db_url()
    with db.session() as s:
        resolved = erasure.auto_resolve_idle(s, timedelta(seconds=settings.auto_resolve_after_s))
        scrubbed = erasure.scrub_resolved(s)
        report = erasure.purge_expired(s, settings.retention_days)
    report.add("tracker_events", erasure.forget_trackers(tracker, report.conversation_ids))
    # Rasa's copy of a finished conversation holds the unredacted text: it goes once the
    # conversation is resolved (the redacted transcript stays in our database).
    with db.session() as s:
        finished = erasure.finished_conversations(s, erasure.tracker_senders(tracker))
    return {"auto_resolved": resolved, "originals_dropped": scrubbed,
            "finished_tracker_events": erasure.forget_trackers(tracker, finished),
            **report.as_dict()}


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
            if any(result["removed"].values()) or result["auto_resolved"] \
                    or result["finished_tracker_events"]:
                log.info("housekeeping: %s", result)
        except Exception:
            log.exception("housekeeping failed; will retry")
        await asyncio.sleep(settings.housekeeping_interval_s)
