"""The real stack for end-to-end tests: a migrated SQLite database with the demo shop, the
trained Rasa model (trained here if missing), the Rasa server, the action server and the hub,
on free loopback ports. One customer message is sent while Rasa is still down."""

from __future__ import annotations

import json
import socket
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Browser, sync_playwright

from bot.cli import init
from bot.db.session import Database
from bot.launcher import ensure_model, start_stack
from bot.sentiment.build import ensure_sentiment_model
from bot.settings import Settings
from tests.conftest import make_settings
from tests.e2e.fake_platforms import FakePlatforms

SLACK_SECRET = "e2e-slack-signing-secret"
WECHAT = {"token": "e2e-wechat-token", "app_id": "wx1234567890abcdef",
          "aes_key": "abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG"}
EARLY = {"sender": "early-bird", "text": "hello, anyone there?", "client_message_id": "early-1"}


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def post_json(url: str, body: dict[str, Any]) -> tuple[int, dict[str, Any]]:
    req = urllib.request.Request(url, data=json.dumps(body).encode(),
                                 headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(req, timeout=60) as resp:
        return resp.status, json.loads(resp.read())


@dataclass
class RunningStack:
    settings: Settings
    url: str
    model: Path
    db: Database
    early: dict[str, Any] = field(default_factory=dict)
    platforms: FakePlatforms | None = None


@pytest.fixture(scope="session")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningStack]:
    tmp = tmp_path_factory.mktemp("stack")
    platforms = FakePlatforms().start()
    settings = make_settings(
        tmp, hub_port=free_port(), action_port=free_port(),
        rasa_url=f"http://127.0.0.1:{free_port()}", admin_password="e2e-admin-password",
        reply_wait_s=30,
        slack_signing_secret=SLACK_SECRET, slack_bot_token="xoxb-e2e", slack_bot_user_id="UBOT",
        slack_api_base=f"{platforms.url}/slack",
        wechat_token=WECHAT["token"], wechat_app_id=WECHAT["app_id"],
        wechat_app_secret="e2e-wechat-secret", wechat_aes_key=WECHAT["aes_key"],
        wechat_mode="safe", wechat_api_base=f"{platforms.url}/wechat")
    init(settings)
    settings = settings.model_copy(update={"sentiment_model": ensure_sentiment_model(settings)})
    model = ensure_model(settings)
    url = f"http://127.0.0.1:{settings.hub_port}"
    early: dict[str, Any] = {}

    def while_rasa_is_down() -> None:
        status, body = post_json(f"{url}/api/chat", EARLY)
        early.update(status=status, body=body)

    running = start_stack(settings, model, log_dir=tmp / "logs", before_rasa=while_rasa_is_down)
    db = Database(settings.db_url())
    try:
        yield RunningStack(settings, url, model, db, early, platforms)
    finally:
        db.dispose()
        running.stop()
        platforms.stop()


CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update",
                 "--disable-sync"]


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    """Debian's Chromium for the page tests (one per test module, as before)."""
    with sync_playwright() as p:
        b = p.chromium.launch(executable_path="/usr/bin/chromium", headless=True,
                              args=CHROMIUM_ARGS)
        yield b
        b.close()
