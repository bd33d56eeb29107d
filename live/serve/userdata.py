"""The user-data stream of the local venue: ``executionReport`` and ``outboundAccountPosition`` events.

The venue tells its listeners about every change of our orders and every execution
(``SimVenue.order_listeners`` / ``fill_listeners``); ``UserDataHub`` turns them into Binance's
events and pushes them to every WS-API connection that subscribed
(``userDataStream.subscribe.signature``), wrapped as ``{"subscriptionId": n, "event": {...}}``:

* an execution is one ``executionReport`` with ``x`` = ``TRADE`` (last quantity, price,
  commission, trade id, and the order's state after it); the venue's order update that follows
  the same execution is not sent again;
* any other change is an ``executionReport`` with ``x`` = ``NEW``, ``CANCELED``, ``EXPIRED`` or
  ``REJECTED``;
* after each, an ``outboundAccountPosition`` with the balances of the order's two assets.

User-stream faults (``ServeFaults.user``) see each event payload on its way to each connection.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from harness.clock import Clock
from harness.model import Fill, OrderReport, OrderStatus
from live.serve.actions import VenueActions
from live.serve.order_json import execution_report
from live.serve.peer import Peer
from live.serve.wire import fmt, ms

__all__ = ["UserDataHub"]

_EXECUTION = {
    OrderStatus.OPEN: "NEW", OrderStatus.PENDING: "NEW", OrderStatus.CANCELLED: "CANCELED",
    OrderStatus.EXPIRED: "EXPIRED", OrderStatus.REJECTED: "REJECTED",
}


@dataclass(eq=False)
class _Subscriber:
    peer: Peer
    subscription_id: int


class UserDataHub:
    """Pushes the venue's order and account events to subscribed WS-API connections."""

    def __init__(self, actions: VenueActions, clock: Clock) -> None:
        self.actions = actions
        self.clock = clock
        self.subscribers: list[_Subscriber] = []
        self._ids = 0
        self._after_fill: set[str] = set()
        self.events = 0
        venue = actions.venue
        venue.order_listeners.append(self._on_order)
        venue.fill_listeners.append(self._on_fill)

    def subscribe(self, peer: Peer) -> int:
        """A new subscription of ``peer``; returns its ``subscriptionId``."""
        subscription_id = self._ids
        self._ids += 1
        self.subscribers.append(_Subscriber(peer, subscription_id))
        return subscription_id

    def unsubscribe(self, peer: Peer, subscription_id: int | None = None) -> list[int]:
        """End ``peer``'s subscriptions (one, or all); returns the ids ended."""
        ended = [s for s in self.subscribers if s.peer is peer and subscription_id in (None, s.subscription_id)]
        for sub in ended:
            self.subscribers.remove(sub)
        return [s.subscription_id for s in ended]

    def drop(self, peer: Peer) -> None:
        """``peer`` disconnected."""
        self.unsubscribe(peer)

    # ------------------------------------------------------------------ venue events

    def _on_fill(self, fill: Fill) -> None:
        order = self.actions.venue.orders.get(fill.client_order_id)
        if order is None:
            return
        self._after_fill.add(fill.client_order_id)
        if self.subscribers:
            now = self.clock.now_ns()
            self._push(execution_report(order, now, "TRADE", fill, self.actions.trade_ids))
            self._push_account(fill.symbol, now)

    def _on_order(self, report: OrderReport) -> None:
        coid = report.client_order_id
        if coid in self._after_fill:
            self._after_fill.discard(coid)
            return
        execution = _EXECUTION.get(report.status)
        order = self.actions.venue.orders.get(coid)
        if execution is None or order is None or not self.subscribers:
            return
        now = self.clock.now_ns()
        self._push(execution_report(order, now, execution, None, self.actions.trade_ids))
        self._push_account(report.symbol, now)

    def _push_account(self, symbol: str, now_ns: int) -> None:
        venue = self.actions.venue
        rules = venue.profile.symbols.get(symbol)
        if rules is None:
            return
        balances = venue.balances()
        rows = [{"a": asset, "f": fmt(balances[asset].free), "l": fmt(balances[asset].locked)}
                for asset in (rules.base_asset, rules.quote_asset) if asset in balances]
        self._push({"e": "outboundAccountPosition", "E": ms(now_ns), "u": ms(now_ns), "B": rows})

    def _push(self, event: dict[str, Any]) -> None:
        self.events += 1
        for sub in list(self.subscribers):
            if sub.peer.closed:
                self.subscribers.remove(sub)
                continue
            sub.peer.send({"subscriptionId": sub.subscription_id, "event": event}, event)
