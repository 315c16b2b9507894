"""Who staff members are now: role and active flag read from the database, not trusted from a
token, kept for a few seconds so a busy console does not query the users table per request.

A token stays valid for hours; with this, demoting or disabling someone takes effect within
``ttl_s`` (``invalidate`` makes a change in this process take effect at once).
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from dataclasses import dataclass

from bot.db.models import User
from bot.db.session import Database


@dataclass(frozen=True)
class StaffStatus:
    user_id: int
    username: str
    role: str
    active: bool


class StaffDirectory:
    def __init__(self, db: Database, ttl_s: float = 5.0,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.db, self.ttl_s, self._clock = db, ttl_s, clock
        self._cache: dict[int, tuple[float, StaffStatus | None]] = {}

    def _load(self, user_id: int) -> StaffStatus | None:
        with self.db.session() as s:
            user = s.get(User, user_id)
            if user is None:
                return None
            return StaffStatus(user.id, user.username, user.role, user.active)

    async def current(self, user_id: int) -> StaffStatus | None:
        """The user as the database has them (at most ``ttl_s`` old); None if gone."""
        now = self._clock()
        hit = self._cache.get(user_id)
        if hit is not None and now - hit[0] < self.ttl_s:
            return hit[1]
        status = await asyncio.to_thread(self._load, user_id)
        self._cache[user_id] = (now, status)  # ids come from signed tokens: staff, not many
        return status

    def invalidate(self, user_id: int | None = None) -> None:
        if user_id is None:
            self._cache.clear()
        else:
            self._cache.pop(user_id, None)
