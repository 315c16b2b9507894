"""Deterministic demo shop data."""
