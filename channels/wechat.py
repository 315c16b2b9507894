"""WeChat Official Account (公众号) and WeCom (企业微信) channels.

Inbound, the platform calls our webhook: a GET to verify the URL (we answer ``echostr``), then
a POST of XML per user message. Every request carries ``timestamp`` and ``nonce`` and is signed
with the shared token. In plaintext mode the signature does not cover the body, so "safe" mode
(AES-encrypted body, ``msg_signature`` over the ciphertext) is the one to use in production.
"Compatible" mode is treated like safe mode: the platform sends the encrypted part there too,
and a POST without it (or without ``msg_signature``) is refused, so a captured URL cannot be
downgraded to the unsigned plaintext fields. WeCom is always encrypted. In every mode a signed
``(timestamp, nonce)`` is good for one request only (``check_replay``, see channels.replay).
XML is parsed with defusedxml and DTDs are refused outright.

Outbound, replies go either inside the HTTP response (a "passive reply", only within 5 s, built
by ``passive_reply_for``) or through the customer-service API with an access token that one
``AccessTokenManager`` per app caches and refreshes.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import re
import secrets
import time
from collections.abc import Awaitable, Callable, Iterator, Mapping
from typing import Any, Literal
from xml.etree.ElementTree import Element

import aiohttp
from defusedxml import DefusedXmlException
from defusedxml.ElementTree import ParseError, fromstring

from channels.base import (
    MAX_CLIENT_MESSAGE_ID,
    MAX_TEXT_CHARS,
    DeliveryError,
    Forbidden,
    InboundRequest,
    IncomingMessage,
    InvalidPayload,
    Parsed,
    PayloadTooLarge,
    too_long_hint,
)
from channels.replay import MemoryReplayCache, ReplayCache, fingerprint
from channels.wechat_crypto import (
    CryptoError,
    MessageCrypto,
    ReceiveIdMismatch,
    check_signature,
    signature,
)

Mode = Literal["plain", "compatible", "safe"]
_MODES = ("plain", "compatible", "safe")

# OpenIDs, WeCom UserIDs, gh_ account ids and CorpIDs; identity is keyed on these downstream
_ID = re.compile(r"^[A-Za-z0-9_.@-]{1,128}$")
_DIGITS = re.compile(r"^[0-9]{1,20}$")
_NONCE = re.compile(r"^[A-Za-z0-9_-]{1,64}$")
# OA's echostr is unsigned and reflected back: allow only what the platform sends
_ECHOSTR = re.compile(r"^[A-Za-z0-9+/=_-]{1,1024}$")
_NOT_XML_CHAR = re.compile("[^\t\n\r\x20-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")

MAX_TEXT_BYTES = 2048  # text limit of passive replies and the message APIs
TOKEN_ERRCODES = frozenset({40001, 40014, 42001})  # invalid / expired access token
BUSY_ERRCODE = -1  # "system busy, try again"

WELCOME = ("您好，欢迎关注！直接发文字消息给我们，智能客服会马上回复您。\n"
           "Hi, welcome! Send us a text message and our assistant will reply right away.")
TEXT_ONLY = {
    "zh": "抱歉，我目前只能读懂文字消息，请用文字描述您的问题。",
    "en": "Sorry, I can only read text messages for now. Please type your question.",
}

TokenFetch = Callable[[], Awaitable[tuple[str, float]]]


class AccessTokenManager:
    """One cached access token per app, refreshed by one caller at a time.

    Issuing a new token invalidates the previous one on the platform, so concurrent senders
    must share a single refresh instead of racing each other into a refresh storm."""

    def __init__(self, fetch: TokenFetch, *, margin_s: float = 300.0,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self._fetch = fetch
        self._margin_s = margin_s
        self._clock = clock
        self._lock = asyncio.Lock()
        self._token: str | None = None
        self._expires_at = 0.0

    def _fresh(self) -> str | None:
        return self._token if self._token and self._clock() < self._expires_at else None

    async def get(self) -> str:
        token = self._fresh()
        if token:
            return token
        async with self._lock:
            token = self._fresh()  # someone else refreshed while we waited
            if token:
                return token
            token, expires_in = await self._fetch()
            # Stop using it `margin_s` early; a very short lifetime is used for half its length.
            ttl = expires_in - self._margin_s if expires_in > 2 * self._margin_s else expires_in / 2
            self._token, self._expires_at = token, self._clock() + ttl
            return token

    def invalidate(self, old_token: str) -> None:
        """Force a refresh, unless another caller has already replaced ``old_token``."""
        if self._token == old_token:
            self._token = None


class _WeChatBase:
    """What Official Accounts and WeCom share: the signed XML webhook and the JSON API."""

    name: str
    ack_text = "success"
    _encrypted_always = False
    _token_path: str
    _send_path: str

    def __init__(self, *, name: str, token: str, receive_id: str, encoding_aes_key: str | None,
                 api_base: str, language: str, max_body: int, max_age_s: float,
                 timeout_s: float, max_chars: int, replay: ReplayCache | None) -> None:
        if not token:
            raise ValueError("token is required")
        self.name = name
        self.token = token
        self.receive_id = receive_id
        self.api_base = api_base.rstrip("/")
        self.max_body = max_body
        self.max_age_s = max_age_s
        self.replay: ReplayCache = replay if replay is not None else MemoryReplayCache()
        self.hint = TEXT_ONLY.get(language, TEXT_ONLY["zh"])
        self.max_chars = max_chars
        self.too_long = too_long_hint(max_chars, language if language in TEXT_ONLY else "zh")
        self._crypto = MessageCrypto(encoding_aes_key, receive_id) if encoding_aes_key else None
        self._timeout = aiohttp.ClientTimeout(total=timeout_s)
        self._session: aiohttp.ClientSession | None = None
        self.tokens = AccessTokenManager(self._fetch_token)

    # ---- inbound -------------------------------------------------------------------------

    def is_encrypted(self, request: InboundRequest) -> bool:
        return self._encrypted_always

    def verify(self, request: InboundRequest, now: float) -> None:
        self._check_size(request.body)
        q = request.query
        timestamp = _required(q, "timestamp", _DIGITS, Forbidden)
        nonce = _required(q, "nonce", _NONCE, Forbidden)
        if abs(now - int(timestamp)) > self.max_age_s:
            raise Forbidden("timestamp outside the accepted window")
        method = request.method.upper()
        if method == "GET":
            self._verify_url(q, timestamp, nonce)
        elif method != "POST":
            raise Forbidden(f"unexpected method {method}")
        elif self.is_encrypted(request):
            given = q.get("msg_signature")
            if not given:  # cheap refusal before touching the body
                raise Forbidden("msg_signature missing")
            encrypt = _field(_xml_fields(request.body), "Encrypt")
            self._check(given, timestamp, nonce, encrypt)
        else:
            self._check(q.get("signature"), timestamp, nonce)

    async def check_replay(self, request: InboundRequest, now: float) -> None:
        """After ``verify``: refuse a signed (timestamp, nonce) already used by another request.
        The platform's retries repeat the request exactly and pass."""
        q = request.query
        timestamp = _required(q, "timestamp", _DIGITS, Forbidden)
        nonce = _required(q, "nonce", _NONCE, Forbidden)
        claimed = await self.replay.claim(
            f"{self.name}:{timestamp}:{nonce}", fingerprint(request.method, q, request.body),
            int(timestamp) + self.max_age_s, now)
        if not claimed:
            raise Forbidden("timestamp and nonce were already used by another request")

    def _verify_url(self, q: Mapping[str, str], timestamp: str, nonce: str) -> None:
        self._check(q.get("signature"), timestamp, nonce)

    def _check(self, given: str | None, timestamp: str, nonce: str, *extra: str) -> None:
        if not check_signature(given, self.token, timestamp, nonce, *extra):
            raise Forbidden("signature missing or wrong")

    def _check_size(self, body: bytes) -> None:
        if len(body) > self.max_body:
            raise PayloadTooLarge(f"body is larger than {self.max_body} bytes")

    def parse(self, request: InboundRequest) -> Parsed:
        self._check_size(request.body)
        method = request.method.upper()
        if method == "GET":
            return Parsed(response=self._echo(request.query))
        if method != "POST":
            raise InvalidPayload(f"unexpected method {method}")
        fields = _xml_fields(request.body)
        if self.is_encrypted(request):
            fields = _xml_fields(self._decrypt(_field(fields, "Encrypt")))
        return self._interpret(fields)

    def _echo(self, q: Mapping[str, str]) -> bytes:
        return _required(q, "echostr", _ECHOSTR, InvalidPayload).encode()

    def _decrypt(self, encrypt: str) -> bytes:
        if self._crypto is None:
            raise InvalidPayload("encrypted message but no EncodingAESKey configured")
        try:
            return self._crypto.decrypt(encrypt)
        except ReceiveIdMismatch as e:
            raise Forbidden(str(e)) from None
        except CryptoError as e:
            raise InvalidPayload(f"cannot decrypt: {e}") from None

    def _interpret(self, fields: dict[str, str]) -> Parsed:
        msg_type = _field(fields, "MsgType").lower()
        sender = _ident(fields, "FromUserName")
        create_time = _field(fields, "CreateTime")
        if not _DIGITS.match(create_time):
            raise InvalidPayload("CreateTime must be a number")
        meta: dict[str, Any] = {"to": _ident(fields, "ToUserName"),
                                "create_time": int(create_time), **self._extra_meta(fields)}
        if msg_type == "text":
            if "Content" not in fields:
                raise InvalidPayload("text message without <Content>")
            msg_id = _field(fields, "MsgId")
            if len(msg_id) > MAX_CLIENT_MESSAGE_ID:  # a 64-bit number on both platforms
                raise InvalidPayload(f"<MsgId> is longer than {MAX_CLIENT_MESSAGE_ID} characters")
            text = fields["Content"].strip()
            if not text:
                return Parsed()  # whitespace only: nothing to answer
            if len(text) > self.max_chars:  # answered with a hint, never routed or stored
                return Parsed(message=IncomingMessage(self.name, sender, "", msg_id, meta),
                              reply_hint=self.too_long)
            return Parsed(message=IncomingMessage(self.name, sender, text, msg_id, meta))
        # Events and media carry no text. The hub sends ``reply_hint`` for a message whose
        # text is empty without routing it, so those come as a message with empty text.
        dedupe = _dedupe_id(fields.get("MsgId") or f"{sender}:{create_time}")
        if msg_type == "event":
            event = _field(fields, "Event").lower()
            if event != "subscribe":
                return Parsed()  # unsubscribe, menu clicks, location reports...: nothing to say
            meta["event"] = event
            return Parsed(message=IncomingMessage(self.name, sender, "", dedupe, meta),
                          reply_hint=WELCOME)
        meta["msg_type"] = msg_type
        return Parsed(message=IncomingMessage(self.name, sender, "", dedupe, meta),
                      reply_hint=self.hint)

    def _extra_meta(self, fields: dict[str, str]) -> dict[str, Any]:
        return {}

    # ---- passive replies -----------------------------------------------------------------

    def passive_reply(self, to_user: str, from_user: str, text: str, nonce: str,
                      timestamp: int | str, *, encrypt: bool | None = None) -> bytes:
        """The XML to answer a message with, encrypted when ``encrypt`` (default: safe mode)."""
        ts = str(timestamp)
        if not _DIGITS.match(ts):
            raise ValueError("timestamp must be a number")
        xml = (f"<xml><ToUserName>{_cdata(to_user)}</ToUserName>"
               f"<FromUserName>{_cdata(from_user)}</FromUserName>"
               f"<CreateTime>{ts}</CreateTime><MsgType><![CDATA[text]]></MsgType>"
               f"<Content>{_cdata(text)}</Content></xml>").encode()
        if not (self._default_encrypt() if encrypt is None else encrypt):
            return xml
        if self._crypto is None:
            raise ValueError("cannot encrypt a reply without an EncodingAESKey")
        ciphertext = self._crypto.encrypt(xml)
        sig = signature(self.token, ts, nonce, ciphertext)
        return (f"<xml><Encrypt>{_cdata(ciphertext)}</Encrypt>"
                f"<MsgSignature>{_cdata(sig)}</MsgSignature>"
                f"<TimeStamp>{ts}</TimeStamp><Nonce>{_cdata(nonce)}</Nonce></xml>").encode()

    def _default_encrypt(self) -> bool:
        return self._encrypted_always

    def passive_reply_for(self, msg: IncomingMessage, messages: list[dict[str, Any]],
                          request: InboundRequest) -> bytes | None:
        """The hub's hook: one passive reply for all messages, or None to use the API."""
        text = "\n\n".join(t for t in (_render(m) for m in messages) if t)
        if not text or len(text.encode()) > MAX_TEXT_BYTES:
            return None  # too long for one reply: the API sends it in parts
        nonce = request.query.get("nonce") or ""
        if not _NONCE.match(nonce):
            nonce = secrets.token_hex(8)
        return self.passive_reply(msg.sender_id, str(msg.metadata.get("to", "")), text, nonce,
                                  int(time.time()), encrypt=self.is_encrypted(request))

    # ---- outbound ------------------------------------------------------------------------

    def _token_params(self) -> dict[str, str]:
        raise NotImplementedError

    def _payload(self, recipient_id: str, text: str) -> dict[str, Any]:
        return {"touser": recipient_id, "msgtype": "text", "text": {"content": text}}

    def _check_delivered(self, data: dict[str, Any]) -> None:
        return None

    async def send(self, recipient_id: str, messages: list[dict[str, Any]]) -> None:
        if not _ID.match(recipient_id):
            raise DeliveryError(f"invalid {self.name} recipient id", retryable=False)
        for message in messages:
            for chunk in _chunks(_render(message), MAX_TEXT_BYTES):
                await self._send_text(recipient_id, chunk)

    async def _send_text(self, recipient_id: str, text: str) -> None:
        payload = self._payload(recipient_id, text)
        token = await self.tokens.get()
        data = await self._call("POST", self._send_path, {"access_token": token}, payload)
        if data.get("errcode") in TOKEN_ERRCODES:
            self.tokens.invalidate(token)  # expired early, or replaced by another refresh
            token = await self.tokens.get()
            data = await self._call("POST", self._send_path, {"access_token": token}, payload)
            if data.get("errcode") in TOKEN_ERRCODES:
                raise DeliveryError(f"{self.name} rejected a fresh access token", retryable=True)
        _raise_for_errcode(self.name, data)
        self._check_delivered(data)

    async def _fetch_token(self) -> tuple[str, float]:
        data = await self._call("GET", self._token_path, self._token_params())
        _raise_for_errcode(self.name, data)
        token, expires_in = data.get("access_token"), data.get("expires_in")
        if not isinstance(token, str) or not token or not isinstance(expires_in, int | float):
            raise DeliveryError(f"{self.name} token answer lacks access_token/expires_in")
        return token, float(expires_in)

    def _http(self) -> aiohttp.ClientSession:
        if self._session is None or self._session.closed:
            self._session = aiohttp.ClientSession(timeout=self._timeout)
        return self._session

    async def close(self) -> None:
        if self._session is not None:
            await self._session.close()
            self._session = None

    async def _call(self, method: str, path: str, params: dict[str, str],
                    payload: dict[str, Any] | None = None) -> dict[str, Any]:
        # The platform shows \uXXXX escapes literally, hence UTF-8 JSON (ensure_ascii=False).
        body = None if payload is None else json.dumps(payload, ensure_ascii=False).encode()
        headers = {"Content-Type": "application/json; charset=utf-8"} if body else None
        try:
            async with self._http().request(method, self.api_base + path, params=params,
                                            data=body, headers=headers) as resp:
                if resp.status >= 500 or resp.status == 429:
                    raise DeliveryError(f"{self.name} API answered HTTP {resp.status}")
                if resp.status >= 400:
                    raise DeliveryError(f"{self.name} API answered HTTP {resp.status}",
                                        retryable=False)
                data = await resp.json(content_type=None)
        # The URL holds the access token or secret: name the error, never chain or print it.
        except (aiohttp.ClientError, TimeoutError) as e:
            raise DeliveryError(f"{self.name} API unreachable ({type(e).__name__})") from None
        except ValueError:
            raise DeliveryError(f"{self.name} API answered something that is not JSON") from None
        if not isinstance(data, dict):
            raise DeliveryError(f"{self.name} API answered unexpected JSON")
        return data


class WeChatAdapter(_WeChatBase):
    """A WeChat Official Account in plaintext, compatible or safe (encrypted) mode."""

    _token_path = "/cgi-bin/token"
    _send_path = "/cgi-bin/message/custom/send"

    def __init__(self, name: str = "wechat", *, token: str, app_id: str, app_secret: str,
                 encoding_aes_key: str | None = None, api_base: str = "https://api.weixin.qq.com",
                 mode: Mode = "plain", language: str = "zh", max_body: int = 64 * 1024,
                 max_age_s: float = 300, timeout_s: float = 10,
                 max_chars: int = MAX_TEXT_CHARS, replay: ReplayCache | None = None) -> None:
        if mode not in _MODES:
            raise ValueError(f"mode must be one of {_MODES}")
        if mode != "plain" and not encoding_aes_key:
            raise ValueError(f"{mode} mode needs the EncodingAESKey")
        super().__init__(name=name, token=token, receive_id=app_id,
                         encoding_aes_key=encoding_aes_key, api_base=api_base,
                         language=language, max_body=max_body, max_age_s=max_age_s,
                         timeout_s=timeout_s, max_chars=max_chars, replay=replay)
        self.app_id = app_id
        self.mode = mode
        self._app_secret = app_secret

    def is_encrypted(self, request: InboundRequest) -> bool:
        # Compatible mode sends the encrypted part next to the plaintext one: we verify and
        # read only the encrypted part. Trusting a missing ``encrypt_type=aes`` would let
        # anyone holding one signed URL post any plaintext body under it.
        return self.mode != "plain"

    def _default_encrypt(self) -> bool:
        return self.mode == "safe"

    def _token_params(self) -> dict[str, str]:
        return {"grant_type": "client_credential", "appid": self.app_id,
                "secret": self._app_secret}


class WeComAdapter(_WeChatBase):
    """A WeCom (企业微信) self-built app; its callbacks are always encrypted."""

    ack_text = ""  # WeCom documents an empty answer for "no reply"
    _encrypted_always = True
    _token_path = "/cgi-bin/gettoken"
    _send_path = "/cgi-bin/message/send"

    def __init__(self, name: str = "wecom", *, token: str, corp_id: str, corp_secret: str,
                 agent_id: int | str, encoding_aes_key: str,
                 api_base: str = "https://qyapi.weixin.qq.com", language: str = "zh",
                 max_body: int = 64 * 1024, max_age_s: float = 300,
                 timeout_s: float = 10, max_chars: int = MAX_TEXT_CHARS,
                 replay: ReplayCache | None = None) -> None:
        if not encoding_aes_key:
            raise ValueError("WeCom needs the EncodingAESKey")
        super().__init__(name=name, token=token, receive_id=corp_id,
                         encoding_aes_key=encoding_aes_key, api_base=api_base,
                         language=language, max_body=max_body, max_age_s=max_age_s,
                         timeout_s=timeout_s, max_chars=max_chars, replay=replay)
        self.corp_id = corp_id
        self.agent_id = int(agent_id)
        self._corp_secret = corp_secret

    def _verify_url(self, q: Mapping[str, str], timestamp: str, nonce: str) -> None:
        # WeCom signs the (encrypted) echostr too
        self._check(q.get("msg_signature"), timestamp, nonce, q.get("echostr") or "")

    def _echo(self, q: Mapping[str, str]) -> bytes:
        return self._decrypt(_required(q, "echostr", _ECHOSTR, InvalidPayload))

    def _extra_meta(self, fields: dict[str, str]) -> dict[str, Any]:
        agent = fields.get("AgentID", "").strip()
        return {"agent_id": agent} if agent else {}

    def _token_params(self) -> dict[str, str]:
        return {"corpid": self.corp_id, "corpsecret": self._corp_secret}

    def _payload(self, recipient_id: str, text: str) -> dict[str, Any]:
        return {"touser": recipient_id, "msgtype": "text", "agentid": self.agent_id,
                "text": {"content": text}}

    def _check_delivered(self, data: dict[str, Any]) -> None:
        # errcode 0 but nobody received it: the user left the corp or the app's visible range
        if data.get("invaliduser"):
            raise DeliveryError("wecom: recipient is not a valid user of this app",
                                retryable=False)


# ---- helpers -------------------------------------------------------------------------------

def _required(q: Mapping[str, str], key: str, pattern: re.Pattern[str],
              error: type[Exception]) -> str:
    value = q.get(key)
    if not value or not pattern.match(value):
        raise error(f"query parameter {key!r} missing or malformed")
    return value


def _xml_fields(body: bytes) -> dict[str, str]:
    """The children of ``<xml>``, parsed with DTDs (so entity bombs and XXE) refused."""
    try:
        root: Element = fromstring(body, forbid_dtd=True, forbid_entities=True,
                                   forbid_external=True)
    except (ParseError, DefusedXmlException) as e:
        raise InvalidPayload(f"body is not acceptable XML ({type(e).__name__})") from None
    if root.tag != "xml":
        raise InvalidPayload("root element must be <xml>")
    fields: dict[str, str] = {}
    for child in root:
        # Two FromUserName (or Encrypt) elements would let parts of the stack disagree.
        if child.tag in fields:
            raise InvalidPayload(f"duplicate <{child.tag}>")
        fields[child.tag] = child.text or ""
    return fields


def _dedupe_id(key: str) -> str:
    """``key`` when it fits the stored message id, else a digest of it (retries agree on it)."""
    if len(key) <= MAX_CLIENT_MESSAGE_ID:
        return key
    return "sha256:" + hashlib.sha256(key.encode()).hexdigest()[:MAX_CLIENT_MESSAGE_ID - 7]


def _field(fields: dict[str, str], key: str) -> str:
    value = fields.get(key, "").strip()
    if not value:
        raise InvalidPayload(f"<{key}> missing or empty")
    return value


def _ident(fields: dict[str, str], key: str) -> str:
    value = _field(fields, key)
    if not _ID.match(value):
        raise InvalidPayload(f"<{key}> is not a valid id")
    return value


def _cdata(text: str) -> str:
    # "]]>" cannot appear inside CDATA: close the section and reopen it between "]]" and ">".
    safe = _NOT_XML_CHAR.sub("", text).replace("]]>", "]]]]><![CDATA[>")
    return f"<![CDATA[{safe}]]>"


def _render(message: dict[str, Any]) -> str:
    """A bot/agent message as WeChat text: buttons become numbered lines to type back."""
    parts = [str(message.get("text") or "").strip()]
    buttons = message.get("buttons") or []
    titles = [b["title"] for b in buttons if isinstance(b, dict) and b.get("title")]
    parts += [f"{i}. {title}" for i, title in enumerate(titles, 1)]
    if isinstance(message.get("image"), str):
        parts.append(message["image"])
    return "\n".join(p for p in parts if p)


def _chunks(text: str, limit: int) -> Iterator[str]:
    """Pieces of at most ``limit`` UTF-8 bytes, cut at a line break when one is near."""
    rest = text.strip()
    while rest:
        # the longest prefix that fits: a truncated trailing character is dropped
        cut = len(rest.encode()[:limit].decode("utf-8", "ignore"))
        if cut < len(rest):
            newline = rest.rfind("\n", 0, cut)
            if newline > cut // 2:
                cut = newline
        piece, rest = rest[:cut].strip(), rest[cut:].strip()
        if piece:
            yield piece


def _raise_for_errcode(name: str, data: dict[str, Any]) -> None:
    code = data.get("errcode") or 0
    if code == 0:
        return
    errmsg = str(data.get("errmsg", ""))[:200]
    raise DeliveryError(f"{name} API error {code}: {errmsg}", retryable=code == BUSY_ERRCODE)
