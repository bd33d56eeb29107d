"""What FIX order entry says, dialect-neutral: execution reports, cancel rejects, business rejects, requests.

Each dialect (``live.fix.dialects.binance``, ``.coinbase``) writes and reads these in its own
tags and codes; the client adapters and the local venue's acceptor only see these types, so
the two ends of a FIX link are symmetric (a dialect's writer and reader are tested round trip).
Money is ``Decimal``; times are ns since the epoch.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from enum import StrEnum

from harness.model import Fill, Liquidity, OrderReport, OrderStatus, OrderType, Side, TimeInForce

__all__ = ["BusinessReject", "CancelReject", "CancelRequest", "ExecKind", "ExecutionReport", "ReplaceRequest"]


class ExecKind(StrEnum):
    """What an execution report reports (FIX ExecType, dialect-neutral)."""

    NEW = "NEW"
    TRADE = "TRADE"
    CANCELED = "CANCELED"
    REPLACED = "REPLACED"
    REJECTED = "REJECTED"
    EXPIRED = "EXPIRED"
    STATUS = "STATUS"


@dataclass(frozen=True, slots=True)
class ExecutionReport:
    """One ExecutionReport (35=8): the order's state after an event, and the trade when there is one."""

    kind: ExecKind
    status: OrderStatus
    cl_ord_id: str
    order_id: str
    exec_id: str
    symbol: str
    side: Side
    order_type: OrderType
    quantity: Decimal
    cum_qty: Decimal
    leaves_qty: Decimal
    avg_px: Decimal | None
    price: Decimal | None
    ts_ns: int
    time_in_force: TimeInForce = TimeInForce.GTC
    orig_cl_ord_id: str = ""
    last_qty: Decimal = Decimal(0)
    last_px: Decimal = Decimal(0)
    fee: Decimal = Decimal(0)
    fee_asset: str = ""
    liquidity: Liquidity | None = None
    trade_id: int | None = None
    cum_quote: Decimal = Decimal(0)
    text: str = ""
    error_code: str = ""

    def order_report(self, venue: str) -> OrderReport:
        """The contract's view of the order this report describes."""
        return OrderReport(venue=venue, symbol=self.symbol, client_order_id=self.cl_ord_id,
                           venue_order_id=self.order_id,
                           status=self.status, side=self.side, order_type=self.order_type, quantity=self.quantity,
                           filled_quantity=self.cum_qty, price=self.price, average_price=self.avg_px, ts_ns=self.ts_ns,
                           time_in_force=self.time_in_force, reason=self.text)

    def fill(self, venue: str, execution_id: str) -> Fill | None:
        """The ``Fill`` of a trade report (``None`` for any other kind); ``execution_id`` as the venue names it."""
        if self.kind is not ExecKind.TRADE:
            return None
        return Fill(venue, self.symbol, execution_id, self.cl_ord_id, self.order_id, self.side, self.last_px,
                    self.last_qty, self.fee, self.fee_asset, self.liquidity or Liquidity.TAKER, self.ts_ns)


@dataclass(frozen=True, slots=True)
class CancelReject:
    """An OrderCancelReject (35=9): a cancel (``for_replace`` False) or cancel/replace the venue refused."""

    cl_ord_id: str
    orig_cl_ord_id: str
    order_id: str
    status: OrderStatus
    for_replace: bool
    reason: int
    text: str = ""
    error_code: str = ""


@dataclass(frozen=True, slots=True)
class BusinessReject:
    """A BusinessMessageReject (35=j): a well-formed message the application refused."""

    ref_msg_type: str
    reason: int
    ref_id: str = ""
    ref_seq_num: int | None = None
    text: str = ""


@dataclass(frozen=True, slots=True)
class CancelRequest:
    """An OrderCancelRequest as the venue reads it: the cancel's own id and the order it targets."""

    cl_ord_id: str
    orig_cl_ord_id: str
    order_id: str
    symbol: str


@dataclass(frozen=True, slots=True)
class ReplaceRequest:
    """A cancel/replace (35=G, or Binance's XCN): the order to replace and its new terms."""

    cl_ord_id: str
    orig_cl_ord_id: str
    order_id: str
    symbol: str
    side: Side
    order_type: OrderType
    quantity: Decimal
    price: Decimal | None
    time_in_force: TimeInForce = TimeInForce.GTC
