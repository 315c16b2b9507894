"""Fitted recommenders on disk as versions with an atomic ``CURRENT`` pointer: the fit command
(and ``make run``) publishes a new version; action servers pick it up on the next request."""

from __future__ import annotations

import os
import shutil
import threading
import time
from pathlib import Path

from bot.db.session import Database
from bot.recommend.model import Recommender
from bot.settings import Settings
from knowledge.embedders import make_embedder

KEEP = 2


def fit_and_publish(db: Database, root: Path, embedder_spec: str = "e5") -> Path:
    with db.session() as s:
        model = Recommender.fit(s, embedder=make_embedder(embedder_spec))
    root.mkdir(parents=True, exist_ok=True)
    version = f"v-{time.time_ns()}"
    tmp = root / f".{version}.tmp"
    model.save(tmp)
    os.replace(tmp, root / version)
    pointer = root / ".CURRENT.tmp"
    pointer.write_text(version)
    os.replace(pointer, root / "CURRENT")
    for old in sorted(p for p in root.glob("v-*") if p.name != version)[:-KEEP]:
        shutil.rmtree(old, ignore_errors=True)
    return root / version


def current_version(root: Path) -> str | None:
    try:
        return (root / "CURRENT").read_text().strip() or None
    except FileNotFoundError:
        return None


class LiveRecommender:
    def __init__(self, root: Path) -> None:
        self.root = root
        self._version: str | None = None
        self._model: Recommender | None = None
        self._lock = threading.Lock()

    def get(self) -> Recommender | None:
        version = current_version(self.root)
        if version != self._version:
            with self._lock:
                if version != self._version:
                    self._model = Recommender.load(self.root / version) if version else None
                    self._version = version
        return self._model


def orders_signature(db: Database) -> str:
    from sqlalchemy import func, select

    from bot.db.models import Order

    with db.session() as s:
        count, last = s.execute(select(func.count(Order.id), func.max(Order.id))).one()
    return f"{count}:{last}"


async def refit_on_schedule(db: Database, settings: Settings) -> None:
    """Refit when the order history changed since the last fit; checked every interval."""
    import asyncio
    import logging

    log = logging.getLogger(__name__)
    root = settings.recommender_path()
    seen = (root / "ORDERS").read_text() if (root / "ORDERS").exists() else None
    while True:
        await asyncio.sleep(settings.recommender_refresh_s)
        try:
            signature = await asyncio.to_thread(orders_signature, db)
            if signature != seen:
                await asyncio.to_thread(fit_and_publish, db, root)
                (root / "ORDERS").write_text(signature)
                seen = signature
                log.info("recommender refitted (orders %s)", signature)
        except Exception:
            log.exception("recommender refit failed; keeping the current model")
