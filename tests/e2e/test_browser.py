"""People using the pages in a real browser (Playwright driving Debian's Chromium)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from playwright.sync_api import Browser, Page, expect

from bot.services import conversations as convs
from bot.services import kb
from tests.e2e.conftest import RunningStack, post_json

pytestmark = pytest.mark.e2e
expect.set_options(timeout=30_000)


@pytest.fixture
def page(browser: Browser) -> Iterator[Page]:
    context = browser.new_context(viewport={"width": 420, "height": 860})
    pg = context.new_page()
    pg.set_default_timeout(60_000)
    yield pg
    context.close()


def sign_in(page: Page, url: str) -> None:
    page.goto(url)
    page.get_by_test_id("login-username").fill("admin")
    page.get_by_test_id("login-password").fill("e2e-admin-password")
    page.get_by_test_id("login-submit").click()


def test_customer_chats_in_english_and_chinese(stack: RunningStack, page: Page) -> None:
    page.goto(f"{stack.url}/chat")
    # the widget's own greeting bubble is not a reply: count only what the bot sends
    replies = page.locator("[data-testid=msg-bot]:not(.greeting)")
    expect(replies).to_have_count(0)
    page.get_by_test_id("chat-input").fill("hello")
    page.get_by_test_id("chat-send").click()
    expect(replies.last).to_contain_text("I can help with orders", timeout=60_000)
    page.get_by_test_id("chat-input").fill("你好")
    page.get_by_test_id("chat-send").click()
    expect(replies.last).to_contain_text("智能助手", timeout=60_000)
    page.screenshot(path=str(stack.settings.data_dir / "chat.png"))


def test_editor_creates_and_publishes_an_article(stack: RunningStack, page: Page) -> None:
    page.set_viewport_size({"width": 1280, "height": 900})
    page.on("dialog", lambda d: d.accept())
    sign_in(page, f"{stack.url}/editor")
    expect(page.get_by_test_id("kb-item").first).to_be_visible()
    page.get_by_test_id("kb-new").click()
    page.get_by_test_id("kb-title").fill("Gift wrapping")
    page.get_by_test_id("kb-slug").fill("gift-wrapping")
    page.get_by_test_id("kb-tags").fill("gifts, wrapping")
    page.get_by_test_id("kb-body").fill("## Gift wrapping\n\nWe wrap any order for **¥5**.")
    expect(page.get_by_test_id("kb-preview").locator("strong")).to_have_text("¥5")
    page.get_by_test_id("kb-publish").click()
    expect(page.get_by_test_id("kb-toast")).to_contain_text("Published")
    with stack.db.session() as s:
        detail = kb.detail(s, "gift-wrapping", "en")
    assert detail["status"] == "published" and detail["revisions"][0]["author"] == "admin"
    page.screenshot(path=str(stack.settings.data_dir / "editor.png"))


def test_console_lists_conversations_with_nlu_details(stack: RunningStack, page: Page) -> None:
    page.set_viewport_size({"width": 1280, "height": 900})
    sign_in(page, f"{stack.url}/console")
    expect(page.get_by_test_id("conv-item").first).to_be_visible()
    page.get_by_test_id("conv-item").first.click()
    expect(page.get_by_test_id("turn").first).to_be_visible()
    page.screenshot(path=str(stack.settings.data_dir / "console.png"))


def test_agent_claims_replies_and_resolves_in_the_console(stack: RunningStack,
                                                          page: Page) -> None:
    status, reply = post_json(f"{stack.url}/api/chat", {
        "sender": "browser-needs-human", "text": "I want to talk to a human agent"})
    assert status == 200
    cid = reply["conversation_id"]
    page.set_viewport_size({"width": 1280, "height": 900})
    sign_in(page, f"{stack.url}/console")
    item = page.get_by_test_id("queue-item").filter(has_text="talk to a human")
    expect(item.first).to_be_visible()
    item.first.get_by_test_id("claim").click()
    page.get_by_test_id("reply-input").fill("Hi, this is Ann from the support team.")
    page.get_by_test_id("reply-send").click()
    expect(page.get_by_test_id("transcript")).to_contain_text("this is Ann")
    page.get_by_test_id("resolve").click()
    expect(page.get_by_test_id("detail-status")).to_contain_text("resolved")
    page.screenshot(path=str(stack.settings.data_dir / "console-handoff.png"))
    with stack.db.session() as s:
        detail = convs.conversation_detail(s, cid)
    assert detail["status"] == "resolved"
    assert any(t["role"] == "agent" and "Ann" in t["text"] for t in detail["turns"])
