"""Staff accounts: bcrypt password hashes and short-lived signed bearer tokens (JWT, HS256)."""

from __future__ import annotations

import secrets
import time
from dataclasses import dataclass

import bcrypt
import jwt
from sqlalchemy import select
from sqlalchemy.orm import Session

from bot.db.models import User

ROLES = ("admin", "agent", "editor")


@dataclass(frozen=True)
class Principal:
    user_id: int
    username: str
    role: str


def hash_password(password: str) -> str:
    return bcrypt.hashpw(password.encode(), bcrypt.gensalt()).decode()


def check_password(password: str, hashed: str) -> bool:
    try:
        return bcrypt.checkpw(password.encode(), hashed.encode())
    except ValueError:
        return False


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


def ensure_admin(s: Session, username: str, password: str | None) -> str | None:
    """Create the first admin if no admin exists. Returns a generated password to show once."""
    if s.scalar(select(User).where(User.role == "admin")) is not None:
        return None
    generated = None
    if not password:
        generated = password = secrets.token_urlsafe(12)
    create_user(s, username, password, "admin", "Administrator")
    return generated


def authenticate(s: Session, username: str, password: str) -> Principal | None:
    user = s.scalar(select(User).where(User.username == username))
    # Hash anyway on unknown users so timing does not reveal which usernames exist.
    hashed = user.password_hash if user else "$2b$12$" + "x" * 53
    ok = check_password(password, hashed)
    if user is None or not ok or not user.active:
        return None
    return Principal(user.id, user.username, user.role)


def issue_token(p: Principal, secret: str, ttl_s: int) -> str:
    now = int(time.time())
    claims = {"sub": str(p.user_id), "name": p.username, "role": p.role, "iat": now,
              "exp": now + ttl_s}
    return jwt.encode(claims, secret, algorithm="HS256")


def read_token(token: str, secret: str) -> Principal | None:
    try:
        claims = jwt.decode(token, secret, algorithms=["HS256"], options={"require": ["exp"]})
        return Principal(int(claims["sub"]), str(claims["name"]), str(claims["role"]))
    except (jwt.PyJWTError, KeyError, ValueError):
        return None
