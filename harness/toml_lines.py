"""Line numbers of TOML keys: ``toml_key_lines`` maps every key path of a document to its line.

``tomllib`` parses TOML into plain data and keeps no positions, so errors about a key could
name the key but not where it is. This scanner reads the text once more, line by line, and
records where each table header and each ``key = value`` stands, as the dotted paths
``harness.config.Section`` uses (``symbols.XBT/EUR.tick_size``, ``rate_limits.rules[1].limit``).
It follows TOML's table headers, arrays of tables, quoted and dotted keys, and skips the inside
of multi-line arrays and strings; it validates nothing (``tomllib`` has done that).
"""

from __future__ import annotations

import re

__all__ = ["toml_key_lines"]


def _join(path: str, name: str) -> str:
    return f"{path}.{name}" if path else name


_BARE = re.compile(r"[A-Za-z0-9_-]+")


def _read_key(text: str, pos: int) -> tuple[list[str], int] | None:
    """A (possibly dotted, possibly quoted) TOML key starting at ``pos``: its parts and the end."""
    parts: list[str] = []
    while True:
        while pos < len(text) and text[pos] in " \t":
            pos += 1
        if pos >= len(text):
            return None
        if text[pos] in "\"'":
            quote = text[pos]
            end = pos + 1
            chars: list[str] = []
            while end < len(text) and text[end] != quote:
                if quote == '"' and text[end] == "\\" and end + 1 < len(text):
                    chars.append(text[end + 1])
                    end += 2
                    continue
                chars.append(text[end])
                end += 1
            if end >= len(text):
                return None
            parts.append("".join(chars))
            pos = end + 1
        else:
            match = _BARE.match(text, pos)
            if match is None:
                return None
            parts.append(match.group())
            pos = match.end()
        while pos < len(text) and text[pos] in " \t":
            pos += 1
        if pos < len(text) and text[pos] == ".":
            pos += 1
            continue
        return parts, pos


def _value_open(text: str, state: list[str]) -> None:
    """Advance the scanner ``state`` (open brackets and string delimiters) over one line of a value."""
    i = 0
    while i < len(text):
        if state and state[-1] in ('"""', "'''"):
            close = text.find(state[-1], i)
            if close < 0:
                return
            state.pop()
            i = close + 3
            continue
        ch = text[i]
        if ch == "#":
            return
        if text.startswith('"""', i) or text.startswith("'''", i):
            state.append(text[i:i + 3])
            i += 3
            continue
        if ch in "\"'":
            end = i + 1
            while end < len(text) and text[end] != ch:
                end += 2 if ch == '"' and text[end] == "\\" else 1
            i = end + 1
            continue
        if ch in "[{":
            state.append(ch)
        elif ch in "]}" and state:
            state.pop()
        i += 1


def toml_key_lines(text: str) -> dict[str, int]:
    """Map every table header and ``key = value`` of TOML ``text`` to its 1-based line number.

    Paths are written as ``Section`` writes them: parts joined by dots without quotes, arrays of
    tables indexed (``rate_limits.rules[1].limit``). Keys inside inline tables and multi-line
    values are not listed (errors there are reported at the line of the key that holds them).
    """
    lines: dict[str, int] = {}
    arrays: dict[str, int] = {}  # resolved path of an array of tables -> its last index
    table = ""
    state: list[str] = []
    for number, line in enumerate(text.splitlines(), start=1):
        if state:  # inside a multi-line array, inline value or string
            _value_open(line, state)
            continue
        stripped = line.lstrip()
        if not stripped or stripped.startswith("#"):
            continue
        if stripped.startswith("["):
            double = stripped.startswith("[[")
            parsed = _read_key(stripped, 2 if double else 1)
            if parsed is None:
                continue
            path = ""
            for index, part in enumerate(parsed[0]):
                path = _join(path, part)
                last = index == len(parsed[0]) - 1
                if double and last:
                    arrays[path] = arrays.get(path, -1) + 1
                    path = f"{path}[{arrays[path]}]"
                elif path in arrays:
                    path = f"{path}[{arrays[path]}]"
            table = path
            lines.setdefault(table, number)
            continue
        parsed = _read_key(stripped, 0)
        if parsed is None or parsed[1] >= len(stripped) or stripped[parsed[1]] != "=":
            continue
        path = table
        for part in parsed[0]:
            path = _join(path, part)
            lines.setdefault(path, number)
        _value_open(stripped[parsed[1] + 1:], state)
    return lines
