"""The channel seam: verify → parse → normalise → send.

``verify`` and ``parse`` do no I/O, so they are easy to test against the platforms' own client
libraries; ``send`` delivers outbound messages (and may retry).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Protocol


class ChannelError(Exception):
    """Base for inbound problems; ``status`` is the HTTP code the hub answers with."""

    status = 400


class InvalidPayload(ChannelError):
    status = 400


class PayloadTooLarge(ChannelError):
    status = 413


class Forbidden(ChannelError):
    status = 403


@dataclass(frozen=True)
class IncomingMessage:
    """A customer message normalised across channels."""

    channel: str
    sender_id: str
    text: str
    client_message_id: str | None = None
    metadata: dict[str, Any] = field(default_factory=dict)


class ChannelAdapter(Protocol):
    name: str

    def verify(self, headers: dict[str, str], body: bytes) -> None:
        """Raise ``Forbidden`` unless the request really comes from the platform."""

    def parse(self, body: bytes) -> IncomingMessage | None:
        """Normalise a request body; ``None`` for events that need no answer."""

    async def send(self, recipient_id: str, messages: list[dict[str, Any]]) -> None:
        """Deliver bot or agent messages to the customer on this channel."""
