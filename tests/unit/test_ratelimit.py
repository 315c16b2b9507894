"""The in-memory sign-in limiter: free attempts, then a doubling back-off up to a ceiling,
forgotten after a quiet spell; attempts count when they start."""

from __future__ import annotations

from bot.hub.ratelimit import Limiter, MemoryLimiter


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


async def test_free_attempts_then_a_doubling_back_off_up_to_the_ceiling() -> None:
    clock = Clock()
    limiter: Limiter = MemoryLimiter(free=3, max_s=10, forget_s=60, clock=clock)
    assert [await limiter.attempt("ann") for _ in range(3)] == [0.0, 0.0, 0.0]
    waits = []
    for _ in range(6):
        wait = await limiter.attempt("ann")
        assert wait > 0  # refused, and a refused attempt is not counted
        assert await limiter.attempt("ann") == wait
        waits.append(wait)
        clock.now += wait
        assert await limiter.attempt("ann") == 0.0
    assert waits == [1, 2, 4, 8, 10, 10]
    assert await limiter.attempt("bob") == 0.0  # keys are separate


async def test_a_burst_of_concurrent_attempts_is_cut_off_at_the_limit() -> None:
    """Counted when they start: parallel attempts cannot all pass before any fails."""
    limiter = MemoryLimiter(free=5, clock=Clock())
    results = [await limiter.attempt("ann") for _ in range(50)]
    assert sum(1 for r in results if r == 0.0) == 5


async def test_success_and_clearing() -> None:
    clock = Clock()
    limiter = MemoryLimiter(free=2, clock=clock)
    await limiter.attempt("10.0.0.1")
    await limiter.attempt("10.0.0.1")
    assert await limiter.attempt("10.0.0.1") > 0
    await limiter.succeeded("10.0.0.1")  # the last attempt went well: it does not count
    assert await limiter.attempt("10.0.0.1") == 0.0
    assert await limiter.attempt("10.0.0.1") > 0
    await limiter.clear("10.0.0.1")
    assert await limiter.attempt("10.0.0.1") == 0.0


async def test_failures_are_forgotten_after_a_quiet_spell_and_memory_is_bounded() -> None:
    clock = Clock()
    limiter = MemoryLimiter(free=1, max_s=5, forget_s=60, max_keys=100, clock=clock)
    await limiter.attempt("ann")
    assert await limiter.attempt("ann") > 0
    clock.now += 61
    assert await limiter.attempt("ann") == 0.0
    for i in range(1000):
        await limiter.attempt(f"made-up-{i}")
    assert len(limiter._counts) == 100
