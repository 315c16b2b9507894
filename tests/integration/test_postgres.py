"""The same schema and services on a real PostgreSQL server, started here from Debian's
packages (``scripts/ensure_postgres.sh`` installs them) and thrown away afterwards."""

from __future__ import annotations

import glob
import os
import shutil
import socket
import subprocess
import tempfile
from collections.abc import Iterator

import pytest
from sqlalchemy import func, select, text

from bot.db.migrate import upgrade
from bot.db.models import Customer, Order
from bot.db.session import Database
from bot.demo.generator import generate
from bot.services import conversations as convs
from bot.services import crm
from tests.conftest import SMALL

pytestmark = pytest.mark.postgres


def _as_postgres_user(cmd: list[str]) -> list[str]:
    # initdb refuses to run as root
    return ["runuser", "-u", "postgres", "--", *cmd] if os.geteuid() == 0 else cmd


@pytest.fixture(scope="module")
def pg_url() -> Iterator[str]:
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"))
    assert found, "PostgreSQL server binaries missing: run scripts/ensure_postgres.sh"
    bindir = os.path.dirname(found[-1])
    root = tempfile.mkdtemp(prefix="kefu-pg-")
    if os.geteuid() == 0:
        shutil.chown(root, "postgres", "postgres")
    data = os.path.join(root, "data")
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    subprocess.run(_as_postgres_user([f"{bindir}/initdb", "-D", data, "-U", "kefu",
                                      "--auth=trust", "-E", "UTF8"]),
                   check=True, capture_output=True)
    options = f"-p {port} -k {root} -c listen_addresses=127.0.0.1 -c fsync=off"
    subprocess.run(_as_postgres_user([f"{bindir}/pg_ctl", "-D", data, "-w", "-l",
                                      os.path.join(root, "log"), "-o", options, "start"]),
                   check=True, capture_output=True)
    try:
        yield f"postgresql+psycopg://kefu@127.0.0.1:{port}/postgres"
    finally:
        subprocess.run(_as_postgres_user([f"{bindir}/pg_ctl", "-D", data, "-m", "fast",
                                          "stop"]), capture_output=True)
        shutil.rmtree(root, ignore_errors=True)


@pytest.fixture(scope="module")
def pg(pg_url: str) -> Iterator[Database]:
    upgrade(pg_url)
    db = Database(pg_url)
    generate(db, SMALL, seed=42)
    yield db
    db.dispose()


def test_migrations_and_demo_shop_on_postgres(pg: Database) -> None:
    with pg.session() as s:
        assert s.execute(text("select version()")).scalar().startswith("PostgreSQL")
        assert s.scalar(select(func.count()).select_from(Customer)) == SMALL.customers
        assert s.scalar(select(func.count()).select_from(Order)) == SMALL.orders


def test_crm_verification_and_isolation_on_postgres(pg: Database) -> None:
    with pg.session() as s:
        order = s.scalars(select(Order).limit(1)).one()
        owner = s.get(Customer, order.customer_id)
        assert crm.verify_order_owner(s, order.id, owner.email) == owner.id
        assert crm.order_for_customer(s, order.id, owner.id + 1) is None
        assert crm.order_for_customer(s, order.id, owner.id).items
        assert crm.recent_orders(s, owner.id)


def test_conversations_are_idempotent_on_postgres(pg: Database) -> None:
    with pg.session() as s:
        a = convs.accept_customer_turn(s, "webchat", "pg-user", "hi", "en", "c-1")
    with pg.session() as s:
        b = convs.accept_customer_turn(s, "webchat", "pg-user", "hi", "en", "c-1")
        convs.store_replies(s, a.turn_id, [{"text": "hello"}])
    assert b.duplicate and a.turn_id == b.turn_id
    with pg.session() as s:
        listed = convs.list_conversations(s)
        assert listed[0]["id"] == a.conversation_id and listed[0]["turn_count"] == 2
