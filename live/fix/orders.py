"""NewOrderSingle (35=D) from an ``OrderRequest`` and back (Property 13).

FIX 4.4 fields (``FIX44.xml``; ``spec/venues.md`` §3): ``11`` ClOrdID (our client order id),
``55`` Symbol, ``54`` Side (1 buy, 2 sell), ``60`` TransactTime, ``38`` OrderQty, ``40`` OrdType
(1 market, 2 limit, 3 stop, 4 stop-limit), ``44`` Price, ``99`` StopPx, ``59`` TimeInForce
(1 GTC, 3 IOC, 4 FOK, 6 GTD with ``126`` ExpireTime), ``18`` ExecInst (``6`` post-only,
``E`` do-not-increase, i.e. reduce-only). Quantities and prices are written as plain decimals,
never floats. Order types FIX 4.4 has no plain field for (trailing stop, take profit) raise
``NotSupportedError``; venue dialects add their own custom tags.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from decimal import Decimal, InvalidOperation
from types import MappingProxyType

import simplefix

from harness.contract import InvalidRequestError, NotSupportedError
from harness.model import OrderRequest, OrderType, Side, TimeInForce
from live.fix.messages import Field, MsgType, Tag, body_fields, get_str, sending_time
from live.signing import format_value

__all__ = ["new_order_single", "order_request_from_fix", "parse_utc_timestamp"]

CL_ORD_ID, SYMBOL, SIDE, TRANSACT_TIME, ORDER_QTY, ORD_TYPE = 11, 55, 54, 60, 38, 40
PRICE, STOP_PX, TIME_IN_FORCE, EXPIRE_TIME, EXEC_INST = 44, 99, 59, 126, 18

_ORD_TYPES: Mapping[OrderType, str] = MappingProxyType({
    OrderType.MARKET: "1", OrderType.LIMIT: "2", OrderType.STOP_MARKET: "3", OrderType.STOP_LIMIT: "4"})
_SIDES: Mapping[Side, str] = MappingProxyType({Side.BUY: "1", Side.SELL: "2"})
_TIFS: Mapping[TimeInForce, str] = MappingProxyType({
    TimeInForce.GTC: "1", TimeInForce.IOC: "3", TimeInForce.FOK: "4", TimeInForce.GTD: "6"})


_ORD_TYPES_IN: Mapping[str, OrderType] = MappingProxyType({code: t for t, code in _ORD_TYPES.items()})
_SIDES_IN: Mapping[str, Side] = MappingProxyType({code: side for side, code in _SIDES.items()})
_TIFS_IN: Mapping[str, TimeInForce] = MappingProxyType({code: tif for tif, code in _TIFS.items()})


def parse_utc_timestamp(text: str) -> int:
    """ns since the epoch from a FIX UTCTimestamp ``YYYYMMDD-HH:MM:SS[.sss[sss[sss]]]``."""
    whole, _, fraction = text.partition(".")
    stamp = dt.datetime.strptime(whole, "%Y%m%d-%H:%M:%S").replace(tzinfo=dt.UTC)
    if fraction and (not fraction.isdigit() or len(fraction) > 9):
        raise ValueError(f"bad UTCTimestamp fraction in {text!r}")
    return int(stamp.timestamp()) * 1_000_000_000 + int(fraction.ljust(9, "0") or 0)


def new_order_single(request: OrderRequest, *, transact_time_ns: int) -> list[Field]:
    """The body of a NewOrderSingle for ``request`` (send it with ``FixSession.send("D", ...)``)."""
    ord_type = _ORD_TYPES.get(request.order_type)
    if ord_type is None:
        raise NotSupportedError(f"FIX 4.4 NewOrderSingle has no plain OrdType for {request.order_type.value}",
                                venue=request.venue)
    needs_price = request.order_type in (OrderType.LIMIT, OrderType.STOP_LIMIT)
    needs_stop = request.order_type in (OrderType.STOP_MARKET, OrderType.STOP_LIMIT)
    if needs_price and request.price is None:
        raise InvalidRequestError(f"{request.order_type.value} needs a price", venue=request.venue)
    if needs_stop and request.stop_price is None:
        raise InvalidRequestError(f"{request.order_type.value} needs a stop price", venue=request.venue)
    if request.time_in_force is TimeInForce.GTD and request.expire_at_ns is None:
        raise InvalidRequestError("GTD needs expire_at_ns", venue=request.venue)
    fields: list[Field] = [(CL_ORD_ID, request.client_order_id), (SYMBOL, request.symbol),
                           (SIDE, _SIDES[request.side]), (TRANSACT_TIME, sending_time(transact_time_ns)),
                           (ORDER_QTY, format_value(request.quantity)), (ORD_TYPE, ord_type)]
    if needs_price and request.price is not None:
        fields.append((PRICE, format_value(request.price)))
    if needs_stop and request.stop_price is not None:
        fields.append((STOP_PX, format_value(request.stop_price)))
    fields.append((TIME_IN_FORCE, _TIFS[request.time_in_force]))
    if request.time_in_force is TimeInForce.GTD and request.expire_at_ns is not None:
        fields.append((EXPIRE_TIME, sending_time(request.expire_at_ns)))
    instructions = [flag for flag, on in (("6", request.post_only), ("E", request.reduce_only)) if on]
    if instructions:
        fields.append((EXEC_INST, " ".join(instructions)))
    return fields


def _decimal(value: str | None, name: str) -> Decimal | None:
    if value is None:
        return None
    try:
        number = Decimal(value)
    except InvalidOperation:
        raise InvalidRequestError(f"{name} {value!r} is not a decimal") from None
    if not number.is_finite():
        raise InvalidRequestError(f"{name} {value!r} is not finite")
    return number


def order_request_from_fix(message: simplefix.FixMessage, *, venue: str) -> OrderRequest:
    """The ``OrderRequest`` a NewOrderSingle carries (what an acceptor or the local venue reads)."""
    if get_str(message, Tag.MSG_TYPE) != MsgType.NEW_ORDER_SINGLE:
        raise InvalidRequestError("not a NewOrderSingle", venue=venue)
    fields = dict(body_fields(message))
    missing = [tag for tag in (CL_ORD_ID, SYMBOL, SIDE, ORDER_QTY, ORD_TYPE) if tag not in fields]
    if missing:
        raise InvalidRequestError(f"NewOrderSingle lacks required tags {missing}", venue=venue)
    try:
        order_type = _ORD_TYPES_IN[fields[ORD_TYPE]]
        side = _SIDES_IN[fields[SIDE]]
        tif = _TIFS_IN[fields.get(TIME_IN_FORCE, "1")]
    except KeyError as exc:
        raise InvalidRequestError(f"unsupported code {exc.args[0]!r} in NewOrderSingle", venue=venue) from None
    quantity = _decimal(fields[ORDER_QTY], "OrderQty")
    assert quantity is not None
    instructions = fields.get(EXEC_INST, "").split()
    expire = fields.get(EXPIRE_TIME)
    return OrderRequest(client_order_id=fields[CL_ORD_ID], venue=venue, symbol=fields[SYMBOL],
                        side=side, order_type=order_type, quantity=quantity,
                        price=_decimal(fields.get(PRICE), "Price"), stop_price=_decimal(fields.get(STOP_PX), "StopPx"),
                        time_in_force=tif,
                        expire_at_ns=parse_utc_timestamp(expire) if expire else None,
                        post_only="6" in instructions, reduce_only="E" in instructions)
