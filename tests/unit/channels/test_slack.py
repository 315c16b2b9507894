"""Slack adapter: requests are signed with slack_sdk's own SignatureVerifier; outbound calls go
to a fake Slack Web API on loopback."""

from __future__ import annotations

import json
import socket
from collections.abc import Awaitable, Callable
from typing import Any

import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer
from slack_sdk.signature import SignatureVerifier

from channels.base import (
    DeliveryError,
    Forbidden,
    InboundRequest,
    IncomingMessage,
    InvalidPayload,
    Parsed,
    PayloadTooLarge,
)
from channels.slack import SlackAdapter, reply_target

SECRET = "8f742231b10e8888abcd99yyyzzz85a5"
BOT = "UBOT0001"
TEAM = "T0001"
NOW = 1_700_000_000.0

adapter = SlackAdapter(signing_secret=SECRET, bot_token="xoxb-test", bot_user_id=BOT)


def signed(payload: Any, ts: float = NOW, secret: str = SECRET,
           extra: dict[str, str] | None = None) -> InboundRequest:
    body = payload if isinstance(payload, bytes) else json.dumps(payload).encode()
    timestamp = str(int(ts))
    sig = SignatureVerifier(secret).generate_signature(timestamp=timestamp, body=body)
    assert sig is not None
    headers = {"x-slack-signature": sig, "x-slack-request-timestamp": timestamp, **(extra or {})}
    return InboundRequest("POST", {}, headers, body)


def envelope(event: dict[str, Any], event_id: str = "Ev001") -> dict[str, Any]:
    return {"type": "event_callback", "team_id": TEAM, "api_app_id": "A1", "event": event,
            "event_id": event_id, "event_time": int(NOW),
            "authorizations": [{"team_id": TEAM, "user_id": BOT, "is_bot": True}]}


def dm(text: str = "where is my order?", **extra: Any) -> dict[str, Any]:
    return {"type": "message", "channel_type": "im", "channel": "D0CUST", "user": "UCUST",
            "text": text, "ts": "1700000000.000100", **extra}


def mention(text: str, **extra: Any) -> dict[str, Any]:
    return {"type": "app_mention", "channel": "C0SUPPORT", "user": "UCUST", "text": text,
            "ts": "1700000000.000200", **extra}


def accept(payload: Any, **kw: Any) -> Parsed:
    request = signed(payload, **kw)
    adapter.verify(request, NOW)
    return adapter.parse(request)


# -- inbound ---------------------------------------------------------------------------------

def test_direct_message_is_parsed() -> None:
    parsed = accept(envelope(dm("  where is my order? ")))
    assert parsed.response is None
    msg = parsed.message
    assert msg is not None
    assert (msg.channel, msg.sender_id, msg.text, msg.client_message_id) == (
        "slack", f"{TEAM}:UCUST", "where is my order?", "Ev001")
    assert msg.metadata == {"channel": "D0CUST", "thread_ts": "1700000000.000100", "team": TEAM}
    assert reply_target(msg) == "D0CUST|1700000000.000100"


def test_app_mention_strips_the_bot_mention_and_keeps_the_thread() -> None:
    event = mention(f"<@{BOT}> refund for order 42 &amp; &lt;soon&gt;",
                    thread_ts="1699999999.000001")
    msg = accept(envelope(event)).message
    assert msg is not None
    assert msg.text == "refund for order 42 & <soon>"
    assert msg.metadata["thread_ts"] == "1699999999.000001"
    assert reply_target(msg) == "C0SUPPORT|1699999999.000001"


def test_app_mention_without_configured_bot_id_uses_the_envelope_authorization() -> None:
    plain = SlackAdapter(signing_secret=SECRET, bot_token="xoxb-test")
    msg = plain.parse(signed(envelope(mention(f"<@{BOT}|kefu> hello")))).message
    assert msg is not None and msg.text == "hello"
    own = plain.parse(signed(envelope(dm(user=BOT)))).message
    assert own is None


def test_bare_mention_needs_no_answer() -> None:
    assert accept(envelope(mention(f"<@{BOT}>  "))) == Parsed()


def test_url_verification_is_answered_with_the_challenge() -> None:
    parsed = accept({"type": "url_verification", "token": "x", "challenge": "3eZbrw1aB"})
    assert (parsed.response, parsed.content_type, parsed.message) == (
        b"3eZbrw1aB", "text/plain", None)


def test_retry_keeps_the_same_client_message_id() -> None:
    first = accept(envelope(dm(), event_id="Ev42")).message
    again = accept(envelope(dm(), event_id="Ev42"), ts=NOW + 60,
                   extra={"x-slack-retry-num": "1", "x-slack-retry-reason": "http_timeout"})
    assert first is not None and again.message is not None
    assert first.client_message_id == again.message.client_message_id == "Ev42"


@pytest.mark.parametrize("event", [
    dm(user=BOT),                                            # our own message
    dm(bot_id="B999"),                                       # another bot
    dm(subtype="bot_message", bot_id="B999"),
    dm(subtype="message_changed"),                           # edit
    dm(subtype="message_deleted"),                           # delete
    dm(subtype="channel_join"),
    dm(channel_type="channel"),                              # answered via app_mention instead
    mention(f"<@{BOT}> hi", bot_id="B999"),
    {"type": "reaction_added", "user": "UCUST", "reaction": "thumbsup"},
], ids=["own", "bot_id", "bot_message", "edit", "delete", "join", "channel", "bot_mention",
        "reaction"])
def test_ignored_events_are_acknowledged_without_a_message(event: dict[str, Any]) -> None:
    assert accept(envelope(event)) == Parsed()


def test_other_envelope_types_are_acknowledged() -> None:
    assert accept({"type": "app_rate_limited", "team_id": TEAM}) == Parsed()


def test_forged_signature_is_forbidden() -> None:
    with pytest.raises(Forbidden):
        adapter.verify(signed(envelope(dm()), secret="not-the-secret"), NOW)


def test_tampered_body_is_forbidden() -> None:
    request = signed(envelope(dm("hello")))
    tampered = InboundRequest("POST", {}, request.headers,
                              request.body.replace(b"hello", b"refund everything"))
    with pytest.raises(Forbidden):
        adapter.verify(tampered, NOW)


@pytest.mark.parametrize("age", [6 * 60, -6 * 60], ids=["stale", "future"])
def test_timestamps_outside_the_window_are_forbidden(age: int) -> None:
    with pytest.raises(Forbidden):
        adapter.verify(signed(envelope(dm()), ts=NOW - age), NOW)


def test_timestamp_inside_the_window_is_accepted() -> None:
    adapter.verify(signed(envelope(dm()), ts=NOW - 4 * 60), NOW)


@pytest.mark.parametrize("drop", ["x-slack-signature", "x-slack-request-timestamp"])
def test_missing_headers_are_forbidden(drop: str) -> None:
    request = signed(envelope(dm()))
    headers = {k: v for k, v in request.headers.items() if k != drop}
    with pytest.raises(Forbidden):
        adapter.verify(InboundRequest("POST", {}, headers, request.body), NOW)


def test_non_numeric_timestamp_is_forbidden() -> None:
    request = signed(envelope(dm()))
    headers = {**request.headers, "x-slack-request-timestamp": "yesterday"}
    with pytest.raises(Forbidden):
        adapter.verify(InboundRequest("POST", {}, headers, request.body), NOW)


def test_non_utf8_body_is_forbidden() -> None:
    headers = {"x-slack-signature": "v0=" + "0" * 64, "x-slack-request-timestamp": str(int(NOW))}
    with pytest.raises(Forbidden):
        adapter.verify(InboundRequest("POST", {}, headers, b"\xff\xfe"), NOW)


@pytest.mark.parametrize("body", [
    b"not json", b"[1, 2]", b'{"no": "type"}', b'{"type": "url_verification"}',
    json.dumps({"type": "event_callback", "team_id": TEAM, "event_id": "E1"}).encode(),
    json.dumps(envelope({"type": "message", "channel_type": "im", "channel": "D1",
                         "ts": "1.0", "text": "hi"})).encode(),          # no user
    json.dumps(envelope(dm(text=5))).encode(),
    json.dumps({**envelope(dm()), "event_id": None}).encode(),
])
def test_malformed_payloads_are_invalid(body: bytes) -> None:
    request = signed(body)
    adapter.verify(request, NOW)  # correctly signed, still refused by parse
    with pytest.raises(InvalidPayload):
        adapter.parse(request)


def test_event_id_longer_than_the_stored_column_is_invalid() -> None:
    assert accept(envelope(dm(), event_id="E" * 64)).message is not None
    with pytest.raises(InvalidPayload, match="event_id"):
        accept(envelope(dm(), event_id="E" * 65))


def test_overlong_text_is_answered_with_a_hint_and_not_routed() -> None:
    short = SlackAdapter(signing_secret=SECRET, bot_token="xoxb-test", bot_user_id=BOT,
                         max_chars=20)
    fits = short.parse(signed(envelope(mention(f"<@{BOT}> " + "x" * 20)))).message
    assert fits is not None and fits.text == "x" * 20  # the mention does not count
    parsed = short.parse(signed(envelope(dm("x" * 21))))
    assert parsed.message is not None and parsed.message.text == ""  # nothing to route
    assert parsed.message.client_message_id == "Ev001"
    assert parsed.reply_hint is not None and "too long" in parsed.reply_hint
    assert "20 characters" in parsed.reply_hint
    default = accept(envelope(dm("字" * 2001)))  # the shared default cap: 2,000
    assert default.message is not None and default.message.text == ""
    assert default.reply_hint is not None


def test_oversized_body_is_refused_before_hashing() -> None:
    small = SlackAdapter(signing_secret=SECRET, bot_token="xoxb-test", max_body=1024)
    request = signed(envelope(dm("x" * 2000)))
    with pytest.raises(PayloadTooLarge):
        small.verify(request, NOW)
    with pytest.raises(PayloadTooLarge):
        small.parse(request)


def test_empty_signing_secret_is_refused_at_start_up() -> None:
    with pytest.raises(ValueError):
        SlackAdapter(signing_secret=" ", bot_token="xoxb-test")


# -- outbound --------------------------------------------------------------------------------

Reply = Callable[[web.Request], Awaitable[web.StreamResponse]]


class FakeSlack:
    def __init__(self) -> None:
        self.calls: list[tuple[str, str | None, dict[str, Any]]] = []
        self.reply: Reply = self.ok

    async def ok(self, request: web.Request) -> web.StreamResponse:
        return web.json_response({"ok": True, "ts": "1700000001.000100"})

    async def handle(self, request: web.Request) -> web.StreamResponse:
        self.calls.append((request.path, request.headers.get("Authorization"),
                           await request.json()))
        return await self.reply(request)


@pytest.fixture
async def slack_api(aiohttp_server: Callable[..., Awaitable[TestServer]]
                    ) -> tuple[FakeSlack, SlackAdapter]:
    fake = FakeSlack()
    app = web.Application()
    app.router.add_post("/api/chat.postMessage", fake.handle)
    server = await aiohttp_server(app)
    out = SlackAdapter(signing_secret=SECRET, bot_token="xoxb-test",
                       api_base=str(server.make_url("/api")), timeout_s=5)
    return fake, out


async def test_send_posts_each_message_in_the_thread(
        slack_api: tuple[FakeSlack, SlackAdapter]) -> None:
    fake, out = slack_api
    await out.send("C0SUPPORT|1699999999.000001", [
        {"text": "Order 42 shipped <today> & arrives Friday."},
        {"text": "Anything else?", "buttons": [{"title": "Talk to a person",
                                               "payload": "/request_human"}]},
        {"custom": {"ignored": True}},                         # nothing to show: not posted
    ])
    assert [(path, auth) for path, auth, _ in fake.calls] == [
        ("/api/chat.postMessage", "Bearer xoxb-test")] * 2
    assert fake.calls[0][2] == {"channel": "C0SUPPORT", "thread_ts": "1699999999.000001",
                                "text": "Order 42 shipped &lt;today&gt; &amp; arrives Friday."}
    assert fake.calls[1][2]["text"] == "Anything else?\n• Talk to a person"


async def test_send_without_thread_omits_thread_ts(
        slack_api: tuple[FakeSlack, SlackAdapter]) -> None:
    fake, out = slack_api
    await out.send("D0CUST|", [{"text": "hi"}])
    assert fake.calls[0][2] == {"channel": "D0CUST", "text": "hi"}


async def test_ok_false_is_a_permanent_error(slack_api: tuple[FakeSlack, SlackAdapter]) -> None:
    fake, out = slack_api

    async def not_in_channel(request: web.Request) -> web.StreamResponse:
        return web.json_response({"ok": False, "error": "not_in_channel"})

    fake.reply = not_in_channel
    with pytest.raises(DeliveryError, match="not_in_channel") as e:
        await out.send("C0SUPPORT|1.0", [{"text": "hi"}])
    assert e.value.retryable is False


async def test_ratelimited_ok_false_is_retryable(
        slack_api: tuple[FakeSlack, SlackAdapter]) -> None:
    fake, out = slack_api

    async def ratelimited(request: web.Request) -> web.StreamResponse:
        return web.json_response({"ok": False, "error": "ratelimited"})

    fake.reply = ratelimited
    with pytest.raises(DeliveryError) as e:
        await out.send("C0SUPPORT|1.0", [{"text": "hi"}])
    assert e.value.retryable is True


async def test_http_500_is_retryable(slack_api: tuple[FakeSlack, SlackAdapter]) -> None:
    fake, out = slack_api

    async def boom(request: web.Request) -> web.StreamResponse:
        return web.Response(status=500, text="oops")

    fake.reply = boom
    with pytest.raises(DeliveryError) as e:
        await out.send("C0SUPPORT|1.0", [{"text": "hi"}])
    assert e.value.retryable is True


async def test_http_429_is_retryable_and_reports_retry_after(
        slack_api: tuple[FakeSlack, SlackAdapter]) -> None:
    fake, out = slack_api

    async def slow_down(request: web.Request) -> web.StreamResponse:
        return web.Response(status=429, headers={"Retry-After": "30"})

    fake.reply = slow_down
    with pytest.raises(DeliveryError, match="Retry-After: 30") as e:
        await out.send("C0SUPPORT|1.0", [{"text": "hi"}])
    assert e.value.retryable is True


async def test_unreachable_api_is_retryable() -> None:
    with socket.socket() as s:  # a loopback port nobody listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    out = SlackAdapter(signing_secret=SECRET, bot_token="xoxb-test",
                       api_base=f"http://127.0.0.1:{port}/api", timeout_s=5)
    with pytest.raises(DeliveryError) as e:
        await out.send("C0SUPPORT|1.0", [{"text": "hi"}])
    assert e.value.retryable is True


async def test_bad_recipient_is_a_permanent_error() -> None:
    with pytest.raises(DeliveryError) as e:
        await adapter.send("|1.0", [{"text": "hi"}])
    assert e.value.retryable is False


def test_the_adapter_tells_the_hub_where_to_reply() -> None:
    adapter = SlackAdapter(signing_secret="s", bot_token="xoxb-1")
    msg = IncomingMessage("slack", "T1:U1", "hi", "Ev1",
                          {"channel": "D42", "thread_ts": "1700000000.000100"})
    assert adapter.reply_target(msg) == "D42|1700000000.000100"
