"""Kefu: the platform package (settings, database, services, hub, CLI)."""
