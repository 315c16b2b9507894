from bot.db.session import Database
from bot.services import conversations as convs


def test_turns_are_stored_once_per_client_message_id(db: Database) -> None:
    with db.session() as s:
        a = convs.accept_customer_turn(s, "webchat", "u1", "hello", "en", client_message_id="m1")
    with db.session() as s:
        b = convs.accept_customer_turn(s, "webchat", "u1", "hello", "en", client_message_id="m1")
    assert not a.duplicate and b.duplicate and a.turn_id == b.turn_id
    with db.session() as s:
        convs.store_replies(s, a.turn_id, [{"text": "Hi!", "buttons": [{"title": "x",
                                                                     "payload": "/x"}]}])
    with db.session() as s:
        assert convs.replies_to(s, a.turn_id) == [
            {"text": "Hi!", "buttons": [{"title": "x", "payload": "/x"}]}]
        detail = convs.conversation_detail(s, a.conversation_id)
    assert [t["role"] for t in detail["turns"]] == ["customer", "bot"]
    assert detail["turns"][0]["state"] == "answered"


def test_unanswered_turns_are_found_for_resumption(db: Database) -> None:
    with db.session() as s:
        a = convs.accept_customer_turn(s, "webchat", "u2", "where is my order", "en")
    with db.session() as s:
        assert [r[0] for r in convs.unanswered_turns(s)] == [a.turn_id]
        convs.store_replies(s, a.turn_id, [{"text": "..."}])
    with db.session() as s:
        assert convs.unanswered_turns(s) == []


def test_handoff_moves_the_conversation_to_a_human(db: Database) -> None:
    with db.session() as s:
        a = convs.accept_customer_turn(s, "webchat", "u3", "agent please", "en")
        assert convs.start_handoff(s, a.conversation_id, "customer_request")
        assert not convs.start_handoff(s, a.conversation_id, "customer_request")
    with db.session() as s:
        detail = convs.conversation_detail(s, a.conversation_id)
        nxt = convs.accept_customer_turn(s, "webchat", "u3", "hello?", "en")
    assert detail["status"] == "open" and detail["owner"] == "agent"
    assert detail["handoffs"][0]["reason"] == "customer_request"
    assert nxt.owner == "agent" and nxt.conversation_id == a.conversation_id
