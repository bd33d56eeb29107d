"""A small run directory written by hand, whose every metric is worked out on paper (tests only).

One venue (binance, BTCUSDT as BTC/USDT), times in plain nanoseconds from 0:

* order h1: BUY LIMIT 2 @ 100; intent 1000, sent 1002, at the venue 1006, answer 1010 (OPEN);
  maker fills 0.4 @ 100 at 2000 and 0.6 @ 100 at 3000 (fees 0.0004 and 0.0006 BTC), applied by
  the client at 2003 and 3005;
* order h2: SELL MARKET 0.5; intent 4000, sent 4000, venue 4004, answer 4010 (FILLED); taker fill
  0.5 @ 110 at 4004 (fee 0.055 USDT), applied at 4012, realizing 0.5 * (110 - 100) = 5;
* order h3: BUY LIMIT 1 @ 90, rejected: intent 5000, sent 5000, answer 5005 (INVALID_REQUEST);
* order h4: BUY LIMIT 1 @ 95; intent 7000, sent 7000, venue 7004, answer 7008 (OPEN); cancelled:
  sent 8000, venue 8003, answer 8006;
* a balance query: sent 80, answered 100;
* quotes (in the run's market data): mid 100 at 900, 109 at 3900, 90 at 4999;
* the final position 0.5 @ 100, marked at a closing mid of 105 (unrealized 2.5).

``with_faults`` adds hand-written ``faults`` and ``scorecard`` tables (the schema the fault
scenarios write) and two routing decisions; ``status`` writes a failed or running manifest.
"""

from __future__ import annotations

import json
from decimal import Decimal
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq

from harness.data.schema import QUOTES, SCHEMA_VERSION
from reports.columns import table_with_times
from reports.run_output import FILLS_SCHEMA, ORDERS_SCHEMA
from reports.run_tables import AUDIT_SCHEMA, DECISIONS_SCHEMA, POSITION_HISTORY_SCHEMA, POSITIONS_FINAL_SCHEMA

D = Decimal
FAULTS_SCHEMA = pa.schema([
    ("name", pa.string()), ("kind", pa.string()), ("target", pa.string()), ("start_ns", pa.int64()),
    ("end_ns", pa.int64()), ("detected_ns", pa.int64()), ("recovered_ns", pa.int64()),
])
SCORECARD_SCHEMA = pa.schema([
    ("invariant", pa.string()), ("passed", pa.bool_()), ("first_violation_ns", pa.int64()), ("detail", pa.string()),
])


def _order(ts: int, coid: str, status: str, side: str, kind: str, qty: str, filled: str,
           price: str | None) -> dict[str, Any]:
    return {"ts_ns": ts, "venue": "binance", "symbol": "BTCUSDT", "client_order_id": coid, "venue_order_id": coid[1:],
            "status": status, "side": side, "order_type": kind, "time_in_force": "GTC", "quantity": D(qty),
            "filled_quantity": D(filled), "price": None if price is None else D(price), "average_price": None,
            "reason": ""}


def _audit(ts: int, method: str, phase: str, coid: str = "", *, latency: int | None = None,
           success: bool | None = None, venue_ts: int | None = None, category: str = "") -> dict[str, Any]:
    response = {} if venue_ts is None else {"client_order_id": coid, "status": "OPEN", "venue_ts_ns": str(venue_ts)}
    return {"ts_ns": ts, "venue": "binance", "method": method, "endpoint": method, "phase": phase,
            "client_order_id": coid, "success": success, "latency_ns": latency, "error_category": category,
            "error": "", "request": "{}", "response": json.dumps(response, sort_keys=True)}


def _fill(ts: int, execution: str, coid: str, side: str, price: str, qty: str, fee: str, asset: str,
          liquidity: str) -> dict[str, Any]:
    return {"ts_ns": ts, "venue": "binance", "symbol": "BTCUSDT", "execution_id": execution, "client_order_id": coid,
            "venue_order_id": coid[1:], "side": side, "price": D(price), "quantity": D(qty), "fee": D(fee),
            "fee_asset": asset, "liquidity": liquidity}


def _history(ts: int, change: str, prev: str, new: str, avg: str, realized: str, trigger: str) -> dict[str, Any]:
    return {"ts_ns": ts, "venue": "binance", "symbol": "BTCUSDT", "change": change, "previous_quantity": D(prev),
            "new_quantity": D(new), "previous_average": D(avg), "new_average": D(avg), "realized_delta": D(realized),
            "trigger": trigger}


def _write(run: Path, name: str, rows: list[dict[str, Any]], schema: pa.Schema) -> None:
    pq.write_table(table_with_times(rows, schema), run / f"{name}.parquet")


def write_quotes(path: Path, rows: list[tuple[int, int, int]], venue: str = "binance", symbol: str = "BTCUSDT") -> None:
    """A canonical quotes file of ``(ts_event, bid, ask)`` rows (prices in whole units)."""
    n = len(rows)
    table = pa.Table.from_arrays(
        [pa.array([r[0] for r in rows], pa.int64()), pa.array([r[0] for r in rows], pa.int64()),
         pa.DictionaryArray.from_arrays(pa.array([0] * n, pa.int32()), [venue]),
         pa.DictionaryArray.from_arrays(pa.array([0] * n, pa.int32()), [symbol]),
         pa.array([r[1] * 10**9 for r in rows], pa.int64()), pa.array([10**9] * n, pa.int64()),
         pa.array([r[2] * 10**9 for r in rows], pa.int64()), pa.array([10**9] * n, pa.int64()),
         pa.array([-1] * n, pa.int64())],
        schema=QUOTES.with_metadata({"harness.schema_version": SCHEMA_VERSION, "harness.kind": "quotes"}))
    pq.write_table(table, path)


def write_hand_run(parent: Path, name: str = "hand-seed1-0000000000", *, status: str = "complete",
                   with_faults: bool = False, seed: int = 1, shift_fill: int = 0) -> Path:
    """Write the hand-checked run described in the module docstring under ``parent``; return its directory.

    ``shift_fill`` moves the second fill of h1 later by that many ns (a run that diverges there).
    """
    suffix = {"complete": "", "failed": ".failed", "running": ".partial"}[status]
    run = parent / f"{name}{suffix}"
    run.mkdir(parents=True)
    data = parent / "data"
    data.mkdir(exist_ok=True)
    quotes = data / "binance_BTCUSDT.quotes.parquet"
    if not quotes.exists():
        write_quotes(quotes, [(900, 99, 101), (3900, 108, 110), (4999, 89, 91)])
    orders = [
        _order(1010, "h1", "OPEN", "BUY", "LIMIT", "2", "0", "100"),
        _order(2003, "h1", "PARTIALLY_FILLED", "BUY", "LIMIT", "2", "0.4", "100"),
        _order(3005 + shift_fill, "h1", "PARTIALLY_FILLED", "BUY", "LIMIT", "2", "1", "100"),
        _order(4010, "h2", "FILLED", "SELL", "MARKET", "0.5", "0.5", None),
        _order(5005, "h3", "REJECTED", "BUY", "LIMIT", "1", "0", "90"),
        _order(7008, "h4", "OPEN", "BUY", "LIMIT", "1", "0", "95"),
        _order(8006, "h4", "CANCELLED", "BUY", "LIMIT", "1", "0", "95"),
    ]
    fills = [
        _fill(2000, "e1", "h1", "BUY", "100", "0.4", "0.0004", "BTC", "MAKER"),
        _fill(3000 + shift_fill, "e2", "h1", "BUY", "100", "0.6", "0.0006", "BTC", "MAKER"),
        _fill(4004, "e3", "h2", "SELL", "110", "0.5", "0.055", "USDT", "TAKER"),
    ]
    audit = [
        _audit(100, "get_balances", "result", latency=20, success=True),
        _audit(1000, "submit_order", "intent", "h1"),
        _audit(1010, "submit_order", "result", "h1", latency=8, success=True, venue_ts=1006),
        _audit(4000, "submit_order", "intent", "h2"),
        _audit(4010, "submit_order", "result", "h2", latency=10, success=True, venue_ts=4004),
        _audit(5000, "submit_order", "intent", "h3"),
        _audit(5005, "submit_order", "result", "h3", latency=5, success=False, category="INVALID_REQUEST"),
        _audit(7000, "submit_order", "intent", "h4"),
        _audit(7008, "submit_order", "result", "h4", latency=8, success=True, venue_ts=7004),
        _audit(8006, "cancel_order", "result", "h4", latency=6, success=True, venue_ts=8003),
    ]
    history = [
        _history(2003, "OPEN", "0", "0.4", "100", "0", "e1"),
        _history(3005 + shift_fill, "INCREASE", "0.4", "1", "100", "0", "e2"),
        _history(4012, "DECREASE", "1", "0.5", "100", "5", "e3"),
    ]
    final = [{"venue": venue, "instrument": "BTC/USDT", "symbol": symbol, "aggregate": aggregate,
              "quantity": D("0.5"), "average_price": D(100), "realized_pnl": D(5), "unrealized_pnl": D("2.5"),
              "commissions": '{"BTC": "0.001", "USDT": "0.055"}'}
             for venue, symbol, aggregate in (("binance", "BTCUSDT", False), ("ALL", None, True))]
    _write(run, "orders", orders, ORDERS_SCHEMA)
    _write(run, "fills", fills, FILLS_SCHEMA)
    _write(run, "audit", audit, AUDIT_SCHEMA)
    _write(run, "position_history", history, POSITION_HISTORY_SCHEMA)
    _write(run, "positions_final", final, POSITIONS_FINAL_SCHEMA)
    config: dict[str, Any] = {"strategy": "strategies.hand:HandStrategy", "params": {}, "seed": seed,
                              "venues": [{"name": "binance", "profile": "binance", "data_venue": "binance"}],
                              "data": [quotes.name]}
    manifest: dict[str, Any] = {"config": config, "status": status, "time_range_ns": [500, 9000], "errors": [],
                                "data_locations": {quotes.name: f"../data/{quotes.name}"}}
    if status == "failed":
        manifest["error"] = "RuntimeError: the strategy raised"
    if with_faults:
        manifest["scenario"] = "hand-faults"
        _write(run, "faults", [
            {"name": "spike", "kind": "latency_spike", "target": "binance.requests", "start_ns": 1000, "end_ns": 2000,
             "detected_ns": 1500, "recovered_ns": 2500},
            {"name": "cut", "kind": "disconnect", "target": "binance.user_stream", "start_ns": 3000, "end_ns": 3500,
             "detected_ns": None, "recovered_ns": None},
        ], FAULTS_SCHEMA)
        _write(run, "scorecard", [
            {"invariant": "no_duplicate_orders", "passed": True, "first_violation_ns": None, "detail": ""},
            {"invariant": "positions_match_venue", "passed": False, "first_violation_ns": 4500,
             "detail": "binance BTCUSDT: ours 0.5, venue 0.4"},
        ], SCORECARD_SCHEMA)
        _write(run, "decisions", [
            {"decision_id": "d1", "ts_ns": 4000, "instrument": "BTC/USDT", "side": "SELL", "order_type": "MARKET",
             "quantity": D("0.5"), "criteria": "BEST_PRICE", "split": False, "venue": "binance", "symbol": "BTCUSDT",
             "allocated_quantity": D("0.5"), "expected_price": D(109), "fill_price": D(110),
             "filled_quantity": D("0.5"), "slippage_bps": D("-91.7"), "time_to_fill_ns": 4},
            {"decision_id": "d2", "ts_ns": 7000, "instrument": "BTC/USDT", "side": "BUY", "order_type": "LIMIT",
             "quantity": D(1), "criteria": "BEST_PRICE", "split": False, "venue": "binance", "symbol": "BTCUSDT",
             "allocated_quantity": D(1), "expected_price": D(95), "fill_price": None, "filled_quantity": None,
             "slippage_bps": None, "time_to_fill_ns": None},
        ], DECISIONS_SCHEMA)
    (run / "manifest.json").write_text(json.dumps(manifest, indent=2, sort_keys=True) + "\n")
    return run
