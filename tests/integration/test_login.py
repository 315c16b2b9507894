"""Staff sign-in on the hub: throttled per username and per client address (429 with
Retry-After), and bcrypt runs on the hub's own small pool, not the default executor."""

from __future__ import annotations

import asyncio
import threading
from pathlib import Path
from typing import Any

import bcrypt
import pytest
from aiohttp.test_utils import TestClient

from bot.db.session import Database
from bot.hub import keys
from bot.hub.app import create_app
from bot.services import auth
from tests.conftest import make_settings
from tests.integration.test_hub_api import _closed_port


class Clock:
    now = 5000.0

    def __call__(self) -> float:
        return self.now


async def _hub(aiohttp_client: Any, tmp: Path, db: Database, clock: Clock | None = None,
               **overrides: Any) -> TestClient:
    settings = make_settings(tmp, rasa_url=f"http://127.0.0.1:{_closed_port()}", **overrides)
    with db.session() as s:
        auth.create_user(s, "ann", "ann-pw", "agent")
        auth.create_user(s, "bob", "bob-pw", "agent")
    app = create_app(settings, db)
    if clock is not None:  # a clock of the test's own: the back-off does not depend on speed
        from bot.hub.ratelimit import LoginLimiters, MemoryLimiter

        lockout = settings.login_lockout_max_s
        app[keys.LOGIN_LIMITERS] = LoginLimiters(
            MemoryLimiter(settings.login_max_failures_ip, lockout, lockout, clock=clock),
            MemoryLimiter(settings.login_max_failures_user, lockout, lockout, clock=clock))
    return await aiohttp_client(app)


async def _login(client: TestClient, user: str, pw: str, **headers: str) -> Any:
    return await client.post("/api/auth/login", json={"username": user, "password": pw},
                             headers=headers)


async def test_repeated_failures_lock_the_username_out_with_retry_after(
        aiohttp_client, tmp_path, db: Database) -> None:
    clock = Clock()
    client = await _hub(aiohttp_client, tmp_path, db, clock, login_max_failures_user=3)
    for _ in range(3):
        assert (await _login(client, "ann", "wrong")).status == 401
    locked = await _login(client, "ann", "ann-pw")  # even the right password waits
    assert locked.status == 429
    assert int(locked.headers["Retry-After"]) >= 1
    assert (await locked.json())["error"]["code"] == "too_many_requests"
    assert (await _login(client, "ANN", "ann-pw")).status == 429  # same name, other case
    assert (await _login(client, "bob", "bob-pw")).status == 200  # others are unaffected
    clock.now += int(locked.headers["Retry-After"])
    assert (await _login(client, "ann", "ann-pw")).status == 200
    # a success starts the count over
    for _ in range(2):
        assert (await _login(client, "ann", "wrong")).status == 401
    assert (await _login(client, "ann", "ann-pw")).status == 200


async def test_a_burst_of_concurrent_guesses_is_cut_off(aiohttp_client, tmp_path,
                                                       db: Database) -> None:
    """Attempts count when they start: parallel guesses cannot all pass before one fails."""
    client = await _hub(aiohttp_client, tmp_path, db, login_max_failures_user=2)
    answers = await asyncio.gather(*(_login(client, "ann", f"guess-{i}") for i in range(8)))
    assert sorted(r.status for r in answers) == [401, 401] + [429] * 6


async def test_one_address_guessing_many_usernames_is_throttled(aiohttp_client, tmp_path,
                                                               db: Database) -> None:
    clock = Clock()
    client = await _hub(aiohttp_client, tmp_path, db, clock, login_max_failures_ip=3)
    for i in range(3):
        assert (await _login(client, f"guess-{i}", "pw",
                             **{"X-Forwarded-For": f"10.0.0.{i}"})).status == 401
    # X-Forwarded-For from a caller that is not a trusted proxy changes nothing
    refused = await _login(client, "bob", "bob-pw", **{"X-Forwarded-For": "10.9.9.9"})
    assert refused.status == 429 and "Retry-After" in refused.headers


async def test_behind_a_trusted_proxy_the_forwarded_address_counts(aiohttp_client, tmp_path,
                                                                   db: Database) -> None:
    client = await _hub(aiohttp_client, tmp_path, db, Clock(), login_max_failures_ip=2,
                        trusted_proxies="127.0.0.1")
    for _ in range(2):
        assert (await _login(client, "x", "pw", **{"X-Forwarded-For": "203.0.113.7"})).status \
            == 401
    assert (await _login(client, "x", "pw", **{"X-Forwarded-For": "203.0.113.7"})).status == 429
    assert (await _login(client, "bob", "bob-pw",
                         **{"X-Forwarded-For": "198.51.100.2"})).status == 200


async def test_passwords_are_checked_on_the_hubs_own_bcrypt_pool(aiohttp_client, tmp_path,
                                                                db: Database,
                                                                monkeypatch) -> None:
    client = await _hub(aiohttp_client, tmp_path, db)
    threads: list[str] = []
    real_checkpw = bcrypt.checkpw

    def spy(password: bytes, hashed: bytes) -> bool:
        threads.append(threading.current_thread().name)
        return real_checkpw(password, hashed)

    monkeypatch.setattr(bcrypt, "checkpw", spy)
    assert (await _login(client, "ann", "ann-pw")).status == 200
    assert (await _login(client, "nobody", "pw")).status == 401
    assert len(threads) == 2 and all(t.startswith("bcrypt") for t in threads), threads
    pool = client.app[keys.PASSWORDS].pool
    assert pool._max_workers == 2
    await client.close()
    assert pool._shutdown  # closed with the app


@pytest.mark.parametrize("password", ["p" * 73, "密码" * 40, "x" * 5000])
async def test_long_passwords_sign_in(aiohttp_client, tmp_path, db: Database,
                                      password: str) -> None:
    client = await _hub(aiohttp_client, tmp_path, db)
    with db.session() as s:
        auth.create_user(s, "long", password, "editor")
    assert (await _login(client, "long", password)).status == 200
    assert (await _login(client, "long", password[:-1])).status == 401
