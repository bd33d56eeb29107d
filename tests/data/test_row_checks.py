"""Rows that parse but must not reach a replay: bad prices and sizes, trades out of order or repeated.

Strict import refuses them naming file:line:field; ``--skip-bad`` drops and counts them per
reason; ``harness data verify`` counts them per stream and exits 1. The rules themselves
(``harness.data.checks``) are tested on hand-made rows, including the legitimate cases that
must pass: equal timestamps, trades without ids, non-numeric ids.
"""

from __future__ import annotations

from pathlib import Path

import pyarrow.parquet as pq
import pytest
from slices import edit_trade, sample_lines, trade_line_numbers, write_slice

from harness.cli import main
from harness.data.checks import (
    DUPLICATE,
    NEGATIVE_SIZE,
    NON_POSITIVE_PRICE,
    NON_POSITIVE_SIZE,
    OUT_OF_ORDER,
    RowChecks,
    TradeOrder,
    value_problem,
)
from harness.data.errors import DataFormatError
from harness.data.importing import import_file

LINES = 3000


def _trade(ts: int, trade_id: str, *, venue: str = "v", symbol: str = "S", price: int = 10, size: int = 1
           ) -> tuple[object, ...]:
    return (ts, ts, venue, symbol, price, size, 1, trade_id)


def _categories(checker: TradeOrder, rows: list[tuple[object, ...]]) -> list[str | None]:
    out = []
    for row in rows:
        problem = checker.check(row)
        out.append(None if problem is None else problem.category)
    return out


def test_trade_order_rules() -> None:
    rows = [_trade(1, "a"), _trade(1, "b"), _trade(1, "a"),  # equal times fine, a repeat is a duplicate
            _trade(2, "c"), _trade(1, "d"),                   # back in time: out of order
            _trade(2, "c"),                                   # same (ts, id) again: duplicate
            _trade(1, "b"),                                   # late repeat of an older trade: duplicate
            _trade(3, ""), _trade(3, ""),                     # no ids: order only
            _trade(3, "x-1", symbol="T"), _trade(2, "y", symbol="T"),  # streams are independent
            _trade(3, "c")]                                   # same id at another time: a new trade
    assert _categories(TradeOrder(), rows) == [None, None, DUPLICATE, None, OUT_OF_ORDER, DUPLICATE, DUPLICATE,
                                               None, None, None, OUT_OF_ORDER, None]


def test_a_refused_trade_does_not_move_the_stream() -> None:
    checker = TradeOrder()
    assert checker.check(_trade(5, "a")) is None
    assert checker.check(_trade(9, "b", price=0)) is None  # order only: values are RowChecks' job
    checks = RowChecks()
    assert checks.problem("trades", _trade(5, "a")) is None
    problem = checks.problem("trades", _trade(9, "b", price=0))
    assert problem is not None and problem.category == NON_POSITIVE_PRICE and problem.field == "price"
    assert checks.problem("trades", _trade(6, "c")) is None  # 9 was refused, so 6 is in order


def test_late_repeats_beyond_the_window_are_still_refused_as_out_of_order() -> None:
    checker = TradeOrder(recent=2)
    assert _categories(checker, [_trade(1, "a"), _trade(2, "b"), _trade(3, "c"), _trade(4, "d"),
                                 _trade(1, "a"), _trade(3, "c")]) == [None] * 4 + [OUT_OF_ORDER, DUPLICATE]


def test_value_rules_per_kind() -> None:
    def category(kind: str, row: tuple[object, ...]) -> str | None:
        problem = value_problem(kind, row)
        return None if problem is None else problem.category

    assert category("trades", _trade(1, "a", size=-5)) == NON_POSITIVE_SIZE
    assert category("trades", _trade(1, "a", size=0)) == NON_POSITIVE_SIZE
    assert category("trades", _trade(1, "a", price=-1)) == NON_POSITIVE_PRICE
    quote = (1, 1, "v", "S", 10, 2, 11, 3, -1)
    assert category("quotes", quote) is None
    assert category("quotes", (1, 1, "v", "S", 0, 0, 11, 3, -1)) is None  # an empty bid side
    assert category("quotes", (1, 1, "v", "S", 0, 2, 11, 3, -1)) == NON_POSITIVE_PRICE
    assert category("quotes", (1, 1, "v", "S", 10, 2, 11, -3, -1)) == NEGATIVE_SIZE
    book = (1, 1, "v", "S", 1, 10, 0, -1, 5, -1, 0)
    assert category("book", book) is None  # size 0 removes the level
    assert category("book", (1, 1, "v", "S", 0, 0, 0, -1, 5, -1, 2)) is None  # an empty message's id row
    assert category("book", (1, 1, "v", "S", 1, 10, -1, -1, 5, -1, 0)) == NEGATIVE_SIZE
    assert category("book", (1, 1, "v", "S", 1, -10, 1, -1, 5, -1, 0)) == NON_POSITIVE_PRICE
    candle = (0, 60, "v", "S", 60, 10, 12, 9, 11, 0)
    assert category("candles", candle) is None
    assert category("candles", (0, 60, "v", "S", 60, 10, 12, 0, 11, 0)) == NON_POSITIVE_PRICE
    assert category("candles", (0, 60, "v", "S", 60, 10, 12, 9, 11, -1)) == NEGATIVE_SIZE


# -- through the importer and verify, on a slice of the shipped recording --------------------------

def _variants(tmp_path: Path) -> tuple[list[str], dict[str, tuple[Path, int, str]]]:
    """Raw files with one problem each: name -> (path, bad line, field)."""
    lines = sample_lines(LINES)
    trades = trade_line_numbers(lines)
    out: dict[str, tuple[Path, int, str]] = {}

    def variant(name: str, edited: list[str], line: int, field: str) -> None:
        out[name] = (write_slice(tmp_path / "raw" / f"{name}.jsonl.gz", edited), line, field)

    a, b, c = trades[5], trades[7], trades[8]
    edited = list(lines)
    edited[a - 1] = edit_trade(edited[a - 1], q="-0.5")
    variant("negative_size", edited, a, "size")
    edited = list(lines)
    edited[a - 1] = edit_trade(edited[a - 1], p="0.00000000")
    variant("zero_price", edited, a, "price")
    edited = list(lines)
    earlier = edit_trade(lines[a - 1], T=1, t=1)  # a trade stamped long before the one before it
    edited[b - 1] = earlier
    variant("out_of_order", edited, b, "ts_event")
    edited = list(lines)
    edited.insert(c, lines[c - 1])  # the trade on line c, received twice in a row
    variant("duplicate", edited, c + 1, "trade_id")
    return lines, out


def test_strict_import_names_file_line_and_field(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    _lines, variants = _variants(tmp_path)
    for name, (path, line, field) in variants.items():
        with pytest.raises(DataFormatError) as info:
            import_file(path, tmp_path / "out" / name)
        assert (info.value.path, info.value.line, info.value.field_name) == (str(path), line, field), name
        assert main(["data", "import", str(path), "-o", str(tmp_path / "out" / name)]) == 2
        err = capsys.readouterr().err
        assert f"{path}:{line}: field {field!r}" in err, (name, err)
        assert not list((tmp_path / "out" / name).glob("*.parquet"))


def test_skip_bad_drops_and_counts_per_reason(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    lines, variants = _variants(tmp_path)
    clean = import_file(write_slice(tmp_path / "raw" / "clean.jsonl.gz", lines), tmp_path / "clean")
    expected = {"negative_size": NON_POSITIVE_SIZE, "zero_price": NON_POSITIVE_PRICE, "out_of_order": OUT_OF_ORDER,
                "duplicate": DUPLICATE}
    for name, (path, _line, _field) in variants.items():
        out = tmp_path / "skip" / name
        assert main(["data", "import", str(path), "-o", str(out), "--skip-bad"]) == 0
        err = capsys.readouterr().err
        assert f"skipped 1 bad row: 1 {expected[name]}" in err, (name, err)
        trades = pq.read_table(out / f"{name}.trades.parquet")
        assert trades.num_rows == clean.rows["trades"] - (0 if name == "duplicate" else 1), name
        ts = trades.column("ts_event").to_pylist()
        assert ts == sorted(ts)
        assert all(p > 0 for p in trades.column("price").to_pylist())
        assert all(s > 0 for s in trades.column("size").to_pylist())


def test_verify_counts_trade_problems_and_exits_one(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    lines, variants = _variants(tmp_path)
    clean = write_slice(tmp_path / "raw" / "clean.jsonl.gz", lines)
    assert main(["data", "verify", str(clean)]) == 0
    out = capsys.readouterr().out
    assert "binance BTCUSDT: trades " in out and "out-of-order trade 0, duplicate trade 0" in out
    assert "bad rows: none" in out and "ignored rows: trades" not in out
    path, line, _field = variants["duplicate"]
    assert main(["data", "verify", str(path)]) == 1
    out = capsys.readouterr().out
    assert "duplicate trade 1" in out and f"{path.name}:{line}: trades field 'trade_id'" in out
    # a trade repeated across two files (the seam of two day files) is found too
    first = write_slice(tmp_path / "seam" / "a.jsonl.gz", lines[:2000])
    second = write_slice(tmp_path / "seam" / "b.jsonl.gz", [lines[trade_line_numbers(lines[:2000])[-1] - 1],
                                                           *lines[2000:]])
    assert main(["data", "verify", str(first), str(second)]) == 1
    assert "duplicate trade 1" in capsys.readouterr().out
    # and in canonical files: import the pieces with --skip-bad off, each alone is clean
    for src in (first, second):
        import_file(src, tmp_path / "canonical")
    assert main(["data", "verify", str(tmp_path / "canonical")]) == 1
    assert "duplicate trade 1" in capsys.readouterr().out
