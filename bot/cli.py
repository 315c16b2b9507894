"""Kefu's command line: ``python -m bot.cli COMMAND``.

  init      migrate the database, load the demo shop when empty, create the first admin
  train     train the Rasa model if its inputs changed
  hub       serve the hub (used by ``run``)
  run       all of the above, then start Rasa, the action server and the hub
  user      create a staff user (admin, agent or editor)
  user-set  change a staff user: role, disable / enable, password
  kb        knowledge base: import, export, rebuild, query, build, eval
"""

from __future__ import annotations

import argparse
import logging
import signal
import sys
import time

from pydantic import ValidationError
from sqlalchemy import func, select

from bot import cli_kb
from bot.cli_kb import ensure_kb
from bot.db.migrate import upgrade
from bot.db.models import Customer
from bot.db.session import Database
from bot.settings import Settings, get_settings

log = logging.getLogger("kefu")


def init(settings: Settings, *, demo: bool = True) -> str | None:
    """Idempotent set-up. Returns a generated admin password (shown once), if one was made."""
    from bot.demo.generator import DemoSize, generate
    from bot.services.auth import ensure_admin

    upgrade(settings.db_url())
    db = Database(settings.db_url())
    try:
        with db.session() as s:
            empty = not s.scalar(select(func.count()).select_from(Customer))
        if demo and empty:
            print("Loading the demo shop...", flush=True)
            counts = generate(db, DemoSize(settings.demo_customers, settings.demo_products,
                                           settings.demo_orders), seed=settings.demo_seed)
            print("  " + ", ".join(f"{v} {k}" for k, v in counts.items()), flush=True)
            if settings.demo_history:
                from bot.demo.history import generate_history

                n = generate_history(db, seed=settings.demo_seed)
                print(f"  {n} past conversations for the dashboard", flush=True)
        ensure_kb(settings, db)
        from bot.segments.service import compute_profiles, has_profiles

        if not has_profiles(db):
            print("Segmenting customers (RFM, K-means) and scoring churn risk...", flush=True)
            compute_profiles(db)
        from bot.recommend.live import current_version, fit_and_publish

        if current_version(settings.recommender_path()) is None:
            print("Fitting the recommender on the order history...", flush=True)
            fit_and_publish(db, settings.recommender_path())
        with db.session() as s:
            pw = settings.admin_password.get_secret_value() if settings.admin_password else None
            return ensure_admin(s, settings.admin_username, pw)
    finally:
        db.dispose()


def cmd_hub(settings: Settings) -> None:
    from aiohttp import web

    from bot.hub.app import create_app

    web.run_app(create_app(settings), host=settings.hub_host, port=settings.hub_port,
                print=None, access_log=None)


def cmd_run(settings: Settings) -> None:
    from bot.launcher import ensure_model, start_stack
    from bot.sentiment.build import ensure_sentiment_model

    generated = init(settings)
    settings = settings.model_copy(update={"sentiment_model": ensure_sentiment_model(settings)})
    model = ensure_model(settings)
    print("Starting Rasa, the action server and the hub (Rasa needs about a minute)...",
          flush=True)
    stack = start_stack(settings, model)
    url = settings.hub_url()
    print("\nKefu is running.")
    print(f"  Web chat:       {url}/chat")
    print(f"  Agent console:  {url}/console")
    print(f"  Dashboard:      {url}/dashboard")
    print(f"  API (OpenAPI):  {url}/openapi.json")
    if generated:
        print(f"  Sign in as '{settings.admin_username}' with password: {generated}")
        print("  (generated now and shown once; set KEFU_ADMIN_PASSWORD to choose your own)")
    else:
        print(f"  Sign in as '{settings.admin_username}' (password from KEFU_ADMIN_PASSWORD"
              " or the one printed on first run)")
    print(f"  Logs: {settings.data_dir / 'logs'}    Press Ctrl-C to stop.\n", flush=True)

    stopping = False

    def stop(*_: object) -> None:
        nonlocal stopping
        stopping = True

    signal.signal(signal.SIGINT, stop)
    signal.signal(signal.SIGTERM, stop)
    try:
        while not stopping:
            stack.check_alive()
            time.sleep(1)
    finally:
        print("Stopping...", flush=True)
        stack.stop()
        print("Stopped.", flush=True)


def cmd_user(settings: Settings, username: str, password: str, role: str) -> None:
    from bot.services.auth import create_user

    upgrade(settings.db_url())
    db = Database(settings.db_url())
    with db.session() as s:
        create_user(s, username, password, role)
    print(f"created {role} {username!r}")


def cmd_user_set(settings: Settings, username: str, role: str | None, active: bool | None,
                 password: str | None) -> None:
    from bot.services.auth import update_user

    db = Database(settings.db_url())
    try:
        with db.session() as s:
            update_user(s, username, role=role, active=active, password=password)
    except LookupError as e:
        sys.exit(str(e))
    print(f"updated {username!r} (running hubs notice within {settings.staff_cache_s:g} s)")


def main(argv: list[str] | None = None) -> None:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s %(message)s")
    try:
        get_settings()
    except ValidationError as e:  # e.g. a KEFU_JWT_SECRET that is too short: say so and stop
        sys.exit(f"Kefu's configuration is invalid:\n{e}")
    if get_settings().redaction != "off":
        from bot.privacy.redaction import RedactingFilter

        for handler in logging.getLogger().handlers:
            handler.addFilter(RedactingFilter())
    ap = argparse.ArgumentParser(prog="kefu", description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = ap.add_subparsers(dest="cmd", required=True)
    sub.add_parser("init")
    sub.add_parser("train")
    sub.add_parser("hub")
    sub.add_parser("run")
    cli_kb.add_parser(sub)
    sub.add_parser("recommend-fit", help="refit the recommender on the current order history "
                                         "(action servers swap it in without a restart)")
    u = sub.add_parser("user")
    u.add_argument("username")
    u.add_argument("password")
    u.add_argument("--role", default="agent", choices=["admin", "agent", "editor"])
    us = sub.add_parser("user-set", help="change a staff user (takes effect on open sessions)")
    us.add_argument("username")
    us.add_argument("--role", choices=["admin", "agent", "editor"])
    on_off = us.add_mutually_exclusive_group()
    on_off.add_argument("--disable", dest="active", action="store_false", default=None)
    on_off.add_argument("--enable", dest="active", action="store_true")
    us.add_argument("--password")
    args = ap.parse_args(argv)
    settings = get_settings()
    if args.cmd == "init":
        generated = init(settings)
        if generated:
            print(f"admin password (shown once): {generated}")
    elif args.cmd == "train":
        from bot.launcher import ensure_model

        print(ensure_model(settings))
    elif args.cmd == "hub":
        cmd_hub(settings)
    elif args.cmd == "run":
        cmd_run(settings)
    elif args.cmd == "recommend-fit":
        from bot.recommend.live import fit_and_publish

        print(fit_and_publish(Database(settings.db_url()), settings.recommender_path()))
    elif args.cmd == "kb":
        cli_kb.run(settings, args)
    elif args.cmd == "user":
        cmd_user(settings, args.username, args.password, args.role)
    elif args.cmd == "user-set":
        cmd_user_set(settings, args.username, args.role, args.active, args.password)


if __name__ == "__main__":
    sys.exit(main())
