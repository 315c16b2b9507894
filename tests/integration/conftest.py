"""A hub app on a test database with staff users, Rasa pointing at a closed port (the hub's
own behaviour is under test; the full stack is in tests/e2e)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from aiohttp.test_utils import TestClient

from bot.db.session import Database
from bot.hub.app import create_app
from bot.services import auth
from tests.conftest import make_settings
from tests.integration.test_hub_api import _closed_port


async def staff_hub(aiohttp_client: Any, tmp: Path, db: Database,
                    users: list[tuple[str, str, str]]) -> TestClient:
    """The hub's test client, after creating ``users`` as (username, password, role)."""
    settings = make_settings(tmp, rasa_url=f"http://127.0.0.1:{_closed_port()}",
                             reply_wait_s=0.3)
    with db.session() as s:
        for username, password, role in users:
            auth.create_user(s, username, password, role)
    return await aiohttp_client(create_app(settings, db))
