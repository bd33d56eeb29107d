"""Where a ``BybitAdapter`` connects: the testnet, production (only when asked), or a local venue.

Three addresses per environment (``spec/venues.md`` §2): the REST base URL, the public WS URL
with ``{category}`` standing for ``spot`` / ``linear`` / ``inverse`` / ``option``, and the
private WS URL.

* ``BybitEndpoints.sandbox()``: the v5 testnet (``api-testnet.bybit.com``,
  ``stream-testnet.bybit.com``);
* ``BybitEndpoints.production(allow_production=True)``: ``api.bybit.com`` / ``stream.bybit.com``;
  without the explicit flag it refuses (``ProductionNotAllowedError``);
* ``BybitEndpoints.local(url)``: the local venue (``harness venue serve --profile bybit``) on a
  loopback URL, in SANDBOX mode.

Every URL is checked against the registry's allow-list for its mode when the endpoints are made
(``live.guard``), and again by each transport: a SANDBOX set can never name a production host.
"""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import urlsplit

from harness.model import VenueMode
from harness.registry import ProductionNotAllowedError
from live.guard import check_transport_url

__all__ = ["CATEGORIES", "BybitEndpoints"]

CATEGORIES = ("spot", "linear", "inverse", "option")
"""Bybit v5 product categories (the ``category`` parameter and the public WS path)."""

_TESTNET = ("https://api-testnet.bybit.com", "wss://stream-testnet.bybit.com/v5/public/{category}",
            "wss://stream-testnet.bybit.com/v5/private")
_PRODUCTION = ("https://api.bybit.com", "wss://stream.bybit.com/v5/public/{category}",
               "wss://stream.bybit.com/v5/private")


@dataclass(frozen=True, slots=True)
class BybitEndpoints:
    """REST base URL, public WS URL template (``{category}``) and private WS URL, in one mode."""

    rest: str
    public_ws: str
    private_ws: str
    mode: VenueMode = VenueMode.SANDBOX

    def __post_init__(self) -> None:
        if "{category}" not in self.public_ws:
            raise ValueError(f"public_ws must hold '{{category}}', got {self.public_ws!r}")
        check_transport_url("bybit", self.mode, self.rest, "rest")
        check_transport_url("bybit", self.mode, self.public(CATEGORIES[0]), "ws")
        check_transport_url("bybit", self.mode, self.private_ws, "ws")

    def public(self, category: str) -> str:
        """The public WS URL of ``category``."""
        if category not in CATEGORIES:
            raise ValueError(f"category must be one of {CATEGORIES}, not {category!r}")
        return self.public_ws.replace("{category}", category)

    @classmethod
    def sandbox(cls) -> BybitEndpoints:
        """The Bybit v5 testnet."""
        return cls(*_TESTNET, mode=VenueMode.SANDBOX)

    @classmethod
    def production(cls, *, allow_production: bool = False) -> BybitEndpoints:
        """Bybit itself; refused unless ``allow_production`` is given explicitly."""
        if allow_production is not True:
            raise ProductionNotAllowedError("mode", "PRODUCTION endpoints need allow_production=True")
        return cls(*_PRODUCTION, mode=VenueMode.PRODUCTION)

    @classmethod
    def local(cls, url: str) -> BybitEndpoints:
        """A local venue at ``url`` (``http://127.0.0.1:PORT``); both WS paths on the same port."""
        parts = urlsplit(url)
        if parts.scheme not in ("http", "https") or not parts.netloc:
            raise ValueError(f"a local venue URL looks like http://127.0.0.1:PORT, not {url!r}")
        ws = f"{'wss' if parts.scheme == 'https' else 'ws'}://{parts.netloc}"
        return cls(f"{parts.scheme}://{parts.netloc}", f"{ws}/v5/public/{{category}}", f"{ws}/v5/private",
                   mode=VenueMode.SANDBOX)
