"""Slack: Events API webhooks in, ``chat.postMessage`` out.

Inbound requests are signed with the app's signing secret (``v0`` HMAC-SHA256 over
``v0:{timestamp}:{body}``); we check them with slack_sdk's own ``SignatureVerifier``. Customers
reach the bot by direct message (``message`` events with ``channel_type`` ``im``) or by
mentioning it in a channel (``app_mention``). Replies go back to the same channel and thread:
the recipient id given to ``send`` is ``"{channel}|{thread_ts}"`` (see ``reply_target``); an
empty ``thread_ts`` (``"D123|"``) posts outside any thread.
"""

from __future__ import annotations

import json
import re
from typing import Any

import aiohttp
from slack_sdk.signature import Clock, SignatureVerifier

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

NAME = "slack"
_SIG_HEADER = "x-slack-signature"
_TS_HEADER = "x-slack-request-timestamp"
_LEADING_MENTION = re.compile(r"^\s*<@[A-Z0-9]+(?:\|[^>]*)?>")
# Slack error codes its docs call transient: the same call may succeed later.
_TRANSIENT_ERRORS = {
    "ratelimited", "internal_error", "fatal_error", "service_unavailable", "request_timeout",
}


class _FixedClock(Clock):
    """Lets ``verify`` honour the hub's ``now`` instead of SignatureVerifier's wall clock."""

    def __init__(self, now: float) -> None:
        self._now = now

    def now(self) -> float:
        return self._now


def reply_target(msg: IncomingMessage) -> str:
    """The ``send`` recipient id that answers ``msg`` in its channel and thread."""
    return f"{msg.metadata['channel']}|{msg.metadata.get('thread_ts') or ''}"


def _split_target(recipient_id: str) -> tuple[str, str | None]:
    channel, _, thread_ts = recipient_id.partition("|")
    if not channel:
        raise DeliveryError(f"bad Slack recipient {recipient_id!r}", retryable=False)
    return channel, thread_ts or None


def _escape(text: str) -> str:
    # Slack reads <...> as mentions/links: unescaped, "<!channel>" in a reply would ping everyone.
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def _unescape(text: str) -> str:
    return text.replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&")


def render(message: dict[str, Any]) -> str:
    """Plain-text rendering of a bot/agent message: text, then buttons as a list, then image."""
    parts = [_escape(str(message["text"]))] if message.get("text") else []
    buttons = message.get("buttons") or []
    parts += [f"• {_escape(str(b.get('title', '')))}" for b in buttons if isinstance(b, dict)]
    if message.get("image"):
        parts.append(str(message["image"]))  # a bare URL: Slack unfurls it
    return "\n".join(parts)


def _str_field(obj: dict[str, Any], key: str) -> str:
    value = obj.get(key)
    if not isinstance(value, str) or not value:
        raise InvalidPayload(f"'{key}' must be a non-empty string")
    return value


class SlackAdapter:
    def __init__(
        self,
        signing_secret: str,
        bot_token: str,
        bot_user_id: str | None = None,
        api_base: str = "https://slack.com/api",
        max_body: int = 256 * 1024,
        max_age_s: int = 300,
        timeout_s: float = 10.0,
        name: str = NAME,
        max_chars: int = MAX_TEXT_CHARS,
    ) -> None:
        SignatureVerifier(signing_secret)  # fail at start-up on an empty secret, not per request
        self.name = name
        self._secret = signing_secret
        self._token = bot_token
        self.bot_user_id = bot_user_id
        self.api_base = api_base.rstrip("/")
        self.max_body = max_body
        self.max_age_s = max_age_s
        self.max_chars = max_chars
        self._timeout = aiohttp.ClientTimeout(total=timeout_s)

    # -- inbound ---------------------------------------------------------------------------

    def verify(self, request: InboundRequest, now: float) -> None:
        if len(request.body) > self.max_body:
            raise PayloadTooLarge(f"body is larger than {self.max_body} bytes")
        signature = request.headers.get(_SIG_HEADER)
        timestamp = request.headers.get(_TS_HEADER)
        if not signature or not timestamp:
            raise Forbidden("missing Slack signature headers")
        try:
            ts = int(timestamp)
        except ValueError as e:
            raise Forbidden("bad Slack timestamp") from e
        # SignatureVerifier has its own fixed 5-minute window; ours may be stricter.
        if abs(now - ts) > self.max_age_s:
            raise Forbidden("Slack timestamp outside the allowed window")
        verifier = SignatureVerifier(self._secret, clock=_FixedClock(now))
        try:
            valid = verifier.is_valid(body=request.body, timestamp=timestamp, signature=signature)
        except UnicodeDecodeError as e:  # slack_sdk decodes the body before hashing
            raise Forbidden("body is not UTF-8") from e
        if not valid:
            raise Forbidden("bad Slack signature")

    def reply_target(self, msg: IncomingMessage) -> str:
        """Where the hub sends the answer to ``msg``: its channel and thread."""
        return reply_target(msg)

    def parse(self, request: InboundRequest) -> Parsed:
        if len(request.body) > self.max_body:
            raise PayloadTooLarge(f"body is larger than {self.max_body} bytes")
        try:
            data = json.loads(request.body)
        except (UnicodeDecodeError, json.JSONDecodeError) as e:
            raise InvalidPayload("body is not valid JSON") from e
        if not isinstance(data, dict):
            raise InvalidPayload("expected a JSON object")
        kind = _str_field(data, "type")
        if kind == "url_verification":
            return Parsed(response=_str_field(data, "challenge").encode(),
                          content_type="text/plain")
        if kind == "event_callback":
            return self._parse_event(data)
        return Parsed()  # app_rate_limited and future envelope types: ack, nothing to do

    def _bot_user(self, data: dict[str, Any]) -> str | None:
        if self.bot_user_id:
            return self.bot_user_id
        # Without configuration, the installation's bot user is named in the envelope.
        for auth in data.get("authorizations") or []:
            user_id = auth.get("user_id") if isinstance(auth, dict) else None
            if isinstance(user_id, str) and auth.get("is_bot"):
                return user_id
        return None

    def _parse_event(self, data: dict[str, Any]) -> Parsed:
        event = data.get("event")
        if not isinstance(event, dict):
            raise InvalidPayload("'event' must be an object")
        etype = _str_field(event, "type")
        if etype not in ("message", "app_mention"):
            return Parsed()
        # Channel messages also arrive as app_mention when they address the bot: handle
        # those there, and only direct messages here, so nothing is answered twice.
        if etype == "message" and event.get("channel_type") != "im":
            return Parsed()
        bot_user = self._bot_user(data)
        # Subtypes are edits, deletions, joins, bot posts...: never a new customer turn.
        if event.get("subtype") or event.get("bot_id") or (
                bot_user is not None and event.get("user") == bot_user):
            return Parsed()
        team_id, event_id = _str_field(data, "team_id"), _str_field(data, "event_id")
        if len(event_id) > MAX_CLIENT_MESSAGE_ID:  # Slack's are ~11 characters
            raise InvalidPayload(f"'event_id' is longer than {MAX_CLIENT_MESSAGE_ID} characters")
        user, channel, ts = (_str_field(event, k) for k in ("user", "channel", "ts"))
        text = event.get("text", "")
        if not isinstance(text, str):
            raise InvalidPayload("'text' must be a string")
        if etype == "app_mention":
            text = self._strip_mention(text, bot_user)
        text = _unescape(text).strip()
        if not text:
            return Parsed()  # a bare mention: nothing to answer
        thread_ts = event.get("thread_ts")
        meta = {"channel": channel, "thread_ts": thread_ts if isinstance(thread_ts, str)
                and thread_ts else ts, "team": team_id}
        sender = f"{team_id}:{user}"
        if len(text) > self.max_chars:  # answered with a hint, never routed or stored
            return Parsed(message=IncomingMessage(NAME, sender, "", event_id, meta),
                          reply_hint=too_long_hint(self.max_chars, "en"))
        # Slack retries resend the same event_id (X-Slack-Retry-Num): the hub dedupes on it.
        return Parsed(message=IncomingMessage(NAME, sender, text, event_id, meta))

    @staticmethod
    def _strip_mention(text: str, bot_user: str | None) -> str:
        if bot_user:
            return re.sub(rf"<@{re.escape(bot_user)}(?:\|[^>]*)?>", "", text)
        return _LEADING_MENTION.sub("", text, count=1)

    # -- outbound --------------------------------------------------------------------------

    async def send(self, recipient_id: str, messages: list[dict[str, Any]]) -> None:
        """Post each message to ``recipient_id`` (``"{channel}|{thread_ts}"``).

        Slack has no idempotency key for chat.postMessage: if a later message fails after
        earlier ones were posted, a retry of the whole batch may repeat them."""
        channel, thread_ts = _split_target(recipient_id)
        texts = [t for t in (render(m) for m in messages) if t]
        if not texts:
            return
        headers = {"Authorization": f"Bearer {self._token}"}
        async with aiohttp.ClientSession(timeout=self._timeout, headers=headers) as session:
            for text in texts:
                body: dict[str, Any] = {"channel": channel, "text": text}
                if thread_ts:
                    body["thread_ts"] = thread_ts
                await self._post(session, "chat.postMessage", body)

    async def _post(self, session: aiohttp.ClientSession, method: str,
                    body: dict[str, Any]) -> dict[str, Any]:
        try:
            async with session.post(f"{self.api_base}/{method}", json=body) as resp:
                _check_status(resp)
                data = await resp.json(content_type=None)
        except (TimeoutError, aiohttp.ClientError, json.JSONDecodeError) as e:
            raise DeliveryError(f"Slack {method} failed: {e!r}", retryable=True) from e
        if not isinstance(data, dict):
            raise DeliveryError(f"Slack {method}: unexpected reply", retryable=True)
        if not data.get("ok"):
            error = str(data.get("error", "unknown_error"))
            raise DeliveryError(f"Slack {method}: {error}", retryable=error in _TRANSIENT_ERRORS)
        return data


def _check_status(resp: aiohttp.ClientResponse) -> None:
    if resp.status == 429:
        retry_after = resp.headers.get("Retry-After", "?")
        raise DeliveryError(f"Slack rate limit (HTTP 429), Retry-After: {retry_after}s",
                            retryable=True)
    if resp.status >= 500:
        raise DeliveryError(f"Slack HTTP {resp.status}", retryable=True)
    if resp.status >= 400:
        raise DeliveryError(f"Slack HTTP {resp.status}", retryable=False)
