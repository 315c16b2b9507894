"""Replay protection for webhooks signed over a timestamp and a nonce (WeChat, WeCom).

A signed ``(timestamp, nonce)`` pair is good for ONE request: the same pair with another body
or query is refused. The platform retries a delivery it got no answer to with the very same
URL and body, so an identical repeat passes (the hub deduplicates it on the message id and
answers it once). An entry is kept until its timestamp leaves the accepted window, after which
the timestamp check refuses the request anyway.

``ReplayCache`` is the seam: ``MemoryReplayCache`` (this process only, bounded memory) is the
default; a store shared by several hubs implements the same one method.
"""

from __future__ import annotations

import hashlib
import json
from collections import OrderedDict
from collections.abc import Mapping
from typing import Protocol


class ReplayCache(Protocol):
    async def claim(self, key: str, fingerprint: str, expires_at: float, now: float) -> bool:
        """True when ``key`` is new (then remembered with ``fingerprint`` until ``expires_at``)
        or was remembered with this same ``fingerprint``; False when it was used otherwise."""


def fingerprint(method: str, query: Mapping[str, str], body: bytes) -> str:
    """What a repeat of one request has in common with it: method, whole query and body."""
    # JSON holds no raw newline: where the head ends and the body begins is unambiguous
    head = json.dumps([method.upper(), sorted(query.items())], ensure_ascii=True)
    return hashlib.sha256(head.encode() + b"\n" + body).hexdigest()


class MemoryReplayCache:
    """At most ``max_entries`` remembered requests.

    When it is full the oldest entry is dropped, and every request expiring no later than a
    dropped one is refused from then on: a forgotten pair can never be replayed, at worst an
    old genuine request is refused under a flood."""

    def __init__(self, max_entries: int = 50_000) -> None:
        if max_entries < 1:
            raise ValueError("max_entries must be at least 1")
        self.max_entries = max_entries
        self._entries: OrderedDict[str, tuple[str, float]] = OrderedDict()
        self._floor = float("-inf")  # the latest expiry among dropped entries

    def __len__(self) -> int:
        return len(self._entries)

    async def claim(self, key: str, fingerprint: str, expires_at: float, now: float) -> bool:
        self._prune(now)
        seen = self._entries.get(key)
        if seen is not None:
            return seen[0] == fingerprint
        if expires_at <= self._floor:
            return False
        while len(self._entries) >= self.max_entries:
            _, (_, dropped) = self._entries.popitem(last=False)
            self._floor = max(self._floor, dropped)
        self._entries[key] = (fingerprint, expires_at)
        return True

    def _prune(self, now: float) -> None:
        # Insertion order is nearly expiry order: stop at the first entry still alive.
        while self._entries:
            key, (_, expires_at) = next(iter(self._entries.items()))
            if expires_at > now:
                return
            del self._entries[key]
