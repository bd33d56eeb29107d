"""Built-in importers, one module per family of raw formats.

Importing this package registers them (see ``base.register``); the registration order is the
autodetect priority, most specific first.
"""

from __future__ import annotations

from harness.data.importers import (  # noqa: F401  (imported for their registrations)
    binance,
    bybit,
    coinbase,
    hyperliquid,
    kraken,
    nautilus,
    ohlcv,
    okx,
    tardis,
)
