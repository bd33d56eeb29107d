"""pybit, Bybit's own client, against the local venue's Bybit v5 front (127.0.0.1 only).

The recipe of ``spec/clients.md``: ``HTTP(testnet=True, ...)`` with its ``endpoint`` pointed at the
local venue, and ``unified_trading.PUBLIC_WSS`` / ``PRIVATE_WSS`` set before the ``WebSocket``s
are made. pybit places, queries and cancels a limit order, and fills a market order, over HTTP
(it signs its JSON body with spaces after the colons: the venue checks the signature over the
raw bytes), and receives the order and execution updates of both on its private WebSocket and a
book snapshot on the public one (which the venue holds back a little: pybit registers its
callback only after subscribing). pybit is synchronous (requests, websocket-client threads), so
the venue runs on its own event loop in a thread, on the wall clock.
"""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Callable, Iterator
from decimal import Decimal
from typing import Any

import pytest

from harness.clock import ScaledClock
from live.serve.bybit import BybitLocalVenue, BybitVenueConfig

ut = pytest.importorskip("pybit.unified_trading")

KEY = "pybit-key-0123456789abcdef"
SECRET = "pybit-secret-0123456789abcdef0123456789"


def _wait(condition: Callable[[], bool], what: str, timeout_s: float = 20.0) -> None:
    deadline = time.monotonic() + timeout_s
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.02)


@pytest.fixture
def venue() -> Iterator[BybitLocalVenue]:
    loop = asyncio.new_event_loop()
    local = BybitLocalVenue(BybitVenueConfig(api_keys={KEY: SECRET}, clock=ScaledClock(1),
                                             first_push_delay_ns=150_000_000))
    ready = threading.Event()

    def run() -> None:
        asyncio.set_event_loop(loop)
        loop.run_until_complete(local.start())
        ready.set()
        loop.run_forever()

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    assert ready.wait(20)
    loop.call_soon_threadsafe(local.quote, "BTCUSDT", Decimal(60000), Decimal("60000.5"))
    try:
        yield local
    finally:
        asyncio.run_coroutine_threadsafe(local.stop(), loop).result(20)
        loop.call_soon_threadsafe(loop.stop)
        thread.join(20)
        loop.close()


def test_pybit_places_queries_cancels_and_hears_its_orders(venue: BybitLocalVenue,
                                                           monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(ut, "PUBLIC_WSS", f"{venue.ws_url}/v5/public/{{CHANNEL_TYPE}}")
    monkeypatch.setattr(ut, "PRIVATE_WSS", f"{venue.ws_url}/v5/private")
    session = ut.HTTP(testnet=True, api_key=KEY, api_secret=SECRET)
    session.endpoint = venue.rest_url
    orders: list[dict[str, Any]] = []
    executions: list[dict[str, Any]] = []
    books: list[dict[str, Any]] = []
    private = ut.WebSocket(testnet=True, channel_type="private", api_key=KEY, api_secret=SECRET)
    public = ut.WebSocket(testnet=True, channel_type="spot")
    try:
        private.order_stream(lambda m: orders.extend(m["data"]))
        private.execution_stream(lambda m: executions.extend(m["data"]))
        public.orderbook_stream(50, "BTCUSDT", books.append)

        placed = session.place_order(category="spot", symbol="BTCUSDT", side="Buy", orderType="Limit", qty="0.001",
                                     price="59990", orderLinkId="pybit-1")
        assert placed["retCode"] == 0 and placed["result"]["orderLinkId"] == "pybit-1"
        open_orders = session.get_open_orders(category="spot", symbol="BTCUSDT")["result"]["list"]
        assert [(o["orderLinkId"], o["orderStatus"], o["price"]) for o in open_orders] == [
            ("pybit-1", "New", "59990")]
        cancelled = session.cancel_order(category="spot", symbol="BTCUSDT", orderLinkId="pybit-1")
        assert cancelled["result"]["orderId"] == placed["result"]["orderId"]
        assert session.get_open_orders(category="spot", symbol="BTCUSDT")["result"]["list"] == []

        session.place_order(category="spot", symbol="BTCUSDT", side="Buy", orderType="Market", qty="0.001",
                            marketUnit="baseCoin", orderLinkId="pybit-2")
        _wait(lambda: any(o["orderLinkId"] == "pybit-2" and o["orderStatus"] == "Filled" for o in orders),
              "the market order's Filled update")
        _wait(lambda: any(e["orderLinkId"] == "pybit-2" for e in executions), "the market order's execution")
        _wait(lambda: bool(books), "the book snapshot")
    finally:
        private.exit()
        public.exit()

    assert [o["orderStatus"] for o in orders if o["orderLinkId"] == "pybit-1"] == ["New", "Cancelled"]
    fill = next(e for e in executions if e["orderLinkId"] == "pybit-2")
    assert (fill["execPrice"], fill["execQty"], fill["isMaker"]) == ("60000.5", "0.001", False)
    listed = session.get_executions(category="spot", symbol="BTCUSDT")["result"]["list"]
    assert [e["execId"] for e in listed] == [fill["execId"]]
    assert books[0]["data"]["b"][0] == ["60000", "2"] and books[0]["data"]["a"][0] == ["60000.5", "2"]


def test_a_wrong_secret_is_refused_with_bybits_code(venue: BybitLocalVenue) -> None:
    session = ut.HTTP(testnet=True, api_key=KEY, api_secret="not-the-secret", max_retries=1)
    session.endpoint = venue.rest_url
    from pybit.exceptions import InvalidRequestError

    with pytest.raises(InvalidRequestError) as refused:
        session.get_wallet_balance(accountType="UNIFIED")
    assert refused.value.status_code == 10004
