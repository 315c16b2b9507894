"""The audit log: who viewed or changed which customer record, conversation or article."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from bot.db.models import AuditEntry
from bot.services.auth import Principal


def record(s: Session, who: Principal, action: str, entity: str, entity_id: object,
           detail: dict[str, Any] | None = None) -> None:
    """Add an entry in the caller's unit of work, so it commits (or not) with the change."""
    s.add(AuditEntry(actor=who.username, role=who.role, action=action, entity=entity,
                     entity_id=str(entity_id), detail=detail))


def entries(s: Session, *, entity: str | None = None, entity_id: str | None = None,
            actor: str | None = None, since: datetime | None = None,
            limit: int = 200) -> list[dict[str, Any]]:
    q = select(AuditEntry).order_by(AuditEntry.id.desc()).limit(limit)
    if entity:
        q = q.where(AuditEntry.entity == entity)
    if entity_id:
        q = q.where(AuditEntry.entity_id == entity_id)
    if actor:
        q = q.where(AuditEntry.actor == actor)
    if since:
        q = q.where(AuditEntry.at >= since)
    return [{"id": e.id, "at": e.at.isoformat(), "actor": e.actor, "role": e.role,
             "action": e.action, "entity": e.entity, "entity_id": e.entity_id,
             "detail": e.detail} for e in s.scalars(q)]
