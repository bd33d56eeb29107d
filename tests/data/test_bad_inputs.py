"""Every bad input is named: truncated gzip, missing files, directories, empty files, wrong Parquet.

Each case runs the CLI the way a user would (in-process ``main``, or a real process where the
exit code and streams matter) and checks the exit code, that the message is on stderr, and that
it says what is wrong with which file. Canonical Parquet also records its fixed-point scale, and
readers refuse another one.
"""

from __future__ import annotations

import zlib
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from slices import run_cli, sample_lines, write_slice

from harness.cli import main
from harness.data.errors import CanonicalFileError, DataFormatError, DataInputError
from harness.data.importing import import_file
from harness.data.schema import PRICE_SCALE_KEY, SIZE_SCALE_KEY, TRADES
from scenarios.replay_cli import data_files
from sim.market.feed import ReplayFeed, ReplayFileError

LINES = 3000


def _truncated(tmp_path: Path) -> tuple[Path, list[str]]:
    """A gzip cut in the middle, and the complete lines a reader can get out of it."""
    whole = write_slice(tmp_path / "whole.jsonl.gz", sample_lines(LINES)).read_bytes()
    cut = tmp_path / "cut.jsonl.gz"
    cut.write_bytes(whole[: len(whole) * 2 // 3])
    text = zlib.decompressobj(wbits=31).decompress(cut.read_bytes())
    complete = text[: text.rfind(b"\n") + 1].decode().splitlines(keepends=True)
    assert 100 < len(complete) < LINES
    return cut, complete


def test_truncated_gzip_names_the_file_and_the_last_complete_line(tmp_path: Path) -> None:
    cut, complete = _truncated(tmp_path)
    with pytest.raises(DataFormatError) as info:
        import_file(cut, tmp_path / "out")
    assert info.value.path == str(cut) and info.value.line == len(complete) + 1
    assert "ends early" in str(info.value) and f"after line {len(complete)}" in str(info.value)
    done = run_cli("data", "import", str(cut), "-o", str(tmp_path / "out"))
    assert done.returncode == 2 and "Traceback" not in done.stderr
    assert str(cut) in done.stderr and "ends early" in done.stderr and done.stdout == ""
    assert not (tmp_path / "out").exists() or not list((tmp_path / "out").iterdir())


def test_truncated_gzip_with_skip_bad_keeps_every_complete_line(tmp_path: Path) -> None:
    cut, complete = _truncated(tmp_path)
    kept = import_file(cut, tmp_path / "out", skip_bad=True)
    assert kept.bad_rows.reasons == {"truncated input": 1}
    reference = import_file(write_slice(tmp_path / "ref" / "cut.jsonl", complete), tmp_path / "ref-out")
    assert kept.rows == reference.rows
    for kind, path in kept.outputs.items():
        assert pq.read_table(path).equals(pq.read_table(reference.outputs[kind]))
    done = run_cli("data", "import", str(cut), "-o", str(tmp_path / "cli"), "--skip-bad")
    assert done.returncode == 0, done.stderr
    assert "skipped 1 bad row: 1 truncated input" in done.stderr and f"after line {len(complete)}" in done.stderr


def test_missing_directory_and_empty_inputs_are_named(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    missing = tmp_path / "nope.jsonl.gz"
    empty = tmp_path / "empty.jsonl"
    empty.write_bytes(b"")
    empty_gz = write_slice(tmp_path / "empty2.jsonl.gz", [])
    folder = tmp_path / "folder"
    folder.mkdir()
    cases = [(missing, "no such file"), (folder, "is a directory"), (empty, "is empty"),
             (empty_gz, "no text after decompression")]
    for path, message in cases:
        assert main(["data", "import", str(path), "-o", str(tmp_path / "out")]) == 2, path
        err = capsys.readouterr().err
        assert f"{path}: {message}" in err, err
        assert main(["data", "verify", str(path if path != folder else missing)]) == 2
        assert "error:" in capsys.readouterr().err
    assert main(["data", "verify", str(folder)]) == 2
    assert "holds no .parquet files" in capsys.readouterr().err
    out_file = tmp_path / "a-file"
    out_file.write_text("x")
    good = write_slice(tmp_path / "good.jsonl.gz", sample_lines(200))
    assert main(["data", "import", str(good), "-o", str(out_file)]) == 2
    assert "output is not a directory" in capsys.readouterr().err
    with pytest.raises(DataInputError, match="no such file"):
        import_file(missing, tmp_path / "out")


def test_wrong_parquet_says_which_columns_are_missing(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    odd = tmp_path / "odd.parquet"
    pq.write_table(pa.table({"x": [1, 2]}), odd)
    assert main(["data", "verify", str(odd)]) == 2
    err = capsys.readouterr().err
    assert "match no canonical schema" in err and "trades (ts_event, ts_recv" in err
    assert main(["data", "import", str(odd), "-o", str(tmp_path / "out")]) == 2
    assert "columns ['x']" in capsys.readouterr().err

    lacking = tmp_path / "t.trades.parquet"
    pq.write_table(pa.table({"ts_event": pa.array([1], pa.int64()), "price": pa.array([1], pa.int64())}), lacking)
    assert main(["data", "verify", str(lacking)]) == 2
    assert "trades file lacks columns ['ts_recv', 'venue', 'symbol', 'size', 'aggressor', 'trade_id']" in \
        capsys.readouterr().err
    with pytest.raises(ReplayFileError, match="lacks columns"):
        ReplayFeed([lacking])

    floats = tmp_path / "f.parquet"
    schema = pa.schema([f.with_type(pa.float64()) if f.name == "price" else f for f in TRADES])
    arrays = [pa.array(v, type=f.type) for v, f in zip(
        [[1], [1], ["binance"], ["BTCUSDT"], [60000.5], [1], [1], ["a"]], schema, strict=True)]
    pq.write_table(pa.Table.from_arrays(arrays, schema=schema), floats)
    with pytest.raises(CanonicalFileError, match=r"column 'price' is double, expected int64 \(fixed-point"):
        data_files([floats])

    not_parquet = tmp_path / "text.parquet"
    not_parquet.write_text("hello")
    assert main(["data", "verify", str(not_parquet)]) == 2
    assert "not a readable Parquet file" in capsys.readouterr().err

    canonical = import_file(write_slice(tmp_path / "c.jsonl.gz", sample_lines(200)), tmp_path / "canon")
    assert main(["data", "import", str(canonical.outputs["trades"]), "-o", str(tmp_path / "again")]) == 2
    assert "already canonical" in capsys.readouterr().err


def test_canonical_files_record_their_scale_and_readers_check_it(tmp_path: Path,
                                                                capsys: pytest.CaptureFixture[str]) -> None:
    result = import_file(write_slice(tmp_path / "s.jsonl.gz", sample_lines(500)), tmp_path / "out")
    for path in result.outputs.values():
        meta = pq.read_schema(path).metadata
        assert meta[PRICE_SCALE_KEY.encode()] == b"9" and meta[SIZE_SCALE_KEY.encode()] == b"9"
    trades = pq.read_table(result.outputs["trades"])
    other = tmp_path / "other.trades.parquet"
    meta = {**trades.schema.metadata, PRICE_SCALE_KEY.encode(): b"8"}
    pq.write_table(trades.replace_schema_metadata(meta), other)
    with pytest.raises(ReplayFileError, match=r"harness\.price_scale='8'"):
        ReplayFeed([other])
    with pytest.raises(CanonicalFileError, match=r"harness\.price_scale='8'"):
        data_files([other])
    assert main(["data", "verify", str(other)]) == 2
    assert "harness.price_scale='8'" in capsys.readouterr().err
