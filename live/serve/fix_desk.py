"""The local venue's FIX order desk: order-entry messages to the ``SimVenue``, its events back as reports.

``FixDesk`` is what the FIX acceptor (``live.serve.fix_acceptor``) hands every application
message of a logged-on session to, in the session's dialect (``live.fix.dialects``):

* **NewOrderSingle**: ``venue.submit``; the answer is an ExecutionReport New, then whatever the
  order did at once (Trade reports), or an ExecutionReport Rejected with the venue's message and
  code (``58``, and Binance's ``25016``);
* **OrderCancelRequest**: ``venue.cancel``; a Canceled report (``11`` the cancel's id, ``41`` the
  order's), or an OrderCancelReject (``102`` 1 unknown order, 0 too late);
* **cancel/replace** (``G``, Binance ``XCN``): Coinbase's ``G`` changes the order in place
  (``venue.modify``, a Replaced report with the new ``11``; later requests may name the order by
  either id); Binance's ``XCN`` cancels it and places the new order (Canceled, then New);
* **OrderStatusRequest** (``H``): an ExecutionReport ``150=I`` with the order's state (``39=8`` and
  ``58`` "Unknown order." when the venue has none);
* anything else is answered with a BusinessMessageReject (``380=3`` unsupported message type),
  and a message whose fields cannot be used with a session Reject naming the tag.

Reports of an order go to the session that placed it and to every drop-copy session (which may
not place orders: ``380=4``). Trade ids are the REST ``myTrades`` ids (``VenueActions.trade_ids``),
so a fill seen over FIX and over REST is the same execution. ``reject_filters`` (the
``fix_reject`` fault's seam) turn chosen orders into session Rejects.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from decimal import Decimal
from typing import Any, Protocol

import simplefix

from harness.model import Fill, OrderModification, OrderRequest, OrderStatus, OrderType, Side, TimeInForce
from harness.secrets import safe_logger
from live.fix.dialects.base import FixDialect, FixFieldError
from live.fix.dialects.reports import BusinessReject, CancelReject, ExecKind, ExecutionReport
from live.fix.messages import Field, body_fields, get_int, get_str
from live.serve.actions import VenueActions
from sim.venue.venue import RejectedRequest, VenueOrder

__all__ = ["FixDesk", "FixOutlet"]

logger = safe_logger(__name__)

_ZERO = Decimal(0)
_UPDATES = {OrderStatus.CANCELLED: ExecKind.CANCELED, OrderStatus.EXPIRED: ExecKind.EXPIRED,
            OrderStatus.OPEN: ExecKind.NEW}


class FixOutlet(Protocol):
    """A logged-on session of the acceptor, as the desk sees it."""

    role: str
    """``order_entry`` or ``drop_copy``."""

    def send_app(self, msg_type: str, body: list[Field]) -> None:
        """Send an application message (dropped if the session is not active)."""

    def session_reject(self, ref_seq: int, reason: int, text: str, ref_tag: int | None, ref_msg_type: str) -> None:
        """Send a session-level Reject of the peer's message ``ref_seq``."""


class FixDesk:
    """Order entry over FIX on one ``SimVenue`` (see the module docstring)."""

    def __init__(self, actions: VenueActions, dialect: FixDialect, now: Callable[[], int]) -> None:
        self.actions = actions
        self.venue = actions.venue
        self.dialect = dialect
        self.now = now
        self.outlets: list[FixOutlet] = []
        self.reject_filters: list[Any] = []
        self._owners: dict[str, FixOutlet] = {}
        self._aliases: dict[str, str] = {}  # a replaced order's newer ClOrdID -> the venue's id for it
        self._held: dict[str, list[ExecutionReport]] | None = None
        self._after_fill: set[str] = set()
        self._exec_ids = 0
        self._reply_ids: dict[str, tuple[str, str]] = {}  # venue coid -> (11, 41) of the next report
        self.venue.order_listeners.append(self._on_order)
        self.venue.fill_listeners.append(self._on_fill)

    # ------------------------------------------------------------------ inbound

    def handle(self, outlet: FixOutlet, message: simplefix.FixMessage) -> None:
        """One application message from ``outlet``'s session."""
        msg_type = get_str(message, 35) or ""
        seq = get_int(message, 34) or 0
        handlers = {self.dialect.new_order_type: self._new_order, self.dialect.cancel_type: self._cancel,
                    self.dialect.replace_type: self._replace, "H": self._status}
        handler = handlers.get(msg_type)
        if handler is None:
            self._business_reject(outlet, msg_type, seq, 3, f"Unsupported message type {msg_type}.")
            return
        if outlet.role != "order_entry":
            self._business_reject(outlet, msg_type, seq, 4, "Drop copy sessions do not accept orders.")
            return
        try:
            handler(outlet, message)
        except FixFieldError as bad:
            outlet.session_reject(seq, bad.reason, bad.text, bad.tag, msg_type)
        except (ValueError, ArithmeticError, RejectedRequest) as unusable:  # never a crash: a clear refusal
            logger.info("fix desk: %s %d refused: %s", msg_type, seq, unusable)
            self._business_reject(outlet, msg_type, seq, 0, f"Message refused: {unusable}")

    def _business_reject(self, outlet: FixOutlet, msg_type: str, seq: int, reason: int, text: str) -> None:
        outlet.send_app("j", self.dialect.business_reject(BusinessReject(msg_type, reason, "", seq, text)))

    def _new_order(self, outlet: FixOutlet, message: simplefix.FixMessage) -> None:
        request = self.dialect.read_new_order(message, self.venue.name)
        if any(f.rejects(self.now()) for f in self.reject_filters):
            outlet.session_reject(get_int(message, 34) or 0, 5, "Order refused (injected reject).", None,
                                  self.dialect.new_order_type)
            return
        self._place(outlet, request)

    def _place(self, outlet: FixOutlet, request: OrderRequest) -> None:
        held: dict[str, list[ExecutionReport]] = {}
        self._held = held
        try:
            self.venue.submit(request)
        except RejectedRequest as refused:
            rejection = refused.rejection
            self._send(outlet, self._rejected(request, rejection.message, str(rejection.code)))
            return
        finally:
            self._held = None
        coid = request.client_order_id
        self._owners[coid] = outlet
        self._aliases.pop(coid, None)
        order = self.venue.orders[coid]
        new = self._report(order, ExecKind.NEW, None)
        self._emit(coid, replace(new, status=OrderStatus.OPEN, cum_qty=_ZERO, leaves_qty=request.quantity,
                                 avg_px=None, cum_quote=_ZERO, ts_ns=order.created_ns))
        for report in held.get(coid, []):
            self._emit(coid, report)

    def _resolve(self, cl_ord_id: str, order_id: str) -> VenueOrder | None:
        coid = self._aliases.get(cl_ord_id, cl_ord_id)
        if not coid and order_id:
            coid = next((c for c, o in self.venue.orders.items() if o.venue_order_id == order_id), "")
        return self.venue.orders.get(coid)

    def _cancel(self, outlet: FixOutlet, message: simplefix.FixMessage) -> None:
        cancel = self.dialect.read_cancel(message)
        order = self._resolve(cancel.orig_cl_ord_id, cancel.order_id)
        if order is None or order.request.symbol != cancel.symbol or order.status.is_terminal:
            self._cancel_reject(outlet, cancel.cl_ord_id, cancel.orig_cl_ord_id, order, for_replace=False)
            return
        coid = order.request.client_order_id
        self._reply_ids[coid] = (cancel.cl_ord_id or coid, cancel.orig_cl_ord_id or coid)
        try:
            self.venue.cancel(order.request.symbol, coid)
        except RejectedRequest:
            self._reply_ids.pop(coid, None)
            self._cancel_reject(outlet, cancel.cl_ord_id, cancel.orig_cl_ord_id, order, for_replace=False)

    def _replace(self, outlet: FixOutlet, message: simplefix.FixMessage) -> None:
        change = self.dialect.read_replace(message)
        order = self._resolve(change.orig_cl_ord_id, change.order_id)
        if order is None or order.request.symbol != change.symbol or order.status.is_terminal:
            self._cancel_reject(outlet, change.cl_ord_id, change.orig_cl_ord_id, order, for_replace=True)
            return
        coid = order.request.client_order_id
        if self.dialect.replace_type == "XCN":  # Binance: cancel, then the new order under its own id
            cancel_id = get_str(message, 25034) or coid
            self._reply_ids[coid] = (cancel_id, change.orig_cl_ord_id or coid)
            self.venue.cancel(order.request.symbol, coid)
            self._place(outlet, OrderRequest(change.cl_ord_id, self.venue.name, change.symbol, change.side,
                                             change.order_type, change.quantity, price=change.price,
                                             time_in_force=change.time_in_force))
            return
        try:
            self.venue.modify(order.request.symbol, coid, OrderModification(change.price, change.quantity))
        except RejectedRequest as refused:
            self._cancel_reject(outlet, change.cl_ord_id, change.orig_cl_ord_id, order, for_replace=True,
                                text=refused.rejection.message)
            return
        self._aliases[change.cl_ord_id] = coid
        self._emit(coid, self._report(order, ExecKind.REPLACED, None, cl_ord_id=change.cl_ord_id,
                                      orig=change.orig_cl_ord_id or coid))

    def _status(self, outlet: FixOutlet, message: simplefix.FixMessage) -> None:
        fields = dict(body_fields(message))
        order = self._resolve(fields.get(11, ""), fields.get(37, ""))
        if order is None or order.request.symbol != fields.get(55):
            self._exec_ids += 1
            side = Side.BUY if fields.get(54, "1") == "1" else Side.SELL
            outlet.send_app("8", self.dialect.execution(ExecutionReport(
                kind=ExecKind.STATUS, status=OrderStatus.REJECTED, cl_ord_id=fields.get(11, ""), order_id="",
                exec_id=str(self._exec_ids), symbol=fields.get(55, ""), side=side, order_type=OrderType.LIMIT,
                quantity=_ZERO, cum_qty=_ZERO, leaves_qty=_ZERO, avg_px=None, price=None, ts_ns=self.now(),
                text="Unknown order.")))
            return
        report = self._report(order, ExecKind.STATUS, None, cl_ord_id=fields.get(11, ""))
        outlet.send_app("8", self.dialect.execution(replace(report, ts_ns=order.updated_ns)))

    def _cancel_reject(self, outlet: FixOutlet, cl_ord_id: str, orig: str, order: VenueOrder | None, *,
                       for_replace: bool, text: str = "") -> None:
        too_late = order is not None and order.status.is_terminal
        status = order.status if order is not None else OrderStatus.REJECTED
        reject = CancelReject(cl_ord_id, orig, order.venue_order_id if order is not None else "", status,
                              for_replace, 0 if too_late else 1,
                              text or ("Order is already closed." if too_late else "Unknown order sent."))
        outlet.send_app("9", self.dialect.cancel_reject(reject))

    # ------------------------------------------------------------------ venue events

    def _on_fill(self, fill: Fill) -> None:
        order = self.venue.orders.get(fill.client_order_id)
        if order is None:
            return
        self._after_fill.add(fill.client_order_id)
        self._emit(fill.client_order_id, self._report(order, ExecKind.TRADE, fill))

    def _on_order(self, report: Any) -> None:
        coid = report.client_order_id
        if coid in self._after_fill:
            self._after_fill.discard(coid)
            return
        kind = _UPDATES.get(report.status)
        order = self.venue.orders.get(coid)
        if kind is None or order is None or (kind is ExecKind.NEW and self._held is not None):
            return
        cl_ord_id, orig = self._reply_ids.pop(coid, (coid, ""))
        self._emit(coid, self._report(order, kind, None, cl_ord_id=cl_ord_id, orig=orig))

    # ------------------------------------------------------------------ reports

    def _report(self, order: VenueOrder, kind: ExecKind, fill: Fill | None, *, cl_ord_id: str = "",
                orig: str = "") -> ExecutionReport:
        self._exec_ids += 1
        request = order.request
        average = order.cum_quote / order.filled if order.filled else None
        leaves = request.quantity - order.filled if not order.status.is_terminal else _ZERO
        return ExecutionReport(
            kind=kind, status=order.status, cl_ord_id=cl_ord_id or request.client_order_id,
            order_id=order.venue_order_id, exec_id=str(self._exec_ids), symbol=request.symbol, side=request.side,
            order_type=request.order_type, quantity=request.quantity, cum_qty=order.filled, leaves_qty=leaves,
            avg_px=average, price=request.price, ts_ns=fill.ts_ns if fill is not None else order.updated_ns,
            time_in_force=request.time_in_force if request.time_in_force in self.dialect.tifs else TimeInForce.GTC,
            orig_cl_ord_id=orig, last_qty=fill.quantity if fill else _ZERO, last_px=fill.price if fill else _ZERO,
            fee=fill.fee if fill else _ZERO, fee_asset=fill.fee_asset if fill else "",
            liquidity=fill.liquidity if fill else None,
            trade_id=self.actions.trade_ids.of(fill) if fill is not None else None, cum_quote=order.cum_quote)

    def _rejected(self, request: OrderRequest, text: str, code: str) -> ExecutionReport:
        self._exec_ids += 1
        return ExecutionReport(
            kind=ExecKind.REJECTED, status=OrderStatus.REJECTED, cl_ord_id=request.client_order_id, order_id="",
            exec_id=str(self._exec_ids), symbol=request.symbol, side=request.side, order_type=request.order_type,
            quantity=request.quantity, cum_qty=_ZERO, leaves_qty=_ZERO, avg_px=None, price=request.price,
            ts_ns=self.now(), time_in_force=request.time_in_force, text=text, error_code=code)

    def _emit(self, coid: str, report: ExecutionReport) -> None:
        if self._held is not None:  # inside a submit: the New report goes first
            self._held.setdefault(coid, []).append(report)
            return
        owner = self._owners.get(coid)
        if owner is not None:
            self._send(owner, report)
        for outlet in self.outlets:
            if outlet.role == "drop_copy" and outlet is not owner:
                self._send(outlet, report)

    def _send(self, outlet: FixOutlet, report: ExecutionReport) -> None:
        outlet.send_app("8", self.dialect.execution(report))
