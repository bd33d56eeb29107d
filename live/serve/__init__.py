"""The local venue: the simulator served over Binance Spot's real protocols on 127.0.0.1.

``LocalVenue`` (``live.serve.server``) puts one ``SimVenue`` behind aiohttp REST and WebSocket
endpoints that speak Binance Spot: the same paths and parameters, signatures verified over the
raw request, the same JSON shapes, error codes and messages, rate-limit headers and 429/418,
market streams and the WS API's user-data stream. Market data is replayed from canonical
Parquet at the pace of the venue's clock (``--speed X``), and faults (``live.serve.faults``)
apply to its streams and requests. ``harness venue serve`` runs one (``live.serve.cli``).

Modules, in the order a request meets them: ``rest`` / ``ws_api`` / ``streams`` (transports),
``pipeline`` (faults, limits, authentication via ``auth``), ``actions`` (the venue operations),
``order_json`` / ``exchange_info`` / ``wire`` (Binance's shapes); ``market`` and ``userdata``
publish what the venue does; ``peer`` is one connection's outbox; ``replay`` paces the data.
"""

from live.serve.faults import ServeFaults
from live.serve.server import LocalVenue, LocalVenueConfig

__all__ = ["LocalVenue", "LocalVenueConfig", "ServeFaults"]
