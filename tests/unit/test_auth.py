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


def test_unknown_users_are_checked_against_a_real_hash_of_the_same_cost(db: Database,
                                                                        monkeypatch) -> None:
    """Without a valid hash bcrypt fails at once (microseconds, against ~250 ms for a real
    check), which tells an attacker which usernames exist."""
    import bcrypt

    real_checkpw = bcrypt.checkpw
    checked: list[tuple[bytes, str | None]] = []

    def spy(password: bytes, hashed: bytes) -> bool:
        try:
            result = real_checkpw(password, hashed)
        except ValueError as e:
            checked.append((hashed, str(e)))
            raise
        checked.append((hashed, None))
        return result

    monkeypatch.setattr(bcrypt, "checkpw", spy)
    with db.session() as s:
        auth.create_user(s, "ann", "ann-pw", "agent")
        assert auth.authenticate(s, "nobody", "some-password") is None
        assert auth.authenticate(s, "ann", "ann-pw") is not None
    (dummy, dummy_error), (real, _) = checked
    assert dummy_error is None, f"the unknown-user hash is not a valid bcrypt hash: {dummy_error}"
    assert dummy[:7] == real[:7]  # same algorithm and cost ("$2b$12$")


def test_long_passwords_are_accepted_and_not_truncated(db: Database) -> None:
    """bcrypt reads 72 bytes at most (bcrypt 5 refuses more): every byte must still count."""
    long_pw = "correct horse battery staple, 马上就好 " * 4  # ~170 bytes
    assert len(long_pw.encode()) > 72
    with db.session() as s:
        auth.create_user(s, "longpw", long_pw, "agent")
    with db.session() as s:
        assert auth.authenticate(s, "longpw", long_pw) is not None
        assert auth.authenticate(s, "longpw", long_pw[:-1] + "!") is None
        assert auth.authenticate(s, "longpw", long_pw.encode()[:72].decode(errors="ignore")) \
            is None
    hashed = auth.hash_password("x" * 1000)
    assert auth.check_password("x" * 1000, hashed) and not auth.check_password("x" * 999, hashed)


def test_plain_bcrypt_hashes_from_before_still_verify(db: Database) -> None:
    import bcrypt
    from sqlalchemy import update

    from bot.db.models import User

    with db.session() as s:
        auth.create_user(s, "old", "placeholder", "agent")
        s.execute(update(User).where(User.username == "old").values(
            password_hash=bcrypt.hashpw(b"old-password", bcrypt.gensalt(4)).decode()))
    with db.session() as s:
        assert auth.authenticate(s, "old", "old-password") is not None
        assert auth.authenticate(s, "old", "old-passwore") is None
