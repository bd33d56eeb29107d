"""What market data does at the local venue, and what its market streams send on.

Every event (from the replay of canonical Parquet, or from a test's market driver) reaches the
``SimVenue`` first (matching, candles, its book), then its streams, exactly as
``sim.venue.market_side.VenueMarketSide`` does for a simulated client, with the network in
place of the latency channel:

* a trade is a ``<s>@trade`` and ``<s>@aggTrade`` event, and an update of each subscribed
  ``<s>@kline_<i>`` bar; at each close of a subscribed kline interval the closed bar is sent
  with ``x`` true (``close_bars``), as Binance closes klines whether or not anything traded (an
  interval without trades is a flat bar at the previous close);
* a quote is a ``<s>@bookTicker`` event;
* book rows go through a ``BookStream`` (Binance's sync rules), and every change of the synced
  book is published as a ``depthUpdate`` whose ``U``/``u`` continue the served book's own chain
  (one id per level changed), with the partial-depth streams' snapshots after it. The served
  book is what ``GET /api/v3/depth`` answers from (``depth``), so a snapshot's ``lastUpdateId``
  and the diffs always line up, whatever ids the recording had. Until the first book rows come,
  the served book is the quote's two levels (a venue driven by quotes only has just those), and
  its changes are published the same way.

Diffs are pushed as the book changes, not in 100 ms batches: a client that follows Binance's
procedure cannot tell, and nothing is held back.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Protocol

from harness.data.book import BookStream, Level
from harness.model import BookDelta, BookLevel, Quote, Trade
from live.serve.streams import StreamHub
from live.serve.wire import (
    BINANCE_INTERVALS,
    book_ticker_event,
    depth_levels,
    depth_update_event,
    kline_event,
    ms,
    trade_event,
)
from sim.venue.venue import SimVenue

__all__ = ["MarketFront", "ServedMarket"]


class MarketFront(Protocol):
    """What the replay and the local venue drive: a venue's market-data handlers in one protocol's shapes
    (``ServedMarket`` for Binance, ``live.serve.bybit.public.BybitMarket`` for Bybit)."""

    venue: SimVenue

    def on_trade(self, trade: Trade) -> None:
        """A public trade."""

    def on_quote(self, quote: Quote) -> None:
        """A best bid/offer change."""

    def on_book(self, delta: BookDelta) -> None:
        """One book row."""

    def close_bars(self, now_ns: int) -> None:
        """The kline bars that closed at ``now_ns``."""


class _ServedBook:
    """The book the venue serves for one symbol: levels as last published, and its update id."""

    __slots__ = ("asks", "bids", "from_rows", "stream", "update_id")

    def __init__(self, stream: BookStream) -> None:
        self.stream = stream
        self.bids: dict[int, int] = {}
        self.asks: dict[int, int] = {}
        self.update_id = 0
        self.from_rows = False
        """False while the book is only the quote's two levels (no book rows came yet)."""

    @property
    def valid(self) -> bool:
        """Whether the served book can be trusted (a quote book, or a synced L2 book)."""
        return not self.from_rows or self.stream.sync.valid

    def changes(self, levels: list[Level], snapshot: bool) -> tuple[list[tuple[int, int]], list[tuple[int, int]]]:
        """Apply levels (a diff, or a whole new book) and return what changed per side."""
        bids: list[tuple[int, int]] = []
        asks: list[tuple[int, int]] = []
        if snapshot:
            new_bids = {p: q for side, p, q in levels if side == 1 and q > 0}
            new_asks = {p: q for side, p, q in levels if side == -1 and q > 0}
            for old, new, out in ((self.bids, new_bids, bids), (self.asks, new_asks, asks)):
                out.extend((p, 0) for p in old if p not in new)
                out.extend((p, q) for p, q in new.items() if old.get(p) != q)
            self.bids, self.asks = new_bids, new_asks
            return bids, asks
        for side, price, size in levels:
            if side == 0:
                continue
            book, out = (self.bids, bids) if side == 1 else (self.asks, asks)
            if book.get(price, 0) == size:
                continue
            if size == 0:
                book.pop(price, None)
            else:
                book[price] = size
            out.append((price, size))
        return bids, asks

    def top(self, depth: int) -> tuple[list[BookLevel], list[BookLevel]]:
        """The best ``depth`` levels per side, best first."""
        bids = [BookLevel(p, self.bids[p]) for p in sorted(self.bids, reverse=True)[:depth]]
        asks = [BookLevel(p, self.asks[p]) for p in sorted(self.asks)[:depth]]
        return bids, asks


class ServedMarket:
    """The venue's handlers for public market data: the venue first, then the streams."""

    def __init__(self, venue: SimVenue, hub: StreamHub, now_ns: Callable[[], int]) -> None:
        self.venue = venue
        self.hub = hub
        self.now_ns = now_ns
        self._books: dict[str, _ServedBook] = {}
        self._trade_ids: dict[str, int] = {}
        self._quote_ids: dict[str, int] = {}
        self.listeners: list[Callable[[str, Trade | None], None]] = []
        """Called after every event with its symbol (and the trade): other venues' fronts (Coinbase's WS)."""

    # ------------------------------------------------------------------ events in

    def on_trade(self, trade: Trade) -> None:
        """A public trade: matching and candles at the venue, then trade and kline streams."""
        self.venue.on_trade(trade)
        lower = trade.symbol.lower()
        trade_name, agg_name = f"{lower}@trade", f"{lower}@aggTrade"
        hub = self.hub
        if hub.has_subscribers(trade_name) or hub.has_subscribers(agg_name):
            trade_id = self._trade_id(trade)
            event = trade_event(trade, trade_id, ms(self.now_ns()))
            hub.publish(trade_name, event)
            if hub.has_subscribers(agg_name):
                agg = {"e": "aggTrade", "E": event["E"], "s": trade.symbol, "a": trade_id, "p": event["p"],
                       "q": event["q"], "f": trade_id, "l": trade_id, "T": event["T"], "m": event["m"], "M": True}
                hub.publish(agg_name, agg)
        for interval in BINANCE_INTERVALS:
            name = f"{lower}@kline_{interval}"
            if hub.has_subscribers(name):
                self._publish_kline(trade.symbol, name, interval)
        for listener in self.listeners:
            listener(trade.symbol, trade)

    def on_quote(self, quote: Quote) -> None:
        """A best bid/offer change: the venue's quote, then ``<s>@bookTicker``."""
        self.venue.on_quote(quote)
        served = self._books.get(quote.symbol) or self._book(quote.symbol)
        if not served.from_rows:
            levels: list[Level] = [(1, quote.bid_price, quote.bid_size), (-1, quote.ask_price, quote.ask_size)]
            self._publish_depth(quote.symbol, served, [lv for lv in levels if lv[1] > 0 and lv[2] > 0], True)
        update_id = quote.update_id
        if update_id < 0:  # a quote without the venue's id: number them, subscribed or not
            update_id = self._quote_ids[quote.symbol] = self._quote_ids.get(quote.symbol, 0) + 1
        name = f"{quote.symbol.lower()}@bookTicker"
        if self.hub.has_subscribers(name):
            self.hub.publish(name, book_ticker_event(quote, update_id))
        for listener in self.listeners:
            listener(quote.symbol, None)

    def on_book(self, delta: BookDelta) -> None:
        """One book row: the venue's book, then the served book (published per message)."""
        self.venue.on_book(delta)
        served = self._books.get(delta.symbol) or self._book(delta.symbol)
        served.from_rows = True
        served.stream.push(delta)
        for listener in self.listeners:
            listener(delta.symbol, None)

    # ------------------------------------------------------------------ what REST serves

    def depth(self, symbol: str, limit: int) -> tuple[int, list[BookLevel], list[BookLevel]] | None:
        """``(lastUpdateId, bids, asks)`` of the served book, or None when no book rows came yet."""
        served = self._books.get(symbol)
        if served is None or not served.valid:
            return None
        bids, asks = served.top(limit)
        return served.update_id, bids, asks

    # ------------------------------------------------------------------ internals

    def _book(self, symbol: str) -> _ServedBook:
        stream = BookStream()
        served = self._books[symbol] = _ServedBook(stream)
        stream.sync.on_apply = lambda levels, snapshot: self._publish_depth(symbol, served, levels, snapshot)
        return served

    def _publish_depth(self, symbol: str, served: _ServedBook, levels: list[Level], snapshot: bool) -> None:
        bids, asks = served.changes(levels, snapshot)
        if not bids and not asks:
            return
        first = served.update_id + 1
        served.update_id += len(bids) + len(asks)
        lower = symbol.lower()
        now_ms = ms(self.now_ns())
        diff_names = [n for n in (f"{lower}@depth@100ms", f"{lower}@depth", f"{lower}@depth@1000ms")
                      if self.hub.has_subscribers(n)]
        if diff_names:
            event = depth_update_event(symbol, now_ms, (first, served.update_id), bids, asks)
            for name in diff_names:
                self.hub.publish(name, event)
        for levels_text in ("5", "10", "20"):
            for suffix in ("", "@100ms", "@1000ms"):
                name = f"{lower}@depth{levels_text}{suffix}"
                if self.hub.has_subscribers(name):
                    top_bids, top_asks = served.top(int(levels_text))
                    self.hub.publish(name, {"lastUpdateId": served.update_id, "bids": depth_levels(top_bids),
                                            "asks": depth_levels(top_asks)})

    def _trade_id(self, trade: Trade) -> int:
        if trade.trade_id.isdigit():
            return int(trade.trade_id)
        next_id = self._trade_ids[trade.symbol] = self._trade_ids.get(trade.symbol, 0) + 1
        return next_id

    def close_bars(self, now_ns: int) -> None:
        """Send every subscribed kline bar that closed at ``now_ns`` (a whole minute), closed."""
        for stream in sorted(self.hub.subscribed(), key=lambda s: s.name):
            if stream.kind != "kline":
                continue
            seconds = BINANCE_INTERVALS[stream.arg]
            interval_ns = seconds * 1_000_000_000
            if seconds % 60 or now_ns % interval_ns or stream.symbol not in self.venue.profile.symbols:
                continue
            bar = self.venue.candles.bar(stream.symbol, now_ns - interval_ns, interval_ns)
            if bar is not None:
                self.hub.publish(stream.name, kline_event(bar, stream.arg, ms(now_ns), True))

    def _publish_kline(self, symbol: str, name: str, interval: str) -> None:
        seconds = BINANCE_INTERVALS[interval]
        if seconds % 60:
            return  # the venue keeps whole-minute bars only
        now = self.now_ns()
        bars = self.venue.candles.candles(symbol, seconds * 1_000_000_000, 1, now)
        if bars:
            bar = bars[-1]
            closed = bar.ts_open + bar.interval_ns <= now
            self.hub.publish(name, kline_event(bar, interval, ms(now), closed))
