"""``FixDialect``: standard FIX order entry (NewOrderSingle, cancel, cancel/replace, execution reports,
cancel rejects, business rejects), written and read in one place, with the codes a venue may change.

A dialect is the pair of a venue's logon (credentials and signature: the subclasses) and its
order-entry tags. The standard parts come from QuickFIX's ``FIX44.xml`` (``spec/venues.md`` §3):
``D`` ``11, 55, 54, 60, 38, 40, 44, 59``; ``F`` ``41|37, 11, 55``; ``8`` ``37, 17, 150, 39, 55,
54, 151, 14, 6`` (+``11, 41, 31, 32, 38, 44, 60, 58``); ``9`` ``37, 11, 41, 39, 434, 102``; ``j``
``372, 380`` (+``45, 379, 58``). Writers give the venue side (the local venue's acceptor) and the
client side the same fields, so every writer is tested against its reader. Readers refuse what
they cannot use with ``FixFieldError`` naming the tag (an acceptor answers with a session Reject).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from types import MappingProxyType

import simplefix

from harness.model import Liquidity, OrderRequest, OrderStatus, OrderType, Side, TimeInForce
from harness.registry import Credentials
from live.fix.dialects.reports import (
    BusinessReject,
    CancelReject,
    CancelRequest,
    ExecKind,
    ExecutionReport,
    ReplaceRequest,
)
from live.fix.messages import Field, body_fields, sending_time
from live.fix.orders import parse_utc_timestamp
from live.fix.session_types import LogonContext
from live.signing import format_value

__all__ = ["FixDialect", "FixFieldError", "FixKey", "LogonRefused", "liquidity_flag"]

_Z = Decimal(0)


class FixFieldError(ValueError):
    """A field is missing or unusable: ``tag`` names it; ``reason`` is the SessionRejectReason (1 missing, 5 bad)."""

    def __init__(self, tag: int, text: str, reason: int = 5) -> None:
        super().__init__(f"tag {tag}: {text}")
        self.tag = tag
        self.reason = reason
        self.text = text


class LogonRefused(Exception):  # noqa: N818  (the venue's answer, not a failure of ours)
    """The venue refuses a Logon; the text goes in the Logout (it never contains a credential)."""


@dataclass(frozen=True, slots=True)
class FixKey:
    """What the venue holds of one API key: the verifying key (Ed25519 public PEM) or HMAC secret, and a passphrase."""

    secret: str = field(repr=False)
    passphrase: str | None = field(default=None, repr=False)


def _decimal(fields: Mapping[int, str], tag: int, *, required: bool = False) -> Decimal | None:
    text = fields.get(tag)
    if text is None or text == "":
        if required:
            raise FixFieldError(tag, "required tag missing", 1)
        return None
    try:
        value = Decimal(text)
    except InvalidOperation:
        raise FixFieldError(tag, f"{text!r} is not a decimal") from None
    if not value.is_finite():
        raise FixFieldError(tag, f"{text!r} is not finite")
    return value


def _required(fields: Mapping[int, str], tag: int) -> str:
    text = fields.get(tag)
    if not text:
        raise FixFieldError(tag, "required tag missing", 1)
    return text


def _code(table: Mapping[str, object], fields: Mapping[int, str], tag: int, default: str | None = None) -> str:
    text = fields.get(tag, default)
    if text is None:
        raise FixFieldError(tag, "required tag missing", 1)
    if text not in table:
        raise FixFieldError(tag, f"unsupported value {text!r}")
    return text


class FixDialect:
    """Standard FIX 4.4 order entry; subclasses set the venue's logon and the codes that differ."""

    name = "fix"
    begin_string = "FIX.4.4"
    venue_comp_id = "VENUE"
    new_order_type = "D"
    cancel_type = "F"
    replace_type = "G"
    post_only_inst = "6"
    has_exec_trans_type = False
    """FIX 4.2 execution reports carry ``20 ExecTransType`` (0 new)."""
    ord_types: Mapping[OrderType, str] = MappingProxyType({
        OrderType.MARKET: "1", OrderType.LIMIT: "2", OrderType.STOP_MARKET: "3", OrderType.STOP_LIMIT: "4"})
    tifs: Mapping[TimeInForce, str] = MappingProxyType({TimeInForce.GTC: "1", TimeInForce.IOC: "3",
                                                       TimeInForce.FOK: "4"})
    exec_types: Mapping[ExecKind, str] = MappingProxyType({
        ExecKind.NEW: "0", ExecKind.TRADE: "F", ExecKind.CANCELED: "4", ExecKind.REPLACED: "5",
        ExecKind.REJECTED: "8", ExecKind.EXPIRED: "C", ExecKind.STATUS: "I"})
    statuses: Mapping[OrderStatus, str] = MappingProxyType({
        OrderStatus.OPEN: "0", OrderStatus.PARTIALLY_FILLED: "1", OrderStatus.FILLED: "2", OrderStatus.CANCELLED: "4",
        OrderStatus.PENDING_CANCEL: "6", OrderStatus.REJECTED: "8", OrderStatus.PENDING: "A",
        OrderStatus.EXPIRED: "C", OrderStatus.PENDING_MODIFY: "E"})

    # ------------------------------------------------------------------ logon (the subclasses)

    def logon_fields(self, context: LogonContext, credentials: Credentials) -> list[Field]:
        """The extra Logon fields (credentials, signature, venue flags) for ``context``."""
        raise NotImplementedError

    def verify_logon(self, message: simplefix.FixMessage, keys: Mapping[str, FixKey], now_ns: int) -> str:
        """The API key of a valid Logon; ``LogonRefused`` otherwise."""
        raise NotImplementedError

    # ------------------------------------------------------------------ client to venue

    def new_order(self, request: OrderRequest, now_ns: int) -> tuple[str, list[Field]]:
        """``(MsgType, body)`` of the NewOrderSingle for ``request``."""
        ord_type = self.ord_types.get(request.order_type)
        tif = self.tifs.get(request.time_in_force)
        if ord_type is None or tif is None:
            raise ValueError(f"{self.name} FIX has no code for "
                             f"{request.order_type.value}/{request.time_in_force.value}")
        fields: list[Field] = [(11, request.client_order_id), (38, format_value(request.quantity)), (40, ord_type)]
        if request.price is not None and request.order_type in (OrderType.LIMIT, OrderType.STOP_LIMIT):
            fields.append((44, format_value(request.price)))
        fields += [(54, "1" if request.side is Side.BUY else "2"), (55, request.symbol)]
        if request.order_type is not OrderType.MARKET:
            fields.append((59, tif))
        fields.append((60, sending_time(now_ns)))
        if request.stop_price is not None:
            fields.append((99, format_value(request.stop_price)))
        if request.post_only:
            fields.append((18, self.post_only_inst))
        return self.new_order_type, sorted(fields)

    def cancel(self, cl_ord_id: str, orig_cl_ord_id: str, symbol: str, side: Side | None, now_ns: int
               ) -> tuple[str, list[Field]]:
        """``(MsgType, body)`` of an OrderCancelRequest for the order ``orig_cl_ord_id`` (``54`` when known)."""
        fields: list[Field] = [(11, cl_ord_id), (41, orig_cl_ord_id)]
        if side is not None:
            fields.append((54, "1" if side is Side.BUY else "2"))
        return self.cancel_type, [*fields, (55, symbol), (60, sending_time(now_ns))]

    def status_request(self, cl_ord_id: str, symbol: str) -> tuple[str, list[Field]]:
        """``(MsgType, body)`` of an OrderStatusRequest (``H``): answered by an ExecutionReport ``150=I``."""
        return "H", [(11, cl_ord_id), (55, symbol)]

    def replace(self, request: ReplaceRequest, now_ns: int) -> tuple[str, list[Field]]:
        """``(MsgType, body)`` of an OrderCancelReplaceRequest."""
        fields: list[Field] = [(11, request.cl_ord_id), (38, format_value(request.quantity)),
                               (40, self.ord_types[request.order_type]), (41, request.orig_cl_ord_id)]
        if request.order_id:
            fields.append((37, request.order_id))
        if request.price is not None:
            fields.append((44, format_value(request.price)))
        fields += [(54, "1" if request.side is Side.BUY else "2"), (55, request.symbol),
                   (59, self.tifs[request.time_in_force]), (60, sending_time(now_ns))]
        return self.replace_type, sorted(fields)

    # ------------------------------------------------------------------ the venue reads them

    def read_new_order(self, message: simplefix.FixMessage, venue: str) -> OrderRequest:
        """The ``OrderRequest`` a NewOrderSingle carries; ``FixFieldError`` names a bad or missing tag."""
        fields = dict(body_fields(message))
        ord_types = {code: kind for kind, code in self.ord_types.items()}
        tifs = {code: tif for tif, code in self.tifs.items()}
        order_type = ord_types[_code(ord_types, fields, 40)]
        side = Side.BUY if _code({"1": 0, "2": 0}, fields, 54) == "1" else Side.SELL
        tif = tifs[_code(tifs, fields, 59, "1")]
        quantity = _decimal(fields, 38, required=True)
        assert quantity is not None
        if quantity <= 0:
            raise FixFieldError(38, f"OrderQty must be positive, got {quantity}")
        price = _decimal(fields, 44, required=order_type in (OrderType.LIMIT, OrderType.STOP_LIMIT))
        stop = _decimal(fields, 99, required=order_type in (OrderType.STOP_MARKET, OrderType.STOP_LIMIT))
        return OrderRequest(_required(fields, 11), venue, _required(fields, 55), side, order_type, quantity,
                            price=price, stop_price=stop, time_in_force=tif,
                            post_only=self.post_only_inst in fields.get(18, "").split())

    def read_cancel(self, message: simplefix.FixMessage) -> CancelRequest:
        """The OrderCancelRequest's ids; it must name the order by ``41`` or ``37``."""
        fields = dict(body_fields(message))
        if not fields.get(41) and not fields.get(37):
            raise FixFieldError(41, "OrigClOrdID or OrderID required", 1)
        return CancelRequest(fields.get(11, ""), fields.get(41, ""), fields.get(37, ""), _required(fields, 55))

    def read_replace(self, message: simplefix.FixMessage) -> ReplaceRequest:
        """The cancel/replace's target and new terms."""
        order = self.read_new_order(message, "")
        fields = dict(body_fields(message))
        if not fields.get(41) and not fields.get(37):
            raise FixFieldError(41, "OrigClOrdID or OrderID required", 1)
        return ReplaceRequest(order.client_order_id, fields.get(41, ""), fields.get(37, ""), order.symbol, order.side,
                              order.order_type, order.quantity, order.price, order.time_in_force)

    # ------------------------------------------------------------------ venue to client

    def exec_type_of(self, report: ExecutionReport) -> str:
        """The ExecType code of ``report`` (FIX 4.2 dialects tell partial and full fills apart)."""
        return self.exec_types[report.kind]

    def execution(self, report: ExecutionReport) -> list[Field]:
        """The body of an ExecutionReport (standard fields; ``execution_extras`` adds the venue's)."""
        fields: list[Field] = [(6, format_value(report.avg_px or _Z)), (11, report.cl_ord_id),
                               (14, format_value(report.cum_qty)), (17, report.exec_id)]
        if self.has_exec_trans_type:
            fields.append((20, "3" if report.kind is ExecKind.STATUS else "0"))
        fields += [(31, format_value(report.last_px)), (32, format_value(report.last_qty)),
                   (37, report.order_id or "NONE"), (38, format_value(report.quantity)),
                   (39, self.statuses[report.status]), (40, self.ord_types[report.order_type])]
        if report.orig_cl_ord_id:
            fields.append((41, report.orig_cl_ord_id))
        if report.price is not None:
            fields.append((44, format_value(report.price)))
        fields += [(54, "1" if report.side is Side.BUY else "2"), (55, report.symbol),
                   (59, self.tifs.get(report.time_in_force, "1")), (60, _stamp_us(report.ts_ns))]
        if report.text:
            fields.append((58, report.text))
        fields += [(150, self.exec_type_of(report)), (151, format_value(report.leaves_qty))]
        return sorted(fields + self.execution_extras(report))

    def execution_extras(self, report: ExecutionReport) -> list[Field]:
        """Venue-specific ExecutionReport fields (trade id, aggressor, fees, error code)."""
        return []

    def read_execution(self, message: simplefix.FixMessage) -> ExecutionReport:
        """An ExecutionReport as a dialect-neutral ``ExecutionReport``."""
        fields = dict(body_fields(message))
        kinds = {code: kind for kind, code in self.exec_types.items()} | self.extra_exec_types()
        statuses = {code: status for status, code in self.statuses.items()}
        ord_types = {code: kind for kind, code in self.ord_types.items()}
        tifs = {code: tif for tif, code in self.tifs.items()}
        stamp = fields.get(60)
        try:
            ts_ns = parse_utc_timestamp(stamp) if stamp else 0
        except ValueError:
            raise FixFieldError(60, f"bad TransactTime {stamp!r}") from None
        qty = _decimal(fields, 38) or _Z
        cum = _decimal(fields, 14, required=True) or _Z
        avg = _decimal(fields, 6)
        report = ExecutionReport(
            kind=kinds[_code(kinds, fields, 150)], status=statuses[_code(statuses, fields, 39)],
            cl_ord_id=fields.get(11, ""), order_id=_order_id(_required(fields, 37)), exec_id=_required(fields, 17),
            symbol=_required(fields, 55), side=Side.BUY if _code({"1": 0, "2": 0}, fields, 54) == "1" else Side.SELL,
            order_type=ord_types[_code(ord_types, fields, 40, "2")], quantity=qty, cum_qty=cum,
            leaves_qty=_decimal(fields, 151, required=True) or _Z, avg_px=avg if cum else None,
            price=_decimal(fields, 44), ts_ns=ts_ns, time_in_force=tifs.get(fields.get(59, "1"), TimeInForce.GTC),
            orig_cl_ord_id=fields.get(41, ""), last_qty=_decimal(fields, 32) or _Z,
            last_px=_decimal(fields, 31) or _Z, text=fields.get(58, ""))
        return self.read_execution_extras(report, fields)

    def extra_exec_types(self) -> dict[str, ExecKind]:
        """More ExecType codes the reader accepts (FIX 4.2's 1 and 2 for fills)."""
        return {}

    def read_execution_extras(self, report: ExecutionReport, fields: Mapping[int, str]) -> ExecutionReport:
        """``report`` completed from the venue's own fields."""
        return report

    def cancel_reject(self, reject: CancelReject) -> list[Field]:
        """The body of an OrderCancelReject."""
        fields: list[Field] = [(11, reject.cl_ord_id), (37, reject.order_id or "NONE"),
                               (39, self.statuses.get(reject.status, "8")), (41, reject.orig_cl_ord_id),
                               (102, str(reject.reason)), (434, "2" if reject.for_replace else "1")]
        if reject.text:
            fields.append((58, reject.text))
        return sorted(fields)

    def read_cancel_reject(self, message: simplefix.FixMessage) -> CancelReject:
        """An OrderCancelReject."""
        fields = dict(body_fields(message))
        statuses = {code: status for status, code in self.statuses.items()}
        reason = fields.get(102, "99")
        return CancelReject(fields.get(11, ""), fields.get(41, ""), _order_id(fields.get(37, "")),
                            statuses.get(fields.get(39, "8"), OrderStatus.REJECTED), fields.get(434) == "2",
                            int(reason) if reason.isdigit() else 99, fields.get(58, ""), fields.get(25016, ""))

    def business_reject(self, reject: BusinessReject) -> list[Field]:
        """The body of a BusinessMessageReject."""
        fields: list[Field] = [(372, reject.ref_msg_type), (380, str(reject.reason))]
        if reject.ref_seq_num is not None:
            fields.append((45, str(reject.ref_seq_num)))
        if reject.ref_id:
            fields.append((379, reject.ref_id))
        if reject.text:
            fields.append((58, reject.text))
        return sorted(fields)

    def read_business_reject(self, message: simplefix.FixMessage) -> BusinessReject:
        """A BusinessMessageReject."""
        fields = dict(body_fields(message))
        reason, ref = fields.get(380, "0"), fields.get(45, "")
        return BusinessReject(fields.get(372, ""), int(reason) if reason.isdigit() else 0, fields.get(379, ""),
                              int(ref) if ref.isdigit() else None, fields.get(58, ""))


def _order_id(text: str) -> str:
    """``37`` as written, ``NONE`` (the placeholder for an order the venue has not got) as empty."""
    return "" if text == "NONE" else text


def liquidity_flag(liquidity: Liquidity | None) -> str:
    """``1057`` AggressorIndicator: ``Y`` when we took liquidity."""
    return "Y" if liquidity is Liquidity.TAKER else "N"


def _stamp_us(ts_ns: int) -> str:
    """A UTCTimestamp with microseconds (as Binance's execution reports write TransactTime)."""
    millis = sending_time(ts_ns)
    return f"{millis}{(ts_ns // 1000) % 1000:03d}"
