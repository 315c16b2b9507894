"""The action server's batcher: concurrent calls share passes, results go back to their own
caller, failures reach every caller of the failed pass, and nothing waits when alone."""

from __future__ import annotations

import asyncio
import threading

import pytest

from actions.batching import Batcher


class Upper:
    """A model stand-in: records each pass; the first pass waits until released, so calls
    made meanwhile pile up."""

    def __init__(self) -> None:
        self.passes: list[list[str]] = []
        self.threads: set[str] = set()
        self.started = threading.Event()
        self.release = threading.Event()

    def __call__(self, texts: list[str]) -> list[str]:
        self.passes.append(list(texts))
        self.threads.add(threading.current_thread().name)
        self.started.set()
        self.release.wait(5)
        return [t.upper() for t in texts]


async def test_a_lone_call_runs_at_once_in_its_own_pass() -> None:
    model = Upper()
    model.release.set()
    batcher = Batcher(model, name="t")
    assert await batcher("hi") == "HI"
    assert model.passes == [["hi"]]
    batcher.close()


async def test_calls_made_during_a_pass_share_the_next_one() -> None:
    model = Upper()
    batcher = Batcher(model, max_batch=3, name="sent")
    first = asyncio.ensure_future(batcher("a"))
    await asyncio.to_thread(model.started.wait, 5)  # the first pass runs, and is held
    rest = [asyncio.ensure_future(batcher(t)) for t in ("b", "c", "d", "e")]
    await asyncio.sleep(0.05)
    model.release.set()
    assert await first == "A"
    assert await asyncio.gather(*rest) == ["B", "C", "D", "E"]
    assert model.passes == [["a"], ["b", "c", "d"], ["e"]]  # max_batch respected, in order
    assert batcher.batches == 3
    assert len(model.threads) == 1 and model.threads.pop().startswith("sent")
    batcher.close()


async def test_a_failed_pass_fails_its_callers_and_the_next_pass_still_runs() -> None:
    calls: list[list[str]] = []

    def flaky(texts: list[str]) -> list[str]:
        calls.append(texts)
        if "bad" in texts:
            raise RuntimeError("model failed")
        return texts

    batcher = Batcher(flaky)
    with pytest.raises(RuntimeError, match="model failed"):
        await batcher("bad")
    assert await batcher("good") == "good"
    batcher.close()


async def test_a_wrong_number_of_results_is_an_error_not_a_mismatch() -> None:
    batcher: Batcher[str, str] = Batcher(lambda texts: texts[:-1])
    with pytest.raises(ValueError, match="1 gave 0"):
        await batcher("x")
    batcher.close()


async def test_a_cancelled_caller_is_skipped() -> None:
    model = Upper()
    batcher = Batcher(model)
    first = asyncio.ensure_future(batcher("a"))
    await asyncio.to_thread(model.started.wait, 5)
    gone = asyncio.ensure_future(batcher("gone"))
    kept = asyncio.ensure_future(batcher("kept"))
    await asyncio.sleep(0.01)
    gone.cancel()
    model.release.set()
    assert await first == "A" and await kept == "KEPT"
    assert model.passes == [["a"], ["kept"]]
    batcher.close()
