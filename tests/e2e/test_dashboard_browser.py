"""The analytics dashboard, and the chat widget's feedback buttons, in a real browser
(Playwright driving Debian's Chromium) on the running stack."""

from __future__ import annotations

import json
import re
import urllib.error
import urllib.request
from collections import Counter
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlencode, urlparse

import pytest
from playwright.sync_api import Browser, Page, expect
from sqlalchemy import select

from bot.analytics.dashboard import CONVERSATION_COLUMNS
from bot.db.models import Conversation, Feedback, KbGap
from bot.services import auth
from tests.e2e.conftest import RunningStack, post_json

pytestmark = pytest.mark.e2e
expect.set_options(timeout=30_000)
ADMIN = ("admin", "e2e-admin-password")
GAP = "<img src=x onerror=alert(1)> do you sell gift cards?"
# Every chart on the page, and what it shows.
CANVASES = ("chart-channels", "chart-languages", "chart-sentiment", "chart-handoffs",
            "chart-intents", "chart-csat", "chart-segments", "chart-topics")
CHART_DATA = """() => Array.from(document.querySelectorAll('canvas')).map(c => {
    const chart = Chart.getChart(c);
    return {id: c.dataset.testid, state: c.dataset.state,
            datasets: chart ? chart.data.datasets.map(d => d.data) : null};
})"""


@pytest.fixture
def page(browser: Browser) -> Iterator[Page]:
    context = browser.new_context(viewport={"width": 1280, "height": 900}, accept_downloads=True)
    pg = context.new_page()
    pg.set_default_timeout(60_000)
    yield pg
    context.close()


def today() -> date:
    return datetime.now(UTC).date()  # the server counts days in UTC


def sign_in(page: Page, url: str, username: str = ADMIN[0], password: str = ADMIN[1]) -> None:
    page.goto(url)
    page.get_by_test_id("login-username").fill(username)
    page.get_by_test_id("login-password").fill(password)
    page.get_by_test_id("login-submit").click()


def loaded(page: Page, start: date, end: date) -> None:
    """Wait until the page shows the range [start, end]."""
    expect(page.get_by_test_id("kpis")).to_have_attribute("data-range", f"{start}..{end}")


def staff_get(stack: RunningStack, path: str) -> tuple[int, bytes]:
    _, body = post_json(f"{stack.url}/api/auth/login",
                        {"username": ADMIN[0], "password": ADMIN[1]})
    req = urllib.request.Request(f"{stack.url}{path}",
                                 headers={"Authorization": f"Bearer {body['token']}"})
    try:
        with urllib.request.urlopen(req, timeout=60) as resp:
            return resp.status, resp.read()
    except urllib.error.HTTPError as e:
        return e.code, e.read()


def overview(stack: RunningStack, start: date, end: date) -> dict[str, Any]:
    status, body = staff_get(stack, f"/api/analytics?{urlencode({'from': start, 'to': end})}")
    assert status == 200, body
    return json.loads(body)


def chat(stack: RunningStack, sender: str, text: str) -> dict[str, Any]:
    status, reply = post_json(f"{stack.url}/api/chat", {"sender": sender, "text": text})
    assert status == 200, reply
    return reply


@pytest.fixture(scope="module")
def history(stack: RunningStack) -> dict[str, Any]:
    """Today's conversations, so every chart has something to show whether or not the demo
    history was loaded: English and Chinese, a knowledge answer voted helpful, a goodbye
    answered with a rating, a handoff, and a question nobody could answer."""
    sender = "dash-rated"
    answer = chat(stack, sender, "which payment methods can I use? do you take alipay?")
    vote = urllib.request.Request(
        f"{stack.url}/api/chat/feedback", headers={"Content-Type": "application/json"},
        data=json.dumps({"sender": sender, "turn_id": answer["turn_id"],
                         "helpful": True}).encode())
    with urllib.request.urlopen(vote, timeout=30) as resp:
        assert resp.status == 204
    goodbye = chat(stack, sender, "that's all, bye")
    rated = chat(stack, sender, "5") if any(
        (m.get("custom") or {}).get("csat") for m in goodbye["messages"]) else None
    chat(stack, "dash-zh", "我的订单到哪了")
    chat(stack, "dash-human", "I want to talk to a human agent")
    # a gap with markup in it (must come out as plain text), asked most often so it is listed
    with stack.db.session() as s:
        asked = Counter(q.lower() for q in s.scalars(select(KbGap.question)))
        times = max(asked.values(), default=0) + 1
        s.add_all(KbGap(question=GAP, language="en", best_score=0.31) for _ in range(times))
    return {"goodbye": goodbye, "rated": rated, "gap_count": times}


def total(datasets: list[list[float | None]]) -> float:
    return sum(v or 0 for d in datasets for v in d)


def test_dashboard_charts_show_the_api_numbers(stack: RunningStack, page: Page,
                                               history: dict[str, Any]) -> None:
    sign_in(page, f"{stack.url}/dashboard")
    start, end = today() - timedelta(days=29), today()
    loaded(page, start, end)
    assert parse_qs(urlparse(page.url).query) == {"from": [str(start)], "to": [str(end)]}
    data = overview(stack, start, end)
    t = data["totals"]
    assert t["conversations"] >= 3 and t["handoffs"] >= 1, t
    assert t["answer_votes"] >= 1 and t["csat_responses"] >= 1, history
    expect(page.get_by_test_id("kpi-conversations").get_by_test_id("kpi-value")).to_have_text(
        str(t["conversations"]))
    expect(page.get_by_test_id("kpi-csat")).to_contain_text(f"n = {t['csat_responses']}")

    charts = {c["id"]: c for c in page.evaluate(CHART_DATA)}
    assert set(charts) == set(CANVASES)
    drawn = {k: v for k, v in charts.items() if v["state"] == "drawn"}
    for name in ("chart-channels", "chart-languages", "chart-sentiment", "chart-handoffs",
                 "chart-intents", "chart-csat"):
        assert drawn.get(name, {}).get("datasets"), f"{name} has no chart: {charts[name]}"
    # each chart draws exactly what the API returned
    assert total(drawn["chart-channels"]["datasets"]) == t["conversations"]
    assert total(drawn["chart-languages"]["datasets"]) == t["conversations"]
    assert total(drawn["chart-handoffs"]["datasets"]) == t["handoffs"]
    assert total(drawn["chart-intents"]["datasets"]) == sum(
        i["count"] for i in data["top_intents"]) > 0
    assert drawn["chart-csat"]["datasets"] == [data["csat"]["distribution"]]
    assert drawn["chart-sentiment"]["datasets"] == [data["sentiment_by_day"]]
    assert any(v is not None for v in data["sentiment_by_day"])

    # segments and topics come from analyses that may not be installed: chart or said so
    customers = sum(s["customers"] for s in data["segments"])
    if customers:
        assert total(drawn["chart-segments"]["datasets"][:1]) == customers
    else:
        expect(page.locator("[data-empty-for=chart-segments]")).to_be_visible()
    query = urlencode({"from": start, "to": end})
    status, body = staff_get(stack, f"/api/analytics/topics?{query}")
    topics = json.loads(body) if status == 200 else None
    if topics and sum(w["count"] for w in topics["by_week"]):
        assert total(drawn["chart-topics"]["datasets"]) == sum(
            w["count"] for w in topics["by_week"])
        expect(page.get_by_test_id("topic-row")).to_have_count(len(topics["topics"]))
    else:
        assert "chart-topics" not in drawn
        expect(page.get_by_test_id("topics-empty")).to_contain_text(
            "not available" if topics is None else "No topics")

    # knowledge gaps: server text shown as text, linked to the editor's search
    row = page.get_by_test_id("gap-row").filter(has_text="gift cards")
    expect(row.locator("td").first).to_have_text(GAP.lower())
    expect(row.locator("td").nth(1)).to_have_text(str(history["gap_count"]))
    assert page.locator("[data-testid=gaps-table] img").count() == 0
    row.get_by_test_id("gap-link").click()
    page.wait_for_url(re.compile(r"/editor\?q="))
    expect(page.get_by_test_id("kb-search")).to_have_value(GAP.lower())
    page.go_back()
    loaded(page, start, end)
    page.set_viewport_size({"width": 1280, "height": 2600})  # the page scrolls inside itself
    page.screenshot(path=str(stack.settings.data_dir / "dashboard.png"))


def test_date_range_is_kept_in_the_url_and_sent_to_the_api(stack: RunningStack,
                                                           page: Page) -> None:
    sign_in(page, f"{stack.url}/dashboard")
    loaded(page, today() - timedelta(days=29), today())
    week = today() - timedelta(days=6)
    with page.expect_request(re.compile(r"/api/analytics\?")) as req:
        page.get_by_test_id("preset-7").click()
    assert parse_qs(urlparse(req.value.url).query) == {"from": [str(week)], "to": [str(today())]}
    loaded(page, week, today())
    assert f"from={week}&to={today()}" in page.url

    # a range typed in, with nothing in it: every chart says so instead of drawing nothing
    with page.expect_request(re.compile(r"/api/analytics\?from=2020-01-01")):
        page.get_by_test_id("range-to").fill("2020-01-07")
        page.get_by_test_id("range-from").fill("2020-01-01")
    loaded(page, date(2020, 1, 1), date(2020, 1, 7))
    expect(page.get_by_test_id("kpi-conversations").get_by_test_id("kpi-value")).to_have_text("0")
    for name in ("chart-channels", "chart-handoffs", "chart-csat", "chart-intents"):
        expect(page.locator(f"[data-empty-for={name}]")).to_be_visible()
        assert page.evaluate(f"Chart.getChart(document.getElementById('{name}'))") is None

    # the URL is the shareable state: opening it shows that range again
    shared = page.url
    page.goto(f"{stack.url}/dashboard")
    loaded(page, today() - timedelta(days=29), today())
    page.goto(shared)
    loaded(page, date(2020, 1, 1), date(2020, 1, 7))
    expect(page.get_by_test_id("range-from")).to_have_value("2020-01-01")


def test_csv_download_has_one_row_per_conversation(stack: RunningStack, page: Page,
                                                   history: dict[str, Any]) -> None:
    sign_in(page, f"{stack.url}/dashboard")
    start, end = today() - timedelta(days=29), today()
    loaded(page, start, end)
    with page.expect_download() as download:
        page.get_by_test_id("download-csv").click()
    lines = Path(download.value.path()).read_text(encoding="utf-8").splitlines()
    assert lines[0].split(",") == list(CONVERSATION_COLUMNS)
    assert len(lines) - 1 == overview(stack, start, end)["totals"]["conversations"] >= 3
    assert download.value.suggested_filename.startswith("kefu-conversations-")


def test_editors_are_told_the_dashboard_is_not_for_them(stack: RunningStack, page: Page) -> None:
    with stack.db.session() as s:
        auth.create_user(s, "dash-editor", "editor-password", "editor")
    sign_in(page, f"{stack.url}/dashboard", "dash-editor", "editor-password")
    expect(page.get_by_test_id("dash-forbidden")).to_be_visible()
    expect(page.get_by_test_id("dash-forbidden")).to_contain_text("not allowed")
    expect(page.get_by_test_id("kpis")).to_be_hidden()
    assert all(c["datasets"] is None for c in page.evaluate(CHART_DATA))


def test_chat_widget_votes_on_answers_and_sends_ratings(stack: RunningStack,
                                                        page: Page) -> None:
    page.set_viewport_size({"width": 420, "height": 860})
    page.goto(f"{stack.url}/chat")
    page.get_by_test_id("chat-input").fill("which payment methods can I use? do you take alipay?")
    page.get_by_test_id("chat-send").click()
    answer = page.locator("[data-testid=msg-bot]:not(.greeting)").filter(
        has=page.get_by_test_id("msg-vote"))
    expect(answer).to_have_count(1, timeout=60_000)
    answer.get_by_test_id("vote-up").click()
    expect(answer.get_by_test_id("msg-vote")).to_contain_text("Thanks")
    sender = page.evaluate("localStorage.getItem('kefu_sender')")
    with stack.db.session() as s:
        conv = s.scalar(select(Conversation).where(Conversation.sender_id == sender))
        assert conv is not None
        votes = s.scalars(select(Feedback).where(Feedback.conversation_id == conv.id)).all()
        assert [(f.kind, f.score) for f in votes] == [("answer", 1)]

    page.get_by_test_id("chat-input").fill("that's all, bye")
    page.get_by_test_id("chat-send").click()
    five = page.locator(".chip", has_text=re.compile(r"^★★★★★$"))
    expect(five).to_be_visible(timeout=60_000)
    expect(page.locator(".chip", has_text=re.compile(r"^★$"))).to_have_count(1)
    five.click()
    expect(page.get_by_test_id("msg-user").last.locator(".bubble")).to_have_text("★★★★★")
    expect(page.locator("[data-testid=msg-bot]:not(.greeting)").last).to_contain_text(
        "Thank you for your rating", timeout=60_000)
    with stack.db.session() as s:
        rating = s.scalar(select(Feedback).where(Feedback.conversation_id == conv.id,
                                                 Feedback.kind == "csat"))
        assert rating is not None and rating.score == 5
