"""Throttling repeated attempts (sign-in), per key: a few free failures, then a back-off that
doubles with every further failure up to a ceiling, forgotten after a quiet spell.

``Limiter`` is the seam (async, so a shared store such as Redis can implement it for several
hubs); ``MemoryLimiter`` keeps the counts in this process. An attempt is counted when it
starts, before the password is checked, so a burst of concurrent attempts cannot all slip
through before the first failure is recorded; a success then takes it back.
"""

from __future__ import annotations

import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol


class Limiter(Protocol):
    async def attempt(self, key: str) -> float:
        """Count an attempt for ``key``: 0.0 when it may go ahead, else the seconds until
        one may (a refused attempt is not counted)."""
        ...

    async def succeeded(self, key: str) -> None:
        """The attempt went well: it does not count (earlier failures still do)."""
        ...

    async def clear(self, key: str) -> None:
        """Forget every failure of ``key`` (e.g. a user who signed in)."""
        ...


@dataclass
class _Count:
    attempts: int = 0
    blocked_until: float = 0.0
    last: float = 0.0


class MemoryLimiter:
    """``free`` attempts, then 1 s, 2 s, 4 s, ... (at most ``max_s``) between attempts; a key
    idle for ``forget_s`` starts over. At most ``max_keys`` keys are kept (least recently
    used go first), so a flood of made-up usernames cannot exhaust memory."""

    def __init__(self, free: int, max_s: float = 900.0, forget_s: float = 900.0,
                 base_s: float = 1.0, max_keys: int = 100_000,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.free, self.max_s, self.forget_s, self.base_s = free, max_s, forget_s, base_s
        self.max_keys, self._clock = max_keys, clock
        self._counts: OrderedDict[str, _Count] = OrderedDict()

    def _get(self, key: str, now: float) -> _Count:
        count = self._counts.get(key)
        if count is None or now - count.last > max(self.forget_s, count.blocked_until - count.last):
            count = self._counts[key] = _Count()
        self._counts.move_to_end(key)
        while len(self._counts) > self.max_keys:
            self._counts.popitem(last=False)
        return count

    def _block(self, count: _Count) -> None:
        over = count.attempts - self.free
        count.blocked_until = (count.last + min(self.max_s, self.base_s * 2 ** over)
                               if over >= 0 else 0.0)

    async def attempt(self, key: str) -> float:
        now = self._clock()
        count = self._get(key, now)
        if count.blocked_until > now:
            return count.blocked_until - now
        count.attempts += 1
        count.last = now
        self._block(count)
        return 0.0

    async def succeeded(self, key: str) -> None:
        count = self._counts.get(key)
        if count is not None and count.attempts:
            count.attempts -= 1
            self._block(count)

    async def clear(self, key: str) -> None:
        self._counts.pop(key, None)


@dataclass(frozen=True)
class LoginLimiters:
    """Sign-in failures counted per client address (generous: an office shares one) and per
    username (strict: guessing one account's password)."""

    by_address: Limiter
    by_user: Limiter
