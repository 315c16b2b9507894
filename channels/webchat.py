"""Web chat: the widget talks JSON over a websocket or ``POST /api/chat``.

There is no platform signature to check (the widget is public, like any chat bubble); what we
enforce is the shape and size of the payload. Outbound messages go to the sender's open sockets.
"""

from __future__ import annotations

import json
import re
from collections.abc import Awaitable, Callable
from typing import Any

from channels.base import (
    MAX_CLIENT_MESSAGE_ID,
    InboundRequest,
    IncomingMessage,
    InvalidPayload,
    Parsed,
    PayloadTooLarge,
)

NAME = "webchat"
_ID = re.compile(r"^[A-Za-z0-9._:@-]{1,128}$")
_CLIENT_ID = re.compile(rf"[A-Za-z0-9._:@-]{{1,{MAX_CLIENT_MESSAGE_ID}}}")  # fullmatch
_METADATA_KEYS = {"locale", "page", "user_agent"}


class WebChatAdapter:
    name = NAME

    def __init__(self, max_chars: int, push: Callable[[str, dict[str, Any]], Awaitable[int]]):
        self.max_chars = max_chars
        self._push = push

    def verify(self, request: InboundRequest, now: float) -> None:
        return None  # a public widget: nothing to verify, only the payload's shape

    def parse(self, request: InboundRequest) -> Parsed:
        return Parsed(message=self.parse_body(request.body))

    def parse_body(self, body: bytes) -> IncomingMessage:
        try:
            data = json.loads(body)
        except (UnicodeDecodeError, json.JSONDecodeError) as e:
            raise InvalidPayload("body is not valid JSON") from e
        return self.parse_obj(data)

    def parse_obj(self, data: Any, sender: str | None = None) -> IncomingMessage:
        if not isinstance(data, dict):
            raise InvalidPayload("expected a JSON object")
        sender_id = sender if sender is not None else data.get("sender")
        text = data.get("text", data.get("message"))
        if not isinstance(sender_id, str) or not _ID.match(sender_id):
            raise InvalidPayload("'sender' must be 1-128 characters of letters, digits, ._:@-")
        if not isinstance(text, str) or not text.strip():
            raise InvalidPayload("'text' must be a non-empty string")
        if len(text) > self.max_chars:
            raise PayloadTooLarge(f"'text' is longer than {self.max_chars} characters")
        cmid = data.get("client_message_id")
        if cmid is not None and (not isinstance(cmid, str) or not _CLIENT_ID.fullmatch(cmid)):
            raise InvalidPayload(
                f"'client_message_id' must be 1-{MAX_CLIENT_MESSAGE_ID} safe characters")
        raw_meta = data.get("metadata")
        if raw_meta is None:
            raw_meta = {}
        if not isinstance(raw_meta, dict):
            raise InvalidPayload("'metadata' must be an object")
        # Only whitelisted, short string metadata is passed on: identity never comes from here.
        meta = {k: str(v)[:200] for k, v in raw_meta.items() if k in _METADATA_KEYS}
        return IncomingMessage(NAME, sender_id, text.strip(), cmid, meta)

    async def send(self, recipient_id: str, messages: list[dict[str, Any]]) -> None:
        await self._push(recipient_id, {"type": "agent_message", "messages": messages})
