"""Slack and WeChat customers on the running stack: requests crafted with the platforms' own
client libraries, replies checked where the fake platform APIs receive them."""

from __future__ import annotations

import json
import time
import urllib.error
import urllib.request
from typing import Any

import pytest
from slack_sdk.signature import SignatureVerifier

from tests.e2e.conftest import SLACK_SECRET, RunningStack

pytestmark = pytest.mark.e2e


def post(url: str, body: bytes, headers: dict[str, str]) -> tuple[int, bytes, float]:
    req = urllib.request.Request(url, data=body, headers=headers, method="POST")
    t0 = time.monotonic()
    try:
        with urllib.request.urlopen(req, timeout=30) as resp:
            return resp.status, resp.read(), time.monotonic() - t0
    except urllib.error.HTTPError as e:
        return e.code, e.read(), time.monotonic() - t0


def slack_event(event_id: str, text: str, user: str = "U123", **extra: Any) -> bytes:
    return json.dumps({
        "type": "event_callback", "team_id": "T1", "event_id": event_id,
        "event": {"type": "message", "channel_type": "im", "channel": "D42", "user": user,
                  "text": text, "ts": f"{time.time():.6f}", **extra},
    }).encode()


def slack_headers(body: bytes, ts: int | None = None, **extra: str) -> dict[str, str]:
    ts = ts or int(time.time())
    sig = SignatureVerifier(SLACK_SECRET).generate_signature(timestamp=str(ts), body=body)
    return {"Content-Type": "application/json", "X-Slack-Request-Timestamp": str(ts),
            "X-Slack-Signature": sig, **extra}


def test_slack_message_is_acknowledged_fast_and_answered_once_in_thread(
        stack: RunningStack) -> None:
    assert stack.platforms is not None
    rec = stack.platforms.recorded
    before = len(rec.slack_posts)
    url = f"{stack.url}/channels/slack/webhook"
    body = slack_event("Ev-1", "hi there, what payment methods do you accept?")
    status, _, elapsed = post(url, body, slack_headers(body))
    assert status == 200 and elapsed < 3.0
    # Slack retries the same event (e.g. our ack was slow): no second answer
    status, _, _ = post(url, body, slack_headers(body, **{"X-Slack-Retry-Num": "1",
                                                          "X-Slack-Retry-Reason": "http_timeout"}))
    assert status == 200
    posts = rec.wait_for("slack_posts", before + 1)
    time.sleep(3)
    new = rec.slack_posts[before:]
    assert len({p["thread_ts"] for p in new}) == 1 and new, new
    assert all(p["channel"] == "D42" for p in new)
    assert rec.slack_auth[-1] == "Bearer xoxb-e2e"
    assert "Alipay" in " ".join(p["text"] for p in posts[before:])
    texts_after = len(rec.slack_posts)
    time.sleep(2)
    assert len(rec.slack_posts) == texts_after  # nothing more arrives for the retry


@pytest.mark.parametrize("tamper", ["forged", "stale", "tampered", "missing"])
def test_slack_requests_that_are_not_from_slack_are_refused(stack: RunningStack,
                                                            tamper: str) -> None:
    assert stack.platforms is not None
    before = len(stack.platforms.recorded.slack_posts)
    body = slack_event(f"Ev-bad-{tamper}", "hello")
    headers = slack_headers(body)
    if tamper == "forged":
        headers["X-Slack-Signature"] = "v0=" + "0" * 64
    elif tamper == "stale":
        headers = slack_headers(body, ts=int(time.time()) - 600)
    elif tamper == "tampered":
        body = body.replace(b"hello", b"give me all orders")
    else:
        headers.pop("X-Slack-Signature")
    status, _, _ = post(f"{stack.url}/channels/slack/webhook", body, headers)
    assert status == 403
    time.sleep(1)
    assert len(stack.platforms.recorded.slack_posts) == before


def test_slack_url_verification_and_malformed_bodies(stack: RunningStack) -> None:
    body = json.dumps({"type": "url_verification", "challenge": "c-123"}).encode()
    status, reply, _ = post(f"{stack.url}/channels/slack/webhook", body, slack_headers(body))
    assert status == 200 and reply == b"c-123"
    bad = b"{not json"
    status, _, _ = post(f"{stack.url}/channels/slack/webhook", bad, slack_headers(bad))
    assert status == 400


def test_bot_messages_are_ignored(stack: RunningStack) -> None:
    assert stack.platforms is not None
    before = len(stack.platforms.recorded.slack_posts)
    body = slack_event("Ev-own", "I am the bot", user="UBOT", bot_id="B1")
    status, _, _ = post(f"{stack.url}/channels/slack/webhook", body, slack_headers(body))
    assert status == 200
    time.sleep(2)
    assert len(stack.platforms.recorded.slack_posts) == before
