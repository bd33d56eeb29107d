"""Bybit's private WS at the local venue: ``auth``, then ``order``, ``execution``, ``wallet``, ``position``.

``{"op": "auth", "args": [apiKey, expires, signature]}`` is accepted when the key is known, the
signature is ``hex(HMAC_SHA256(secret, "GET/realtime" + expires))`` (``live.signing``) and
``expires`` is still in the future (venue time); the answer is
``{"success", "ret_msg", "op": "auth", "conn_id", "req_id"}``. Topics can be subscribed only
after that. The venue's listeners feed the pushes (``docs/v5/websocket/private``): every
execution of ours is one ``execution`` message, every change of one of our orders an ``order``
message, and after each order change a ``wallet`` message with the balances of its two coins.
On a perpetual venue (``LinearActions``) every fill is followed by a ``position`` message with
the symbol's row, as is every leverage or margin-mode change, and ``wallet`` is the margin
account; spot has no positions, so there ``position`` stays quiet. Pushes go through the user-stream faults
(``ServeFaults.user``) with the message as the item.
"""

from __future__ import annotations

import hmac
import itertools
import json
from dataclasses import dataclass, field
from typing import Any

from harness.clock import Clock
from harness.model import Fill, OrderReport
from live.serve.bybit.auth import BybitApiError, BybitKeys
from live.serve.bybit.linear import LinearActions
from live.serve.bybit.shapes import execution_json, ms, order_json, wallet_json
from live.serve.peer import Peer
from live.signing import bybit_ws_auth_signature
from sim.venue.venue import SimVenue

__all__ = ["PRIVATE_TOPICS", "PrivateHub", "PrivatePeer"]

PRIVATE_TOPICS = frozenset({"order", "execution", "wallet", "position", "order.spot", "execution.spot",
                            "order.linear", "execution.linear", "position.linear"})
"""Private topics the venue accepts (the categorised ``*.spot`` and ``*.linear`` ones too)."""


@dataclass(eq=False)
class PrivatePeer:
    """One private WS connection: its peer, whether it authenticated, and its topics."""

    peer: Peer
    conn_id: str
    api_key: str | None = None
    topics: set[str] = field(default_factory=set)


class PrivateHub:
    """Authenticates private connections and pushes the venue's order and account events to them."""

    def __init__(self, venue: SimVenue, keys: BybitKeys, clock: Clock, linear: LinearActions | None = None) -> None:
        self.venue = venue
        self.linear = linear
        self.category = "spot" if linear is None else "linear"
        if linear is not None:
            linear.position_listeners.append(self._on_position)
        self.keys = keys
        self.clock = clock
        self.peers: list[PrivatePeer] = []
        self._ids = itertools.count(1)
        self.events = 0
        venue.order_listeners.append(self._on_order)
        venue.fill_listeners.append(self._on_fill)

    def control(self, peer: PrivatePeer, text: str) -> None:
        """Answer one ``op`` message (``auth``, ``subscribe``, ``unsubscribe``, ``ping``)."""
        try:
            message = json.loads(text)
        except ValueError:
            message = None
        if not isinstance(message, dict):
            peer.peer.send({"success": False, "ret_msg": "error: invalid request format", "conn_id": peer.conn_id,
                            "op": ""})
            return
        op, req_id = message.get("op"), message.get("req_id", "")
        raw_args = message.get("args")
        args: list[Any] = raw_args if isinstance(raw_args, list) else []
        reply: dict[str, Any] = {"success": True, "ret_msg": "", "op": op, "conn_id": peer.conn_id, "req_id": req_id}
        if op == "ping":
            peer.peer.send({"req_id": req_id, "op": "pong", "args": [str(ms(self.clock.now_ns()))],
                            "conn_id": peer.conn_id})
        elif op == "auth":
            try:
                peer.api_key = self._authenticate(args)
            except BybitApiError as refused:
                peer.peer.send({**reply, "success": False, "ret_msg": refused.msg})
                return
            peer.peer.send(reply)
        elif op in ("subscribe", "unsubscribe"):
            if peer.api_key is None:
                peer.peer.send({**reply, "success": False, "ret_msg": "Request not authorized"})
                return
            bad = [a for a in args if a not in PRIVATE_TOPICS]
            if bad or not args:
                peer.peer.send({**reply, "success": False, "ret_msg": f"error:handler not found,topic:{bad[:1]}"})
                return
            for topic in args:
                (peer.topics.add if op == "subscribe" else peer.topics.discard)(str(topic))
            peer.peer.send(reply)
        else:
            peer.peer.send({**reply, "success": False, "ret_msg": f"error: unknown op {op!r}"})

    def _authenticate(self, args: list[Any]) -> str:
        if len(args) != 3 or not isinstance(args[0], str) or not isinstance(args[2], str):
            raise BybitApiError(10001, "Params Error")
        key, expires, sign = args
        if isinstance(expires, bool) or not (isinstance(expires, int) or (isinstance(expires, str)
                                                                          and expires.isdigit())):
            raise BybitApiError(10001, "Params Error")
        try:
            secret = self.keys.secret_of(key)
        except BybitApiError:
            raise BybitApiError(10003, "Invalid apikey") from None
        if not hmac.compare_digest(bybit_ws_auth_signature(secret, int(expires)), sign.lower()):
            raise BybitApiError(10004, "Signature verification failed, please check your signature "
                                       "generation algorithm.") from None
        if int(expires) <= ms(self.clock.now_ns()):
            raise BybitApiError(10002, "Params Error: auth request expired")
        return str(key)

    def remove(self, peer: PrivatePeer) -> None:
        """A connection went away."""
        if peer in self.peers:
            self.peers.remove(peer)

    # ------------------------------------------------------------------ venue events

    def _push(self, topic: str, data: list[dict[str, Any]]) -> None:
        now = ms(self.clock.now_ns())
        message = {"id": f"local-{next(self._ids)}", "topic": topic, "creationTime": now, "data": data}
        self.events += 1
        for peer in list(self.peers):
            if peer.peer.closed or peer.api_key is None:
                continue
            if topic in peer.topics or f"{topic}.{self.category}" in peer.topics:
                peer.peer.send(message, message)

    def _on_fill(self, fill: Fill) -> None:
        if self.peers:
            self._push("execution", [execution_json(fill, self.venue.orders.get(fill.client_order_id), self.category)])
            self._on_position(fill.symbol)

    def _on_position(self, symbol: str) -> None:
        if self.linear is not None and self.peers:
            self._push("position", self.linear.position_rows(symbol))

    def _on_order(self, report: OrderReport) -> None:
        order = self.venue.orders.get(report.client_order_id)
        if order is None or not self.peers:
            return
        self._push("order", [order_json(order, self.category)])
        if self.linear is not None:
            self._push("wallet", [self.linear.wallet_push()])
            return
        rules = self.venue.profile.symbols.get(report.symbol)
        if rules is not None:
            balances = self.venue.balances()
            coins = [balances[a] for a in (rules.base_asset, rules.quote_asset) if a in balances]
            self._push("wallet", [wallet_json(coins)])
