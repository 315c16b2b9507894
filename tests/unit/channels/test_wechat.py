"""WeChat / WeCom adapters, checked against wechatpy (the platform's client library) for interop
and against a fake WeChat API on loopback for outbound delivery."""

from __future__ import annotations

import asyncio
import base64
import json
import socket
import time
from collections.abc import AsyncIterator
from typing import Any

import pytest
import xmltodict
from aiohttp import web
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes
from defusedxml.ElementTree import fromstring
from wechatpy.crypto import PrpCrypto as OaPrpCrypto
from wechatpy.crypto import WeChatCrypto as OaCrypto
from wechatpy.enterprise.crypto import PrpCrypto as CorpPrpCrypto
from wechatpy.enterprise.crypto import WeChatCrypto as CorpCrypto
from wechatpy.utils import WeChatSigner, check_signature

from channels.base import (
    DeliveryError,
    Forbidden,
    InboundRequest,
    IncomingMessage,
    InvalidPayload,
    Parsed,
    PayloadTooLarge,
)
from channels.wechat import (
    TEXT_ONLY,
    WELCOME,
    AccessTokenManager,
    WeChatAdapter,
    WeComAdapter,
)
from channels.wechat_crypto import (
    CryptoError,
    MessageCrypto,
    ReceiveIdMismatch,
    decode_aes_key,
    signature,
)

TOKEN = "kefuToken2024"
AES_KEY = base64.b64encode(bytes(range(32))).decode()[:-1]  # 43 characters, like the console's
APP_ID = "wx5823bf96d3bd56c7"
APP_SECRET = "app-secret"
CORP_ID = "ww0123456789abcdef"
CORP_SECRET = "corp-secret"
AGENT_ID = 1000002
GH = "gh_0123456789ab"
OPENID = "oUpF8uMuAJO_M2pxb1Q9zNjWeS6o"
NOW = 1_700_000_000
TS = str(NOW)
NONCE = "1320562132"


def sign(*parts: str) -> str:
    signer = WeChatSigner()
    signer.add_data(*parts)
    return signer.signature


def message_xml(msg_type: str = "text", *, sender: str = OPENID, to: str = GH,
                create_time: str = TS, body: str = "<Content><![CDATA[你好 hello]]></Content>"
                "<MsgId>23456789012345678</MsgId>") -> str:
    return (f"<xml><ToUserName><![CDATA[{to}]]></ToUserName>"
            f"<FromUserName><![CDATA[{sender}]]></FromUserName>"
            f"<CreateTime>{create_time}</CreateTime><MsgType><![CDATA[{msg_type}]]></MsgType>"
            f"{body}</xml>")


def event_xml(event: str) -> str:
    return message_xml("event", body=f"<Event><![CDATA[{event}]]></Event>")


def plain_post(xml: str | bytes, *, ts: str = TS, nonce: str = NONCE,
               token: str = TOKEN) -> InboundRequest:
    body = xml.encode() if isinstance(xml, str) else xml
    query = {"signature": sign(token, ts, nonce), "timestamp": ts, "nonce": nonce,
             "openid": OPENID}
    return InboundRequest("POST", query, {"content-type": "text/xml"}, body)


def safe_post(xml: str, *, ts: str = TS, nonce: str = NONCE, app_id: str = APP_ID,
              outer: str = "") -> InboundRequest:
    """What the platform POSTs in safe mode, encrypted and signed by wechatpy."""
    wrapped = xmltodict.parse(OaCrypto(TOKEN, AES_KEY, app_id).encrypt_message(xml, nonce, ts))
    encrypt, msg_signature = wrapped["xml"]["Encrypt"], wrapped["xml"]["MsgSignature"]
    body = (f"<xml><ToUserName><![CDATA[{GH}]]></ToUserName>{outer}"
            f"<Encrypt><![CDATA[{encrypt}]]></Encrypt></xml>").encode()
    query = {"signature": sign(TOKEN, ts, nonce), "timestamp": ts, "nonce": nonce,
             "openid": OPENID, "encrypt_type": "aes", "msg_signature": msg_signature}
    return InboundRequest("POST", query, {}, body)


def wecom_post(xml: str, *, ts: str = TS, nonce: str = NONCE) -> InboundRequest:
    wrapped = xmltodict.parse(CorpCrypto(TOKEN, AES_KEY, CORP_ID).encrypt_message(xml, nonce, ts))
    body = (f"<xml><ToUserName><![CDATA[{CORP_ID}]]></ToUserName><AgentID>{AGENT_ID}</AgentID>"
            f"<Encrypt><![CDATA[{wrapped['xml']['Encrypt']}]]></Encrypt></xml>").encode()
    query = {"msg_signature": wrapped["xml"]["MsgSignature"], "timestamp": ts, "nonce": nonce}
    return InboundRequest("POST", query, {}, body)


def oa(mode: str = "plain", **kw: Any) -> WeChatAdapter:
    key = None if mode == "plain" else AES_KEY
    return WeChatAdapter(token=TOKEN, app_id=APP_ID, app_secret=APP_SECRET,
                         encoding_aes_key=key, mode=mode, **kw)  # type: ignore[arg-type]


def wecom(**kw: Any) -> WeComAdapter:
    return WeComAdapter(token=TOKEN, corp_id=CORP_ID, corp_secret=CORP_SECRET,
                        agent_id=AGENT_ID, encoding_aes_key=AES_KEY, **kw)


def accept(adapter: WeChatAdapter | WeComAdapter, request: InboundRequest) -> Parsed:
    adapter.verify(request, NOW + 5)
    return adapter.parse(request)


def raw_cbc(plain: bytes) -> str:
    """AES-CBC with WeChat's key and IV but no padding rules applied: for malformed inputs."""
    key = decode_aes_key(AES_KEY)
    enc = Cipher(algorithms.AES(key), modes.CBC(key[:16])).encryptor()
    return base64.b64encode(enc.update(plain) + enc.finalize()).decode()


# ---- crypto ------------------------------------------------------------------------------

def test_signature_is_the_platforms() -> None:
    check_signature(TOKEN, signature(TOKEN, TS, NONCE), TS, NONCE)  # raises when wrong
    assert signature(TOKEN, TS, NONCE, "ENC") == sign(TOKEN, TS, NONCE, "ENC")


@pytest.mark.parametrize("size", range(60))  # every padding length, a full 32-byte block too
def test_encryption_interoperates_with_wechatpy(size: int) -> None:
    text = ("字" * size)[: size // 3] + "x" * (size - size // 3)
    ours = MessageCrypto(AES_KEY, APP_ID)
    theirs = OaPrpCrypto(decode_aes_key(AES_KEY))
    ciphertext = ours.encrypt(text.encode())
    assert len(base64.b64decode(ciphertext)) % 32 == 0
    assert theirs.decrypt(ciphertext, APP_ID) == text
    assert ours.decrypt(theirs.encrypt(text, APP_ID).decode()) == text.encode()


def test_decrypt_refuses_another_receive_id() -> None:
    ciphertext = OaPrpCrypto(decode_aes_key(AES_KEY)).encrypt("<xml/>", "wxOTHER").decode()
    with pytest.raises(ReceiveIdMismatch):
        MessageCrypto(AES_KEY, APP_ID).decrypt(ciphertext)


@pytest.mark.parametrize("ciphertext", [
    "", "not base64!", base64.b64encode(b"x" * 20).decode(),  # not a multiple of 16
    raw_cbc(b"\0" * 32),  # padding byte 0
    raw_cbc(b"\0" * 31 + b"\x21"),  # padding 33 > 32
    raw_cbc(b"\0" * 30 + b"\x01\x02"),  # inconsistent padding bytes
    raw_cbc(b"r" * 16 + b"\0\0\1\0" + b"x" * 11 + b"\1"),  # declares 256 bytes, has 11
])
def test_decrypt_refuses_malformed_ciphertexts(ciphertext: str) -> None:
    with pytest.raises(CryptoError):
        MessageCrypto(AES_KEY, APP_ID).decrypt(ciphertext)


@pytest.mark.parametrize("key", ["short", AES_KEY[:-1] + "!", "A" * 44])
def test_malformed_aes_keys_are_refused(key: str) -> None:
    with pytest.raises(CryptoError):
        MessageCrypto(key, APP_ID)


def test_adapter_configuration_is_checked() -> None:
    with pytest.raises(ValueError):
        WeChatAdapter(token=TOKEN, app_id=APP_ID, app_secret="s", mode="safe")
    with pytest.raises(ValueError):
        WeChatAdapter(token=TOKEN, app_id=APP_ID, app_secret="s", mode="other")  # type: ignore[arg-type]


# ---- inbound messages --------------------------------------------------------------------

def test_plaintext_text_message() -> None:
    parsed = accept(oa(), plain_post(message_xml()))
    assert parsed.message == IncomingMessage(
        "wechat", OPENID, "你好 hello", "23456789012345678",
        {"to": GH, "create_time": NOW})
    assert parsed.response is None and parsed.reply_hint is None


def test_encrypted_text_message() -> None:
    parsed = accept(oa("safe"), safe_post(message_xml()))
    assert parsed.message is not None
    assert (parsed.message.sender_id, parsed.message.text) == (OPENID, "你好 hello")


def test_unsigned_plaintext_fields_next_to_encrypt_are_ignored() -> None:
    outer = "<FromUserName>attacker</FromUserName><Content>evil</Content>"
    parsed = accept(oa("compatible"), safe_post(message_xml(), outer=outer))
    assert parsed.message is not None
    assert (parsed.message.sender_id, parsed.message.text) == (OPENID, "你好 hello")


def test_compatible_mode_reads_the_encrypted_part() -> None:
    # what the platform sends in compatible mode: the plaintext fields AND the encrypted part
    plain_fields = message_xml().split("</ToUserName>", 1)[1][:-len("</xml>")]
    parsed = accept(oa("compatible"), safe_post(message_xml(), outer=plain_fields))
    assert parsed.message is not None and parsed.message.text == "你好 hello"


@pytest.mark.parametrize("mode", ["compatible", "safe"])
def test_encrypted_modes_cannot_be_downgraded_to_plaintext(mode: str) -> None:
    adapter = oa(mode)
    forged = message_xml(sender="oAttacker", body="<Content>cancel order 100123</Content>"
                                                  "<MsgId>666</MsgId>")
    # a plaintext post signed the old way (that signature does not cover the body)
    with pytest.raises(Forbidden):
        adapter.verify(plain_post(forged), NOW)
    # a captured encrypted URL, with or without encrypt_type / msg_signature, and a
    # plaintext body (no <Encrypt>): refused before anything is read
    captured = safe_post(message_xml())
    for drop in (set(), {"encrypt_type"}, {"encrypt_type", "msg_signature"},
                 {"msg_signature"}):
        query = {k: v for k, v in captured.query.items() if k not in drop}
        with pytest.raises((Forbidden, InvalidPayload)):
            adapter.verify(InboundRequest("POST", query, {}, forged.encode()), NOW)


async def replay(adapter: WeChatAdapter | WeComAdapter, request: InboundRequest,
           now: float = NOW + 5) -> None:
    adapter.verify(request, now)
    await adapter.check_replay(request, now)


@pytest.mark.parametrize("mode", ["plain", "compatible", "safe"])
async def test_a_signed_nonce_is_good_for_one_request(mode: str) -> None:
    adapter = oa(mode)
    post = plain_post if mode == "plain" else safe_post
    first = post(message_xml())
    await replay(adapter, first)
    await replay(adapter, first, NOW + 60)  # the platform's retry repeats it exactly: passes
    other = post(message_xml(sender="oAttacker"))  # same timestamp and nonce, another body
    if mode == "plain":  # its old-style signature does not cover the body: verify passes...
        adapter.verify(other, NOW + 5)
    with pytest.raises(Forbidden):  # ...the replay cache does not
        await replay(adapter, other)
    with pytest.raises(Forbidden):  # nor another query under the same signed pair
        await replay(adapter, InboundRequest(
            "POST", {**first.query, "openid": "oAttacker"}, {}, first.body))
    await replay(adapter, post(message_xml(), nonce="98765"))  # a fresh nonce is a new request


async def test_wecom_nonces_are_good_for_one_request() -> None:
    adapter = wecom()
    xml = message_xml(sender="zhangsan", to=CORP_ID,
                      body="<Content>hi</Content><MsgId>1</MsgId>")
    await replay(adapter, wecom_post(xml))
    with pytest.raises(Forbidden):
        await replay(adapter, wecom_post(xml.replace("hi", "refund")))
    other_app = wecom()  # each adapter has its own cache unless given a shared one
    await replay(other_app, wecom_post(xml.replace("hi", "refund")))


def test_wecom_encrypted_text_message() -> None:
    xml = message_xml(sender="zhangsan", to=CORP_ID,
                      body=f"<Content><![CDATA[查订单]]></Content><MsgId>99</MsgId>"
                           f"<AgentID>{AGENT_ID}</AgentID>")
    parsed = accept(wecom(), wecom_post(xml))
    assert parsed.message == IncomingMessage(
        "wecom", "zhangsan", "查订单", "99",
        {"to": CORP_ID, "create_time": NOW, "agent_id": str(AGENT_ID)})


def test_forged_or_missing_signatures_are_refused() -> None:
    request = plain_post(message_xml(), token="not-our-token")
    with pytest.raises(Forbidden):
        oa().verify(request, NOW)
    unsigned = InboundRequest("POST", {"timestamp": TS, "nonce": NONCE}, {}, request.body)
    with pytest.raises(Forbidden):
        oa().verify(unsigned, NOW)
    good = safe_post(message_xml())
    for query in ({**good.query, "msg_signature": "0" * 40},
                  {k: v for k, v in good.query.items() if k != "msg_signature"}):
        with pytest.raises(Forbidden):
            oa("safe").verify(InboundRequest("POST", query, {}, good.body), NOW)


def test_a_plain_signature_does_not_pass_for_safe_mode() -> None:
    # the old-style signature does not cover the body: safe mode needs msg_signature
    request = plain_post(safe_post(message_xml()).body)
    with pytest.raises(Forbidden):
        oa("safe").verify(request, NOW)


def test_tampered_encrypted_body_is_refused() -> None:
    good, other = safe_post(message_xml()), safe_post(message_xml(sender="oAttacker"))
    tampered = InboundRequest("POST", good.query, {}, other.body)
    with pytest.raises(Forbidden):
        oa("safe").verify(tampered, NOW)


@pytest.mark.parametrize("skew", [-301, 301, -10_000])
def test_stale_or_future_timestamps_are_refused(skew: int) -> None:
    with pytest.raises(Forbidden):
        oa().verify(plain_post(message_xml()), NOW + skew)
    with pytest.raises(Forbidden):
        oa("safe").verify(safe_post(message_xml()), NOW + skew)


def test_timestamps_inside_the_window_pass() -> None:
    oa().verify(plain_post(message_xml()), NOW - 299)
    oa().verify(plain_post(message_xml()), NOW + 299)


@pytest.mark.parametrize("query", [{"timestamp": "soon", "nonce": NONCE},
                                   {"timestamp": TS, "nonce": "a b<"}, {"nonce": NONCE}])
def test_malformed_timestamp_or_nonce_is_refused(query: dict[str, str]) -> None:
    with pytest.raises(Forbidden):
        oa().verify(InboundRequest("POST", query, {}, b"<xml/>"), NOW)


def test_message_for_another_app_id_is_refused() -> None:
    request = safe_post(message_xml(), app_id="wxSomeOtherApp")
    adapter = oa("safe")
    adapter.verify(request, NOW)  # same token and key: the signature is fine...
    with pytest.raises(Forbidden):
        adapter.parse(request)  # ...but the AppID inside is not ours


def test_garbage_ciphertext_with_a_valid_signature_is_invalid() -> None:
    encrypt = raw_cbc(b"\0" * 32)
    body = f"<xml><Encrypt><![CDATA[{encrypt}]]></Encrypt></xml>".encode()
    query = {"timestamp": TS, "nonce": NONCE, "encrypt_type": "aes",
             "msg_signature": signature(TOKEN, TS, NONCE, encrypt)}
    with pytest.raises(InvalidPayload):
        accept(oa("safe"), InboundRequest("POST", query, {}, body))


BOMB = (b'<?xml version="1.0"?><!DOCTYPE xml [<!ENTITY a "aaaaaaaaaa">'
        + b"".join(f'<!ENTITY {chr(98 + i)} "{("&" + chr(97 + i) + ";") * 10}">'.encode()
                   for i in range(9))
        + b"]><xml><Content>&j;</Content><Encrypt>&j;</Encrypt></xml>")
XXE = (b'<?xml version="1.0"?><!DOCTYPE xml [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>'
       + message_xml(body="<Content>&xxe;</Content><MsgId>1</MsgId>").encode())


@pytest.mark.parametrize("body", [BOMB, XXE], ids=["billion-laughs", "external-entity"])
def test_xml_bombs_and_external_entities_are_refused_quickly(body: bytes) -> None:
    start = time.perf_counter()
    with pytest.raises(InvalidPayload, match="DTDForbidden"):  # any DTD, not just expat's limit
        accept(oa(), plain_post(body))
    request = safe_post(message_xml())
    with pytest.raises(InvalidPayload):  # refused before any signature could be checked on it
        accept(oa("safe"), InboundRequest("POST", request.query, {}, body))
    with pytest.raises(InvalidPayload):  # and inside a properly encrypted and signed body too
        accept(oa("safe"), safe_post(body.decode()))
    assert time.perf_counter() - start < 1.0


def test_oversized_bodies_are_refused() -> None:
    adapter = oa(max_body=1024)
    request = plain_post(message_xml(body=f"<Content>{'x' * 2000}</Content><MsgId>1</MsgId>"))
    with pytest.raises(PayloadTooLarge):
        adapter.verify(request, NOW)
    with pytest.raises(PayloadTooLarge):
        adapter.parse(request)


@pytest.mark.parametrize("xml", [
    "not xml at all", "<root><MsgType>text</MsgType></root>", "<xml><a></xml>",
    message_xml(sender=""), message_xml(sender="bad id<>"), message_xml(create_time="yesterday"),
    message_xml(body="<MsgId>1</MsgId>"),  # text without Content
    message_xml(body="<Content>hi</Content>"),  # text without MsgId
    message_xml(body="<Content>hi</Content><MsgId>1</MsgId><FromUserName>x</FromUserName>"),
    message_xml("event", body=""),  # event without Event
    "<xml><ToUserName>gh</ToUserName></xml>",
])
def test_malformed_messages_are_invalid(xml: str) -> None:
    with pytest.raises(InvalidPayload):
        accept(oa(), plain_post(xml))


def test_safe_mode_body_without_encrypt_is_invalid() -> None:
    request = safe_post(message_xml())
    with pytest.raises(InvalidPayload):
        accept(oa("safe"), InboundRequest("POST", request.query, {}, message_xml().encode()))


@pytest.mark.parametrize("msg_type,body", [
    ("image", "<PicUrl>http://x/y.jpg</PicUrl><MediaId>m</MediaId><MsgId>11</MsgId>"),
    ("voice", "<MediaId>m</MediaId><Format>amr</Format><MsgId>12</MsgId>"),
    ("video", "<MediaId>m</MediaId><ThumbMediaId>t</ThumbMediaId><MsgId>13</MsgId>"),
    ("location", "<Location_X>23.1</Location_X><Location_Y>113.3</Location_Y><MsgId>14</MsgId>"),
    ("link", "<Title>t</Title><Url>http://x</Url><MsgId>15</MsgId>"),
    ("file", "<Title>f.pdf</Title><MsgId>16</MsgId>"),
])
def test_non_text_messages_get_the_polite_hint(msg_type: str, body: str) -> None:
    parsed = accept(oa(), plain_post(message_xml(msg_type, body=body)))
    assert parsed.reply_hint == TEXT_ONLY["zh"]
    # an empty-text message: the hub answers with the hint and routes nothing
    assert parsed.message is not None and parsed.message.text == ""
    assert parsed.message.metadata["msg_type"] == msg_type
    english = accept(oa(language="en"), plain_post(message_xml(msg_type, body=body)))
    assert english.reply_hint == TEXT_ONLY["en"] == ("Sorry, I can only read text messages "
                                                     "for now. Please type your question.")


def test_subscribe_gets_a_bilingual_welcome() -> None:
    parsed = accept(oa("safe"), safe_post(event_xml("subscribe")))
    assert parsed.reply_hint == WELCOME and "欢迎" in WELCOME and "welcome" in WELCOME
    assert parsed.message is not None and parsed.message.text == ""
    assert parsed.message.client_message_id == f"{OPENID}:{TS}"  # events have no MsgId


def test_overlong_text_is_answered_with_a_hint_and_not_routed() -> None:
    def text(content: str) -> str:
        return message_xml(body=f"<Content><![CDATA[{content}]]></Content><MsgId>7</MsgId>")

    fits = accept(oa(), plain_post(text("字" * 2000))).message
    assert fits is not None and fits.text == "字" * 2000
    for adapter, request in ((oa(), plain_post(text("字" * 2001))),
                             (oa("safe"), safe_post(text("字" * 2001)))):
        parsed = accept(adapter, request)
        assert parsed.message is not None and parsed.message.text == ""  # nothing routed
        assert parsed.message.client_message_id == "7"
        assert parsed.reply_hint is not None and "2000" in parsed.reply_hint
        assert "太长" in parsed.reply_hint
    english = accept(oa(language="en", max_chars=10), plain_post(text("x" * 11)))
    assert english.reply_hint is not None and "too long" in english.reply_hint
    wecom_xml = message_xml(sender="zhangsan", to=CORP_ID,
                            body=f"<Content>{'x' * 11}</Content><MsgId>8</MsgId>")
    assert accept(wecom(max_chars=10), wecom_post(wecom_xml)).reply_hint is not None


def test_message_ids_fit_the_stored_column() -> None:
    overlong = message_xml(body=f"<Content>hi</Content><MsgId>{'9' * 65}</MsgId>")
    with pytest.raises(InvalidPayload, match="MsgId"):
        accept(oa(), plain_post(overlong))
    # an event has no MsgId: sender + CreateTime stands in, shortened when it would not fit
    long_sender = "o" * 128
    xml = message_xml("event", sender=long_sender, body="<Event>subscribe</Event>")
    first, again = accept(oa(), plain_post(xml)).message, accept(oa(), plain_post(xml)).message
    assert first is not None and again is not None
    assert first.client_message_id == again.client_message_id  # retries still deduplicate
    assert first.client_message_id is not None and len(first.client_message_id) <= 64


@pytest.mark.parametrize("event", ["unsubscribe", "CLICK", "VIEW", "LOCATION"])
def test_other_events_need_no_answer(event: str) -> None:
    assert accept(oa(), plain_post(event_xml(event))) == Parsed()


def test_whitespace_only_text_needs_no_answer() -> None:
    xml = message_xml(body="<Content>  \n </Content><MsgId>5</MsgId>")
    assert accept(oa(), plain_post(xml)) == Parsed()


def test_other_methods_are_refused() -> None:
    request = plain_post(message_xml())
    with pytest.raises(Forbidden):
        oa().verify(InboundRequest("PUT", request.query, {}, request.body), NOW)


# ---- URL verification --------------------------------------------------------------------

def test_official_account_url_verification() -> None:
    query = {"signature": sign(TOKEN, TS, NONCE), "timestamp": TS, "nonce": NONCE,
             "echostr": "8263940183726459102"}
    for mode in ("plain", "safe"):  # the GET is signed the plain way in every mode
        assert accept(oa(mode), InboundRequest("GET", query, {}, b"")).response == \
            b"8263940183726459102"
    with pytest.raises(Forbidden):
        oa().verify(InboundRequest("GET", {**query, "signature": "f" * 40}, {}, b""), NOW)
    with pytest.raises(InvalidPayload):  # the echostr is unsigned: nothing odd is reflected
        accept(oa(), InboundRequest("GET", {**query, "echostr": "<script>"}, {}, b""))


def test_wecom_url_verification_answers_the_decrypted_echostr() -> None:
    echostr = CorpPrpCrypto(decode_aes_key(AES_KEY)).encrypt("4812345678901234567",
                                                             CORP_ID).decode()
    msg_signature = sign(TOKEN, TS, NONCE, echostr)
    # wechatpy's own verification agrees with what we answer
    assert CorpCrypto(TOKEN, AES_KEY, CORP_ID).check_signature(
        msg_signature, TS, NONCE, echostr) == "4812345678901234567"
    query = {"msg_signature": msg_signature, "timestamp": TS, "nonce": NONCE, "echostr": echostr}
    assert accept(wecom(), InboundRequest("GET", query, {}, b"")).response == \
        b"4812345678901234567"
    forged = {**query, "msg_signature": sign(TOKEN, TS, NONCE)}  # signed without the echostr
    with pytest.raises(Forbidden):
        wecom().verify(InboundRequest("GET", forged, {}, b""), NOW)


# ---- passive replies ---------------------------------------------------------------------

TRICKY = "订单 <b>&amp; ]]> 已发货]]>\x00\x07"


def test_plain_passive_reply_escapes_cdata() -> None:
    xml = oa().passive_reply(OPENID, GH, TRICKY, NONCE, NOW)
    reply = fromstring(xml, forbid_dtd=True)
    assert reply.findtext("Content") == "订单 <b>&amp; ]]> 已发货]]>"  # control chars dropped
    assert (reply.findtext("ToUserName"), reply.findtext("FromUserName")) == (OPENID, GH)
    assert (reply.findtext("MsgType"), reply.findtext("CreateTime")) == ("text", TS)


def test_encrypted_passive_reply_decrypts_with_wechatpy() -> None:
    xml = oa("safe").passive_reply(OPENID, GH, TRICKY, NONCE, NOW)
    wrapper = xmltodict.parse(xml)["xml"]
    assert (wrapper["TimeStamp"], wrapper["Nonce"]) == (TS, NONCE)
    inner = OaCrypto(TOKEN, AES_KEY, APP_ID).decrypt_message(  # checks MsgSignature too
        xml.decode(), wrapper["MsgSignature"], TS, NONCE)
    reply = xmltodict.parse(inner)["xml"]
    assert (reply["Content"], reply["ToUserName"]) == ("订单 <b>&amp; ]]> 已发货]]>", OPENID)


def test_wecom_passive_reply_decrypts_with_wechatpy() -> None:
    xml = wecom().passive_reply("zhangsan", CORP_ID, "好的", NONCE, TS)
    wrapper = xmltodict.parse(xml)["xml"]
    inner = CorpCrypto(TOKEN, AES_KEY, CORP_ID).decrypt_message(
        xml.decode(), wrapper["MsgSignature"], TS, NONCE)
    assert xmltodict.parse(inner)["xml"]["Content"] == "好的"


def test_passive_reply_for_follows_the_mode() -> None:
    msg = IncomingMessage("wechat", OPENID, "hi", "1", {"to": GH})
    messages = [{"text": "Which one?", "buttons": [{"title": "Refund"}, {"title": "Track"}]},
                {"text": "Or ask an agent."}]
    plain = oa().passive_reply_for(msg, messages, plain_post(message_xml()))
    assert plain is not None
    assert fromstring(plain).findtext("Content") == \
        "Which one?\n1. Refund\n2. Track\n\nOr ask an agent."
    for mode in ("compatible", "safe"):
        encrypted = oa(mode).passive_reply_for(msg, messages, safe_post(message_xml()))
        assert encrypted is not None and b"<Encrypt>" in encrypted
    too_long = [{"text": "字" * 700}]  # 2100 bytes: goes through the API in parts instead
    assert oa().passive_reply_for(msg, too_long, plain_post(message_xml())) is None


# ---- outbound ----------------------------------------------------------------------------

class FakeWeChat:
    """The token and message endpoints of WeChat and WeCom, with scripted failures."""

    def __init__(self) -> None:
        self.token_fetches = 0
        self.token_queries: list[dict[str, str]] = []
        self.valid: str | None = None
        self.sent: list[dict[str, Any]] = []
        self.raw: list[bytes] = []
        self.script: list[str] = []  # what the next sends answer: "500", "40001", "slow"...
        self.token_error: dict[str, Any] | None = None
        self.reject_delays: list[float] = []  # how late successive stale-token refusals come

    def rotate(self) -> None:
        """Someone else fetched a token: the one we cached is now stale."""
        self.valid = "issued-elsewhere"

    async def token(self, request: web.Request) -> web.Response:
        self.token_fetches += 1
        self.token_queries.append(dict(request.query))
        await asyncio.sleep(0.05)  # widen the window in which concurrent senders could race
        if self.token_error:
            return web.json_response(self.token_error)
        self.valid = f"TOKEN-{self.token_fetches}"
        return web.json_response({"access_token": self.valid, "expires_in": 7200})

    async def send(self, request: web.Request) -> web.Response:
        raw = await request.read()
        action = self.script.pop(0) if self.script else ""
        if action == "500":
            return web.Response(status=500, text="oops")
        if action == "slow":
            await asyncio.sleep(1)
        if action.lstrip("-").isdigit():
            return web.json_response({"errcode": int(action), "errmsg": f"scripted {action}"})
        if request.query.get("access_token") != self.valid:
            await asyncio.sleep(self.reject_delays.pop(0) if self.reject_delays else 0)
            return web.json_response({"errcode": 40001, "errmsg": "invalid credential, "
                                      "access_token is invalid or not latest"})
        self.raw.append(raw)
        self.sent.append(json.loads(raw))
        if action == "invaliduser":
            return web.json_response({"errcode": 0, "errmsg": "ok", "invaliduser": "ghost"})
        return web.json_response({"errcode": 0, "errmsg": "ok"})


@pytest.fixture
async def fake(aiohttp_server: Any) -> AsyncIterator[tuple[FakeWeChat, str]]:
    api = FakeWeChat()
    app = web.Application()
    app.router.add_get("/cgi-bin/token", api.token)
    app.router.add_get("/cgi-bin/gettoken", api.token)
    app.router.add_post("/cgi-bin/message/custom/send", api.send)
    app.router.add_post("/cgi-bin/message/send", api.send)
    server = await aiohttp_server(app)
    yield api, str(server.make_url("")).rstrip("/")


@pytest.fixture
async def sender(fake: tuple[FakeWeChat, str]) -> AsyncIterator[WeChatAdapter]:
    adapter = oa(api_base=fake[1], timeout_s=0.5)
    yield adapter
    await adapter.close()


@pytest.fixture
def api(fake: tuple[FakeWeChat, str]) -> FakeWeChat:
    return fake[0]


async def test_send_posts_customer_service_messages(sender: WeChatAdapter,
                                                    api: FakeWeChat) -> None:
    await sender.send(OPENID, [{"text": "您好 ]]> <b>"},
                               {"text": "Pick one", "buttons": [{"title": "Refund"}]}])
    assert api.sent == [
        {"touser": OPENID, "msgtype": "text", "text": {"content": "您好 ]]> <b>"}},
        {"touser": OPENID, "msgtype": "text", "text": {"content": "Pick one\n1. Refund"}},
    ]
    assert "您好".encode() in api.raw[0]  # UTF-8, not \\u escapes the platform shows literally
    assert api.token_fetches == 1
    assert api.token_queries == [{"grant_type": "client_credential", "appid": APP_ID,
                                  "secret": APP_SECRET}]


async def test_long_text_is_sent_in_parts(sender: WeChatAdapter, api: FakeWeChat) -> None:
    text = "\n".join(f"第{i}行：" + "订单" * 40 for i in range(30))
    await sender.send(OPENID, [{"text": text}])
    parts = [m["text"]["content"] for m in api.sent]
    assert len(parts) > 1 and all(len(p.encode()) <= 2048 for p in parts)
    assert "\n".join(parts) == text  # cut at line breaks


async def test_concurrent_senders_share_one_token_fetch(sender: WeChatAdapter,
                                                        api: FakeWeChat) -> None:
    await asyncio.gather(*(sender.send(OPENID, [{"text": f"m{i}"}]) for i in range(10)))
    assert api.token_fetches == 1 and len(api.sent) == 10


async def test_a_stale_token_is_refreshed_once_under_concurrency(sender: WeChatAdapter,
                                                                 api: FakeWeChat) -> None:
    await sender.send(OPENID, [{"text": "first"}])
    api.rotate()
    # one refusal arrives after the refresh: it must not throw the new token away
    api.reject_delays = [0, 0.2]
    await asyncio.gather(*(sender.send(OPENID, [{"text": f"m{i}"}]) for i in range(10)))
    assert api.token_fetches == 2 and len(api.sent) == 11


async def test_a_token_rejected_twice_is_retryable(sender: WeChatAdapter,
                                                   api: FakeWeChat) -> None:
    api.script = ["40001", "42001"]
    with pytest.raises(DeliveryError) as e:
        await sender.send(OPENID, [{"text": "hi"}])
    assert e.value.retryable and api.token_fetches == 2 and api.sent == []


async def test_server_errors_are_retryable(sender: WeChatAdapter, api: FakeWeChat) -> None:
    api.script = ["500", "-1"]
    for _ in range(2):
        with pytest.raises(DeliveryError) as e:
            await sender.send(OPENID, [{"text": "hi"}])
        assert e.value.retryable
    await sender.send(OPENID, [{"text": "hi"}])  # and the next attempt goes through
    assert len(api.sent) == 1 and api.token_fetches == 1


async def test_platform_refusals_are_permanent(sender: WeChatAdapter, api: FakeWeChat) -> None:
    api.script = ["45015"]  # "response out of time limit": the 48 h window has closed
    with pytest.raises(DeliveryError) as e:
        await sender.send(OPENID, [{"text": "hi"}])
    assert not e.value.retryable and "scripted 45015" in str(e.value)


async def test_timeouts_are_retryable(sender: WeChatAdapter, api: FakeWeChat) -> None:
    api.script = ["slow"]
    with pytest.raises(DeliveryError) as e:
        await sender.send(OPENID, [{"text": "hi"}])
    assert e.value.retryable


async def test_token_refusal_is_permanent(sender: WeChatAdapter, api: FakeWeChat) -> None:
    api.token_error = {"errcode": 40125, "errmsg": "invalid appsecret"}
    with pytest.raises(DeliveryError) as e:
        await sender.send(OPENID, [{"text": "hi"}])
    assert not e.value.retryable and "invalid appsecret" in str(e.value)
    assert APP_SECRET not in str(e.value)


async def test_bad_recipient_is_refused_without_a_call(sender: WeChatAdapter,
                                                       api: FakeWeChat) -> None:
    with pytest.raises(DeliveryError) as e:
        await sender.send("../../etc", [{"text": "hi"}])
    assert not e.value.retryable and api.token_fetches == 0


async def test_unreachable_api_is_retryable() -> None:
    with socket.socket() as s:  # a port nobody listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    adapter = oa(api_base=f"http://127.0.0.1:{port}", timeout_s=0.5)
    try:
        with pytest.raises(DeliveryError) as e:
            await adapter.send(OPENID, [{"text": "hi"}])
        assert e.value.retryable
    finally:
        await adapter.close()


async def test_wecom_sends_app_messages(fake: tuple[FakeWeChat, str]) -> None:
    api, base = fake
    adapter = wecom(api_base=base)
    try:
        await adapter.send("zhangsan", [{"text": "已退款"}])
        assert api.sent == [{"touser": "zhangsan", "msgtype": "text", "agentid": AGENT_ID,
                             "text": {"content": "已退款"}}]
        assert api.token_queries == [{"corpid": CORP_ID, "corpsecret": CORP_SECRET}]
        api.script = ["invaliduser"]  # errcode 0, yet nobody got it
        with pytest.raises(DeliveryError) as e:
            await adapter.send("ghost", [{"text": "hi"}])
        assert not e.value.retryable
    finally:
        await adapter.close()


async def test_token_manager_caches_until_five_minutes_before_expiry() -> None:
    clock = [0.0]
    fetched: list[str] = []

    async def fetch() -> tuple[str, float]:
        fetched.append(f"T{len(fetched) + 1}")
        return fetched[-1], 7200

    tokens = AccessTokenManager(fetch, clock=lambda: clock[0])
    assert await tokens.get() == "T1"
    clock[0] = 6899
    assert await tokens.get() == "T1"
    clock[0] = 6901
    assert await tokens.get() == "T2"
    tokens.invalidate("T1")  # already replaced: no refresh
    assert await tokens.get() == "T2"
    tokens.invalidate("T2")
    assert await tokens.get() == "T3"
