"""Typed settings, read once at start-up from the environment (prefix ``KEFU_``) or ``.env``."""

from __future__ import annotations

import logging
import os
import secrets
import time
from functools import lru_cache
from pathlib import Path

from pydantic import Field, PrivateAttr, SecretStr, ValidationInfo, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from channels.base import MAX_TEXT_CHARS

REPO_ROOT = Path(__file__).resolve().parent.parent
# Shorter signing keys and shared secrets are refused (HS256 wants at least 256 bits).
MIN_SECRET_BYTES = 32
log = logging.getLogger(__name__)


def stored_secret(path: Path) -> str:
    """The secret kept in ``path``, generated there on first use. The file is created with
    ``O_CREAT | O_EXCL`` and mode 0600 in one call, so it is never readable by other users,
    not even for a moment, and two processes starting at once agree on one secret."""
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        return _read_secret(path)
    value = secrets.token_urlsafe(48)
    with os.fdopen(fd, "w", encoding="ascii") as fh:
        fh.write(value)
    return value


def _read_secret(path: Path) -> str:
    for _ in range(50):  # created by a process starting at the same time, maybe not written yet
        value = path.read_text(encoding="ascii").strip()
        if value:
            break
        time.sleep(0.02)
    if len(value.encode()) < MIN_SECRET_BYTES:
        raise RuntimeError(f"{path} holds a secret shorter than {MIN_SECRET_BYTES} bytes; "
                           "delete the file to have a new one generated")
    if path.stat().st_mode & 0o077:
        log.warning("%s is readable by other users; run: chmod 600 %s", path, path)
    return value


class Settings(BaseSettings):
    # hide_input_in_errors: a refused secret is not echoed into logs
    model_config = SettingsConfigDict(env_prefix="KEFU_", env_file=".env", extra="ignore",
                                      hide_input_in_errors=True)

    # Runtime data (SQLite file, generated secrets, logs) lives here, outside version control.
    data_dir: Path = REPO_ROOT / "var"
    # Built models and venvs are cached outside the work tree so fresh clones reuse them.
    cache_dir: Path = Path.home() / ".cache" / "kefu"
    database_url: str = ""

    hub_host: str = "127.0.0.1"
    hub_port: int = 8000
    public_url: str = ""
    rasa_url: str = "http://127.0.0.1:5005"
    rasa_timeout_s: float = 30.0
    # How long a chat request waits for its reply before answering "pending" (the reply is then
    # pushed over the websocket / channel API, and a retry with the same id fetches it).
    reply_wait_s: float = 25.0
    action_port: int = 5055

    admin_username: str = "admin"
    admin_password: SecretStr | None = None
    jwt_secret: SecretStr | None = None
    # Shared secrets: the hub -> Rasa (``?token=``, also Rasa's --auth-token) and Rasa -> the
    # action server (a header). Like jwt_secret, generated into data_dir when not set.
    rasa_token: SecretStr | None = None
    action_token: SecretStr | None = None
    token_ttl_s: int = 12 * 3600
    # A staff member's role and active flag are re-read from the database at most this old,
    # and an open console socket re-checks its token and account this often.
    staff_cache_s: float = 5.0
    console_recheck_s: float = 15.0
    # Sign-in throttling: free failures per username and per client address, then a back-off
    # doubling from 1 s up to login_lockout_max_s; forgotten after that long without failures.
    login_max_failures_user: int = Field(default=5, ge=1)
    login_max_failures_ip: int = Field(default=20, ge=1)
    login_lockout_max_s: float = 900.0
    password_workers: int = Field(default=2, ge=1)  # bcrypt runs on a pool of its own
    # Reverse proxies (comma-separated addresses, e.g. "127.0.0.1" behind a local nginx) whose
    # X-Forwarded-For header names the client; anyone else's is ignored.
    trusted_proxies: str = ""

    # The longest customer message, on every channel (web chat refuses it, WeChat and Slack
    # answer that it is too long).
    max_message_chars: int = Field(default=MAX_TEXT_CHARS, ge=1)
    demo_seed: int = 42
    demo_customers: int = 1000
    demo_products: int = 200
    demo_orders: int = 10_000
    demo_history: bool = True  # past conversations, so the dashboard has data

    # Knowledge base: embedder spec ("use", "e5" or "hf:<name or path>"), where the FAISS
    # index versions live (default: <data_dir>/kb-index), the answer threshold (cosine,
    # calibrated with `python -m bot.cli kb eval`), and the size above which the index is IVF.
    kb_embedder: str = "e5"
    kb_index_dir: Path | None = None
    kb_threshold: float = 0.855
    # Who decides to admit "no answer": "logistic" (a second opinion on the best article, see
    # knowledge/refusal.py; falls back to the threshold with another embedder) or "threshold".
    kb_refusal: str = Field(default="logistic", pattern="^(threshold|logistic(:[a-z-]+)?)$")
    kb_approx_threshold: int = 20_000
    kb_articles_dir: Path = REPO_ROOT / "knowledge" / "articles"

    # Sentiment: any Hugging Face sequence-classification checkpoint (name or path); empty
    # means the default built locally by `bot.sentiment.build` and cached in cache_dir.
    sentiment_model: str = ""

    # Channels: each is on when its secrets are set. API bases are configurable so tests (and
    # private deployments) can point them elsewhere.
    wechat_token: SecretStr | None = None
    wechat_app_id: str = ""
    wechat_app_secret: SecretStr | None = None
    wechat_aes_key: SecretStr | None = None
    wechat_mode: str = Field(default="safe", pattern="^(plain|compatible|safe)$")
    wechat_api_base: str = "https://api.weixin.qq.com"
    wecom_token: SecretStr | None = None
    wecom_corp_id: str = ""
    wecom_corp_secret: SecretStr | None = None
    wecom_agent_id: str = ""
    wecom_aes_key: SecretStr | None = None
    wecom_api_base: str = "https://qyapi.weixin.qq.com"
    slack_signing_secret: SecretStr | None = None
    slack_bot_token: SecretStr | None = None
    slack_bot_user_id: str = ""
    slack_api_base: str = "https://slack.com/api"

    default_language: str = Field(default="en", pattern="^(en|zh)$")

    def db_url(self) -> str:
        if self.database_url:
            return self.database_url
        return f"sqlite:///{self.data_dir / 'kefu.db'}"

    recommender_refresh_s: float = 3600.0

    # Privacy: PII in stored transcripts and logs is replaced by placeholders ("ner": patterns
    # + spaCy names/addresses, "patterns": regexes only, "off"); the original text stays
    # readable only while the conversation is active.
    redaction: str = Field(default="ner", pattern="^(ner|patterns|off)$")
    retention_days: int = Field(default=365, ge=1)
    # A conversation left with the bot this long is resolved (it counts as contained).
    auto_resolve_after_s: float = 2 * 3600.0
    housekeeping_interval_s: float = 600.0
    csat_enabled: bool = True
    profiles_refresh_s: float = 24 * 3600.0  # RFM segments and churn risk are recomputed daily

    def tracker_db_path(self) -> Path:
        return self.data_dir / "rasa_tracker.db"

    def tracker_db_url(self) -> str:
        return f"sqlite:///{self.tracker_db_path()}"

    def recommender_path(self) -> Path:
        return self.data_dir / "recommender"

    def kb_index_path(self) -> Path:
        return self.kb_index_dir or self.data_dir / "kb-index"

    def proxy_addresses(self) -> frozenset[str]:
        return frozenset(a.strip() for a in self.trusted_proxies.split(",") if a.strip())

    def hub_url(self) -> str:
        return self.public_url or f"http://{self.hub_host}:{self.hub_port}"

    _secrets: dict[Path, str] = PrivateAttr(default_factory=dict)

    @field_validator("jwt_secret", "rasa_token", "action_token")
    @classmethod
    def _long_enough(cls, value: SecretStr | None, info: ValidationInfo) -> SecretStr | None:
        if value is not None and len(value.get_secret_value().encode()) < MIN_SECRET_BYTES:
            raise ValueError(
                f"KEFU_{(info.field_name or '').upper()} must be at least {MIN_SECRET_BYTES} "
                "bytes; generate one with: python -c 'import secrets; "
                "print(secrets.token_urlsafe(48))' (or unset it to have one generated)")
        return value

    def _secret(self, configured: SecretStr | None, name: str) -> str:
        if configured is not None:
            return configured.get_secret_value()
        path = self.data_dir / name
        if path not in self._secrets:
            self._secrets[path] = stored_secret(path)
        return self._secrets[path]

    def secret_key(self) -> str:
        """JWT signing key: from the environment, else generated once and kept in data_dir."""
        return self._secret(self.jwt_secret, "jwt_secret")

    def rasa_auth_token(self) -> str:
        """What the hub sends Rasa as ``?token=`` (Rasa refuses requests without it)."""
        return self._secret(self.rasa_token, "rasa_token")

    def action_auth_token(self) -> str:
        """What Rasa sends the action server in its ``X-Kefu-Action-Token`` header."""
        return self._secret(self.action_token, "action_token")


@lru_cache
def get_settings() -> Settings:
    return Settings()
