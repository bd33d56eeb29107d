"""What a user may choose about a replay besides its data and venues, in one place.

``run_replay`` and ``harness replay`` share these:

* ``resolve_strategy``: the strategy as a ``Strategy`` instance, a ``Strategy`` subclass or the
  ``"module:Class"`` text, and the name the run records for it;
* ``ZERO_LATENCY`` and ``apply_latency``: a venue's latency models replaced (every channel at 0 ns,
  or a ``LatencyProfile`` of the caller's); ``latency_from_text`` reads the CLI's
  ``VENUE:CHANNEL=NS`` overrides;
* ``engine_config_from_text`` and ``engine_config_entry``: ``EngineConfig`` fields set from
  ``KEY=VALUE`` text, and the fields a run changed (recorded in its manifest, so in its run id);
* ``announce_depth``: one log line naming the matching depth the data's kinds gave the venues.
"""

from __future__ import annotations

import logging
from collections.abc import Collection, Mapping, Sequence
from dataclasses import fields, replace
from decimal import Decimal, InvalidOperation
from typing import Any

from harness.engine import EngineConfig
from harness.params import StrategyParamError
from harness.strategy import Strategy, StrategyLoadError, load_strategy
from sim.venue.latency import CHANNELS, Constant, LatencyModel, LatencyProfile
from sim.venue.matching.types import DepthMode
from sim.venue.profile import VenueProfile

__all__ = ["ZERO_LATENCY", "StrategySpec", "announce_depth", "apply_latency", "describe_latency",
           "engine_config_entry", "engine_config_from_text", "latency_from_text", "resolve_strategy"]

log = logging.getLogger("scenarios.replay")

StrategySpec = str | Strategy | type[Strategy]
"""A strategy as ``run_replay`` takes it: an instance, a subclass, or ``"module:Class"``."""

ZERO_LATENCY = LatencyProfile(Constant(0), Constant(0), Constant(0))
"""Every channel of a venue at 0 ns: orders, answers and market data arrive when sent."""


def resolve_strategy(spec: StrategySpec, params: Mapping[str, str] | None) -> tuple[Strategy, str]:
    """The strategy instance to run and its recorded name (``module:Class``).

    A ``"module:Class"`` text is loaded and a subclass instantiated with ``params`` (strings, as
    the CLI gives them); an instance runs as it is, so ``params`` must then be empty (they
    could not reach it). Anything else raises ``StrategyLoadError`` naming what was given.
    """
    if isinstance(spec, str):
        return load_strategy(spec, params), spec
    if isinstance(spec, type) and issubclass(spec, Strategy):
        try:
            return spec(**dict(params or {})), _name_of(spec)
        except (TypeError, StrategyParamError) as exc:
            raise StrategyLoadError(f"bad parameters for {_name_of(spec)}: {exc}") from exc
    if isinstance(spec, Strategy):
        if params:
            raise StrategyLoadError(f"params {sorted(params)} given with a strategy instance "
                                    f"({_name_of(type(spec))}): set them on the instance instead")
        return spec, _name_of(type(spec))
    raise StrategyLoadError(f"strategy must be a Strategy instance, a Strategy subclass or 'module:Class', "
                            f"got {spec!r}")


def _name_of(cls: type) -> str:
    return f"{cls.__module__}:{cls.__qualname__}"


def apply_latency(profile: VenueProfile, latency: LatencyProfile | None) -> VenueProfile:
    """``profile`` with its latency models replaced by ``latency`` (unchanged for None)."""
    return profile if latency is None else replace(profile, latency=latency)


def describe_latency(latency: LatencyProfile) -> dict[str, str]:
    """A latency profile as plain text per channel (for the manifest's config, so the run id)."""
    return {name: _describe_model(latency.model(name)) for name in CHANNELS} | {"fifo": str(latency.fifo)}


def _describe_model(model: LatencyModel) -> str:
    if isinstance(model, Constant):
        return f"constant:{model.value_ns}"
    return repr(model)


def latency_from_text(specs: Sequence[str], venues: Collection[str], *, zero: bool,
                      profiles: Mapping[str, VenueProfile]) -> dict[str, LatencyProfile]:
    """Per-venue latency overrides from ``--zero-latency`` and ``--latency VENUE:CHANNEL=NS``.

    ``CHANNEL`` is one of ``order_entry``, ``response``, ``market_data`` or ``all``; ``NS`` a
    constant delay in integer nanoseconds. Channels not named keep the venue profile's model
    (or 0 ns with ``zero``). A malformed item raises ``ValueError`` naming it.
    """
    overrides: dict[str, LatencyProfile] = {name: ZERO_LATENCY for name in venues} if zero else {}
    for spec in specs:
        where, sep, value = spec.partition("=")
        venue, colon, channel = where.partition(":")
        if not sep or not colon or venue not in venues:
            raise ValueError(f"--latency {spec!r}: expected VENUE:CHANNEL=NS with a --venue name")
        if channel != "all" and channel not in CHANNELS:
            raise ValueError(f"--latency {spec!r}: channel must be one of {[*CHANNELS, 'all']}")
        if not value.strip().isdigit():
            raise ValueError(f"--latency {spec!r}: {value!r} is not a whole number of nanoseconds")
        base = overrides.get(venue, profiles[venue].latency)
        model = Constant(int(value))
        models = {name: (model if channel in ("all", name) else base.model(name)) for name in CHANNELS}
        overrides[venue] = LatencyProfile(models["order_entry"], models["response"], models["market_data"],
                                          fifo=base.fifo)
    return overrides


def engine_config_from_text(items: Sequence[str]) -> EngineConfig | None:
    """An ``EngineConfig`` with the ``KEY=VALUE`` fields set (None when no item is given).

    Integer fields (``*_ns``, ``max_lookups``) take whole numbers, flags ``true``/``false``, decimal
    fields decimal text, ``id_prefix`` any text. An unknown key or a bad value raises
    ``ValueError`` naming it and the keys that exist.
    """
    if not items:
        return None
    known = {f.name: f for f in fields(EngineConfig) if f.name != "retry"}
    defaults = EngineConfig()
    changes: dict[str, Any] = {}
    for item in items:
        key, sep, text = item.partition("=")
        if not sep or key not in known:
            raise ValueError(f"--engine {item!r}: expected KEY=VALUE with KEY one of {sorted(known)}")
        changes[key] = _engine_value(key, text, getattr(defaults, key))
    return replace(defaults, **changes)


def _engine_value(key: str, text: str, default: object) -> object:
    value = text.strip()
    if isinstance(default, bool):
        if value.lower() not in ("true", "false"):
            raise ValueError(f"--engine {key}={text}: expected true or false")
        return value.lower() == "true"
    if isinstance(default, int):
        if not value.isdigit():
            raise ValueError(f"--engine {key}={text}: expected a whole number >= 0")
        return int(value)
    if isinstance(default, Decimal):
        try:
            number = Decimal(value)
        except InvalidOperation:
            raise ValueError(f"--engine {key}={text}: not a decimal number") from None
        if not number.is_finite():
            raise ValueError(f"--engine {key}={text}: not a finite number")
        return number
    return value


def engine_config_entry(config: EngineConfig | None) -> dict[str, str]:
    """The fields of ``config`` that differ from ``EngineConfig()``, as text (empty for None)."""
    if config is None:
        return {}
    defaults = EngineConfig()
    return {f.name: str(getattr(config, f.name)) for f in fields(EngineConfig)
            if getattr(config, f.name) != getattr(defaults, f.name)}


def announce_depth(chosen: Mapping[str, DepthMode], kinds: Collection[str], *, warn: bool = True) -> None:
    """Say once per run which depth the venues match at when it came from the data's kinds.

    Trades alone mean trades matching (a resting order fills only against printed trades, at
    its price, with no book to queue in): a warning, since a user who meant to give quotes or a
    book should notice (unless ``warn`` is False: the scenario runner, whose scenario files choose
    their data, says it at info level). Otherwise an info line.
    """
    if not chosen:
        return
    by_mode: dict[DepthMode, list[str]] = {}
    for venue, mode in chosen.items():
        by_mode.setdefault(mode, []).append(venue)
    present = ", ".join(sorted(kinds)) or "none"
    parts = "; ".join(f"{mode.value.lower()} matching on {', '.join(names)}" for mode, names in by_mode.items())
    if DepthMode.TRADES in by_mode and warn:
        log.warning("replay: market data kinds %s: %s (trades only: orders fill against printed trades; "
                    "give quotes or a book, or --depth, for more)", present, parts)
    else:
        log.info("replay: market data kinds %s: %s", present, parts)
