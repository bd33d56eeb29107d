"""Order filters: each rejection with the venue's exact code and message; funds to lock."""

from __future__ import annotations

from decimal import Decimal

import pytest

from harness.contract import InvalidRequestError, OrderNotFoundError
from harness.model import OrderRequest, OrderType, Side, TimeInForce
from sim.venue.filters import (
    BINANCE_ERRORS,
    POST_ONLY_WOULD_TAKE_MESSAGE,
    LockedFunds,
    RejectReason,
    funds_to_lock,
    validate_order,
)
from sim.venue.profile import load_profile

BINANCE = load_profile("binance")
D = Decimal


def order(symbol: str = "BTCUSDT", side: Side = Side.BUY, otype: OrderType = OrderType.LIMIT,
          qty: str = "0.01", price: str | None = "60000.00", **kw: object) -> OrderRequest:
    return OrderRequest("c1", "binance", symbol, side, otype, D(qty),
                        price=None if price is None else D(price), **kw)  # type: ignore[arg-type]


def check(request: OrderRequest, **kw: object) -> tuple[int | str, str] | None:
    rejection = BINANCE.validate_order(request, **kw)  # type: ignore[arg-type]
    return None if rejection is None else (rejection.code, rejection.message)


def test_a_valid_limit_order_passes() -> None:
    assert check(order()) is None
    assert check(order(qty="9000", price="0.01")) is None  # 90 USDT
    assert check(order(qty="100", price="0.01")) == (-1013, "Filter failure: NOTIONAL")  # 1 USDT
    assert check(order(qty="0.00010", price="50000.00")) is None


@pytest.mark.parametrize(("kw", "expected"), [
    ({"symbol": "BTCUSDX"}, (-1121, "Invalid symbol.")),
    ({"price": "60000.001"}, (-1013, "Filter failure: PRICE_FILTER")),
    ({"price": "0.001"}, (-1013, "Filter failure: PRICE_FILTER")),
    ({"price": "1000000.01"}, (-1013, "Filter failure: PRICE_FILTER")),
    ({"price": "0"}, (-1013, "Filter failure: PRICE_FILTER")),
    ({"qty": "0.000015"}, (-1013, "Filter failure: LOT_SIZE")),
    ({"qty": "0.000001"}, (-1013, "Filter failure: LOT_SIZE")),
    ({"qty": "9000.00001"}, (-1013, "Filter failure: LOT_SIZE")),
    ({"qty": "0"}, (-1013, "Filter failure: LOT_SIZE")),
    ({"qty": "0.00008", "price": "60000.00"}, (-1013, "Filter failure: NOTIONAL")),
    ({"qty": "200", "price": "50000.00"}, (-1013, "Filter failure: NOTIONAL")),
    ({"price": None}, (-1102, "Mandatory parameter 'price' was not sent, was empty/null, or malformed.")),
    ({"otype": OrderType.TRAILING_STOP}, (-1116, "Invalid orderType.")),
    ({"time_in_force": TimeInForce.GTD}, (-1115, "Invalid timeInForce.")),
])
def test_binance_rejections_have_exact_codes_and_messages(kw: dict[str, object],
                                                          expected: tuple[int, str]) -> None:
    assert check(order(**kw)) == expected  # type: ignore[arg-type]


def test_market_orders_use_market_lot_size_and_reference_price() -> None:
    # 98 BTC passes LOT_SIZE (max 9000) but not MARKET_LOT_SIZE (max 97.92836420).
    big = order(otype=OrderType.MARKET, qty="98", price=None)
    assert check(big) == (-1013, "Filter failure: MARKET_LOT_SIZE")
    # Without a reference price the notional of a market order cannot be checked.
    tiny = order(otype=OrderType.MARKET, qty="0.00001", price=None)
    assert check(tiny) is None
    assert check(tiny, reference_price=D("60000")) == (-1013, "Filter failure: NOTIONAL")
    # applyMaxToMarket is false: a market order above maxNotional is not refused for it.
    assert check(order(otype=OrderType.MARKET, qty="97", price=None), reference_price=D("100000")) is None


def test_legacy_min_notional_name() -> None:
    catalog = BINANCE_ERRORS.with_overrides({}, notional_filter="MIN_NOTIONAL")
    rejection = validate_order(order(qty="0.00001"), BINANCE.symbols, catalog)
    assert rejection is not None and rejection.message == "Filter failure: MIN_NOTIONAL"


def test_insufficient_balance_is_minus_2010() -> None:
    buy = order(qty="0.01", price="60000.00")  # locks exactly 600 USDT
    assert check(buy, free_balances={"USDT": D("600")}) is None
    assert check(buy, free_balances={"USDT": D("599.99999999")}) == (
        -2010, "Account has insufficient balance for requested action.")
    sell = order(side=Side.SELL, qty="0.5")
    assert check(sell, free_balances={"BTC": D("0.5")}) is None
    for free in ({"BTC": D("0.49999")}, {}):
        rejection = check(sell, free_balances=free)
        assert rejection is not None and rejection[0] == -2010


def test_rejection_maps_to_contract_errors() -> None:
    rejection = BINANCE_ERRORS.reject(RejectReason.LOT_SIZE)
    error = rejection.to_error("binance")
    assert type(error) is InvalidRequestError
    assert (error.code, error.message, error.venue, error.http_status) == (
        -1013, "Filter failure: LOT_SIZE", "binance", 400)
    missing = BINANCE_ERRORS.reject(RejectReason.NO_SUCH_ORDER).to_error("binance")
    assert isinstance(missing, OrderNotFoundError) and missing.code == -2013
    post_only = BINANCE_ERRORS.reject(RejectReason.POST_ONLY_WOULD_TAKE)
    assert (post_only.code, post_only.message) == (-2010, POST_ONLY_WOULD_TAKE_MESSAGE)
    assert POST_ONLY_WOULD_TAKE_MESSAGE == "Order would immediately match and take."


def test_generic_venue_uses_its_own_codes() -> None:
    kraken = load_profile("kraken")
    request = OrderRequest("c", "kraken", "XBT/EUR", Side.BUY, OrderType.LIMIT, D("0.001"),
                           price=D("50000.05"))
    rejection = kraken.validate_order(request)
    assert rejection is not None and (rejection.code, rejection.http_status) == ("EOrder:Invalid price", 200)
    no_post_only = load_profile("bsdex")
    request = OrderRequest("c", "bsdex", "BTC/EUR", Side.BUY, OrderType.LIMIT, D("0.001"), price=D("50000"),
                           post_only=True)
    rejection = no_post_only.validate_order(request)
    assert rejection is not None and rejection.reason is RejectReason.UNSUPPORTED_ORDER_TYPE


def test_funds_to_lock() -> None:
    rules = BINANCE.symbols["BTCUSDT"]
    assert funds_to_lock(order(qty="0.01", price="60000.00"), rules) == LockedFunds("USDT", D("600.0000"))
    assert funds_to_lock(order(side=Side.SELL, qty="0.25"), rules) == LockedFunds("BTC", D("0.25"))
    market_buy = order(otype=OrderType.MARKET, qty="0.1", price=None)
    assert funds_to_lock(market_buy, rules, best_ask=D("60000")) == LockedFunds("USDT", D("6300"))
    assert funds_to_lock(market_buy, rules, best_ask=D("60000"), market_buy_margin=D(0)).amount == D("6000")
    assert funds_to_lock(market_buy, rules, quote_order_qty=D("123.45")) == LockedFunds("USDT", D("123.45"))
    with pytest.raises(ValueError, match="best ask"):
        funds_to_lock(market_buy, rules)
    # Venues holding the fee with the order: notional * (1 + taker).
    held = funds_to_lock(order(qty="0.01", price="60000.00"), rules, fee_rate_reserve=D("0.004"))
    assert held.amount == D("602.4")
    # Exact at awkward magnitudes: no float, no rounding.
    odd = order(qty="0.12345", price="98765.43")
    assert funds_to_lock(odd, rules).amount == D("98765.43") * D("0.12345") == D("12192.5923335")


def test_coinbase_holds_the_fee() -> None:
    coinbase = load_profile("coinbase")
    assert coinbase.fee_rate_reserve == D("0.012")
    request = OrderRequest("c", "coinbase", "BTC-USD", Side.BUY, OrderType.LIMIT, D("0.01"), price=D("50000"))
    assert coinbase.validate_order(request, free_balances={"USD": D("506")}) is None
    rejection = coinbase.validate_order(request, free_balances={"USD": D("505.99")})
    assert rejection is not None and rejection.code == "INSUFFICIENT_FUND"
