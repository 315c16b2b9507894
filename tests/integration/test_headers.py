"""Security headers on every response, errors included, and pages that need nothing the
Content-Security-Policy forbids (no inline scripts, styles or event handlers)."""

from __future__ import annotations

from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient

from bot.db.session import Database
from bot.hub.app import create_app
from bot.hub.routes.pages import STATIC
from bot.services import kb
from tests.conftest import make_settings
from tests.integration.test_hub_api import _closed_port

PAGES = ("/chat", "/console", "/dashboard", "/editor")


async def _hub(aiohttp_client: Any, tmp: Path, db: Database, **overrides: Any) -> TestClient:
    settings = make_settings(tmp, rasa_url=f"http://127.0.0.1:{_closed_port()}", **overrides)
    app = create_app(settings, db)

    async def boom(request: web.Request) -> web.Response:
        raise RuntimeError("a bug")

    app.router.add_get("/api/test-boom", boom)
    with db.session() as s:
        kb.create(s, "gift-wrap", "en", kb.Draft("Gift wrapping", "We wrap gifts.", [], []),
                  "test", publish=True)
    return await aiohttp_client(app)


def _check(resp: Any, where: str) -> None:
    h = resp.headers
    csp = h.get("Content-Security-Policy", "")
    directives = {d.split()[0]: d.split()[1:] for d in csp.split(";") if d.strip()}
    assert directives.get("script-src") == ["'self'"], (where, csp)
    assert directives.get("style-src") == ["'self'"], (where, csp)
    assert directives.get("frame-ancestors") == ["'none'"], (where, csp)
    assert directives.get("object-src") == ["'none'"], (where, csp)
    assert "'unsafe-inline'" not in csp and "'unsafe-eval'" not in csp, where
    assert h.get("X-Content-Type-Options") == "nosniff", where
    assert h.get("X-Frame-Options") == "DENY", where
    assert h.get("Referrer-Policy") == "same-origin", where


async def test_every_response_carries_the_security_headers(aiohttp_client, tmp_path,
                                                           db: Database) -> None:
    client = await _hub(aiohttp_client, tmp_path, db)
    cases = [("GET", p, 200) for p in PAGES] + [
        ("GET", "/static/console.js", 200), ("GET", "/help/gift-wrap", 200),
        ("GET", "/openapi.json", 200), ("GET", "/health", 200),
        ("GET", "/api/me", 401),                     # refused by the handler
        ("GET", "/api/conversations/x/nope", 404),   # no such API route
        ("GET", "/no-such-page", 404),               # aiohttp's own 404
        ("PUT", "/chat", 405),
        ("POST", "/api/chat", 413),                  # body too large
        ("GET", "/api/test-boom", 500),              # a bug in a handler
    ]
    for method, path, status in cases:
        data = b"x" * (300 * 1024) if status == 413 else None
        resp = await client.request(method, path, data=data, allow_redirects=False)
        assert resp.status == status, (method, path, resp.status)
        _check(resp, f"{method} {path} -> {status}")
        assert "Strict-Transport-Security" not in resp.headers  # plain http here


async def test_hsts_when_the_public_url_is_https(aiohttp_client, tmp_path,
                                                 db: Database) -> None:
    client = await _hub(aiohttp_client, tmp_path, db, public_url="https://shop.example")
    for path, status in (("/chat", 200), ("/api/me", 401), ("/no-such-page", 404)):
        resp = await client.get(path)
        assert resp.status == status
        assert resp.headers["Strict-Transport-Security"].startswith("max-age=")
        assert int(resp.headers["Strict-Transport-Security"].split("=")[1]) >= 15_552_000


class _Inline(HTMLParser):
    """Collects what a Content-Security-Policy without 'unsafe-inline' would block."""

    def __init__(self) -> None:
        super().__init__()
        self.found: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        names = {k for k, _ in attrs}
        if tag == "script" and "src" not in names:
            self.found.append("inline <script>")
        if tag == "style":
            self.found.append("<style> element")
        self.found += [f"{k}= on <{tag}>" for k in names if k == "style" or k.startswith("on")]
        self.found += [f"javascript: URL on <{tag}>" for _, v in attrs
                       if v and v.strip().lower().startswith("javascript:")]


@pytest.mark.parametrize("page", sorted(p.name for p in STATIC.glob("*.html")))
def test_pages_have_no_inline_scripts_or_styles(page: str) -> None:
    parser = _Inline()
    parser.feed((STATIC / page).read_text(encoding="utf-8"))
    assert parser.found == [], parser.found


async def test_the_help_page_has_no_inline_styles(aiohttp_client, tmp_path,
                                                  db: Database) -> None:
    client = await _hub(aiohttp_client, tmp_path, db)
    parser = _Inline()
    parser.feed(await (await client.get("/help/gift-wrap")).text())
    assert parser.found == [], parser.found
