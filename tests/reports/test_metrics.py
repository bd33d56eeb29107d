"""Every metric on the hand-checked run (``tests/hand_run.py``), value for value, worked out by hand here."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import pyarrow.parquet as pq
import pytest
from hand_run import write_hand_run

from reports.metrics import METRIC_TABLES, compute_metrics
from reports.metrics.common import nearest_rank

D = Decimal
Q18 = D("1e-18")


@pytest.fixture
def run(tmp_path: Path) -> Path:
    return write_hand_run(tmp_path, with_faults=True)


def test_pnl_over_time_with_fees_and_drawdown(run: Path) -> None:
    rows = compute_metrics(run).rows("metrics_pnl")
    got = [(r["ts_ns"], r["realized_pnl"], r["unrealized_pnl"], r["fees"], r["total_pnl"], r["drawdown"],
            r["mark_source"]) for r in rows]
    # fees in BTC are converted at the fill's price: 0.0004 * 100 = 0.04, 0.0006 * 100 = 0.06; then 0.055 USDT
    assert got == [
        (2003, 0, 0, D("0.04"), D("-0.04"), D("0.04"), "last fill"),
        (3005, 0, 0, D("0.10"), D("-0.10"), D("0.10"), "last fill"),
        # 0.5 left at 100, marked at the last fill (110): 5 unrealized; 5 realized
        (4012, 5, 5, D("0.155"), D("9.845"), 0, "last fill"),
        # closing mark from positions_final (mid 105): 2.5 unrealized; down 2.5 from the 9.845 peak
        (9000, 5, D("2.5"), D("0.155"), D("7.345"), D("2.5"), "close"),
    ]
    assert all(r["instrument"] == "BTC/USDT" and r["quote_asset"] == "USDT" for r in rows)


def test_orders_fill_ratio_and_slippage_against_the_arrival_mid(run: Path) -> None:
    result = compute_metrics(run)
    orders = {r["client_order_id"]: r for r in result.rows("metrics_orders")}
    assert {c: (o["accepted"], o["final_status"], o["filled_quantity"]) for c, o in orders.items()} == {
        "h1": (True, "PARTIALLY_FILLED", 1), "h2": (True, "FILLED", D("0.5")), "h3": (False, "REJECTED", 0),
        "h4": (True, "CANCELLED", 0)}
    assert [orders[c]["created_ns"] for c in ("h1", "h2", "h3", "h4")] == [1000, 4000, 5000, 7000]
    assert orders["h1"]["arrival_mid"] == 100 and orders["h2"]["arrival_mid"] == 109  # quotes at 900 and 3900
    assert orders["h3"]["arrival_mid"] == 90 and orders["h4"]["arrival_mid"] == 90
    assert orders["h1"]["slippage_bps"] == 0  # bought at the mid
    sell = (D(109) - D(110)) / D(109) * 10_000  # sold 1 above the mid: better, so negative
    assert orders["h2"]["slippage_bps"] == sell.quantize(Q18)
    assert orders["h1"]["maker_quantity"] == 1 and orders["h2"]["taker_quantity"] == D("0.5")
    assert result.headline("fill_ratio") == "0.428571428571428571"  # (1 + 0.5) / (2 + 0.5 + 1)
    assert result.headline("fill_ratio_orders") == "0.666666666666666667"  # h1, h2 of h1, h2, h4
    weighted = (sell.quantize(Q18) * D("0.5") / D("1.5")).quantize(Q18)
    assert result.headline("slippage_bps") == format(weighted.normalize(), "f")


def test_turnover_maker_taker_split_and_queue_time(run: Path) -> None:
    result = compute_metrics(run)
    assert result.headline("turnover", "USDT") == "155"  # 0.4 * 100 + 0.6 * 100 + 0.5 * 110
    assert result.headline("fees_paid", "BTC") == "0.001" and result.headline("fees_paid", "USDT") == "0.055"
    assert (result.headline("maker_fills"), result.headline("taker_fills")) == ("2", "1")
    assert result.headline("maker_share") == "0.666666666666666667"  # 1 of 1.5
    fills = {r["execution_id"]: r for r in result.rows("metrics_fills")}
    # h1 accepted at the venue at 1006; its maker fills at 2000 and 3000
    assert [fills[e]["queue_time_ns"] for e in ("e1", "e2", "e3")] == [994, 1994, None]
    assert [fills[e]["report_latency_ns"] for e in ("e1", "e2", "e3")] == [3, 5, 8]
    assert fills["e3"]["notional"] == 55
    assert result.headline("queue_time_p50", "maker fills") == "994"
    assert result.headline("queue_time_p90", "maker fills") == "1994"


def test_latency_percentiles_per_leg(run: Path) -> None:
    result = compute_metrics(run)
    summary = {r["leg"]: r for r in result.rows("metrics_latency_summary")}
    samples: dict[str, list[int]] = {}
    for s in result.rows("metrics_latency"):
        samples.setdefault(s["leg"], []).append(s["latency_ns"])
    assert {leg: sorted(v) for leg, v in samples.items()} == {
        "round_trip": [5, 6, 8, 8, 10, 20],
        "order_entry": [3, 4, 4, 4],  # sent -> venue: h1 1002 -> 1006, h2, h4, the cancel 8000 -> 8003
        "ack": [3, 4, 4, 6],
        "limiter_wait": [0, 0, 0, 2],  # h1 waited from its intent at 1000 to 1002
        "fill_report": [3, 5, 8],
    }
    assert (summary["round_trip"]["p50_ns"], summary["round_trip"]["p90_ns"], summary["round_trip"]["p99_ns"],
            summary["round_trip"]["max_ns"]) == (8, 20, 20, 20)
    assert (summary["ack"]["p50_ns"], summary["ack"]["p99_ns"]) == (4, 6)
    assert summary["market_data"]["count"] == 0 and summary["market_data"]["p50_ns"] is None
    assert "not measurable" in summary["market_data"]["measures"]
    assert result.headline("latency_p50", "fill_report binance") == "5"


def test_nearest_rank_percentile() -> None:
    assert nearest_rank([1, 2, 3, 4], 50) == 2 and nearest_rank([1, 2, 3, 4], 51) == 3
    assert nearest_rank([7], 99) == 7 and nearest_rank([], 50) is None


def test_rate_limit_headroom_from_the_descriptor(run: Path) -> None:
    result = compute_metrics(run)
    rows = result.rows("metrics_rate_limits")
    weight = [(r["ts_ns"], r["used"], r["headroom"]) for r in rows if r["rule"] == "REQUEST_WEIGHT"]
    # binance: account 20, each order request 1; all six within a minute
    assert weight == [(80, 20, 1180), (1002, 21, 1179), (4000, 22, 1178), (5000, 23, 1177), (7000, 24, 1176),
                      (8000, 25, 1175)]
    orders = [(r["ts_ns"], r["used"]) for r in rows if r["rule"] == "ORDERS_10S"]
    assert orders == [(1002, 1), (4000, 2), (5000, 3), (7000, 4)]  # cancels place no order
    assert result.headline("rate_limit_min_headroom", "binance ORDERS_10S") == "46"
    assert result.headline("rate_limit_hits") == "0"


def test_faults_invariants_and_routing(run: Path) -> None:
    result = compute_metrics(run)
    faults = result.rows("metrics_faults")
    assert [(f["name"], f["duration_ns"], f["time_to_detect_ns"], f["time_to_recover_ns"], f["outcome"])
            for f in faults] == [("spike", 1000, 500, 1500, "recovered"), ("cut", 500, None, None, "undetected")]
    invariants = result.rows("metrics_invariants")
    assert [(i["invariant"], i["passed"], i["violation_after_ns"]) for i in invariants] == [
        ("no_duplicate_orders", True, None), ("positions_match_venue", False, 4000)]  # run start 500
    routing = result.rows("metrics_routing")
    assert [(r["decision_id"], r["fill_ratio"], r["outcome"]) for r in routing] == [("d1", 1, "filled"),
                                                                                    ("d2", 0, "unfilled")]
    assert (result.headline("faults"), result.headline("faults_recovered"), result.headline("invariants_failed"),
            result.headline("fault_max_time_to_recover")) == ("2", "1", "1", "1500")


def test_metrics_are_written_atomically_and_idempotently(run: Path) -> None:
    compute_metrics(run)
    first = {name: (run / f"{name}.parquet").read_bytes() for name in METRIC_TABLES}
    compute_metrics(run)
    assert {name: (run / f"{name}.parquet").read_bytes() for name in METRIC_TABLES} == first
    assert not list(run.glob(".*.tmp"))
    # money is never a float in what is stored
    for name in METRIC_TABLES:
        schema = pq.read_schema(run / f"{name}.parquet")
        assert not [f.name for f in schema if str(f.type) in ("double", "float")], name


def test_plain_replay_without_faults_and_a_run_without_market_data(tmp_path: Path) -> None:
    run = write_hand_run(tmp_path)
    (tmp_path / "data" / "binance_BTCUSDT.quotes.parquet").unlink()
    result = compute_metrics(run)
    assert result.rows("metrics_faults") == [] and result.rows("metrics_invariants") == []
    assert result.headline("faults") == "0"
    assert all(o["arrival_mid"] is None for o in result.rows("metrics_orders"))
    assert result.headline("slippage_bps") == ""  # not measurable without the quotes


def test_a_running_run_is_computed_but_not_written(tmp_path: Path) -> None:
    run = write_hand_run(tmp_path, status="running")
    result = compute_metrics(run)
    assert not result.written and not (run / "metrics_headline.parquet").exists()
    assert result.headline("status") == "running"
