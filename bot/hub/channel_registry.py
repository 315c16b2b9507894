"""Which platform channels this deployment serves: each one whose secrets are configured."""

from __future__ import annotations

from pydantic import SecretStr

from bot.settings import Settings
from channels.base import ChannelAdapter


def _secret(value: SecretStr | None) -> str:
    return value.get_secret_value() if value is not None else ""


def build_channels(settings: Settings) -> dict[str, ChannelAdapter]:
    adapters: dict[str, ChannelAdapter] = {}
    if settings.wechat_token and settings.wechat_app_id:
        from channels.wechat import WeChatAdapter

        adapters["wechat"] = WeChatAdapter(
            token=_secret(settings.wechat_token), app_id=settings.wechat_app_id,
            app_secret=_secret(settings.wechat_app_secret),
            encoding_aes_key=_secret(settings.wechat_aes_key) or None,
            api_base=settings.wechat_api_base, mode=settings.wechat_mode,
            max_chars=settings.max_message_chars)
    if settings.wecom_token and settings.wecom_corp_id:
        from channels.wechat import WeComAdapter

        adapters["wecom"] = WeComAdapter(
            token=_secret(settings.wecom_token), corp_id=settings.wecom_corp_id,
            corp_secret=_secret(settings.wecom_corp_secret), agent_id=settings.wecom_agent_id,
            encoding_aes_key=_secret(settings.wecom_aes_key), api_base=settings.wecom_api_base,
            max_chars=settings.max_message_chars)
    if settings.slack_signing_secret and settings.slack_bot_token:
        from channels.slack import SlackAdapter

        adapters["slack"] = SlackAdapter(
            signing_secret=_secret(settings.slack_signing_secret),
            bot_token=_secret(settings.slack_bot_token),
            bot_user_id=settings.slack_bot_user_id or None, api_base=settings.slack_api_base,
            max_chars=settings.max_message_chars)
    return adapters
