"""Platform webhooks on the hub when the assistant is slow: WeChat's 5-second rule.

Rasa is replaced here by a deliberately slow stand-in (fault injection: the real stack is
exercised in tests/e2e); WeChat's API is a fake on loopback that records what we send."""

from __future__ import annotations

import asyncio
import hashlib
import time

from aiohttp import web
from wechatpy.crypto import WeChatCrypto

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
