"""The contract test kit: what every ``ExchangeAdapter`` must do, written once, run per adapter.

Each test gets a ``VenueUnderTest`` (see ``conftest.py``): an adapter, its clock, one BTC
symbol with its filters, and a driver that sets the venue's quote or prints a public trade.
Nothing here knows whether the venue is simulated or live; that is the point.
"""

from __future__ import annotations

from decimal import Decimal

import pytest
from venue_under_test import MID, VenueUnderTest

from harness.contract import (
    ExchangeAdapter,
    InvalidRequestError,
    NotSupportedError,
    OrderNotFoundError,
    RetryableError,
)
from harness.model import (
    Aggressor,
    BookSnapshot,
    Candle,
    Fill,
    Liquidity,
    OrderModification,
    OrderReport,
    OrderRequest,
    OrderStatus,
    OrderType,
    PositionReport,
    Side,
    TimeInForce,
)
from harness.money import from_fixed

BID = MID
ASK_TICKS = 10


def _ask(v: VenueUnderTest) -> Decimal:
    return BID + v.tick * ASK_TICKS


def _limit(v: VenueUnderTest, coid: str, side: Side, price: Decimal, *, multiple: int = 1,
           tif: TimeInForce = TimeInForce.GTC, post_only: bool = False) -> OrderRequest:
    return OrderRequest(coid, v.name, v.symbol, side, OrderType.LIMIT, v.quantity(multiple), price=price,
                        time_in_force=tif, post_only=post_only)


def _market(v: VenueUnderTest, coid: str, side: Side) -> OrderRequest:
    return OrderRequest(coid, v.name, v.symbol, side, OrderType.MARKET, v.quantity())


def test_adapter_implements_the_protocol(venue: VenueUnderTest) -> None:
    assert isinstance(venue.raw, ExchangeAdapter)
    assert venue.adapter.venue == venue.name
    assert venue.adapter.is_connected()

    async def body() -> None:
        info = await venue.adapter.get_venue_info()
        assert info.venue == venue.name and venue.symbol in info.symbols
        caps = info.capabilities
        assert {OrderType.LIMIT, OrderType.MARKET} <= caps.order_types
        assert TimeInForce.GTC in caps.time_in_force
        health = await venue.adapter.health()
        assert health.connected and health.venue == venue.name
        server = await venue.adapter.get_server_time()
        assert abs(server - venue.clock.now_ns()) < 5_000_000_000

    venue.run(body())


def test_resting_limit_order_round_trip(venue: VenueUnderTest) -> None:
    """Submit, see it open by client order id and in open orders, cancel, see it cancelled."""
    venue.set_quote(BID, _ask(venue))

    async def body() -> None:
        adapter = venue.adapter
        price = BID - venue.tick * 5
        ack = await adapter.submit_order(_limit(venue, "kit-rest-1", Side.BUY, price))
        assert ack.client_order_id == "kit-rest-1" and ack.status is OrderStatus.OPEN
        assert ack.filled_quantity == 0 and ack.remaining_quantity == venue.quantity()
        assert ack.price == price and ack.venue_order_id
        status = await adapter.get_order(venue.symbol, "kit-rest-1")
        assert status.status is OrderStatus.OPEN and status.venue_order_id == ack.venue_order_id
        assert [o.client_order_id for o in await adapter.get_open_orders(venue.symbol)] == ["kit-rest-1"]
        cancelled = await adapter.cancel_order(venue.symbol, "kit-rest-1")
        assert cancelled.status is OrderStatus.CANCELLED and cancelled.filled_quantity == 0
        assert (await adapter.get_order(venue.symbol, "kit-rest-1")).status is OrderStatus.CANCELLED
        assert await adapter.get_open_orders(venue.symbol) == []
        with pytest.raises(InvalidRequestError):  # a cancelled order cannot be cancelled again
            await adapter.cancel_order(venue.symbol, "kit-rest-1")

    venue.run(body())


def test_unknown_order_is_a_proven_absence(venue: VenueUnderTest) -> None:
    """Recovery relies on this: asking for an order the venue never saw raises OrderNotFoundError."""
    async def body() -> None:
        with pytest.raises(OrderNotFoundError):
            await venue.adapter.get_order(venue.symbol, "kit-never-sent")
        with pytest.raises(InvalidRequestError):
            await venue.adapter.cancel_order(venue.symbol, "kit-never-sent")

    venue.run(body())


def test_market_order_fills_as_taker_and_moves_balances(venue: VenueUnderTest) -> None:
    venue.set_quote(BID, _ask(venue))
    info_fees: list[Decimal] = []

    async def body() -> tuple[OrderReport, list[Fill], dict[str, Decimal], dict[str, Decimal]]:
        adapter = venue.adapter
        info_fees.append((await adapter.get_venue_info()).fees.taker)
        before = {a: b.total for a, b in (await adapter.get_balances()).items()}
        await adapter.submit_order(_market(venue, "kit-mkt-1", Side.BUY))
        await venue.settle()
        final = await adapter.get_order(venue.symbol, "kit-mkt-1")
        fills = await adapter.get_fills(venue.symbol)
        after = {a: b.total for a, b in (await adapter.get_balances()).items()}
        positions.extend(await adapter.get_positions())
        return final, fills, before, after

    positions: list[PositionReport] = []
    final, fills, before, after = venue.run(body())
    assert final.status is OrderStatus.FILLED and final.filled_quantity == venue.quantity()
    assert final.average_price == _ask(venue)
    assert len(fills) >= 1 and {f.client_order_id for f in fills} == {"kit-mkt-1"}
    assert len({f.execution_id for f in fills}) == len(fills)
    assert all(f.liquidity is Liquidity.TAKER and f.side is Side.BUY for f in fills)
    assert sum(f.quantity for f in fills) == venue.quantity()
    base, quote = venue.info.base_asset, venue.info.quote_asset
    cost = sum(f.price * f.quantity for f in fills)
    fee_base = sum(f.fee for f in fills if f.fee_asset == base)
    fee_quote = sum(f.fee for f in fills if f.fee_asset == quote)
    assert fee_base + fee_quote > 0
    if venue.is_perpetual:  # a position, not an asset: the wallet only pays the fee (no PnL realized yet)
        assert fee_base == 0 and base not in after
        assert before[quote] - after[quote] == fee_quote
        [position] = [p for p in positions if p.symbol == venue.symbol]
        assert position.quantity == venue.quantity() and position.average_entry_price == _ask(venue)
    else:
        assert after[base] - before[base] == venue.quantity() - fee_base
        assert before[quote] - after[quote] == cost + fee_quote
    notional_fee = (cost * info_fees[0])
    assert fee_quote + fee_base * _ask(venue) == pytest.approx(notional_fee, rel=Decimal("1e-6"))


def test_resting_order_fills_from_public_trades_as_maker(venue: VenueUnderTest) -> None:
    """A bid at the touch fills from sell trades at its price once the queue ahead has traded."""
    venue.set_quote(BID, _ask(venue))

    async def body() -> tuple[OrderReport, list[Fill]]:
        adapter = venue.adapter
        await adapter.submit_order(_limit(venue, "kit-maker-1", Side.BUY, BID))
        await venue.settle()
        venue.print_trade(BID, Decimal(2), Aggressor.SELLER)  # the 2 displayed ahead of us
        venue.print_trade(BID, venue.quantity(), Aggressor.SELLER)
        await venue.settle()
        return await adapter.get_order(venue.symbol, "kit-maker-1"), await adapter.get_fills(venue.symbol)

    final, fills = venue.run(body())
    assert final.status is OrderStatus.FILLED
    assert fills and all(f.liquidity is Liquidity.MAKER and f.price == BID for f in fills)
    assert sum(f.quantity for f in fills) == venue.quantity()


def test_pushed_updates_match_queried_state(venue: VenueUnderTest) -> None:
    """Order updates and fills pushed to subscribers agree with what the queries return."""
    venue.set_quote(BID, _ask(venue))
    updates: list[OrderReport] = []
    pushed: list[Fill] = []

    async def body() -> list[Fill]:
        adapter = venue.adapter
        await adapter.subscribe_order_updates(updates.append)
        await adapter.subscribe_fills(pushed.append)
        await adapter.submit_order(_market(venue, "kit-push-1", Side.SELL))
        await venue.settle()
        return await adapter.get_fills(venue.symbol)

    queried = venue.run(body())
    mine = [u for u in updates if u.client_order_id == "kit-push-1"]
    assert mine and mine[-1].status is OrderStatus.FILLED
    assert [u.ts_ns for u in mine] == sorted(u.ts_ns for u in mine)
    assert pushed == queried


def test_ioc_and_fok_never_rest(venue: VenueUnderTest) -> None:
    venue.set_quote(BID, _ask(venue))
    supported = venue.run(venue.adapter.get_venue_info()).capabilities.time_in_force

    async def body(tif: TimeInForce, coid: str) -> OrderReport:
        adapter = venue.adapter
        report = await adapter.submit_order(_limit(venue, coid, Side.BUY, BID - venue.tick, tif=tif))
        await venue.settle()
        assert await adapter.get_open_orders(venue.symbol) == []
        return report if report.status.is_terminal else await adapter.get_order(venue.symbol, coid)

    for tif in (TimeInForce.IOC, TimeInForce.FOK):
        if tif not in supported:
            with pytest.raises(InvalidRequestError):
                venue.run(venue.adapter.submit_order(_limit(venue, f"kit-{tif}", Side.BUY, BID, tif=tif)))
            continue
        final = venue.run(body(tif, f"kit-{tif}"))
        assert final.status in (OrderStatus.CANCELLED, OrderStatus.EXPIRED)
        assert final.filled_quantity == 0


def test_post_only_that_would_cross_is_rejected(venue: VenueUnderTest) -> None:
    venue.set_quote(BID, _ask(venue))

    async def body() -> None:
        adapter = venue.adapter
        supported = (await adapter.get_venue_info()).capabilities.post_only
        with pytest.raises(InvalidRequestError):  # would take, or post-only not offered at all
            await adapter.submit_order(_limit(venue, "kit-po-1", Side.BUY, _ask(venue), post_only=True))
        assert await adapter.get_fills(venue.symbol) == []
        if supported:
            ok = await adapter.submit_order(_limit(venue, "kit-po-2", Side.BUY, BID, post_only=True))
            assert ok.status is OrderStatus.OPEN
        else:
            with pytest.raises(InvalidRequestError):
                await adapter.submit_order(_limit(venue, "kit-po-2", Side.BUY, BID, post_only=True))

    venue.run(body())


def test_filter_and_balance_violations_are_invalid_requests_with_the_venue_code(venue: VenueUnderTest) -> None:
    venue.set_quote(BID, _ask(venue))

    async def body() -> None:
        adapter = venue.adapter
        off_tick = BID - venue.tick / 2
        with pytest.raises(InvalidRequestError) as tick_error:
            await adapter.submit_order(_limit(venue, "kit-bad-tick", Side.BUY, off_tick))
        assert tick_error.value.code is not None and tick_error.value.venue == venue.name
        balances = await adapter.get_balances()
        if venue.is_perpetual:  # a short whose initial margin is twice the available balance
            assert venue.leverage is not None
            margin = balances[venue.info.quote_asset].free * 2 * venue.leverage
            too_much = (margin / (_ask(venue) * 2)).quantize(venue.info.lot_size)
        else:
            too_much = (balances[venue.info.base_asset].free * 2).quantize(venue.info.lot_size)
        request = OrderRequest("kit-bad-funds", venue.name, venue.symbol, Side.SELL, OrderType.LIMIT, too_much,
                               price=_ask(venue) * 2)
        with pytest.raises(InvalidRequestError) as funds_error:
            await adapter.submit_order(request)
        assert funds_error.value.code is not None
        assert await adapter.get_open_orders() == []
        after = await adapter.get_balances()
        assert {a: (b.free, b.locked) for a, b in after.items()} == {
            a: (b.free, b.locked) for a, b in balances.items()}

    venue.run(body())


def test_open_orders_lock_funds_until_they_end(venue: VenueUnderTest) -> None:
    venue.set_quote(BID, _ask(venue))

    async def body() -> None:
        adapter = venue.adapter
        quote = venue.info.quote_asset
        before = (await adapter.get_balances())[quote]
        price = BID - venue.tick * 3
        await adapter.submit_order(_limit(venue, "kit-lock-1", Side.BUY, price))
        during = (await adapter.get_balances())[quote]
        margin = price * venue.quantity() / (venue.leverage or 1)  # a perpetual holds initial margin
        assert during.locked - before.locked >= margin
        assert during.total == before.total
        await adapter.cancel_order(venue.symbol, "kit-lock-1")
        after = (await adapter.get_balances())[quote]
        assert (after.free, after.locked) == (before.free, before.locked)

    venue.run(body())


def test_duplicate_client_order_id_never_creates_a_second_order(venue: VenueUnderTest) -> None:
    venue.set_quote(BID, _ask(venue))

    async def body() -> None:
        adapter = venue.adapter
        request = _limit(venue, "kit-dup-1", Side.BUY, BID - venue.tick * 4)
        first = await adapter.submit_order(request)
        try:
            again = await adapter.submit_order(request)
        except InvalidRequestError:
            again = None
        if again is not None:  # a venue may answer a resubmit with the existing order instead
            assert again.venue_order_id == first.venue_order_id
        open_ids = [o.client_order_id for o in await adapter.get_open_orders(venue.symbol)]
        assert open_ids == ["kit-dup-1"]

    venue.run(body())


def test_modify_is_native_or_refused_as_not_supported(venue: VenueUnderTest) -> None:
    venue.set_quote(BID, _ask(venue))

    async def body() -> None:
        adapter = venue.adapter
        native = (await adapter.get_venue_info()).capabilities.native_modify
        await adapter.submit_order(_limit(venue, "kit-mod-1", Side.BUY, BID - venue.tick * 6))
        new_price = BID - venue.tick * 8
        change = OrderModification(new_price=new_price)
        if not native:
            with pytest.raises(NotSupportedError):
                await adapter.modify_order(venue.symbol, "kit-mod-1", change)
            assert (await adapter.get_order(venue.symbol, "kit-mod-1")).price == BID - venue.tick * 6
            return
        modified = await adapter.modify_order(venue.symbol, "kit-mod-1", change)
        assert modified.price == new_price and modified.status is OrderStatus.OPEN
        assert (await adapter.get_order(venue.symbol, "kit-mod-1")).price == new_price

    venue.run(body())


def test_market_data_queries_and_subscriptions(venue: VenueUnderTest) -> None:
    venue.set_quote(BID, _ask(venue))
    quotes: list[tuple[int, int]] = []
    trades: list[int] = []

    async def body() -> None:
        adapter = venue.adapter
        await venue.settle()
        ticker = await adapter.get_ticker(venue.symbol)
        assert (from_fixed(ticker.bid_price), from_fixed(ticker.ask_price)) == (BID, _ask(venue))
        book = await adapter.get_order_book(venue.symbol, depth=5)
        assert book.bids and book.asks and from_fixed(book.bids[0].price) == BID
        await adapter.subscribe_quotes(venue.symbol, lambda q: quotes.append((q.bid_price, q.ask_price)))
        await adapter.subscribe_trades(venue.symbol, lambda t: trades.append(t.price))
        venue.set_quote(BID + venue.tick, _ask(venue))
        venue.print_trade(_ask(venue), venue.quantity(), Aggressor.BUYER)
        await venue.settle()

    venue.run(body())
    assert quotes and from_fixed(quotes[-1][0]) == BID + venue.tick
    assert [from_fixed(p) for p in trades] == [_ask(venue)]


def test_rate_limit_status_reports_usage(venue: VenueUnderTest) -> None:
    async def body() -> None:
        adapter = venue.raw  # unpaced: the status must count requests made in the same window
        await adapter.get_balances()
        status = await adapter.get_rate_limit_status()
        assert status.venue == venue.name and status.banned_until_ns is None
        assert status.usage, "every venue has at least one limit to report"
        for used, limit, window_s in status.usage.values():
            assert 0 <= used <= limit and window_s >= 0  # 0: a decaying counter (Kraken), no window
        assert any(used > 0 for used, _, _ in status.usage.values())

    venue.run(body())


def test_disconnected_adapter_raises_retryable_and_reconnects(venue: VenueUnderTest) -> None:
    async def body() -> None:
        adapter = venue.adapter
        await adapter.disconnect()
        assert not adapter.is_connected()
        with pytest.raises(RetryableError):
            await adapter.get_balances()
        await adapter.connect()
        assert adapter.is_connected()
        assert await adapter.get_balances()

    venue.run(body())


def test_candles_summarise_the_trade_tape(venue: VenueUnderTest) -> None:
    """One-minute bars open on the minute and carry the open, high, low, close and volume traded."""
    minute = 60_000_000_000
    size = venue.quantity()

    async def body() -> tuple[list[Candle], list[Candle], int]:
        clock = venue.clock
        await clock.sleep_ns(minute - clock.now_ns() % minute + 1_000_000)  # just after a minute starts
        now = clock.now_ns()  # read once: a live clock moves between two reads
        start = now - now % minute
        for price in (BID, BID + 3 * venue.tick, BID - 2 * venue.tick, BID + venue.tick):
            venue.print_trade(price, size, Aggressor.BUYER)
            await clock.sleep_ns(5_000_000_000)
        await clock.sleep_ns(minute)
        venue.print_trade(BID, size, Aggressor.SELLER)
        await venue.settle()
        one = await venue.adapter.get_candles(venue.symbol, minute, limit=10)
        five = await venue.adapter.get_candles(venue.symbol, 5 * minute, limit=10)
        return one, five, start

    one, five, start = venue.run(body())
    assert [c.ts_open for c in one] == [start, start + minute]
    first = one[0]
    assert [from_fixed(x) for x in (first.open, first.high, first.low, first.close)] == [
        BID, BID + 3 * venue.tick, BID - 2 * venue.tick, BID + venue.tick]
    assert from_fixed(first.volume) == 4 * size and from_fixed(one[1].volume) == size
    assert sum(c.volume for c in five) == first.volume + one[1].volume
    assert all(c.ts_open % (5 * minute) == 0 for c in five)
    with pytest.raises(InvalidRequestError):
        venue.run(venue.adapter.get_candles(venue.symbol, 90_000_000_000, limit=5))


def test_bar_subscription_delivers_each_closed_bar_after_its_close(venue: VenueUnderTest) -> None:
    """The bar stream pushes each one-minute bar once it has closed, and refuses intervals it cannot serve."""
    minute = 60_000_000_000
    size = venue.quantity()
    bars: list[tuple[int, Candle]] = []

    async def body() -> int:
        clock = venue.clock
        await venue.adapter.subscribe_bars(venue.symbol, minute, lambda c: bars.append((clock.now_ns(), c)))
        await clock.sleep_ns(minute - clock.now_ns() % minute + 1_000_000)  # just after a minute starts
        now = clock.now_ns()  # read once: a live clock moves between two reads
        start = now - now % minute
        for price in (BID, BID + 2 * venue.tick, BID - venue.tick):
            venue.print_trade(price, size, Aggressor.BUYER)
            await clock.sleep_ns(5_000_000_000)
        await clock.sleep_ns(start + 2 * minute + 5_000_000_000 - clock.now_ns())
        return start

    start = venue.run(body())
    assert [c.ts_open for _, c in bars] == [start, start + minute]
    (first_at, first), (second_at, second) = bars
    assert start + minute < first_at < start + minute + 5_000_000_000  # after its close, within a few seconds
    assert start + 2 * minute < second_at
    assert [from_fixed(x) for x in (first.open, first.high, first.low, first.close)] == [
        BID, BID + 2 * venue.tick, BID - venue.tick, BID - venue.tick]
    assert from_fixed(first.volume) == 3 * size
    assert (second.open, second.high, second.low, second.close, second.volume) == (first.close,) * 4 + (0,)
    with pytest.raises(InvalidRequestError):
        venue.run(venue.adapter.subscribe_bars(venue.symbol, 90_000_000_000, lambda c: None))


def test_book_subscription_delivers_snapshots_to_the_asked_depth(venue: VenueUnderTest) -> None:
    books: list[BookSnapshot] = []
    tick = venue.tick
    bids = [(BID - i * tick, Decimal(i + 1)) for i in range(3)]
    asks = [(_ask(venue) + i * tick, Decimal(i + 2)) for i in range(3)]

    async def body() -> None:
        await venue.adapter.subscribe_book(venue.symbol, books.append, depth=2)
        venue.set_book(bids, asks)
        await venue.settle()

    venue.run(body())
    assert books, "the subscriber saw the book"
    last = books[-1]
    assert last.symbol == venue.symbol and last.venue == venue.name
    assert [(from_fixed(b.price), from_fixed(b.size)) for b in last.bids] == bids[:2]  # best first, depth 2
    assert [(from_fixed(a.price), from_fixed(a.size)) for a in last.asks] == asks[:2]
