"""Staff accounts: bcrypt password hashes and short-lived signed bearer tokens (JWT, HS256).

bcrypt reads at most 72 bytes, so a password is first reduced to a fixed 44 bytes: base64 of
its HMAC-SHA256 keyed with the bcrypt salt (as passlib's ``bcrypt_sha256``); such hashes carry
the ``$sha256$`` prefix. Hashes made before (plain bcrypt) are still verified.
"""

from __future__ import annotations

import base64
import hmac
import secrets
import time
from dataclasses import dataclass, field
from functools import cache

import bcrypt
import jwt
from sqlalchemy import select
from sqlalchemy.orm import Session

from bot.db.models import User

ROLES = ("admin", "agent", "editor")


PREHASHED = "$sha256$"
SALT_CHARS = 29  # "$2b$12$" and 22 characters of salt: the start of every bcrypt hash


@dataclass(frozen=True)
class Principal:
    user_id: int
    username: str
    role: str
    # When the token it came from expires (epoch seconds; 0 when not from a token).
    expires_at: int = field(default=0, compare=False)


@dataclass(frozen=True)
class Account:
    """What signing in needs to know about a user."""

    principal: Principal
    password_hash: str
    active: bool


def _prehash(password: str, salt: bytes) -> bytes:
    return base64.b64encode(hmac.digest(salt, password.encode(), "sha256"))


def hash_password(password: str) -> str:
    salt = bcrypt.gensalt()
    return PREHASHED + bcrypt.hashpw(_prehash(password, salt), salt).decode()


def check_password(password: str, hashed: str) -> bool:
    try:
        if hashed.startswith(PREHASHED):
            inner = hashed[len(PREHASHED):].encode()
            return bcrypt.checkpw(_prehash(password, inner[:SALT_CHARS]), inner)
        # a plain bcrypt hash from before: bcrypt only ever read the first 72 bytes
        return bcrypt.checkpw(password.encode()[:72], hashed.encode())
    except ValueError:
        return False


@cache
def dummy_hash() -> str:
    """A real hash of a random password, made once with the same cost as every other, so
    checking a password for an unknown username takes as long as for a known one."""
    return hash_password(secrets.token_urlsafe(16))


def create_user(
    s: Session, username: str, password: str, role: str, display_name: str = ""
) -> User:
    if role not in ROLES:
        raise ValueError(f"unknown role {role!r}; expected one of {ROLES}")
    user = User(username=username, password_hash=hash_password(password), role=role,
                display_name=display_name or username)
    s.add(user)
    s.flush()
    return user


def update_user(s: Session, username: str, *, role: str | None = None,
                active: bool | None = None, password: str | None = None) -> User:
    """Change a staff account. Hubs see a new role or a disabled account within a few seconds
    (``KEFU_STAFF_CACHE_S``), also for tokens already issued."""
    user = s.scalar(select(User).where(User.username == username))
    if user is None:
        raise LookupError(f"no user {username!r}")
    if role is not None:
        if role not in ROLES:
            raise ValueError(f"unknown role {role!r}; expected one of {ROLES}")
        user.role = role
    if active is not None:
        user.active = active
    if password is not None:
        user.password_hash = hash_password(password)
    return user


def ensure_admin(s: Session, username: str, password: str | None) -> str | None:
    """Create the first admin if no admin exists. Returns a generated password to show once."""
    if s.scalar(select(User).where(User.role == "admin")) is not None:
        return None
    generated = None
    if not password:
        generated = password = secrets.token_urlsafe(12)
    create_user(s, username, password, "admin", "Administrator")
    return generated


def find_account(s: Session, username: str) -> Account | None:
    user = s.scalar(select(User).where(User.username == username))
    if user is None:
        return None
    return Account(Principal(user.id, user.username, user.role), user.password_hash, user.active)


def verify(account: Account | None, password: str) -> Principal | None:
    """The account's principal if the password is right and the account active. Unknown
    users are checked against the dummy hash, so timing does not tell which names exist."""
    ok = check_password(password, account.password_hash if account else dummy_hash())
    if account is None or not ok or not account.active:
        return None
    return account.principal


def authenticate(s: Session, username: str, password: str) -> Principal | None:
    return verify(find_account(s, username), password)


def issue_token(p: Principal, secret: str, ttl_s: int) -> str:
    now = int(time.time())
    claims = {"sub": str(p.user_id), "name": p.username, "role": p.role, "iat": now,
              "exp": now + ttl_s}
    return jwt.encode(claims, secret, algorithm="HS256")


def read_token(token: str, secret: str) -> Principal | None:
    try:
        claims = jwt.decode(token, secret, algorithms=["HS256"], options={"require": ["exp"]})
        return Principal(int(claims["sub"]), str(claims["name"]), str(claims["role"]),
                         int(claims["exp"]))
    except (jwt.PyJWTError, KeyError, ValueError):
        return None
