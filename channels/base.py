"""The channel seam: verify → parse → normalise → send.

``verify`` and ``parse`` do no I/O, so they are easy to test against the platforms' own client
libraries; ``send`` delivers outbound messages and raises ``DeliveryError`` (retryable or not)
so that the hub can retry with backoff and show permanent failures to agents.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol

# The longest platform message id we keep (``Turn.client_message_id`` is a String(64)):
# adapters refuse or shorten longer ones at the edge, never the database.
MAX_CLIENT_MESSAGE_ID = 64
# The longest customer message any channel accepts (characters). Web chat refuses a longer one
# (HTTP 413); platform channels answer it with ``too_long_hint`` and route nothing. The hub
# passes KEFU_MAX_MESSAGE_CHARS (default: this) to every adapter.
MAX_TEXT_CHARS = 2000
_TOO_LONG = {
    "en": "Sorry, that message is too long (over {limit} characters), so I did not read it. "
          "Please send a shorter one.",
    "zh": "抱歉，消息太长（超过{limit}个字），我没有读取。请精简后再发送。",
}


def too_long_hint(limit: int, language: str) -> str:
    """The reply to a message over ``limit`` characters, in ``language`` (``en`` or ``zh``)."""
    return _TOO_LONG.get(language, _TOO_LONG["en"]).format(limit=limit)


class ChannelError(Exception):
    """Base for inbound problems; ``status`` is the HTTP code the hub answers with."""

    status = 400


class InvalidPayload(ChannelError):
    status = 400


class PayloadTooLarge(ChannelError):
    status = 413


class Forbidden(ChannelError):
    """Signature missing or wrong, timestamp stale, or a replay: nothing is processed."""

    status = 403


class DeliveryError(Exception):
    def __init__(self, message: str, retryable: bool = True) -> None:
        super().__init__(message)
        self.retryable = retryable


@dataclass(frozen=True)
class InboundRequest:
    """A webhook request as the hub received it (header names lower-cased)."""

    method: str
    query: Mapping[str, str]
    headers: Mapping[str, str]
    body: bytes


@dataclass(frozen=True)
class IncomingMessage:
    """A customer message normalised across channels."""

    channel: str
    sender_id: str
    text: str
    client_message_id: str | None = None  # the platform's id: deliveries are deduplicated on it
    metadata: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Parsed:
    """What a webhook request means.

    ``response``: the body to answer at once when the platform expects one (Slack's
    url_verification challenge, WeChat's echostr), else None. ``message``: a customer message
    to route, or None for events that need no answer. ``reply_hint``: a canned reply for
    message types we do not handle (WeChat image/voice/...), in the customer's language."""

    response: bytes | None = None
    content_type: str = "text/plain"
    message: IncomingMessage | None = None
    reply_hint: str | None = None


class ChannelAdapter(Protocol):
    name: str

    def verify(self, request: InboundRequest, now: float) -> None:
        """Raise ``Forbidden`` unless the request really comes from the platform."""

    def parse(self, request: InboundRequest) -> Parsed:
        """Normalise a verified request; raise ``InvalidPayload`` for malformed bodies."""

    async def send(self, recipient_id: str, messages: list[dict[str, Any]]) -> None:
        """Deliver bot or agent messages to the customer on this channel."""
