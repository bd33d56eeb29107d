"""A third-party client proves protocol fidelity: ccxt's binance class against the local venue.

The recipe of ``spec/clients.md``: REST URLs pointed at 127.0.0.1 (nothing else changed), then
ccxt loads markets, places, queries and cancels an order and reads balances; ccxt.pro (async)
watches trades, the order book and its own orders over the venue's streams and WS API. The venue
runs on the wall clock in a thread of its own (ccxt's REST client blocks); only loopback is used.
"""

from __future__ import annotations

import asyncio
import decimal
import threading
from collections.abc import Callable, Iterator
from decimal import Decimal
from typing import Any

import pytest
from local_venue_helpers import API_KEY, ASK, BID, SECRET

from harness.clock import WallClock
from harness.model import Aggressor
from live.serve import LocalVenue, LocalVenueConfig

ccxt = pytest.importorskip("ccxt")
ccxt_pro = pytest.importorskip("ccxt.pro")


class VenueThread:
    """A local venue serving from its own event loop in a background thread."""

    def __init__(self) -> None:
        self.loop = asyncio.new_event_loop()
        self.venue = LocalVenue(LocalVenueConfig(api_keys={API_KEY: SECRET}, clock=WallClock()))
        self._thread = threading.Thread(target=self.loop.run_forever, daemon=True)

    def __enter__(self) -> VenueThread:
        self._thread.start()
        self.call(self.venue.start)
        self.do(lambda: self.venue.quote("BTCUSDT", BID, ASK))
        return self

    def call(self, factory: Callable[[], Any]) -> Any:
        """Run a coroutine (made by ``factory``) on the venue's loop and wait for it."""
        return asyncio.run_coroutine_threadsafe(factory(), self.loop).result(timeout=30)

    def do(self, action: Callable[[], Any]) -> Any:
        """Run a plain call on the venue's loop (the market driver) and wait for it."""
        async def wrapped() -> Any:
            return action()
        return self.call(wrapped)

    def __exit__(self, *exc: object) -> None:
        self.call(self.venue.stop)
        self.loop.call_soon_threadsafe(self.loop.stop)
        self._thread.join(timeout=30)
        self.loop.close()


def _configure(exchange: Any, port: int) -> Any:
    for kind in ("public", "private"):
        exchange.urls["api"][kind] = f"http://127.0.0.1:{port}/api/v3"
    exchange.urls["api"]["v1"] = f"http://127.0.0.1:{port}/api/v1"
    if "ws" in exchange.urls["api"]:  # ccxt.pro only
        exchange.urls["api"]["ws"]["spot"] = f"ws://127.0.0.1:{port}/ws"
        exchange.urls["api"]["ws"]["ws-api"]["spot"] = f"ws://127.0.0.1:{port}/ws-api/v3"
    return exchange


def _options() -> dict[str, Any]:
    return {"apiKey": API_KEY, "secret": SECRET, "options": {
        "fetchMarkets": {"types": ["spot"]}, "fetchCurrencies": False, "fetchMargins": False,
        "defaultType": "spot"}}


@pytest.fixture
def served() -> Iterator[VenueThread]:
    """The venue, and a private decimal context for the test: ccxt sets the calling thread's context
    to ROUND_HALF_UP (``decimal_to_precision``), which must not leak into the tests after it."""
    with decimal.localcontext(), VenueThread() as thread:
        yield thread


def test_ccxt_rest_loads_markets_places_queries_cancels_and_reads_balances(served: VenueThread) -> None:
    exchange = _configure(ccxt.binance(_options()), served.venue.port)
    markets = exchange.load_markets()
    market = markets["BTC/USDT"]
    assert market["precision"]["price"] == 0.01 and market["limits"]["cost"]["min"] == 5.0
    order = exchange.create_order("BTC/USDT", "limit", "buy", 0.001, 59000.0)
    assert order["status"] == "open" and order["clientOrderId"]
    fetched = exchange.fetch_order(order["id"], "BTC/USDT")
    assert fetched["id"] == order["id"] and fetched["price"] == 59000.0 and fetched["remaining"] == 0.001
    assert [o["id"] for o in exchange.fetch_open_orders("BTC/USDT")] == [order["id"]]
    balance = exchange.fetch_balance()
    assert balance["USDT"]["used"] == 59.0 and balance["BTC"]["free"] == 10.0
    cancelled = exchange.cancel_order(order["id"], "BTC/USDT")
    assert cancelled["status"] == "canceled"
    assert exchange.fetch_balance()["USDT"]["used"] == 0.0
    book = exchange.fetch_order_book("BTC/USDT", 5)
    assert book["bids"][0] == [float(BID), 2.0] and book["asks"][0] == [float(ASK), 2.0]
    assert served.venue.venue.orders[order["clientOrderId"]].status.value == "CANCELLED"


def test_ccxt_pro_watches_trades_the_book_and_its_orders(served: VenueThread) -> None:
    async def body() -> None:
        exchange = _configure(ccxt_pro.binance(_options()), served.venue.port)
        try:
            await exchange.load_markets()
            watching = asyncio.ensure_future(exchange.watch_trades("BTC/USDT"))
            await asyncio.sleep(0.5)  # the subscription is live before the trade is printed
            served.do(lambda: served.venue.trade("BTCUSDT", BID, Decimal("0.25"), Aggressor.SELLER, "901"))
            trades = await asyncio.wait_for(watching, 30)
            assert trades[-1]["price"] == float(BID) and trades[-1]["amount"] == 0.25
            assert trades[-1]["side"] == "sell"
            book_task = asyncio.ensure_future(exchange.watch_order_book("BTC/USDT"))
            await asyncio.sleep(0.5)
            served.do(lambda: served.venue.book("BTCUSDT", [(BID, Decimal(1)), (BID - 1, Decimal(3))],
                                                 [(ASK, Decimal(4))]))
            book = await asyncio.wait_for(book_task, 30)
            for _ in range(20):
                if book["bids"] and book["bids"][0] == [float(BID), 1.0]:
                    break
                book = await asyncio.wait_for(exchange.watch_order_book("BTC/USDT"), 30)
            assert book["bids"][:2] == [[float(BID), 1.0], [float(BID - 1), 3.0]] and book["asks"][0] == [
                float(ASK), 4.0]
            orders_task = asyncio.ensure_future(exchange.watch_orders("BTC/USDT"))
            await asyncio.sleep(0.5)
            placed = await exchange.create_order("BTC/USDT", "limit", "buy", 0.002, 59500.0)
            orders = await asyncio.wait_for(orders_task, 30)
            assert orders[-1]["id"] == placed["id"] and orders[-1]["status"] == "open"
            assert orders[-1]["amount"] == 0.002
        finally:
            await exchange.close()

    asyncio.run(body())
