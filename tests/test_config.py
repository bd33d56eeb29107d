"""The strict configuration reader: unknown keys, types, floats and line numbers."""

from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal
from enum import StrEnum

import pytest

from harness.config import ConfigValueError, Section, toml_key_lines

DOC = '''# a comment
title = "x"

[fees]
maker = "0.001"   # a rate
taker = "0.002"

[symbols."XBT/EUR"]
tick_size = "0.1"
tags = [
  "a",
  "b = c",
]

[[rules]]
name = "A"
limit = 10

[[rules]]
name = "B"
limit = 20
note = """
bogus = 1
"""
inline = { x = 1, y = 2 }
after = 3

[[rules.sub]]
k = 1
'''


class Colour(StrEnum):
    RED = "RED"
    BLUE = "BLUE"


def test_line_numbers_follow_tables_arrays_quoted_keys_and_multiline_values() -> None:
    lines = toml_key_lines(DOC)
    assert lines["title"] == 2
    assert lines["fees"] == 4 and lines["fees.maker"] == 5 and lines["fees.taker"] == 6
    assert lines["symbols.XBT/EUR"] == 8 and lines["symbols.XBT/EUR.tick_size"] == 9
    assert lines["symbols.XBT/EUR.tags"] == 10 and not any(k.endswith(("].b", ".b")) for k in lines)
    assert lines["rules[0]"] == 15 and lines["rules[0].limit"] == 17
    assert lines["rules[1].name"] == 20 and lines["rules[1].note"] == 22
    assert "rules[1].bogus" not in lines  # text inside a multi-line string is not a key
    assert lines["rules[1].inline"] == 25 and lines["rules[1].after"] == 26
    assert lines["rules[1].sub[0].k"] == 29


def test_unknown_key_is_named_with_its_path_line_and_the_known_keys() -> None:
    root = Section.from_toml(DOC.replace('taker = "0.002"', 'takr = "0.002"'), source="f.toml")
    fees = root.req_table("fees")
    fees.req_decimal("maker")
    fees.decimal("taker", required=False)
    with pytest.raises(ConfigValueError) as info:
        fees.done()
    error = info.value
    assert (error.key, error.line, error.source) == ("fees.takr", 6, "f.toml")
    assert str(error).startswith("f.toml:6: fees.takr: unknown key (known keys: maker, taker)")


def test_keys_in_arrays_of_tables_get_their_index_and_line() -> None:
    root = Section.from_toml(DOC, source="f.toml")
    rules = root.tables("rules")
    assert [r.integer("limit") for r in rules] == [10, 20]
    rules[1].string("name")
    with pytest.raises(ConfigValueError) as info:
        rules[1].done()
    assert info.value.key == "rules[1].after" and info.value.line == 26
    assert "also unknown: inline, note, sub" in str(info.value)


def test_floats_are_refused_anywhere_with_the_fix() -> None:
    with pytest.raises(ConfigValueError) as info:
        Section.from_toml(DOC.replace("limit = 20", "limit = 2.5"), source="f.toml")
    assert info.value.key == "rules[1].limit" and info.value.line == 21
    assert '"2.5"' in str(info.value) and "TOML float" in str(info.value)
    section = Section({"price": 1.5, "qty": 2, "flag": True})
    with pytest.raises(ConfigValueError, match=r'price: float 1\.5 is not allowed.*"1\.5"'):
        section.decimal("price")
    with pytest.raises(ConfigValueError, match="qty: must be a decimal written as a string"):
        section.decimal("qty")
    assert section.decimal("qty", ints=True) == Decimal(2)
    with pytest.raises(ConfigValueError, match="flag: must be a decimal"):
        section.decimal("flag", ints=True)


def test_typed_getters_refuse_wrong_types_and_missing_keys() -> None:
    section = Section({"n": True, "s": "", "b": "yes", "c": "GREEN", "d": "1e", "lst": [1], "t": 3},
                      path="top", source="m")
    cases: list[tuple[Callable[[], object], str]] = [
        (lambda: section.integer("n"), "top.n: must be an integer, got True"),
        (lambda: section.string("s"), "top.s: must be a non-empty string"),
        (lambda: section.boolean("b"), "top.b: must be true or false"),
        (lambda: section.choice("c", Colour), "top.c: 'GREEN' is not one of \\['RED', 'BLUE'\\]"),
        (lambda: section.decimal("d"), "top.d: not a decimal number"),
        (lambda: section.strings("lst"), "top.lst: must be a list of strings"),
        (lambda: section.table("t"), "top.t: must be a table"),
        (lambda: section.integer("missing"), "top.missing: required key is missing"),
    ]
    for call, message in cases:
        with pytest.raises(ConfigValueError, match=message):
            call()
    assert section.string("s", allow_empty=True, default="z") == ""
    assert section.integer("absent", 7) == 7 and section.opt_string("none") is None
    assert section.choice("absent2", Colour, Colour.RED) is Colour.RED
    with pytest.raises(ConfigValueError, match=r"top\.t: must be >= 5"):
        section.integer("t", minimum=5)


def test_the_callers_error_class_is_used() -> None:
    class MyError(Exception):
        pass

    def make(key: str, problem: str, line: int | None) -> Exception:
        return MyError(f"{key}|{problem}|{line}")

    root = Section.from_toml('[a]\nb = 1\nc = 2\n', source="x.toml", error=make)
    table = root.req_table("a")
    table.integer("b")
    with pytest.raises(MyError, match=r"^a.c\|unknown key \(known keys: b\)\|3$"):
        table.done()
    with pytest.raises(MyError, match="not valid TOML"):
        Section.from_toml("a = [", source="x.toml", error=make)


def test_names_marks_data_keys_as_read() -> None:
    section = Section({"BTCUSDT": {}, "ETHUSDT": {}})
    assert sorted(section.names()) == ["BTCUSDT", "ETHUSDT"]
    section.done()  # nothing unknown left
