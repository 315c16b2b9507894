import json

import pytest

from channels.base import InvalidPayload, PayloadTooLarge
from channels.webchat import WebChatAdapter


async def _push(sender: str, frame: dict) -> int:
    return 0


adapter = WebChatAdapter(max_chars=50, push=_push)


def test_parses_a_valid_message_and_drops_unknown_metadata() -> None:
    body = {"sender": "abc-1", "text": " hi ", "client_message_id": "m1",
            "metadata": {"locale": "zh-CN", "customer_id": 5}}
    msg = adapter.parse_body(json.dumps(body).encode())
    assert (msg.sender_id, msg.text, msg.client_message_id) == ("abc-1", "hi", "m1")
    # identity can never be claimed by the client
    assert msg.metadata == {"locale": "zh-CN"}


@pytest.mark.parametrize("body", [
    b"not json", b"[1, 2]", b'{"text": "hi"}', b'{"sender": "a b", "text": "hi"}',
    b'{"sender": "a", "text": ""}', b'{"sender": "a", "text": 5}',
    b'{"sender": "a", "text": "hi", "metadata": []}', b'\xff\xfe',
    b'{"sender": "a", "text": "hi", "client_message_id": "../../x y"}',
])
def test_malformed_payloads_are_refused(body: bytes) -> None:
    with pytest.raises(InvalidPayload):
        adapter.parse_body(body)


def test_oversized_text_is_refused() -> None:
    with pytest.raises(PayloadTooLarge):
        adapter.parse_body(json.dumps({"sender": "a", "text": "x" * 51}).encode())


def test_client_message_id_is_refused_above_the_stored_length() -> None:
    ok = adapter.parse_obj({"sender": "a", "text": "hi", "client_message_id": "m" * 64})
    assert ok.client_message_id == "m" * 64
    for too_long in ("m" * 65, "m" * 128):  # the column holds 64: PostgreSQL would fail (500)
        with pytest.raises(InvalidPayload, match="1-64"):
            adapter.parse_obj({"sender": "a", "text": "hi", "client_message_id": too_long})
    with pytest.raises(InvalidPayload):  # "$" would let a trailing newline through
        adapter.parse_obj({"sender": "a", "text": "hi", "client_message_id": "m1\n"})


def test_the_edge_limit_and_the_column_agree() -> None:
    from bot.db.models import Turn
    from channels.base import MAX_CLIENT_MESSAGE_ID

    assert Turn.__table__.c.client_message_id.type.length == MAX_CLIENT_MESSAGE_ID


def test_every_channel_shares_the_web_chat_cap() -> None:
    from bot.settings import Settings
    from channels.base import MAX_TEXT_CHARS
    from channels.slack import SlackAdapter
    from channels.wechat import WeChatAdapter

    assert Settings.model_fields["max_message_chars"].default == MAX_TEXT_CHARS
    assert SlackAdapter(signing_secret="s", bot_token="t").max_chars == MAX_TEXT_CHARS
    assert WeChatAdapter(token="t", app_id="a", app_secret="s").max_chars == MAX_TEXT_CHARS
