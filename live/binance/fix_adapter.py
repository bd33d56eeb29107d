"""``BinanceFixAdapter``: Binance Spot with order entry over FIX 4.4, everything else as ``BinanceAdapter``.

Orders go over one FIX order-entry session in the Binance dialect (``live.fix.dialects.binance``:
Ed25519 logon, ``D``, ``F``; ``live.fix.order_entry``); their ExecutionReports are the order
updates and fills the adapter pushes (the WS-API user-data stream is not opened). Market data,
account, order queries and venue info stay on Binance's REST and market streams
(``live.binance``), so the adapter needs two credentials: the REST key (HMAC) and the FIX key
(Ed25519, the PEM private key as its secret).

* A refused order is the ExecutionReport Rejected's ``58``/``25016`` typed as REST's would be
  (``live.rest.errors.binance_error``); an OrderCancelReject is ``OrderNotFoundError`` (unknown
  order) or ``InvalidRequestError`` (too late); a session Reject or BusinessMessageReject is an
  ``InvalidRequestError``; no answer, or the session lost meanwhile, is ``AmbiguousError``.
* A fill's execution id is ``SYMBOL-TradeID`` (``1003``), as over REST and the user-data stream,
  and its time is TransactTime in ms (Binance's trade time), so pushed and queried fills are equal.
* With a ``drop_copy`` endpoint the pushed updates and fills come from a drop-copy session (every
  execution of the account, also of orders other sessions placed), the order-entry session's
  reports only answer requests.
* Binance Spot's FIX has no amend-in-place for price (``XCN`` is a cancel and a new order under
  another ClOrdID), so ``modify_order`` is refused as ``NotSupportedError``, as over REST.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from harness.clock import Clock
from harness.contract import InvalidRequestError, NotSupportedError, OrderNotFoundError, RetryableError, VenueError
from harness.model import OrderModification, OrderReport, OrderRequest, Side
from harness.registry import Credentials
from live.binance import codec
from live.binance.adapter import BinanceAdapter
from live.binance.endpoints import BinanceEndpoints
from live.fix.dialects.binance import BINANCE_FIX
from live.fix.dialects.reports import BusinessReject, CancelReject, ExecKind, ExecutionReport
from live.fix.log import FixLogSink
from live.fix.order_entry import Answer, FixEndpoint, FixOrderEntry, SessionReject
from live.rest.errors import binance_error

__all__ = ["BinanceFixAdapter", "fix_answer_error"]

_MS = 1_000_000


def fix_answer_error(answer: Answer, venue: str) -> VenueError:
    """The contract error of a refusal (a Rejected report, a cancel reject, a session or business reject)."""
    if isinstance(answer, ExecutionReport):
        code = answer.error_code
        number = int(code) if code.lstrip("-").isdigit() else None
        if number is not None:
            return binance_error(400, code=number, message=answer.text, retry_after_s=None, order_entry=True,
                                 venue=venue)
        return InvalidRequestError(answer.text or "order rejected", venue=venue, code=code or None)
    if isinstance(answer, CancelReject):
        cls = OrderNotFoundError if answer.reason == 1 else InvalidRequestError
        return cls(answer.text or "cancel rejected", venue=venue, code=answer.reason)
    if isinstance(answer, BusinessReject):
        cls = NotSupportedError if answer.reason == 3 else InvalidRequestError
        return cls(answer.text or "business reject", venue=venue, code=answer.reason)
    assert isinstance(answer, SessionReject)
    return InvalidRequestError(f"FIX session reject: {answer.text}", venue=venue)


class BinanceFixAdapter(BinanceAdapter):
    """Binance Spot, orders over FIX (see the module docstring)."""

    def __init__(self, endpoints: BinanceEndpoints, credentials: Credentials, fix_credentials: Credentials,
                 fix: FixEndpoint, clock: Clock, *, drop_copy: FixEndpoint | None = None,
                 fix_log: FixLogSink | None = None, **options: Any) -> None:
        super().__init__(endpoints, credentials, clock, **options)
        self.fix = FixOrderEntry(BINANCE_FIX, fix_credentials, fix, clock, venue=self.venue, log=fix_log,
                                 on_report=self._on_fix_report if drop_copy is None else self._on_answer_report)
        self.drop_copy: FixOrderEntry | None = None
        """With ``drop_copy``, pushed updates and fills come from a drop-copy session (every execution of
        the account, whichever session placed the order); the order-entry session then only answers."""
        if drop_copy is not None:
            self.drop_copy = FixOrderEntry(BINANCE_FIX, fix_credentials, drop_copy, clock, venue=self.venue,
                                           role="drop_copy", log=fix_log, on_report=self._on_fix_report)
        self._fix_orders: dict[str, OrderReport] = {}
        self._cancels = 0

    async def connect(self) -> None:
        """Sync the clock, open the market streams, log on to FIX order entry."""
        if self._connected:
            return
        await self.rest.sync_time()
        self._connected = True
        try:
            await self.streams.start()
            if self.drop_copy is not None:
                await self.drop_copy.start()
            await self.fix.start()
        except BaseException:
            await self.disconnect()
            raise

    async def disconnect(self) -> None:
        """Log out of FIX, close the streams and REST."""
        self._connected = False
        await self.fix.stop()
        if self.drop_copy is not None:
            await self.drop_copy.stop()
        await super().disconnect()

    async def sync_streams(self) -> None:
        """A round trip on the market streams and a TestRequest on the FIX session (a delivery barrier)."""
        await self.streams.round_trip()
        await self.fix.round_trip()
        if self.drop_copy is not None:
            await self.drop_copy.round_trip()

    # ------------------------------------------------------------------ order entry over FIX

    def _order_of(self, report: ExecutionReport) -> OrderReport:
        """The order a report describes, under its own client order id (a cancel's report names both)."""
        coid = report.orig_cl_ord_id if report.kind in (ExecKind.CANCELED, ExecKind.REPLACED) and \
            report.orig_cl_ord_id else report.cl_ord_id
        order = replace(report.order_report(self._venue), client_order_id=coid)
        self._fix_orders[coid] = self._remember(order)
        return order

    def _on_answer_report(self, report: ExecutionReport) -> None:
        if report.kind is not ExecKind.REJECTED:  # the drop copy pushes; this keeps what submit returns
            self._order_of(report)

    def _on_fix_report(self, report: ExecutionReport) -> None:
        if report.kind is ExecKind.REJECTED:  # the answer to a request, raised there; no order changed
            return
        order = self._order_of(report)
        coid = order.client_order_id
        if report.trade_id is not None:
            fill = report.fill(self._venue, codec.fill_id(report.symbol, report.trade_id))
            if fill is not None:
                fill = replace(fill, client_order_id=coid, ts_ns=fill.ts_ns - fill.ts_ns % _MS)
                for fill_callback in list(self._fill_subs):
                    fill_callback(fill)
        for callback in list(self._order_subs):
            callback(order)

    async def _ask(self, msg_type: str, body: list[Any], key: str) -> Answer:
        if not self._connected:
            raise RetryableError(f"FIX {msg_type}: not connected", venue=self._venue)
        return await self.fix.request(msg_type, body, key)

    async def submit_order(self, request: OrderRequest) -> OrderReport:
        """A NewOrderSingle; the order as its reports so far describe it (New, or already trading)."""
        try:
            msg_type, body = self.fix.dialect.new_order(request, self._clock.now_ns())
        except ValueError as unsupported:
            raise NotSupportedError(str(unsupported), venue=self._venue) from None
        answer = await self._ask(msg_type, body, request.client_order_id)
        if not isinstance(answer, ExecutionReport) or answer.kind is ExecKind.REJECTED:
            raise fix_answer_error(answer, self._venue)
        return self._fix_orders.get(request.client_order_id) or answer.order_report(self._venue)

    async def cancel_order(self, symbol: str, client_order_id: str) -> OrderReport:
        """An OrderCancelRequest by OrigClOrdID; the Canceled report, or the reject as an error."""
        self._cancels += 1
        cancel_id = f"x{self._cancels}-{client_order_id}"[:36]
        known = self._fix_orders.get(client_order_id)
        side: Side | None = known.side if known is not None else None
        msg_type, body = self.fix.dialect.cancel(cancel_id, client_order_id, symbol, side, self._clock.now_ns())
        answer = await self._ask(msg_type, body, cancel_id)
        if not isinstance(answer, ExecutionReport) or answer.kind is not ExecKind.CANCELED:
            raise fix_answer_error(answer, self._venue)
        return self._fix_orders.get(client_order_id) or answer.order_report(self._venue)

    async def modify_order(self, symbol: str, client_order_id: str,
                           modification: OrderModification) -> OrderReport:
        """Binance Spot FIX has no in-place modify (``XCN`` replaces the order): ``NotSupportedError``."""
        raise NotSupportedError("Binance spot FIX has no native order modification; cancel and replace",
                                venue=self._venue)
