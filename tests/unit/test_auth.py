import time

from bot.db.session import Database
from bot.services import auth


def test_first_admin_gets_a_generated_password_once(db: Database) -> None:
    with db.session() as s:
        pw = auth.ensure_admin(s, "admin", None)
    assert pw and len(pw) >= 12
    with db.session() as s:
        assert auth.ensure_admin(s, "admin", None) is None
        assert auth.authenticate(s, "admin", pw) is not None
        assert auth.authenticate(s, "admin", pw + "x") is None
        assert auth.authenticate(s, "nobody", pw) is None


def test_token_round_trip_and_tampering() -> None:
    p = auth.Principal(7, "ann", "agent")
    token = auth.issue_token(p, "k" * 32, ttl_s=60)
    assert auth.read_token(token, "k" * 32) == p
    assert auth.read_token(token, "other-key" * 4) is None
    assert auth.read_token(token[:-2] + "xx", "k" * 32) is None
    expired = auth.issue_token(p, "k" * 32, ttl_s=-1)
    time.sleep(0.01)
    assert auth.read_token(expired, "k" * 32) is None


def test_unknown_role_is_refused(db: Database) -> None:
    import pytest

    with db.session() as s, pytest.raises(ValueError):
        auth.create_user(s, "x", "y", "superuser")
