"""Password checks off the event loop, on a small thread pool of the hub's own.

A bcrypt check is ~250 ms of CPU. On the default executor, which every database call uses, a
burst of sign-ins (~25 a second) would stall chat; here they queue behind ``workers`` threads
instead. The pool is created and shut down with the app (``start`` / ``close`` in its
cleanup context).
"""

from __future__ import annotations

import asyncio
from concurrent.futures import ThreadPoolExecutor

from bot.services.auth import Account, Principal, dummy_hash, verify


class PasswordChecker:
    def __init__(self, workers: int = 2) -> None:
        self.workers = workers
        self._pool: ThreadPoolExecutor | None = None

    @property
    def pool(self) -> ThreadPoolExecutor:
        if self._pool is None:
            raise RuntimeError("PasswordChecker.start() was not awaited")
        return self._pool

    async def start(self) -> None:
        self._pool = ThreadPoolExecutor(max_workers=self.workers, thread_name_prefix="bcrypt")
        # the dummy hash for unknown usernames, made now rather than on the first sign-in
        await asyncio.get_running_loop().run_in_executor(self._pool, dummy_hash)

    async def verify(self, account: Account | None, password: str) -> Principal | None:
        return await asyncio.get_running_loop().run_in_executor(self.pool, verify, account,
                                                                password)

    async def close(self) -> None:
        if self._pool is not None:
            await asyncio.to_thread(self._pool.shutdown, wait=True)
