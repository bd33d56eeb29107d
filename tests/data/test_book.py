"""L2 book, Binance book sync (spot / futures / generic) and ``harness data verify``."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from harness.cli import main
from harness.data.book import BookSync, DiffResult, GapKind, L2Book, Level, SyncMode
from harness.data.importing import import_file
from harness.data.verify import format_rate, verify_paths
from harness.model import BOOK_ASK, BOOK_BID, BookLevel

REAL = Path("/work/shared/data/real")
HFT = REAL / "hftbacktest"
SPOT_0808 = HFT / "binance_spot_btcusdt_20240808.jsonl.gz"
SPOT_0809 = HFT / "binance_spot_btcusdt_20240809.jsonl.gz"
needs_real = pytest.mark.skipif(not REAL.is_dir(), reason=f"real sample data not present at {REAL}")
RATE_LINE = re.compile(r"\Abook match rate: \d\.\d{4} \((\d+) of (\d+)\)\Z")


def lv(side: int, price: int, size: int) -> Level:
    return (side, price, size)


# --- L2Book -----------------------------------------------------------------------------------

def test_book_best_levels_and_removal() -> None:
    book = L2Book()
    assert book.best_bid() is None and book.best_ask() is None
    for price, size in ((100, 1), (102, 2), (101, 3)):
        book.set(BOOK_BID, price, size)
    for price, size in ((105, 1), (103, 4), (104, 2)):
        book.set(BOOK_ASK, price, size)
    assert book.best_bid() == BookLevel(102, 2) and book.best_ask() == BookLevel(103, 4)
    book.set(BOOK_BID, 102, 0)
    book.set(BOOK_ASK, 103, 0)
    book.set(BOOK_ASK, 999, 0)  # removing an absent level is fine
    assert book.best_bid() == BookLevel(101, 3) and book.best_ask() == BookLevel(104, 2)
    book.set(BOOK_BID, 101, 7)
    assert book.best_bid() == BookLevel(101, 7)
    assert book.depth(BOOK_BID, 5) == [BookLevel(101, 7), BookLevel(100, 1)]
    assert book.depth(BOOK_ASK, 1) == [BookLevel(104, 2)]
    book.set(0, 50, 1)  # side 0: ids-only marker, no level change
    assert 50 not in book.bids and 50 not in book.asks


ops = st.lists(st.tuples(st.sampled_from([BOOK_BID, BOOK_ASK]), st.integers(1, 40), st.integers(0, 3)),
               max_size=400)


@settings(max_examples=200, deadline=None)
@given(ops, st.sampled_from([0, 3, 64]))
def test_book_matches_naive_model(changes: list[tuple[int, int, int]], slack: int) -> None:
    book = L2Book(compact_slack=slack)  # small slack: heap compaction happens all the time
    model: dict[int, dict[int, int]] = {BOOK_BID: {}, BOOK_ASK: {}}
    for side, price, size in changes:
        book.set(side, price, size)
        if size:
            model[side][price] = size
        else:
            model[side].pop(price, None)
        bids, asks = model[BOOK_BID], model[BOOK_ASK]
        assert book.bids == bids and book.asks == asks
        best_bid = max(bids) if bids else None
        best_ask = min(asks) if asks else None
        assert book.best_bid() == (BookLevel(best_bid, bids[best_bid]) if best_bid is not None else None)
        assert book.best_ask() == (BookLevel(best_ask, asks[best_ask]) if best_ask is not None else None)
    top3 = sorted(model[BOOK_BID], reverse=True)[:3]
    assert book.depth(BOOK_BID, 3) == [BookLevel(p, model[BOOK_BID][p]) for p in top3]


def test_book_heap_compaction_keeps_levels() -> None:
    book = L2Book(compact_slack=0)
    for i in range(200):
        book.set(BOOK_ASK, 10_000 + i, 1)  # buried level, removed: a stale heap entry
        book.set(BOOK_ASK, 10_000 + i, 0)
        book.set(BOOK_ASK, 5_000 - i, i + 1)  # a new best level every round
        assert book.best_ask() == BookLevel(5_000 - i, i + 1)
    assert len(book._ask_heap) <= 2 * len(book.asks) + 1


# --- spot sync ----------------------------------------------------------------------------------

def test_spot_sync_buffers_then_applies_from_snapshot() -> None:
    sync = BookSync()
    assert sync.on_diff(90, 95, -1, [lv(1, 10, 1)]) is DiffResult.BUFFERED
    assert sync.on_diff(96, 102, -1, [lv(1, 11, 2)]) is DiffResult.BUFFERED
    valid_before = sync.valid  # a name of its own: mypy would keep False as sync.valid's type below
    assert not valid_before
    sync.on_snapshot(100, [lv(1, 9, 5), lv(-1, 12, 1)])
    assert sync.mode is SyncMode.SPOT
    assert sync.valid and sync.update_id == 102 and sync.dropped_old == 1 and sync.applied == 1
    assert sync.book.best_bid() == BookLevel(11, 2)
    assert sync.on_diff(103, 105, -1, [lv(-1, 12, 0)]) is DiffResult.APPLIED
    assert sync.book.best_ask() is None
    assert sync.on_diff(104, 105, -1, []) is DiffResult.DROPPED_OLD
    assert sync.gaps == []


def test_spot_missing_ids_invalidate_until_new_snapshot() -> None:
    sync = BookSync()
    sync.on_snapshot(100, [lv(1, 9, 5)])
    sync.on_diff(101, 103, -1, [])
    assert sync.on_diff(105, 110, -1, [lv(1, 8, 1)], "f.gz") is DiffResult.GAP
    valid_after_gap = sync.valid  # a name of its own: mypy would keep False as sync.valid's type below
    assert not valid_after_gap
    (gap,) = sync.gaps
    assert (gap.kind, gap.expected, gap.first_id, gap.last_id, gap.where) == (
        GapKind.MISSING_IDS, 104, 105, 110, "f.gz")
    assert "104" in gap.describe() and "105" in gap.describe()
    assert sync.on_diff(111, 115, -1, [lv(1, 7, 1)]) is DiffResult.BUFFERED
    sync.on_snapshot(112, [lv(1, 6, 1)])  # resync: buffered 105..110 dropped, 111..115 applied
    assert sync.valid and sync.update_id == 115 and sync.resyncs == 1
    assert sync.book.bids == {6: 1, 7: 1}
    assert sync.finish() == [gap]


def test_spot_snapshot_older_than_first_buffered_diff() -> None:
    sync = BookSync()
    sync.on_diff(105, 110, -1, [])
    sync.on_snapshot(100, [lv(1, 9, 5)])
    assert [g.kind for g in sync.gaps] == [GapKind.SNAPSHOT_TOO_OLD]
    assert not sync.valid


def test_spot_snapshot_then_non_chaining_diff_is_missing_ids() -> None:
    sync = BookSync(SyncMode.SPOT)
    sync.on_snapshot(100, [])
    assert sync.on_diff(102, 110, -1, []) is DiffResult.GAP
    assert sync.gaps[0].kind is GapKind.MISSING_IDS
    sync.finish("x")
    assert [g.kind for g in sync.gaps] == [GapKind.MISSING_IDS, GapKind.NOT_RESYNCED]


def test_diffs_without_snapshot_reported_at_finish() -> None:
    sync = BookSync()
    for first in range(1, 30, 3):
        sync.on_diff(first, first + 2, -1, [lv(1, first, 1)])
    assert sync.gaps == [] and not sync.valid
    (gap,) = sync.finish("day2.gz")
    assert (gap.kind, gap.count, gap.first_id, gap.last_id) == (GapKind.NO_SNAPSHOT, 10, 1, 30)
    assert sync.book.bids == {}


# --- futures sync -------------------------------------------------------------------------------

def test_futures_sync_uses_pu_chain() -> None:
    sync = BookSync()
    sync.on_diff(80, 99, 79, [lv(1, 1, 1)])
    sync.on_diff(100, 120, 99, [lv(1, 2, 1)])  # U <= 100 <= u: first to apply
    sync.on_snapshot(100, [])
    assert sync.mode is SyncMode.FUTURES
    assert sync.update_id == 120 and sync.dropped_old == 1 and sync.book.bids == {2: 1}
    # U is not previous u + 1 on futures; pu is what chains.
    assert sync.on_diff(125, 130, 120, [lv(1, 3, 1)]) is DiffResult.APPLIED
    assert sync.on_diff(131, 140, 128, []) is DiffResult.GAP
    (gap,) = sync.gaps
    assert (gap.kind, gap.expected) == (GapKind.CHAIN_BREAK, 130)
    assert "pu=130" in gap.describe()


def test_futures_first_diff_may_end_at_snapshot_id() -> None:
    sync = BookSync(SyncMode.FUTURES)
    sync.on_snapshot(100, [])
    assert sync.on_diff(90, 100, 89, [lv(-1, 5, 1)]) is DiffResult.APPLIED
    assert sync.on_diff(90, 100, 89, []) is DiffResult.DROPPED_OLD


def test_futures_snapshot_older_than_buffered_diffs() -> None:
    sync = BookSync()
    sync.on_diff(101, 120, 100, [])
    sync.on_snapshot(100, [])  # futures needs U <= lastUpdateId
    assert [g.kind for g in sync.gaps] == [GapKind.SNAPSHOT_TOO_OLD]


# --- generic venues -----------------------------------------------------------------------------

def test_generic_snapshot_and_deltas_without_ids() -> None:
    sync = BookSync()
    sync.on_diff(-1, -1, -1, [lv(1, 5, 1)])  # before any snapshot: unusable
    sync.on_snapshot(-1, [lv(1, 10, 1), lv(-1, 11, 1)])
    assert sync.on_diff(-1, -1, -1, [lv(1, 10, 0), lv(1, 9, 2)]) is DiffResult.APPLIED
    assert sync.mode is SyncMode.GENERIC
    assert sync.book.best_bid() == BookLevel(9, 2)
    sync.on_snapshot(-1, [lv(1, 1, 1)])  # a new snapshot replaces the book
    assert sync.book.bids == {1: 1} and sync.book.asks == {}
    assert sync.finish() == []


# --- verify on real data --------------------------------------------------------------------------

@needs_real
def test_spot_day_pair_book_matches_every_aligned_quote() -> None:
    report = verify_paths([SPOT_0808, SPOT_0809])
    print(report.lines()[-1])
    assert report.gaps == []
    (stats,) = report.streams.values()
    assert stats.sync.applied > 6000 and stats.sync.snapshots == 1
    assert report.compared >= 1000
    assert report.matched == report.compared  # 100%: 1072 of 1072 when measured


@needs_real
def test_continuation_alone_has_no_snapshot() -> None:
    report = verify_paths([SPOT_0809])
    assert [g.kind for g in report.gaps] == [GapKind.NO_SNAPSHOT]
    assert report.compared == 0
    assert report.lines()[-1] == "book match rate: 0.0000 (0 of 0)"


@needs_real
def test_nautilus_snapshot_and_update_do_not_chain() -> None:
    report = verify_paths([REAL / "nautilus" / "binance-btcusdt-depth-snap.csv",
                           REAL / "nautilus" / "binance-btcusdt-depth-update.csv"])
    kinds = [g.kind for g in report.gaps]
    assert kinds[0] is GapKind.MISSING_IDS and GapKind.NOT_RESYNCED in kinds
    assert any(line.startswith("gap: binance-btcusdt-depth-update.csv") for line in report.lines())
    (stats,) = report.streams.values()
    assert not stats.sync.valid and stats.sync.applied == 0


@needs_real
def test_verify_reversed_files_reports_gap() -> None:
    report = verify_paths([SPOT_0809, SPOT_0808])
    # 0809's diffs are buffered, 0808's snapshot is far older than them: resync impossible.
    assert GapKind.SNAPSHOT_TOO_OLD in {g.kind for g in report.gaps}


@needs_real
def test_verify_parquet_equals_raw(tmp_path: Path) -> None:
    outputs: list[Path] = []
    for source in (SPOT_0808, SPOT_0809):
        result = import_file(source, tmp_path)
        outputs += [result.outputs["book"], result.outputs["quotes"]]
    report = verify_paths(outputs)
    raw = verify_paths([SPOT_0808, SPOT_0809])
    assert (report.matched, report.compared) == (raw.matched, raw.compared)
    assert report.gaps == []


@needs_real
def test_cli_verify_last_line(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["data", "verify", str(SPOT_0808), str(SPOT_0809)]) == 0
    lines = capsys.readouterr().out.strip().splitlines()
    match = RATE_LINE.match(lines[-1])
    assert match is not None, lines[-1]
    assert match.group(1) == match.group(2) and int(match.group(2)) >= 1000
    assert lines[-1].startswith("book match rate: 1.0000 ")
    assert "gaps: none" in lines


def test_format_rate_rounds_down() -> None:
    assert format_rate(99_999, 100_000) == "0.9999"
    assert format_rate(3, 3) == "1.0000"
    assert format_rate(0, 0) == "0.0000"


@needs_real
def test_cli_verify_exit_code_is_one_when_gaps_found(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["data", "verify", str(SPOT_0809)]) == 1
    assert "book match rate: 0.0000 (0 of 0)" in capsys.readouterr().out
