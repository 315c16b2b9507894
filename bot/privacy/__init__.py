"""Personal-data redaction (EN + ZH): see ``bot.privacy.redaction``."""
