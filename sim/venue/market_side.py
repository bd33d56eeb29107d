"""What a simulated venue does with public market data, and what it sends on to its client.

Every market event reaches the venue first, at exchange time (matching, candles, its own
book), then travels to the client on the venue's ``MarketDataChannel`` if the client subscribed
to that stream. ``VenueMarketSide`` is that one path, used by the replay feed (``connect``) and
by hand-driven worlds alike (``on_trade`` / ``on_quote`` / ``on_book`` called directly,
``scenarios.world.SimWorld``).

When a venue is driven by another venue's recording (``data_venue``), events are renamed to this
venue with symbols translated (``BTCUSDT`` recorded on Binance becomes ``BTC-USDT`` on a
simulated OKX), so everything downstream sees one venue.

Runs of quiet trades may skip the per-trade path: the feed offers them to the side's
``TradeRunner`` (``sim.venue.trade_runs``), registered with the trade subscription.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from harness.model import BookDelta, Candle, Quote, Trade
from sim.channels import MarketDataChannel
from sim.market.feed import ReplayFeed
from sim.venue.trade_runs import TradeRunner
from sim.venue.venue import SimVenue

__all__ = ["VenueMarketSide"]


class VenueMarketSide:
    """One venue's handlers for public market data: the venue first, then the client's streams.

    ``on_trade``, ``on_quote`` and ``on_book`` are plain callables bound once here (they run
    once per market event: nothing is looked up per event).
    """

    def __init__(self, venue: SimVenue, channel: MarketDataChannel, *, data_venue: str | None = None,
                 symbol_map: Mapping[str, str] | None = None) -> None:
        self.venue = venue
        self.channel = channel
        self.data_venue = data_venue or venue.name
        """The venue whose recorded events drive this one."""
        self.rename: tuple[str, dict[str, str]] | None = (
            (venue.name, dict(symbol_map or {})) if self.data_venue != venue.name or symbol_map else None)
        push = channel.push
        trades, quotes, book = channel.streams["trades"], channel.streams["quotes"], channel.streams["book"]
        venue_trade, venue_quote, venue_book = venue.on_trade, venue.on_quote, venue.on_book

        def on_trade(trade: Trade) -> None:
            venue_trade(trade)
            handler = trades.get(trade.symbol)
            if handler is not None:
                push(trade, handler)

        def on_quote(quote: Quote) -> None:
            venue_quote(quote)
            handler = quotes.get(quote.symbol)
            if handler is not None:
                push(quote, handler)

        def on_book(delta: BookDelta) -> None:
            venue_book(delta)
            handler = book.get(delta.symbol)
            if handler is not None:
                push(delta, handler)

        handlers: tuple[Callable[[Any], None], ...] = (on_trade, on_quote, on_book)
        if self.rename is not None:
            handlers = tuple(_renamed(h, *self.rename) for h in handlers)
        self.on_trade: Callable[[Trade], None] = handlers[0]
        self.on_quote: Callable[[Quote], None] = handlers[1]
        self.on_book: Callable[[BookDelta], None] = handlers[2]
        self.trade_runs = TradeRunner(channel, venue, rename=self.rename)
        """Takes runs of quiet trades off the per-trade path (``sim.venue.trade_runs``)."""

    def connect(self, feed: ReplayFeed, *, candles_to: Callable[[Candle], None] | None = None) -> None:
        """Subscribe to ``feed``'s events of ``data_venue`` and let the feed deliver the channel's
        arrivals, merged with its own events (``ReplayFeed.add_tap``).

        ``candles_to`` receives the data's recorded candles (renamed like everything else), for a
        venue whose kline stream serves them (``sim.bars``).
        """
        name = self.data_venue
        feed.subscribe_trades(self.on_trade, venue=name, runs=self.trade_runs)
        feed.subscribe_quotes(self.on_quote, venue=name)
        feed.subscribe_book(self.on_book, venue=name)
        if candles_to is not None:
            feed.subscribe_candles(candles_to if self.rename is None else _renamed(candles_to, *self.rename),
                                   venue=name)
        feed.add_tap(self.channel)


def _renamed(handler: Callable[[Any], None], venue: str, symbols: Mapping[str, str]) -> Callable[[Any], None]:
    """Wrap a market-data handler so events arrive under ``venue`` with translated symbols."""
    def renamed(event: Any) -> None:
        handler(event._replace(venue=venue, symbol=symbols.get(event.symbol, event.symbol)))
    return renamed
