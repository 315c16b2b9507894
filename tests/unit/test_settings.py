"""Settings: generated secrets are private from the moment they exist; configured secrets that
are too short are refused at start-up."""

from __future__ import annotations

import os
import stat
import threading
from pathlib import Path

import pytest
from pydantic import ValidationError

from bot.settings import Settings


def _settings(tmp: Path, **overrides: object) -> Settings:
    return Settings(data_dir=tmp, _env_file=None, **overrides)  # type: ignore[arg-type]


@pytest.fixture
def permissive_umask() -> object:
    old = os.umask(0o022)
    yield
    os.umask(old)


def test_a_generated_secret_file_is_never_readable_by_others(tmp_path: Path, monkeypatch,
                                                             permissive_umask) -> None:
    # A file written first and chmod-ed afterwards is readable by everyone in between: with
    # chmod doing nothing, that window shows as the file's final mode.
    monkeypatch.setattr(Path, "chmod", lambda *a, **k: None)
    monkeypatch.setattr(os, "chmod", lambda *a, **k: None)
    settings = _settings(tmp_path / "var")
    values = set()
    for name, method in (("jwt_secret", "secret_key"), ("rasa_token", "rasa_auth_token"),
                         ("action_token", "action_auth_token")):
        value = getattr(settings, method)()
        path = tmp_path / "var" / name
        assert stat.S_IMODE(path.stat().st_mode) == 0o600, name
        assert len(value) >= 32 and path.read_text() == value
        assert getattr(settings, method)() == value  # kept, not regenerated
        values.add(value)
    assert len(values) == 3


def test_processes_starting_together_agree_on_one_secret(tmp_path: Path) -> None:
    seen: list[str] = []
    barrier = threading.Barrier(8)

    def start() -> None:
        barrier.wait()
        seen.append(_settings(tmp_path).secret_key())

    threads = [threading.Thread(target=start) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(set(seen)) == 1 and (tmp_path / "jwt_secret").read_text() == seen[0]


def test_an_existing_secret_file_is_kept(tmp_path: Path) -> None:
    (tmp_path / "jwt_secret").write_text("s" * 40 + "\n")
    assert _settings(tmp_path).secret_key() == "s" * 40


@pytest.mark.parametrize("field", ["jwt_secret", "rasa_token", "action_token"])
def test_a_configured_secret_shorter_than_32_bytes_is_refused(tmp_path: Path,
                                                              field: str) -> None:
    with pytest.raises(ValidationError) as refused:
        _settings(tmp_path, **{field: "too-short-secret"})
    message = str(refused.value)
    assert f"KEFU_{field.upper()} must be at least 32 bytes" in message
    assert "too-short-secret" not in message  # the refused value is not echoed
    assert _settings(tmp_path, **{field: "x" * 32}) is not None


def test_an_empty_configured_secret_is_refused(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setenv("KEFU_JWT_SECRET", "")
    with pytest.raises(ValidationError, match="KEFU_JWT_SECRET"):
        _settings(tmp_path)
