"""Platform webhooks on the hub when the assistant is slow: WeChat's 5-second rule.

Rasa is replaced here by a deliberately slow stand-in (fault injection: the real stack is
exercised in tests/e2e); WeChat's API is a fake on loopback that records what we send."""

from __future__ import annotations

import asyncio
import hashlib
import json
import time

from aiohttp import web
from aiohttp.test_utils import TestClient
from slack_sdk.signature import SignatureVerifier
from sqlalchemy import func, select
from wechatpy.crypto import WeChatCrypto

from bot.db.models import Turn
from bot.db.session import Database
from bot.hub.app import create_app
from tests.conftest import make_settings

TOKEN, APP_ID = "wx-token", "wx0123456789abcdef"
AES_KEY = "abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG"


async def test_slow_turn_is_acknowledged_in_time_and_delivered_by_api_once(
        aiohttp_client, aiohttp_server, tmp_path, db: Database) -> None:
    sent: list[dict] = []

    async def slow_rasa(request: web.Request) -> web.Response:
        await asyncio.sleep(6)  # longer than WeChat waits for a passive reply
        return web.json_response([{"recipient_id": "x", "text": "您好，这是回复"}])

    async def token(request: web.Request) -> web.Response:
        return web.json_response({"access_token": "tok", "expires_in": 7200})

    async def custom_send(request: web.Request) -> web.Response:
        sent.append(await request.json())
        return web.json_response({"errcode": 0, "errmsg": "ok"})

    fake = web.Application()
    fake.router.add_post("/webhooks/rest/webhook", slow_rasa)
    fake.router.add_get("/cgi-bin/token", token)
    fake.router.add_post("/cgi-bin/message/custom/send", custom_send)
    server = await aiohttp_server(fake)
    base = f"http://127.0.0.1:{server.port}"
    settings = make_settings(tmp_path, rasa_url=base, wechat_token=TOKEN, wechat_app_id=APP_ID,
                             wechat_app_secret="s", wechat_aes_key=AES_KEY, wechat_mode="safe",
                             wechat_api_base=base, reply_wait_s=20)
    client = await aiohttp_client(create_app(settings, db))

    crypto = WeChatCrypto(TOKEN, AES_KEY, APP_ID)
    nonce, ts = "abc123", str(int(time.time()))
    xml = (f"<xml><ToUserName><![CDATA[gh_1]]></ToUserName><FromUserName><![CDATA[oUser1]]>"
           f"</FromUserName><CreateTime>{ts}</CreateTime><MsgType><![CDATA[text]]></MsgType>"
           f"<Content><![CDATA[在吗]]></Content><MsgId>9001</MsgId></xml>")
    body = crypto.encrypt_message(xml, nonce, ts)
    msg_sig = body.split("<MsgSignature><![CDATA[")[1].split("]]>")[0]
    sig = hashlib.sha1("".join(sorted([TOKEN, ts, nonce])).encode()).hexdigest()
    url = (f"/channels/wechat/webhook?signature={sig}&timestamp={ts}&nonce={nonce}"
           f"&encrypt_type=aes&msg_signature={msg_sig}")

    started = time.monotonic()
    first = await client.post(url, data=body.encode())
    assert first.status == 200 and await first.text() == "success"
    assert time.monotonic() - started < 5  # WeChat's deadline
    # WeChat retries the same MsgId after its timeout: acknowledged, never answered twice
    retry = await client.post(url, data=body.encode())
    assert await retry.text() == "success"
    for _ in range(100):
        if sent:
            break
        await asyncio.sleep(0.1)
    await asyncio.sleep(1.5)
    assert [s["text"]["content"] for s in sent] == ["您好，这是回复"]
    assert sent[0]["touser"] == "oUser1"


SLACK_SECRET = "slack-signing-secret-for-tests"


class FakeSlackApi:
    """chat.postMessage and conversations.open as Slack answers them, recording the calls."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, dict]] = []

    async def post_message(self, request: web.Request) -> web.Response:
        self.calls.append(("chat.postMessage", await request.json()))
        return web.json_response({"ok": True, "ts": f"{time.time():.6f}"})

    async def open_conversation(self, request: web.Request) -> web.Response:
        body = await request.json()
        self.calls.append(("conversations.open", body))
        users = str(body.get("users", ""))
        if not users or "," in users:
            return web.json_response({"ok": False, "error": "not_enough_users"})
        return web.json_response({"ok": True, "channel": {"id": f"D{users}"}})

    def app(self) -> web.Application:
        app = web.Application()
        app.router.add_post("/api/chat.postMessage", self.post_message)
        app.router.add_post("/api/conversations.open", self.open_conversation)
        return app

    async def wait(self, count: int) -> list[tuple[str, dict]]:
        for _ in range(100):
            if len(self.calls) >= count:
                break
            await asyncio.sleep(0.05)
        return self.calls


def slack_request(event: dict, event_id: str) -> tuple[bytes, dict[str, str]]:
    body = json.dumps({"type": "event_callback", "team_id": "T1", "event_id": event_id,
                       "event": event}).encode()
    ts = str(int(time.time()))
    sig = SignatureVerifier(SLACK_SECRET).generate_signature(timestamp=ts, body=body)
    return body, {"Content-Type": "application/json", "X-Slack-Request-Timestamp": ts,
                  "X-Slack-Signature": str(sig)}


async def slack_hub(aiohttp_client, aiohttp_server, tmp_path, db: Database, rasa_text: str,
                    **overrides: object) -> tuple[FakeSlackApi, TestClient]:
    async def rasa(request: web.Request) -> web.Response:
        return web.json_response([{"recipient_id": "x", "text": rasa_text}])

    fake = FakeSlackApi()
    app = fake.app()
    app.router.add_post("/webhooks/rest/webhook", rasa)
    server = await aiohttp_server(app)
    base = f"http://127.0.0.1:{server.port}"
    settings = make_settings(tmp_path, rasa_url=base, slack_signing_secret=SLACK_SECRET,
                             slack_bot_token="xoxb-test", slack_bot_user_id="UBOT",
                             slack_api_base=f"{base}/api", reply_wait_s=5, **overrides)
    return fake, await aiohttp_client(create_app(settings, db))


async def test_overlong_slack_message_is_answered_and_never_routed(
        aiohttp_client, aiohttp_server, tmp_path, db: Database) -> None:
    fake, client = await slack_hub(aiohttp_client, aiohttp_server, tmp_path, db,
                                   "the assistant's answer", max_message_chars=50)
    event = {"type": "message", "channel_type": "im", "channel": "D42", "user": "U7",
             "text": "x" * 51, "ts": f"{time.time():.6f}"}
    body, headers = slack_request(event, "Ev-long")
    resp = await client.post("/channels/slack/webhook", data=body, headers=headers)
    assert resp.status == 200
    calls = await fake.wait(1)
    assert [(m, c["channel"]) for m, c in calls] == [("chat.postMessage", "D42")]
    assert "too long" in calls[0][1]["text"] and "50 characters" in calls[0][1]["text"]
    with db.session() as s:  # neither stored nor sent to the assistant
        assert s.scalar(select(func.count()).select_from(Turn)) == 0


async def wechat_hub(aiohttp_client, aiohttp_server, tmp_path, db: Database,
                     mode: str) -> tuple[list[dict], TestClient]:
    sent: list[dict] = []

    async def rasa(request: web.Request) -> web.Response:
        sent.append(await request.json())
        return web.json_response([{"recipient_id": "x", "text": "好的"}])

    fake = web.Application()
    fake.router.add_post("/webhooks/rest/webhook", rasa)
    server = await aiohttp_server(fake)
    base = f"http://127.0.0.1:{server.port}"
    settings = make_settings(tmp_path, rasa_url=base, wechat_token=TOKEN, wechat_app_id=APP_ID,
                             wechat_app_secret="s", wechat_aes_key=AES_KEY, wechat_mode=mode,
                             wechat_api_base=base)
    return sent, await aiohttp_client(create_app(settings, db))


def text_xml(sender: str, content: str, msg_id: str, ts: str) -> str:
    return (f"<xml><ToUserName><![CDATA[gh_1]]></ToUserName><FromUserName><![CDATA[{sender}]]>"
            f"</FromUserName><CreateTime>{ts}</CreateTime><MsgType><![CDATA[text]]></MsgType>"
            f"<Content><![CDATA[{content}]]></Content><MsgId>{msg_id}</MsgId></xml>")


def plain_url(ts: str, nonce: str) -> str:
    sig = hashlib.sha1("".join(sorted([TOKEN, ts, nonce])).encode()).hexdigest()
    return f"/channels/wechat/webhook?signature={sig}&timestamp={ts}&nonce={nonce}&openid=o1"


async def test_captured_plaintext_url_cannot_be_replayed_with_another_body(
        aiohttp_client, aiohttp_server, tmp_path, db: Database) -> None:
    sent, client = await wechat_hub(aiohttp_client, aiohttp_server, tmp_path, db, "plain")
    ts = str(int(time.time()))
    url = plain_url(ts, "n1")
    first = await client.post(url, data=text_xml("oCustomer", "在吗", "1", ts).encode())
    assert first.status == 200
    again = await client.post(url, data=text_xml("oCustomer", "在吗", "1", ts).encode())
    assert again.status == 200  # WeChat's retry: same URL, same body
    forged = await client.post(url, data=text_xml("oVictim", "取消订单100123", "2", ts).encode())
    assert forged.status == 403
    assert len(sent) == 1  # one turn reached the assistant, the forged one never did
    assert "取消订单100123" not in json.dumps(sent, ensure_ascii=False)


async def test_compatible_mode_refuses_plaintext_posts(
        aiohttp_client, aiohttp_server, tmp_path, db: Database) -> None:
    sent, client = await wechat_hub(aiohttp_client, aiohttp_server, tmp_path, db,
                                    "compatible")
    ts = str(int(time.time()))
    resp = await client.post(plain_url(ts, "n2"),
                             data=text_xml("oVictim", "取消订单100123", "3", ts).encode())
    assert resp.status == 403 and sent == []
    # what WeChat really sends in compatible mode, encrypted part included, is answered
    crypto = WeChatCrypto(TOKEN, AES_KEY, APP_ID)
    body = crypto.encrypt_message(text_xml("oCustomer", "在吗", "4", ts), "n3", ts)
    msg_sig = body.split("<MsgSignature><![CDATA[")[1].split("]]>")[0]
    url = plain_url(ts, "n3") + f"&encrypt_type=aes&msg_signature={msg_sig}"
    ok = await client.post(url, data=body.encode())
    assert ok.status == 200 and len(sent) == 1
