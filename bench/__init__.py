"""Benchmarks: scripts that print numbers and can write a report (never timed assertions)."""
