"""Order lookups behind verification: the order form's validation, then the order task
(status and tracking with recent orders and open tickets, cancellation, address change)."""

from __future__ import annotations

import asyncio
import re
from typing import Any

from rasa_sdk import Action, FormValidationAction, Tracker
from rasa_sdk.events import SlotSet
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.types import DomainDict

from actions import messages as M
from actions.runtime import database, language, metadata, t
from bot.services import conversations as convs
from bot.services import crm

# Identities the platform itself authenticates; a web chat sender id is only a browser cookie,
# so there verification lasts for the conversation and is not linked for later ones.
LINKABLE_CHANNELS = {"wechat", "wecom", "slack"}
ORDER_ID = re.compile(r"(?<!\d)(1\d{5})(?!\d)")


def _first(value: Any) -> str | None:
    if isinstance(value, list):
        value = value[0] if value else None
    return str(value).strip() if value is not None else None


def _money(cents: int) -> str:
    return f"{cents / 100:,.2f}"


def describe_order(o: crm.OrderView, lang: str) -> list[str]:
    items = "、".join(f"{zh}×{q}" for _, zh, q in o.items) if lang == "zh" else ", ".join(
        f"{q} × {en}" for en, _, q in o.items)
    lines = [t(M.ORDER_HEADLINE, lang, id=o.id, date=o.created_at.date().isoformat(),
               status=t(M.ORDER_STATUS.get(o.status, {"en": o.status}), lang), items=items,
               total=_money(o.total_cents))]
    sh = o.shipment
    if sh is not None and o.status != "cancelled":
        when = ""
        if sh.delivered_at is not None:
            when = t(M.DELIVERED_ON, lang, date=sh.delivered_at.date().isoformat())
        elif sh.eta is not None:
            when = t(M.EXPECTED_ON, lang, date=sh.eta.date().isoformat())
        lines.append(t(M.SHIPMENT_LINE, lang, carrier=sh.carrier, tracking=sh.tracking_number,
                       status=t(M.SHIPMENT_STATUS.get(sh.status, {"en": sh.status}), lang),
                       when=when))
        if sh.status == "exception":
            lines.append(t(M.EXCEPTION_HINT, lang))
    return lines


class ValidateOrderForm(FormValidationAction):
    def name(self) -> str:
        return "validate_order_form"

    async def required_slots(self, domain_slots: list[str], dispatcher: CollectingDispatcher,
                             tracker: Tracker, domain: DomainDict) -> list[str]:
        if tracker.get_slot("customer_id"):
            return [s for s in domain_slots if s != "contact"]
        return domain_slots

    async def validate_order_id(self, value: Any, dispatcher: CollectingDispatcher,
                                tracker: Tracker, domain: DomainDict) -> dict[str, Any]:
        raw = _first(value) or ""
        m = ORDER_ID.search(raw)
        if m is None:
            dispatcher.utter_message(text=t(M.BAD_ORDER_ID, language(tracker)))
            return {"order_id": None}
        return {"order_id": m.group(1)}

    async def validate_contact(self, value: Any, dispatcher: CollectingDispatcher,
                               tracker: Tracker, domain: DomainDict) -> dict[str, Any]:
        order_id, lang = tracker.get_slot("order_id"), language(tracker)
        # Every email/phone the extractors found in the message is a candidate: overlapping
        # phone patterns can yield several readings of one number.
        candidates = [c for c in dict.fromkeys(
            [*(value if isinstance(value, list) else [value]),
             *(e.get("value") for e in tracker.latest_message.get("entities") or []
               if e.get("entity") in ("email", "phone"))]) if isinstance(c, str) and c.strip()]
        if not candidates or not order_id:
            return {"contact": None}
        meta = metadata(tracker)
        result = None
        for contact in candidates:
            result = await asyncio.to_thread(_verify, int(order_id), contact.strip(), meta)
            if result is not None:
                break
        if result is None:
            dispatcher.utter_message(text=t(M.VERIFY_FAILED, lang))
            return {"contact": None, "order_id": None}
        customer_id, name = result
        dispatcher.utter_message(text=t(M.VERIFIED, lang, name=name))
        return {"contact": contact, "customer_id": str(customer_id)}


def _verify(order_id: int, contact: str, meta: dict[str, Any]) -> tuple[int, str] | None:
    with database().session() as s:
        customer_id = crm.verify_order_owner(s, order_id, contact)
        if customer_id is None:
            return None
        if meta.get("conversation_id"):
            convs.link_customer(s, str(meta["conversation_id"]), customer_id)
        channel, sender = meta.get("channel"), meta.get("sender_id")
        if channel in LINKABLE_CHANNELS and sender:
            crm.link_identity(s, str(channel), str(sender), customer_id)
        summary = crm.customer_summary(s, customer_id) or {}
        return customer_id, str(summary.get("name", ""))


class ActionOrderTask(Action):
    """Runs when the order form is complete: the customer is verified for this order."""

    def name(self) -> str:
        return "action_order_task"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker,
                  domain: dict[str, Any]) -> list[dict[str, Any]]:
        lang = language(tracker)
        task = tracker.get_slot("order_task") or "order_status"
        order_id, customer_id = tracker.get_slot("order_id"), tracker.get_slot("customer_id")
        if not order_id or not customer_id:
            return [SlotSet("order_task", None)]
        oid, cid = int(order_id), int(customer_id)
        if task == "cancel_order":
            outcome = await asyncio.to_thread(_cancel, oid, cid)
            dispatcher.utter_message(text=t(M.CANCEL_OUTCOME[outcome], lang, id=oid))
            return [SlotSet("order_task", None)]
        order, recent, tickets = await asyncio.to_thread(_lookup, oid, cid)
        if order is None:
            dispatcher.utter_message(text=t(M.NOT_YOUR_ORDER, lang, id=oid))
            return [SlotSet("order_task", None), SlotSet("order_id", None)]
        if task == "change_address":
            return self._address(dispatcher, order, lang)
        dispatcher.utter_message(text="\n".join(describe_order(order, lang)))
        others = [o for o in recent if o.id != oid][:3]
        if others:
            listed = "; ".join(
                f"{o.id} ({t(M.ORDER_STATUS.get(o.status, {'en': o.status}), lang)})"
                for o in others)
            dispatcher.utter_message(text=t(M.RECENT_ORDERS, lang, orders=listed))
        if tickets:
            listed = "; ".join(f"#{tk.id} {tk.subject} ({tk.status})" for tk in tickets[:3])
            dispatcher.utter_message(text=t(M.OPEN_TICKETS, lang, tickets=listed))
        return [SlotSet("order_task", None)]

    @staticmethod
    def _address(dispatcher: CollectingDispatcher, order: crm.OrderView,
                 lang: str) -> list[dict[str, Any]]:
        if order.status in crm.CANCELLABLE:
            dispatcher.utter_message(text=t(M.ADDRESS_CHANGE["open"], lang, id=order.id))
            dispatcher.utter_message(json_message={"handoff": True, "reason": "address_change"})
        else:
            sh = order.shipment
            dispatcher.utter_message(text=t(
                M.ADDRESS_CHANGE["closed"], lang, id=order.id,
                status=t(M.ORDER_STATUS.get(order.status, {"en": order.status}), lang),
                tracking=sh.tracking_number if sh else "-"))
        return [SlotSet("order_task", None)]


def _cancel(order_id: int, customer_id: int) -> str:
    with database().session() as s:
        return crm.cancel_order(s, order_id, customer_id)


def _lookup(order_id: int, customer_id: int
            ) -> tuple[crm.OrderView | None, list[crm.OrderView], list[crm.TicketView]]:
    with database().session() as s:
        order = crm.order_for_customer(s, order_id, customer_id)
        if order is None:
            return None, [], []
        return order, crm.recent_orders(s, customer_id), crm.open_tickets(s, customer_id)
