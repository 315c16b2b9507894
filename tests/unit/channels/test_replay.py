"""The in-memory replay cache: one request per signed (timestamp, nonce), bounded memory."""

from __future__ import annotations

import pytest

from channels.replay import MemoryReplayCache, fingerprint

NOW = 1_700_000_000.0


async def test_a_key_is_good_for_one_fingerprint_until_it_expires() -> None:
    cache = MemoryReplayCache()
    assert await cache.claim("wechat:1:n", "body-a", NOW + 300, NOW)
    assert await cache.claim("wechat:1:n", "body-a", NOW + 300, NOW + 10)  # exact repeat
    assert not await cache.claim("wechat:1:n", "body-b", NOW + 300, NOW + 10)
    assert await cache.claim("wechat:1:n", "body-b", NOW + 900, NOW + 301)  # expired: new
    assert len(cache) == 1


async def test_memory_stays_bounded_and_forgotten_keys_are_never_accepted_again() -> None:
    cache = MemoryReplayCache(max_entries=3)
    for i in range(10):
        assert await cache.claim(f"k{i}", "f", NOW + 300 + i, NOW)
    assert len(cache) == 3
    # k0..k6 were dropped: a replay of them with another body is still refused
    for i in range(7):
        assert not await cache.claim(f"k{i}", "other", NOW + 300 + i, NOW + 1)
    # requests newer than anything dropped are still accepted
    assert await cache.claim("k10", "f", NOW + 310, NOW + 1)


def test_fingerprint_covers_method_query_and_body() -> None:
    base = fingerprint("POST", {"nonce": "1", "timestamp": "2"}, b"<xml/>")
    assert base == fingerprint("post", {"timestamp": "2", "nonce": "1"}, b"<xml/>")
    assert base != fingerprint("POST", {"nonce": "1", "timestamp": "2"}, b"<xml>x</xml>")
    assert base != fingerprint("POST", {"nonce": "1", "timestamp": "2", "openid": "o"},
                               b"<xml/>")
    assert base != fingerprint("GET", {"nonce": "1", "timestamp": "2"}, b"<xml/>")
    # no ambiguity between where the query ends and the body begins
    assert fingerprint("POST", {"a": "b"}, b"c") != fingerprint("POST", {"a": "bc"}, b"")


def test_a_cache_needs_room() -> None:
    with pytest.raises(ValueError):
        MemoryReplayCache(max_entries=0)
