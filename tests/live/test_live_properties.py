"""Properties 1, 4 and 10 of seed 001 for the Binance adapter (hypothesis).

* Property 1, adapter interface consistency: ``BinanceAdapter`` has every method of the contract
  with the contract's kinds and parameters, and for any order a client might send, every
  answer is a well-formed contract type (an ``OrderReport`` echoing the request, balances that
  add up) or a typed ``VenueError``, never anything else.
* Property 4, sandbox isolation: a SANDBOX endpoint set, and every transport of an adapter built
  on it, only ever names testnet hosts or loopback; any production host in any place is refused.
* Property 10, WebSocket message normalization: any valid ``executionReport``, ``trade``,
  ``bookTicker`` or ``depthUpdate`` becomes the normalized event (``OrderReport``, ``Fill``,
  ``Trade``, ``Quote``, book levels) with every field carried exactly (``Decimal``/fixed point, no float).
"""

from __future__ import annotations

import asyncio
from decimal import Decimal
from typing import Any
from urllib.parse import urlsplit

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from local_venue_helpers import API_KEY, ASK, BID, SECRET

from harness.clock import ScaledClock
from harness.contract import VenueError
from harness.contract_methods import missing_methods
from harness.model import (
    Balance,
    Liquidity,
    OrderReport,
    OrderRequest,
    OrderStatus,
    OrderType,
    Side,
    TimeInForce,
    VenueCapabilities,
    VenueMode,
)
from harness.registry import Credentials, SandboxViolationError, is_loopback_host
from harness.venues import shipped_descriptors
from live.binance import BinanceAdapter, BinanceEndpoints, codec
from live.rest.protocol import BinanceRestProtocol
from live.serve import LocalVenue, LocalVenueConfig
from live.ws.state import WsSettings

_NS = 1_000_000_000
PRODUCTION = sorted(shipped_descriptors()["binance"].hosts.production)
SANDBOX = sorted(shipped_descriptors()["binance"].hosts.sandbox)

# --------------------------------------------------------------------------- property 1

_orders = st.builds(
    lambda side, kind, ticks, lots, tif, post: (side, kind, ticks, lots, tif, post),
    st.sampled_from(list(Side)), st.sampled_from([OrderType.LIMIT, OrderType.MARKET]),
    st.integers(-500, 500), st.integers(0, 3000), st.sampled_from([TimeInForce.GTC, TimeInForce.IOC, TimeInForce.FOK]),
    st.booleans())


def test_property_1_adapter_methods_match_the_contract() -> None:
    capabilities = VenueCapabilities(order_types=frozenset(OrderType), time_in_force=frozenset(TimeInForce))
    assert missing_methods(BinanceAdapter, capabilities) == []


def test_property_1_every_answer_is_a_contract_type_or_a_typed_error() -> None:
    loop = asyncio.new_event_loop()
    clock = ScaledClock(20)
    venue = LocalVenue(LocalVenueConfig(api_keys={API_KEY: SECRET}, clock=clock))
    url = loop.run_until_complete(venue.start())
    venue.quote("BTCUSDT", BID, ASK)
    adapter = BinanceAdapter(BinanceEndpoints.local(url), Credentials(API_KEY, SECRET), clock,
                             ws_settings=WsSettings(open_timeout_ns=600 * _NS), request_timeout_ns=600 * _NS,
                             recv_window_ms=60_000)
    loop.run_until_complete(adapter.connect())
    counter = iter(range(10**6))

    async def one(spec: tuple[Side, OrderType, int, int, TimeInForce, bool]) -> None:
        side, kind, ticks, lots, tif, post = spec
        coid = f"p1-{next(counter)}"
        price = (BID + Decimal(ticks) * Decimal("0.01")) if kind is OrderType.LIMIT else None
        request = OrderRequest(coid, "binance", "BTCUSDT", side, kind, Decimal(lots) * Decimal("0.00001"),
                               price=price, time_in_force=tif if kind is OrderType.LIMIT else TimeInForce.GTC,
                               post_only=post and kind is OrderType.LIMIT)
        try:
            report = await adapter.submit_order(request)
        except VenueError as error:
            assert error.venue == "binance" and error.category is not None
            return
        assert isinstance(report, OrderReport)
        assert (report.client_order_id, report.side, report.order_type, report.quantity) == (
            coid, side, kind, request.quantity)
        assert 0 <= report.filled_quantity <= report.quantity and isinstance(report.status, OrderStatus)
        assert report.price == (price if kind is OrderType.LIMIT else None)
        queried = await adapter.get_order("BTCUSDT", coid)
        assert queried.client_order_id == coid and queried.venue_order_id == report.venue_order_id
        if queried.status.is_open:
            assert (await adapter.cancel_order("BTCUSDT", coid)).status is OrderStatus.CANCELLED
        balances = await adapter.get_balances()
        assert all(isinstance(b, Balance) and b.free >= 0 and b.locked >= 0 for b in balances.values())

    @settings(max_examples=40, deadline=None, suppress_health_check=list(HealthCheck))
    @given(_orders)
    def check(spec: tuple[Side, OrderType, int, int, TimeInForce, bool]) -> None:
        loop.run_until_complete(one(spec))

    try:
        check()
        assert loop.run_until_complete(adapter.get_open_orders()) == []
    finally:
        loop.run_until_complete(adapter.disconnect())
        loop.run_until_complete(venue.stop())
        loop.close()


# --------------------------------------------------------------------------- property 4

_slots = st.sampled_from(["rest", "streams", "ws_api"])
_foreign = st.one_of(st.sampled_from(PRODUCTION), st.from_regex(r"[a-z]{3,10}\.(com|io|net)", fullmatch=True))


@given(_slots, _foreign)
def test_property_4_a_sandbox_endpoint_set_refuses_any_non_sandbox_host(slot: str, host: str) -> None:
    urls = {"rest": "https://testnet.binance.vision", "streams": "wss://stream.testnet.binance.vision",
            "ws_api": "wss://ws-api.testnet.binance.vision/ws-api/v3"}
    scheme = "https" if slot == "rest" else "wss"
    urls[slot] = f"{scheme}://{host}/x"
    with pytest.raises(SandboxViolationError):
        BinanceEndpoints(urls["rest"], urls["streams"], urls["ws_api"], mode=VenueMode.SANDBOX)


@given(st.sampled_from(["127.0.0.1", "localhost", "127.3.2.1"]), st.integers(1, 65535))
def test_property_4_every_transport_of_a_sandbox_adapter_stays_off_production(host: str, port: int) -> None:
    from harness.clock import WallClock

    for endpoints in (BinanceEndpoints.sandbox(), BinanceEndpoints.local(f"http://{host}:{port}")):
        adapter = BinanceAdapter(endpoints, Credentials(API_KEY, SECRET), WallClock())
        protocol = adapter.rest.protocol
        assert isinstance(protocol, BinanceRestProtocol)
        urls = [protocol.base_url, adapter.streams.connection.url, adapter.user.api.connection.url]
        for address in urls:
            name = (urlsplit(address).hostname or "").lower()
            assert name not in PRODUCTION and (name in SANDBOX or is_loopback_host(name)), address
        assert adapter.mode is VenueMode.SANDBOX


# --------------------------------------------------------------------------- property 10

_qty = st.integers(0, 10**12).map(lambda units: Decimal(units).scaleb(-8))
_price = st.integers(1, 10**13).map(lambda units: Decimal(units).scaleb(-8))
_STATUSES = ["NEW", "PARTIALLY_FILLED", "FILLED", "CANCELED", "REJECTED", "EXPIRED"]


def _text(value: Decimal) -> str:
    return format(value.quantize(Decimal("0.00000001")), "f")


@st.composite
def _execution_reports(draw: Any) -> dict[str, Any]:
    quantity = draw(_qty.filter(lambda q: q > 0))
    cum = draw(st.integers(0, int(quantity * 10**8)))
    cumulative = Decimal(cum).scaleb(-8)
    price, last_price = draw(_price), draw(_price)
    execution = draw(st.sampled_from(["NEW", "TRADE", "CANCELED", "EXPIRED"]))
    return {"e": "executionReport", "E": draw(st.integers(1, 2**41)), "s": "BTCUSDT",
            "c": draw(st.from_regex(r"[A-Za-z0-9_-]{1,36}", fullmatch=True)),
            "S": draw(st.sampled_from(["BUY", "SELL"])),
            "o": draw(st.sampled_from(["LIMIT", "MARKET", "LIMIT_MAKER", "STOP_LOSS_LIMIT"])),
            "f": draw(st.sampled_from(["GTC", "IOC", "FOK"])), "q": _text(quantity), "p": _text(price),
            "P": "0.00000000", "x": execution, "X": draw(st.sampled_from(_STATUSES)), "r": "NONE",
            "i": draw(st.integers(1, 2**40)), "l": _text(draw(_qty)), "z": _text(cumulative), "L": _text(last_price),
            "n": _text(draw(_qty)), "N": draw(st.sampled_from(["BTC", "USDT"])), "T": draw(st.integers(1, 2**41)),
            "t": draw(st.integers(1, 2**40)), "m": draw(st.booleans()),
            "Z": _text(cumulative * last_price), "C": ""}


@given(_execution_reports())
def test_property_10_execution_reports_normalize_to_order_updates_and_fills(event: dict[str, Any]) -> None:
    report = codec.execution_report(event)
    assert report.client_order_id == event["c"] and report.venue_order_id == str(event["i"])
    assert report.quantity == Decimal(event["q"]) and report.filled_quantity == Decimal(event["z"])
    assert report.status is codec.STATUS[event["X"]] and report.side is Side(event["S"])
    assert report.ts_ns == event["T"] * 1_000_000
    assert report.price == (None if event["o"] == "MARKET" else Decimal(event["p"]))
    if report.filled_quantity:
        assert report.average_price == Decimal(event["Z"]) / Decimal(event["z"])
    fill = codec.execution_fill(event)
    if event["x"] != "TRADE":
        assert fill is None
        return
    assert fill is not None
    assert (fill.price, fill.quantity, fill.fee, fill.fee_asset) == (
        Decimal(event["L"]), Decimal(event["l"]), Decimal(event["n"]), event["N"])
    assert fill.liquidity is (Liquidity.MAKER if event["m"] else Liquidity.TAKER)
    assert fill.execution_id == f"BTCUSDT-{event['t']}" and fill.client_order_id == event["c"]


@given(_price, _qty, st.booleans(), st.integers(1, 2**41), _price, _qty, _price, _qty)
def test_property_10_market_events_normalize_exactly(price: Decimal, qty: Decimal, maker: bool, when: int,
                                                     bid: Decimal, bid_qty: Decimal, ask: Decimal,
                                                     ask_qty: Decimal) -> None:
    trade = codec.trade_from_stream({"e": "trade", "E": when, "s": "BTCUSDT", "t": 5, "p": _text(price),
                                     "q": _text(qty), "T": when, "m": maker}, 0)
    assert (trade.price, trade.size) == (int(price * 10**9), int(qty * 10**9))
    assert trade.aggressor == (-1 if maker else 1) and trade.ts_event == when * 1_000_000
    quote = codec.quote_from_ticker({"u": 9, "s": "BTCUSDT", "b": _text(bid), "B": _text(bid_qty),
                                     "a": _text(ask), "A": _text(ask_qty)}, 0)
    assert (quote.bid_price, quote.bid_size, quote.ask_price, quote.ask_size, quote.update_id) == (
        int(bid * 10**9), int(bid_qty * 10**9), int(ask * 10**9), int(ask_qty * 10**9), 9)
    assert codec.levels([[_text(price), _text(qty)]], "b") == [(int(price * 10**9), int(qty * 10**9))]
