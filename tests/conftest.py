from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from bot.db.migrate import upgrade
from bot.db.session import Database
from bot.demo.generator import DemoSize, generate
from bot.settings import Settings

SMALL = DemoSize(customers=60, products=40, orders=400)


def make_settings(tmp: Path, **overrides: object) -> Settings:
    return Settings(data_dir=tmp, database_url=f"sqlite:///{tmp / 'kefu.db'}",
                    jwt_secret="test-secret-" + "x" * 32, _env_file=None, **overrides)  # type: ignore[arg-type]


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return make_settings(tmp_path)


@pytest.fixture
def db(settings: Settings) -> Iterator[Database]:
    upgrade(settings.db_url())
    database = Database(settings.db_url())
    yield database
    database.dispose()


@pytest.fixture
def shop(db: Database) -> Database:
    generate(db, SMALL, seed=42)
    return db
