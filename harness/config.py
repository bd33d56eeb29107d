"""Strict reading of configuration data: every key known, every type checked, money never a float.

Every configuration the project reads (venue profiles, venue descriptors, the registry's venue
configs, router configs, rate-limit tables) goes through ``Section``: one table of plain data
(from TOML, JSON or Python) whose typed getters remember which keys were asked for. ``done()``
then refuses any key nobody asked for, naming its full key path (``fees.makr``,
``rate_limits.rules[1].burst``), so a typo can never silently fall back to a default.

* Types are checked, with ``bool`` never passing for an int.
* Decimals (money, rates, durations in seconds) come from strings, or ints where the caller
  allows them; a float is always refused, because by the time a TOML or JSON float is seen it
  has already been rounded to binary and its exact text is gone (``reject_floats`` refuses them
  anywhere in a document, with the fix in the message).
* Errors are made by the caller's ``ErrorFactory`` from ``(key path, problem, line)``, so each
  caller keeps its own error class and wording; the default is ``ConfigValueError``.
* Where the data came from TOML text (``Section.from_toml``), ``toml_key_lines`` has mapped key
  paths to line numbers and every error carries the line of the key, or of the nearest table
  around it (a key written inside an inline table is reported at the line of that table).
"""

from __future__ import annotations

import tomllib
from collections.abc import Callable, Iterator, Mapping
from decimal import Decimal, InvalidOperation
from enum import Enum
from typing import Any, TypeVar

from harness.toml_lines import toml_key_lines

__all__ = [
    "ConfigValueError",
    "ErrorFactory",
    "Section",
    "float_problem",
    "line_of",
    "reject_floats",
    "toml_key_lines",
]

ErrorFactory = Callable[[str, str, "int | None"], Exception]
"""Builds the caller's error from ``(dotted key path, problem, line or None)``."""

_E = TypeVar("_E", bound=Enum)


class ConfigValueError(ValueError):
    """A configuration value is unknown, missing or malformed: ``<source>:<line>: <key>: <problem>``."""

    def __init__(self, source: str, key: str, problem: str, line: int | None = None) -> None:
        where = f"{source}:{line}" if line is not None else source
        super().__init__(f"{where}: {key or '<top level>'}: {problem}" if where else f"{key}: {problem}")
        self.source = source
        self.key = key
        self.problem = problem
        self.line = line


def _default_factory(source: str) -> ErrorFactory:
    def make(key: str, problem: str, line: int | None) -> Exception:
        return ConfigValueError(source, key, problem, line)
    return make


def _join(path: str, name: str) -> str:
    return f"{path}.{name}" if path else name


def float_problem(value: float) -> str:
    """The message for a float where an exact number was needed (with the fix)."""
    return (f"float {value!r} is not allowed (its exact text is lost); "
            f'write it as a string, e.g. "{value!r}"')


def reject_floats(value: object, error: ErrorFactory, key: str = "",
                  lines: Mapping[str, int] | None = None) -> None:
    """Refuse every float anywhere in ``value`` (nested tables and lists), naming its key path."""
    if isinstance(value, float):
        raise error(key, f"TOML {float_problem(value)}", line_of(lines, key))
    if isinstance(value, Mapping):
        for sub_key, sub in value.items():
            reject_floats(sub, error, _join(key, str(sub_key)), lines)
    elif isinstance(value, list | tuple):
        for index, sub in enumerate(value):
            reject_floats(sub, error, f"{key}[{index}]", lines)


def line_of(lines: Mapping[str, int] | None, key: str) -> int | None:
    """The line of ``key``, else of the nearest enclosing key or table that has one."""
    if not lines:
        return None
    while key:
        if key in lines:
            return lines[key]
        cut = max(key.rfind("."), key.rfind("["))
        key = key[:cut] if cut > 0 else ""
    return None


class Section:
    """One table of configuration data under validation (see the module docstring).

    ``path`` is the table's dotted key path in the document ("" at the top), ``source`` names
    the document in errors, ``lines`` maps key paths to line numbers (TOML sources) and
    ``error`` builds the caller's exception.
    """

    def __init__(self, data: Mapping[str, Any], *, path: str = "", source: str = "",
                 lines: Mapping[str, int] | None = None, error: ErrorFactory | None = None) -> None:
        if not isinstance(data, Mapping):
            raise (error or _default_factory(source))(path, f"must be a table, got {data!r}",
                                                      line_of(lines, path))
        self.data = data
        self.path = path
        self.source = source
        self.lines = lines or {}
        self.make_error = error or _default_factory(source)
        self.used: set[str] = set()

    @classmethod
    def from_toml(cls, text: str, *, source: str, error: ErrorFactory | None = None,
                  allow_floats: bool = False) -> Section:
        """Parse TOML ``text`` into the top-level section, with line numbers for every key.

        Floats anywhere are refused unless ``allow_floats``; a syntax error is reported through
        ``error`` too (key ``""``, with tomllib's own position in the problem).
        """
        make = error or _default_factory(source)
        try:
            data = tomllib.loads(text)
        except tomllib.TOMLDecodeError as exc:
            raise make("", f"not valid TOML: {exc}", None) from exc
        lines = toml_key_lines(text)
        if not allow_floats:
            reject_floats(data, make, "", lines)
        return cls(data, source=source, lines=lines, error=make)

    # ------------------------------------------------------------------ plumbing

    def key(self, name: str) -> str:
        """The full key path of ``name`` in this section."""
        return _join(self.path, name)

    def line(self, name: str = "") -> int | None:
        """The line of ``name`` (or of this table when ``name`` is empty), when known."""
        return line_of(self.lines, self.key(name) if name else self.path)

    def error(self, name: str, problem: str) -> Exception:
        """The caller's error for key ``name`` of this section."""
        return self.make_error(self.key(name) if name else self.path, problem, self.line(name))

    def has(self, name: str) -> bool:
        """Whether ``name`` is present (does not mark it as read)."""
        return name in self.data

    def raw(self, name: str, *, required: bool = False) -> Any:
        """The value of ``name`` unchecked (``None`` when absent), marking it as read."""
        self.used.add(name)
        if name not in self.data:
            if required:
                raise self.error(name, "required key is missing")
            return None
        return self.data[name]

    def names(self) -> Iterator[str]:
        """The keys present, for tables whose keys are data (symbols, methods); each is marked read."""
        for name in list(self.data):
            self.used.add(name)
            yield str(name)

    def only(self, *names: str) -> None:
        """Declare the known keys up front and refuse any other now, before a missing key is reported
        (for tables where a misspelt key would otherwise show up as the correct one missing)."""
        self.used.update(names)
        self.done()

    def done(self) -> None:
        """Refuse every key nobody asked for, naming the first one (and the rest, and the known keys)."""
        unknown = sorted(str(k) for k in set(self.data) - self.used)
        if unknown:
            also = f"; also unknown: {', '.join(unknown[1:])}" if len(unknown) > 1 else ""
            known = f" (known keys: {', '.join(sorted(self.used))})" if self.used else ""
            raise self.error(unknown[0], f"unknown key{known}{also}")

    # ------------------------------------------------------------------ typed getters

    def string(self, name: str, default: str | None = None, *, allow_empty: bool = False) -> str:
        """A string (required when ``default`` is None); empty strings only with ``allow_empty``."""
        value = self.raw(name, required=default is None)
        if value is None:
            assert default is not None
            return default
        if not isinstance(value, str) or (not value and not allow_empty):
            raise self.error(name, f"must be a non-empty string, got {value!r}")
        return value

    def opt_string(self, name: str) -> str | None:
        """A non-empty string, or None when absent."""
        return self.string(name) if self.has(name) else self.raw(name)

    def integer(self, name: str, default: int | None = None, *, minimum: int | None = None) -> int:
        """An int, never a bool (required when ``default`` is None), at least ``minimum`` if given."""
        value = self.raw(name, required=default is None)
        if value is None:
            assert default is not None
            return default
        if isinstance(value, bool) or not isinstance(value, int):
            raise self.error(name, f"must be an integer, got {value!r}")
        if minimum is not None and value < minimum:
            raise self.error(name, f"must be >= {minimum}, got {value}")
        return value

    def opt_integer(self, name: str) -> int | None:
        """An int, or None when absent."""
        return self.integer(name) if self.has(name) else self.raw(name)

    def boolean(self, name: str, default: bool | None = None) -> bool:
        """``true`` or ``false`` (required when ``default`` is None)."""
        value = self.raw(name, required=default is None)
        if value is None:
            assert default is not None
            return default
        if not isinstance(value, bool):
            raise self.error(name, f"must be true or false, got {value!r}")
        return value

    def decimal(self, name: str, default: Decimal | None = None, *, required: bool = True,
                ints: bool = False) -> Decimal | None:
        """An exact ``Decimal`` from a string (or an int when ``ints``); a float is always refused.

        Absent: ``default``, or an error when ``required`` and no default is given.
        """
        value = self.raw(name, required=required and default is None)
        if value is None:
            return default
        return self.decimal_value(name, value, ints=ints)

    def req_decimal(self, name: str, *, ints: bool = False) -> Decimal:
        """A required ``Decimal`` (see ``decimal``)."""
        value = self.decimal(name, ints=ints)
        assert value is not None
        return value

    def decimal_value(self, name: str, value: object, *, ints: bool = False) -> Decimal:
        """Check ``value`` (read from key ``name``) as an exact finite decimal."""
        if isinstance(value, float):
            raise self.error(name, float_problem(value))
        if isinstance(value, Decimal):
            result = value
        elif isinstance(value, int) and not isinstance(value, bool) and ints:
            result = Decimal(value)
        elif isinstance(value, str):
            try:
                result = Decimal(value.strip())
            except InvalidOperation:
                raise self.error(name, f"not a decimal number: {value!r}") from None
        else:
            kind = "a decimal string or an integer" if ints else 'a decimal written as a string (e.g. "0.001")'
            raise self.error(name, f"must be {kind}, got {value!r}")
        if not result.is_finite():
            raise self.error(name, f"not a finite decimal: {value!r}")
        return result

    def strings(self, name: str, default: list[str] | None = None) -> list[str]:
        """A list of strings (required when ``default`` is None)."""
        value = self.raw(name, required=default is None)
        if value is None:
            assert default is not None
            return list(default)
        if not isinstance(value, list | tuple) or not all(isinstance(v, str) for v in value):
            raise self.error(name, f"must be a list of strings, got {value!r}")
        return list(value)

    def choice(self, name: str, enum: type[_E], default: _E | None = None) -> _E:
        """A member of ``enum`` given by its value (a string), listing the allowed values when wrong."""
        value = self.raw(name, required=default is None)
        if value is None:
            assert default is not None
            return default
        try:
            if not isinstance(value, str):
                raise ValueError(value)
            return enum(value)
        except ValueError:
            allowed = [str(m.value) for m in enum]
            raise self.error(name, f"{value!r} is not one of {allowed}") from None

    def table(self, name: str, *, required: bool = True) -> Section | None:
        """The sub-table ``name`` as a ``Section`` (None when absent and not ``required``)."""
        value = self.raw(name, required=required)
        if value is None:
            return None
        if not isinstance(value, Mapping):
            raise self.error(name, "must be a table")
        return self.child(name, value)

    def req_table(self, name: str) -> Section:
        """The required sub-table ``name``."""
        section = self.table(name)
        assert section is not None
        return section

    def tables(self, name: str) -> list[Section]:
        """The array of tables ``name`` (``[[name]]``), empty when absent."""
        value = self.raw(name)
        if value is None:
            return []
        if not isinstance(value, list | tuple) or not all(isinstance(v, Mapping) for v in value):
            raise self.error(name, "must be an array of tables ([[...]])")
        return [Section(v, path=f"{self.key(name)}[{i}]", source=self.source, lines=self.lines,
                        error=self.make_error) for i, v in enumerate(value)]

    def child(self, name: str, data: Mapping[str, Any]) -> Section:
        """A section for ``data`` found under key ``name`` (same source, lines and error factory)."""
        return Section(data, path=self.key(name), source=self.source, lines=self.lines, error=self.make_error)
