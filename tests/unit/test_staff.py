"""StaffDirectory: accounts as the database has them, cached for ttl_s, invalidated on demand."""

from __future__ import annotations

from bot.db.session import Database
from bot.hub.staff import StaffDirectory
from bot.services import auth


async def test_cached_for_ttl_then_reread_and_invalidated_on_demand(db: Database) -> None:
    now = [100.0]
    with db.session() as s:
        uid = auth.create_user(s, "ann", "ann-pw", "agent").id
    staff = StaffDirectory(db, ttl_s=5, clock=lambda: now[0])
    assert (await staff.current(uid)).role == "agent"
    with db.session() as s:
        auth.update_user(s, "ann", role="editor", active=False)
    now[0] += 4
    assert (await staff.current(uid)).role == "agent"  # still cached
    now[0] += 1
    fresh = await staff.current(uid)
    assert (fresh.role, fresh.active) == ("editor", False)
    with db.session() as s:
        auth.update_user(s, "ann", active=True)
    staff.invalidate(uid)
    assert (await staff.current(uid)).active is True
    assert await staff.current(uid + 99) is None
