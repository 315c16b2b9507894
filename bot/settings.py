"""Typed settings, read once at start-up from the environment (prefix ``KEFU_``) or ``.env``."""

from __future__ import annotations

import secrets
from functools import lru_cache
from pathlib import Path

from pydantic import Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict

REPO_ROOT = Path(__file__).resolve().parent.parent


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="KEFU_", env_file=".env", extra="ignore")

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
    token_ttl_s: int = 12 * 3600

    max_message_chars: int = 2000
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

    def hub_url(self) -> str:
        return self.public_url or f"http://{self.hub_host}:{self.hub_port}"

    def secret_key(self) -> str:
        """JWT signing key: from the environment, else generated once and kept in data_dir."""
        if self.jwt_secret is not None:
            return self.jwt_secret.get_secret_value()
        path = self.data_dir / "jwt_secret"
        if not path.exists():
            self.data_dir.mkdir(parents=True, exist_ok=True)
            path.write_text(secrets.token_urlsafe(48))
            path.chmod(0o600)
        return path.read_text().strip()


@lru_cache
def get_settings() -> Settings:
    return Settings()
