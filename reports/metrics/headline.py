"""The headline figures of a run: one row per figure, exact, comparable across runs.

``metrics_headline`` has ``metric`` (a stable name such as ``pnl_total``), ``scope`` (the
instrument, venue, asset or leg it is about; empty for the whole run), ``value`` (exact decimal
or integer as text, empty when not measurable) and ``unit``. Comparing two runs joins on
``(metric, scope)``. Definitions are those of the tables the figures summarise.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from decimal import Decimal
from typing import Any

import pyarrow as pa

from reports.metrics.common import Table, base_quote, dec, nearest_rank, ratio

__all__ = ["HEADLINE_SCHEMA", "Headline", "format_value"]

HEADLINE_SCHEMA = pa.schema([("metric", pa.string()), ("scope", pa.string()), ("value", pa.string()),
                             ("unit", pa.string())])


def format_value(value: object) -> str:
    """Exact text for a figure: Decimals without exponent or trailing zeros, None as empty."""
    if value is None:
        return ""
    if isinstance(value, Decimal):
        text = format(value.normalize(), "f")
        return "0" if text in ("-0", "") else text
    return str(value)


class Headline:
    """Collects headline rows in the order they are added."""

    def __init__(self) -> None:
        self.rows: list[dict[str, str]] = []

    def add(self, metric: str, value: object, unit: str = "", scope: str = "") -> None:
        """One figure."""
        self.rows.append({"metric": metric, "scope": scope, "value": format_value(value), "unit": unit})

    def table(self) -> Table:
        """The rows with ``HEADLINE_SCHEMA``."""
        return list(self.rows), HEADLINE_SCHEMA

    def orders_and_fills(self, orders: Sequence[Mapping[str, Any]], fills: Sequence[Mapping[str, Any]],
                         instrument_of: Mapping[tuple[str, str], str]) -> None:
        """Counts, fill ratios, maker/taker split, turnover, fees, slippage and queue time."""
        accepted = [o for o in orders if o["accepted"]]
        self.add("orders", len(orders))
        self.add("orders_accepted", len(accepted))
        self.add("orders_rejected", sum(1 for o in orders if o["final_status"] == "REJECTED"))
        self.add("orders_with_fills", sum(1 for o in orders if o["fills"]))
        self.add("fill_ratio", ratio(sum((dec(o["filled_quantity"]) for o in accepted), Decimal(0)),
                                     sum((dec(o["quantity"]) for o in accepted), Decimal(0))),
                 "filled / ordered quantity, accepted orders")
        self.add("fill_ratio_orders", ratio(Decimal(sum(1 for o in accepted if o["fills"])), Decimal(len(accepted))),
                 "accepted orders with a fill")
        makers = [f for f in fills if f["liquidity"] == "MAKER"]
        self.add("fills", len(fills))
        self.add("maker_fills", len(makers))
        self.add("taker_fills", len(fills) - len(makers))
        total_qty = sum((dec(f["quantity"]) for f in fills), Decimal(0))
        self.add("maker_share", ratio(sum((dec(f["quantity"]) for f in makers), Decimal(0)), total_qty),
                 "maker quantity / filled quantity")
        turnover: dict[str, Decimal] = {}
        fees: dict[str, Decimal] = {}
        for f in fills:
            instrument = instrument_of.get((str(f["venue"]), str(f["symbol"])), str(f["symbol"]))
            quote = base_quote(instrument)[1] or instrument
            turnover[quote] = turnover.get(quote, Decimal(0)) + dec(f["notional"])
            fees[str(f["fee_asset"])] = fees.get(str(f["fee_asset"]), Decimal(0)) + dec(f["fee"])
        for quote, value in sorted(turnover.items()):
            self.add("turnover", value, quote, scope=quote)
        for asset, value in sorted(fees.items()):
            self.add("fees_paid", value, asset, scope=asset)
        slipped = [o for o in orders if o["slippage_bps"] is not None]
        weight = sum((dec(o["filled_quantity"]) for o in slipped), Decimal(0))
        self.add("slippage_bps", ratio(sum((dec(o["slippage_bps"]) * dec(o["filled_quantity"]) for o in slipped),
                                           Decimal(0)), weight),
                 "bps vs arrival mid, quantity-weighted (positive: worse)")
        self.add("orders_with_arrival_mid", sum(1 for o in orders if o["arrival_mid"] is not None))
        queue = sorted(int(f["queue_time_ns"]) for f in fills if f["queue_time_ns"] is not None)
        self.add("queue_time_p50", nearest_rank(queue, 50), "ns", scope="maker fills")
        self.add("queue_time_p90", nearest_rank(queue, 90), "ns", scope="maker fills")
