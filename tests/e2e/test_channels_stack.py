"""Slack and WeChat customers on the running stack: requests crafted with the platforms' own
client libraries, replies checked where the fake platform APIs receive them."""

from __future__ import annotations

import hashlib
import json
import time
import urllib.error
import urllib.request
from typing import Any

import pytest
from slack_sdk.signature import SignatureVerifier

from tests.e2e.conftest import SLACK_SECRET, WECHAT, RunningStack

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


def wechat_text(msg_id: str, text: str, user: str = "oCustomer1") -> str:
    return (f"<xml><ToUserName><![CDATA[gh_kefu]]></ToUserName>"
            f"<FromUserName><![CDATA[{user}]]></FromUserName>"
            f"<CreateTime>{int(time.time())}</CreateTime><MsgType><![CDATA[text]]></MsgType>"
            f"<Content><![CDATA[{text}]]></Content><MsgId>{msg_id}</MsgId></xml>")


def wechat_post(stack: RunningStack, xml: str) -> tuple[int, bytes, dict[str, str]]:
    from wechatpy.crypto import WeChatCrypto

    crypto = WeChatCrypto(WECHAT["token"], WECHAT["aes_key"], WECHAT["app_id"])
    nonce, ts = "n0nce", str(int(time.time()))
    encrypted = crypto.encrypt_message(xml, nonce, ts)
    msg_signature = encrypted.split("<MsgSignature><![CDATA[")[1].split("]]>")[0]
    signature = hashlib.sha1("".join(sorted([WECHAT["token"], ts, nonce])).encode()).hexdigest()
    query = (f"signature={signature}&timestamp={ts}&nonce={nonce}&openid=oCustomer1"
             f"&encrypt_type=aes&msg_signature={msg_signature}")
    status, body, _ = post(f"{stack.url}/channels/wechat/webhook?{query}", encrypted.encode(),
                           {"Content-Type": "text/xml"})
    return status, body, {"nonce": nonce, "timestamp": ts}


def wechat_replies(stack: RunningStack, body: bytes, sends_before: int) -> list[str]:
    """Texts that reached the customer: the passive reply (decrypted with wechatpy) plus
    messages sent through the customer-service API."""
    from wechatpy.crypto import WeChatCrypto

    out = []
    if body and body != b"success":
        crypto = WeChatCrypto(WECHAT["token"], WECHAT["aes_key"], WECHAT["app_id"])
        text = body.decode()
        sig = text.split("<MsgSignature><![CDATA[")[1].split("]]>")[0]
        ts = text.split("<TimeStamp>")[1].split("</TimeStamp>")[0]
        nonce = text.split("<Nonce><![CDATA[")[1].split("]]>")[0]
        plain = crypto.decrypt_message(text, sig, ts, nonce)
        out.append(plain.split("<Content><![CDATA[")[1].split("]]>")[0])
    assert stack.platforms is not None
    out += [s["text"]["content"] for s in stack.platforms.recorded.wechat_sends[sends_before:]]
    return out


def test_wechat_encrypted_message_is_answered_once(stack: RunningStack) -> None:
    assert stack.platforms is not None
    rec = stack.platforms.recorded
    before = len(rec.wechat_sends)
    xml = wechat_text("61001", "你好，你们支持哪些支付方式？")
    status, body, _ = wechat_post(stack, xml)
    assert status == 200
    if body == b"success":  # slow turn: delivered through the customer-service API
        rec.wait_for("wechat_sends", before + 1)
    first = wechat_replies(stack, body, before)
    assert first and any("支付宝" in t for t in first), first
    # WeChat retries the same MsgId when it did not like our answer: never a second reply
    time.sleep(2)
    sends_after_first = len(rec.wechat_sends)
    status, again, _ = wechat_post(stack, xml)
    assert status == 200 and again == b"success"
    time.sleep(3)
    assert len(rec.wechat_sends) == sends_after_first


def test_wechat_forged_and_malicious_requests_are_refused(stack: RunningStack) -> None:
    url = f"{stack.url}/channels/wechat/webhook"
    ts = str(int(time.time()))
    status, _, _ = post(f"{url}?signature=bad&timestamp={ts}&nonce=x&encrypt_type=aes"
                        f"&msg_signature=bad", b"<xml><Encrypt>abc</Encrypt></xml>",
                        {"Content-Type": "text/xml"})
    assert status == 403
    bomb = ("<?xml version='1.0'?><!DOCTYPE lolz [<!ENTITY lol 'lol'>"
            "<!ENTITY lol2 '&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;'>]>"
            "<xml><Content>&lol2;</Content></xml>")
    started = time.monotonic()
    status, _, _ = wechat_post(stack, bomb)
    assert status in (400, 403) and time.monotonic() - started < 5
    status, _, _ = post(f"{url}?signature=x&timestamp={ts}&nonce=x", b"x" * 300_000,
                        {"Content-Type": "text/xml"})
    assert status in (403, 413)
