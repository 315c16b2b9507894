"""Evaluations on held-out data (never used for training)."""
