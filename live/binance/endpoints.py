"""Where a ``BinanceAdapter`` connects: the testnet, production (only when asked), or a local venue.

Three URLs per environment (``spec/venues.md`` §1.1): REST, market streams and the WS API.

* ``BinanceEndpoints.sandbox()``: the Spot testnet (``testnet.binance.vision``);
* ``BinanceEndpoints.production(allow_production=True)``: ``api.binance.com``; without the
  explicit flag it refuses (``ProductionNotAllowedError``), so nothing reaches production by
  default or by accident;
* ``BinanceEndpoints.local(url)``: the local venue (``harness venue serve``) at a loopback URL,
  in SANDBOX mode.

Every URL is checked against the registry's allow-list for its mode when the endpoints are
made (``live.guard``), and again by each transport: a SANDBOX set can never name a production host.
"""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import urlsplit

from harness.model import VenueMode
from harness.registry import ProductionNotAllowedError
from live.guard import check_transport_url

__all__ = ["BinanceEndpoints"]

_TESTNET = ("https://testnet.binance.vision", "wss://stream.testnet.binance.vision",
            "wss://ws-api.testnet.binance.vision/ws-api/v3")
_PRODUCTION = ("https://api.binance.com", "wss://stream.binance.com:9443", "wss://ws-api.binance.com:443/ws-api/v3")


@dataclass(frozen=True, slots=True)
class BinanceEndpoints:
    """REST base URL, market-stream base URL (``/stream`` is appended) and WS-API URL, in one mode."""

    rest: str
    streams: str
    ws_api: str
    mode: VenueMode = VenueMode.SANDBOX

    def __post_init__(self) -> None:
        check_transport_url("binance", self.mode, self.rest, "rest")
        check_transport_url("binance", self.mode, self.streams, "ws")
        check_transport_url("binance", self.mode, self.ws_api, "ws")

    @classmethod
    def sandbox(cls) -> BinanceEndpoints:
        """The Binance Spot testnet."""
        return cls(*_TESTNET, mode=VenueMode.SANDBOX)

    @classmethod
    def production(cls, *, allow_production: bool = False) -> BinanceEndpoints:
        """Binance Spot itself; refused unless ``allow_production`` is given explicitly."""
        if allow_production is not True:
            raise ProductionNotAllowedError("mode", "PRODUCTION endpoints need allow_production=True")
        return cls(*_PRODUCTION, mode=VenueMode.PRODUCTION)

    @classmethod
    def local(cls, url: str) -> BinanceEndpoints:
        """A local venue at ``url`` (``http://127.0.0.1:PORT``); streams and WS API on the same port."""
        parts = urlsplit(url)
        if parts.scheme not in ("http", "https") or not parts.netloc:
            raise ValueError(f"a local venue URL looks like http://127.0.0.1:PORT, not {url!r}")
        ws = f"{'wss' if parts.scheme == 'https' else 'ws'}://{parts.netloc}"
        return cls(f"{parts.scheme}://{parts.netloc}", ws, f"{ws}/ws-api/v3", mode=VenueMode.SANDBOX)
