"""An import of one source is one unit: all its files appear together, or it is refused by name.

Covers: a failed re-import leaves the earlier good import untouched; a process killed in the
middle of moving a unit's files into place leaves a unit that replay and verify refuse, naming
it; sources with the same stem in one import are refused before anything is written.
"""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

import pyarrow.parquet as pq
import pytest
from slices import ROOT, edit_trade, run_cli, sample_lines, trade_line_numbers, tree_bytes, write_slice

from harness.cli import main
from harness.data.errors import DataFormatError, DataInputError, IncompleteImportError
from harness.data.importing import import_file, import_files
from harness.data.units import MANIFEST_SUFFIX, check_complete, read_manifest
from harness.files import file_sha256
from scenarios.replay_cli import data_files

MM = "strategies.market_maker:PassiveMarketMaker"
LINES = 3000


def _good_and_bad(tmp_path: Path) -> tuple[Path, Path]:
    lines = sample_lines(LINES)
    good = write_slice(tmp_path / "good" / "foo.jsonl.gz", lines)
    bad_lines = list(lines)
    at = trade_line_numbers(lines)[-1] - 1
    bad_lines[at] = edit_trade(bad_lines[at], p="61837.6x")  # one malformed trade price near the end
    bad = write_slice(tmp_path / "bad" / "foo.jsonl.gz", bad_lines)
    return good, bad


def _crash_import(source: Path, out: Path, after_rename_of: str) -> subprocess.CompletedProcess[str]:
    """Run ``harness data import`` in a process that dies (like ``kill -9``) just after ``os.replace``
    moves a file whose name ends with ``after_rename_of`` into place."""
    script = textwrap.dedent(f"""
        import os, sys
        real_replace = os.replace
        def replace_then_die(src, dst, *args, **kwargs):
            real_replace(src, dst, *args, **kwargs)
            if str(dst).endswith({after_rename_of!r}):
                os._exit(9)
        os.replace = replace_then_die
        from harness.cli import main
        sys.exit(main(["data", "import", {str(source)!r}, "-o", {str(out)!r}]))
    """)
    return subprocess.run([sys.executable, "-c", script], cwd=ROOT, capture_output=True, text=True,
                          timeout=120, check=False)


def test_a_good_import_is_one_complete_unit(tmp_path: Path) -> None:
    good, _ = _good_and_bad(tmp_path)
    out = tmp_path / "X"
    result = import_file(good, out)
    assert sorted(p.name for p in out.iterdir()) == [
        "foo.book.parquet", "foo" + MANIFEST_SUFFIX, "foo.quotes.parquet", "foo.trades.parquet"]
    manifest = read_manifest(out / ("foo" + MANIFEST_SUFFIX))
    assert {kind: entry["rows"] for kind, entry in manifest["files"].items()} == result.rows
    assert manifest["source"]["name"] == "foo.jsonl.gz"
    check_complete(sorted(out.glob("*.parquet")))  # raises if not


def test_a_failed_reimport_leaves_the_earlier_good_import_untouched(tmp_path: Path) -> None:
    good, bad = _good_and_bad(tmp_path)
    out = tmp_path / "X"
    import_file(good, out)
    before = tree_bytes(out)
    with pytest.raises(DataFormatError, match=r"foo\.jsonl\.gz:\d+: field 'p'"):
        import_file(bad, out)
    assert tree_bytes(out) == before
    assert main(["data", "import", str(bad), "-o", str(out)]) == 2
    assert tree_bytes(out) == before
    check_complete(data_files([out]))


def test_a_kill_just_after_the_book_file_is_moved_leaves_a_unit_replay_and_verify_refuse(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    good, _ = _good_and_bad(tmp_path)
    out = tmp_path / "X"
    crashed = _crash_import(good, out, ".book.parquet")
    assert crashed.returncode == 9, crashed.stderr
    assert (out / "foo.book.parquet").is_file()  # the book made it, its quotes and trades did not
    with pytest.raises(IncompleteImportError, match="foo"):
        check_complete(data_files([out]))
    args = ["replay", "--data", str(out), "--strategy", MM, "--out", str(tmp_path / "runs"), "--no-progress"]
    assert main(args) == 2
    err = capsys.readouterr().err
    assert "incomplete import" in err and "foo" in err
    assert not (tmp_path / "runs").exists()
    assert main(["data", "verify", str(out)]) == 2
    assert "incomplete import" in capsys.readouterr().err
    assert main(["data", "verify", str(out / "foo.book.parquet")]) == 2  # one file of it, too
    assert "incomplete import" in capsys.readouterr().err
    # the rerun completes the unit
    assert main(["data", "import", str(good), "-o", str(out)]) == 0
    check_complete(data_files([out]))


def test_a_kill_in_the_middle_of_a_reimport_is_refused_until_rerun(tmp_path: Path,
                                                                    capsys: pytest.CaptureFixture[str]) -> None:
    good, _ = _good_and_bad(tmp_path)
    reference = tmp_path / "ref"
    import_file(good, reference)
    out = tmp_path / "X"
    import_file(good, out)
    crashed = _crash_import(good, out, ".quotes.parquet")
    assert crashed.returncode == 9, crashed.stderr
    with pytest.raises(IncompleteImportError, match="foo"):
        check_complete(data_files([out]))
    assert main(["data", "import", str(good), "-o", str(out)]) == 0
    assert tree_bytes(out) == tree_bytes(reference)


def test_a_kill_before_the_files_are_moved_keeps_the_earlier_import(tmp_path: Path) -> None:
    good, _ = _good_and_bad(tmp_path)
    out = tmp_path / "X"
    import_file(good, out)
    before = tree_bytes(out)
    crashed = _crash_import(good, out, ".parquet.partial-never")  # dies never: a full rerun
    assert crashed.returncode == 0, crashed.stderr
    assert tree_bytes(out) == before  # a rerun of the same source gives the same bytes
    script = textwrap.dedent(f"""
        import os, sys
        import pyarrow.parquet as pq
        real_write = pq.ParquetWriter.write_table
        def write_then_die(self, *args, **kwargs):
            real_write(self, *args, **kwargs)
            os._exit(9)
        pq.ParquetWriter.write_table = write_then_die
        from harness.cli import main
        sys.exit(main(["data", "import", {str(good)!r}, "-o", {str(out)!r}]))
    """)
    died = subprocess.run([sys.executable, "-c", script], cwd=ROOT, capture_output=True, text=True,
                          timeout=120, check=False)
    assert died.returncode == 9, died.stderr
    current = tree_bytes(out)
    assert {k: v for k, v in current.items() if not k.endswith(".partial")} == before
    check_complete(data_files([out]))


def test_sources_with_the_same_stem_are_refused_before_anything_is_written(tmp_path: Path) -> None:
    lines = sample_lines(LINES)
    first = write_slice(tmp_path / "s1" / "t.jsonl.gz", lines[:1500])
    second = write_slice(tmp_path / "s2" / "t.jsonl.gz", lines[1500:])
    out = tmp_path / "X"
    with pytest.raises(DataInputError, match=r"s1/t\.jsonl\.gz.*s2/t\.jsonl\.gz"):
        import_files([first, second], out)
    assert not out.exists() or list(out.iterdir()) == []
    done = run_cli("data", "import", str(first), str(second), "-o", str(out))
    assert done.returncode == 2
    assert "s1/t.jsonl.gz" in done.stderr and "s2/t.jsonl.gz" in done.stderr and "'t'" in done.stderr
    assert not out.exists() or list(out.iterdir()) == []
    plain = write_slice(tmp_path / "s3" / "t.jsonl", lines[:10])  # same stem, other suffixes
    with pytest.raises(DataInputError, match="'t'"):
        import_files([first, plain], out)


def test_a_directory_of_several_units_replays_only_when_every_unit_is_complete(tmp_path: Path) -> None:
    lines = sample_lines(LINES)
    a = write_slice(tmp_path / "src" / "a.jsonl.gz", lines[:1500])
    b = write_slice(tmp_path / "src" / "b.jsonl.gz", lines[1500:])
    out = tmp_path / "X"
    import_files([a, b], out)
    files = data_files([out])
    assert len(files) == 6
    check_complete(files)
    (out / "b.quotes.parquet").unlink()  # a user deletes one file of a unit
    with pytest.raises(IncompleteImportError, match=r"b\.quotes\.parquet"):
        check_complete(data_files([out]))
    check_complete(data_files([out / "a.trades.parquet"]))  # unit a alone is still fine


def test_files_imported_before_units_existed_are_refused(tmp_path: Path) -> None:
    good, _ = _good_and_bad(tmp_path)
    result = import_file(good, tmp_path / "X")
    legacy = tmp_path / "old" / "foo.trades.parquet"
    legacy.parent.mkdir()
    table = pq.read_table(result.outputs["trades"])
    meta = {k: v for k, v in table.schema.metadata.items() if not k.startswith(b"harness.unit")}
    pq.write_table(table.replace_schema_metadata(meta), legacy)
    with pytest.raises(IncompleteImportError, match="earlier version of harness without a completion record"):
        check_complete(data_files([legacy]))


def test_a_reimport_of_other_data_under_the_same_name_says_so(tmp_path: Path) -> None:
    lines = sample_lines(LINES)
    first = write_slice(tmp_path / "s1" / "t.jsonl.gz", lines[:1500])
    second = write_slice(tmp_path / "s2" / "t.jsonl.gz", lines[1500:])
    out = tmp_path / "X"
    assert run_cli("data", "import", str(first), "-o", str(out)).returncode == 0
    again = run_cli("data", "import", str(first), "-o", str(out))
    assert again.returncode == 0 and "replaced" not in again.stderr
    other = run_cli("data", "import", str(second), "-o", str(out))
    assert other.returncode == 0
    assert "replaced an earlier import of other data (t.jsonl.gz)" in other.stderr
    assert read_manifest(out / ("t" + MANIFEST_SUFFIX))["source"]["sha256"] == file_sha256(second)


def test_a_shell_glob_of_an_import_directory_works_and_partials_are_refused(tmp_path: Path,
                                                                           capsys: pytest.CaptureFixture[str]) -> None:
    good, _ = _good_and_bad(tmp_path)
    out = tmp_path / "X"
    import_file(good, out)
    everything = sorted(out.iterdir())  # what `out/*` gives: the record too
    assert data_files(everything) == data_files([out])
    assert data_files([out / ("foo" + MANIFEST_SUFFIX)]) == data_files([out])  # a record stands for its unit
    assert main(["data", "verify", *map(str, everything)]) == 0
    assert "gaps: none" in capsys.readouterr().out
    leftover = out / "foo.book.parquet.partial"
    leftover.write_bytes(b"half")
    with pytest.raises(IncompleteImportError, match="unfinished file of an interrupted import"):
        data_files([*everything, leftover])
    assert main(["data", "import", str(out / ("foo" + MANIFEST_SUFFIX)), "-o", str(tmp_path / "Y")]) == 2
    assert "completion record" in capsys.readouterr().err
