"""Scenario files: one TOML per scenario (data, venues, strategy, faults, invariants, seed), validated strictly.

A scenario file reads like this (every key is checked; an unknown or malformed one is refused
with the file, its line and the key's path)::

    [scenario]
    name = "rest-5xx-retryable"
    description = "503s on order entry for 30 s: recovery asks the venue before any resend"
    seed = 7
    settle_s = 30            # virtual seconds after the data ends before the strategy stops
    slow = false             # true: pytest runs it only with the slow tests
    covers = ["REST: retryable"]
    watch = ["BTCUSDT"]      # symbols a monitor subscribes to (book and quotes) on every venue

    [data]                   # one of: sample (+ kinds), files, [data.synthetic]
    sample = "binance-btcusdt"
    kinds = ["trades", "quotes"]

    [[venues]]               # default: one binance venue
    name = "binance"
    profile = "binance"
    data_venue = "binance"
    balances = { BTC = "10", USDT = "1000000" }
    adapter = "tests.x:BuggyAdapter"   # optional: a SimAdapter subclass (a test double)

    [strategy]
    path = "strategies.market_maker:PassiveMarketMaker"
    params = { size = "0.001" }

    [engine]                 # EngineConfig overrides, in seconds
    reconcile_interval_s = 60

    [[faults]]               # (world = "serve": only [scenario] and [[faults]], for venue serve)
    name = "submit-503"
    kind = "http_5xx"        # sim.faults.FAULT_KINDS
    target = "binance"       # VENUE, VENUE.market or VENUE.user
    at_s = 60                # from the first market event (the engine connects at -1 s)
    for_s = 30               # window (and duration of a state)
    probability = "0.5"
    trigger = { on = "submit_order", nth = 1, count = 1 }
    params = { status = 503 }

    [invariants]
    check = ["all"]          # or names from scenarios.invariants.INVARIANTS

    [expect]                 # what must be seen, so a fault that did nothing cannot pass
    events = ["binance:market:down"]       # signals VENUE:NAME, in this order, after the first fault
    alerts = ["circuit_breaker"]            # engine alert kinds
    breaker = ["OPEN", "HALF_OPEN", "CLOSED"]  # breaker transitions, in this order
    unrecovered = ["creds-revoked"]         # faults not expected to recover (e.g. FATAL)
    min_orders = { okx = 1 }                # orders our engine sent per venue
    stable = ["binance:market"]             # streams that must never drop
    feed_gap_s = 5                          # the watched quotes never pause longer than this

Data by ``sample`` names a shipped recording (``SAMPLES``, imported once into a cache); ``files``
are canonical Parquet paths relative to the scenario file; ``[data.synthetic]`` takes the fields
of ``scenarios.synthetic.SyntheticTape``. Every failure is a ``ScenarioError`` naming where.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field, fields
from decimal import Decimal
from pathlib import Path
from typing import Any

from harness.config import Section
from harness.routing import RouterConfig, RouterConfigError
from scenarios.fix_link import FixSettings
from scenarios.invariants import INVARIANTS
from scenarios.synthetic import SyntheticTape
from scenarios.world import VenueSetup
from sim.faults import FAULT_KINDS, FaultError, Schedule, Trigger, build_fault
from sim.venue.matching.types import DepthMode

__all__ = ["ENGINE_KEYS", "SAMPLES", "DataSpec", "Expectations", "FaultSpec", "ScenarioError", "ScenarioSpec",
           "load_scenario", "parse_scenario"]

NS = 1_000_000_000

SAMPLES = {"binance-btcusdt": "the shipped Binance spot BTCUSDT recording (2024-08-08/09, about 11 minutes)"}
"""Shipped samples a scenario may name by ``[data] sample``."""

ENGINE_KEYS = {
    "reconcile_interval_s": "reconcile_interval_ns", "submit_timeout_s": "submit_timeout_ns",
    "stuck_threshold_s": "stuck_threshold_ns", "stuck_scan_interval_s": "stuck_scan_interval_ns",
    "health_interval_s": "health_interval_ns", "report_grace_s": "report_grace_ns",
    "latency_alert_s": "latency_alert_ns",
}
"""``[engine]`` keys (seconds) and the ``EngineConfig`` fields they set (ns)."""

_KINDS = ("trades", "quotes", "book", "candles")


class ScenarioError(ValueError):
    """A scenario file is malformed: ``<file>:<line>: <key>: <problem>``."""


@dataclass(frozen=True)
class DataSpec:
    """Where a scenario's market data comes from (exactly one of the three)."""

    sample: str | None = None
    kinds: tuple[str, ...] = ()
    files: tuple[Path, ...] = ()
    synthetic: SyntheticTape | None = None


@dataclass(frozen=True)
class FaultSpec:
    """One ``[[faults]]`` entry: plain values, turned into an injector per run (``build``)."""

    name: str
    kind: str
    target: str
    at_ns: int = 0
    for_ns: int | None = None
    probability: Decimal = Decimal(1)
    trigger: Trigger | None = None
    params: dict[str, Any] = field(default_factory=dict)
    line: int | None = field(default=None, compare=False)
    """The line of its ``[[faults]]`` table in the file (for errors about it)."""

    def schedule(self, start_ns: int) -> Schedule:
        """The fault's schedule in a run whose data starts at ``start_ns``."""
        begin = start_ns + self.at_ns
        end = begin + self.for_ns if self.for_ns is not None and self.trigger is None else None
        return Schedule(begin, end, self.probability, self.trigger, self.for_ns)

    def to_toml(self) -> str:
        """This fault as a ``[[faults]]`` table (what the fuzzer writes out)."""
        lines = ["[[faults]]", f'name = "{self.name}"', f'kind = "{self.kind}"', f'target = "{self.target}"',
                 f'at_s = "{Decimal(self.at_ns) / NS}"']
        if self.for_ns is not None:
            lines.append(f'for_s = "{Decimal(self.for_ns) / NS}"')
        if self.probability != 1:
            lines.append(f'probability = "{self.probability}"')
        if self.trigger is not None:
            t = self.trigger
            lines.append(f'trigger = {{ on = "{t.on}", nth = {t.nth}, count = {t.count} }}')
        if self.params:
            lines.append("params = { " + ", ".join(f"{k} = {_toml_value(v)}" for k, v in self.params.items()) + " }")
        return "\n".join(lines) + "\n"


def _toml_value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, list):
        return "[" + ", ".join(_toml_value(v) for v in value) + "]"
    return f'"{value}"'


@dataclass(frozen=True)
class Expectations:
    """``[expect]``: what a run must show besides its invariants (see the module docstring)."""

    events: tuple[str, ...] = ()
    alerts: tuple[str, ...] = ()
    breaker: tuple[str, ...] = ()
    unrecovered: tuple[str, ...] = ()
    min_orders: dict[str, int] = field(default_factory=dict)
    stable: tuple[str, ...] = ()
    feed_gap_ns: int | None = None


@dataclass(frozen=True)
class ScenarioSpec:
    """A validated scenario file."""

    path: Path | None
    name: str
    description: str
    seed: int
    settle_ns: int
    slow: bool
    covers: tuple[str, ...]
    watch: tuple[str, ...]
    data: DataSpec
    venues: tuple[VenueSetup, ...]
    strategy: str
    params: dict[str, str]
    engine: dict[str, int]
    router: RouterConfig | None
    faults: tuple[FaultSpec, ...]
    invariants: tuple[str, ...]
    expect: Expectations
    text_sha256: str = ""
    world: str = "venue"
    """``venue``: simulated venues replaying data; ``fix``: a FIX client and venue session (``[fix]``);
    ``serve``: only faults, for ``harness venue serve --scenario`` (``scenarios.serve_faults``)."""
    fix: FixSettings | None = None

    def with_faults(self, faults: tuple[FaultSpec, ...]) -> ScenarioSpec:
        """The same scenario with another fault schedule (the fuzzer's candidates)."""
        values = {f.name: getattr(self, f.name) for f in fields(self)}
        values["faults"] = faults
        return ScenarioSpec(**values)


def load_scenario(path: Path) -> ScenarioSpec:
    """Read and validate a scenario file."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as error:
        raise ScenarioError(f"{path}: cannot read: {error}") from None
    return parse_scenario(text, source=str(path), base_dir=path.parent, path=path)


def _error_factory(source: str) -> Any:
    def make(key: str, problem: str, line: int | None) -> Exception:
        where = f"{source}:{line}" if line is not None else source
        return ScenarioError(f"{where}: {key or '<top level>'}: {problem}")
    return make


def parse_scenario(text: str, *, source: str, base_dir: Path, path: Path | None = None) -> ScenarioSpec:
    """Validate scenario TOML ``text`` (relative data paths resolve against ``base_dir``)."""
    root = Section.from_toml(text, source=source, error=_error_factory(source))
    head = root.req_table("scenario")
    name = head.string("name")
    description = head.string("description")
    seed = head.integer("seed", 0, minimum=0)
    settle = head.req_decimal("settle_s", ints=True) if head.has("settle_s") else Decimal(30)
    slow = head.boolean("slow", False)
    covers = tuple(head.strings("covers", []))
    watch = tuple(head.strings("watch", []))
    world = head.string("world", "venue")
    if world not in ("venue", "fix", "serve"):
        raise head.error("world", f"must be 'venue', 'fix' or 'serve', got {world!r}")
    head.done()
    digest = hashlib.sha256(text.encode()).hexdigest()
    if world == "serve":  # a local venue's faults: targets are checked against the served venue by the loader
        faults = _faults(root, None)
        root.done()
        return ScenarioSpec(path, name, description, seed, int(settle * NS), slow, covers, watch, DataSpec(), (), "",
                            {}, {}, None, faults, (), Expectations(), digest, world)
    if world == "fix":
        fix = _fix(root)
        faults = _faults(root, {"fix"})
        invariants = _fix_invariants(root)
        expect = _expect(root)
        root.done()
        return ScenarioSpec(path, name, description, seed, int(settle * NS), slow, covers, watch, DataSpec(), (), "",
                            {}, {}, None, faults, invariants, expect, digest, world, fix)
    data = _data(root, base_dir)
    venues = _venues(root)
    strategy_section = root.req_table("strategy")
    strategy = strategy_section.string("path")
    params = _string_table(strategy_section, "params")
    strategy_section.done()
    engine = _engine(root)
    router = _router(root)
    faults = _faults(root, {v.name for v in venues})
    invariants = _invariants(root)
    expect = _expect(root)
    root.done()
    return ScenarioSpec(path, name, description, seed, int(settle * NS), slow, covers, watch, data, venues, strategy,
                        params, engine, router, faults, invariants, expect, digest)


def _fix(root: Section) -> FixSettings:
    section = root.table("fix", required=False)
    if section is None:
        return FixSettings()
    values = {f.name: section.integer(f.name, getattr(FixSettings(), f.name), minimum=1) for f in fields(FixSettings)}
    section.done()
    return FixSettings(**values)


def _fix_invariants(root: Section) -> tuple[str, ...]:
    from scenarios.fix_run import FIX_INVARIANTS

    section = root.table("invariants", required=False)
    names = section.strings("check", ["all"]) if section is not None else ["all"]
    if section is not None:
        section.done()
    if names == ["all"]:
        return tuple(FIX_INVARIANTS)
    for name in names:
        if name not in FIX_INVARIANTS:
            assert section is not None
            raise section.error("check", f"unknown FIX invariant {name!r}; invariants: {', '.join(FIX_INVARIANTS)}")
    return tuple(names)


def _string_table(section: Section, name: str) -> dict[str, str]:
    table = section.table(name, required=False)
    if table is None:
        return {}
    values = {key: table.string(key, allow_empty=True) for key in table.names()}
    table.done()
    return values


def _data(root: Section, base_dir: Path) -> DataSpec:
    data = root.req_table("data")
    given = [key for key in ("sample", "files", "synthetic") if data.has(key)]
    if len(given) != 1:
        raise data.error("", "give exactly one of sample, files or [data.synthetic]"
                         + (f" (found {', '.join(given)})" if given else ""))
    kinds = tuple(data.strings("kinds", []))
    for kind in kinds:
        if kind not in _KINDS:
            raise data.error("kinds", f"unknown kind {kind!r}; kinds: {', '.join(_KINDS)}")
    spec: DataSpec
    if given[0] == "sample":
        sample = data.string("sample")
        if sample not in SAMPLES:
            raise data.error("sample", f"unknown sample {sample!r}; samples: {', '.join(SAMPLES)}")
        spec = DataSpec(sample=sample, kinds=kinds)
    elif given[0] == "files":
        files = tuple((base_dir / f).resolve() for f in data.strings("files"))
        for f in files:
            if not f.is_file():
                raise data.error("files", f"no such file: {f}")
        spec = DataSpec(files=files, kinds=kinds)
    else:
        synthetic = data.req_table("synthetic")
        values: dict[str, Any] = {}
        for tape_field in fields(SyntheticTape):
            key = tape_field.name
            if not synthetic.has(key):
                continue
            if tape_field.type in ("int", int):
                values[key] = synthetic.integer(key)
            elif tape_field.type in ("bool", bool):
                values[key] = synthetic.boolean(key)
            else:
                values[key] = synthetic.string(key)
        synthetic.done()
        try:
            spec = DataSpec(synthetic=SyntheticTape(**values), kinds=kinds)
        except ValueError as error:
            raise data.error("synthetic", str(error)) from None
    data.done()
    return spec


def _venues(root: Section) -> tuple[VenueSetup, ...]:
    tables = root.tables("venues")
    if not tables:
        return (VenueSetup("binance", "binance"),)
    setups: list[VenueSetup] = []
    for table in tables:
        name = table.string("name")
        if any(s.name == name for s in setups):
            raise table.error("name", f"venue {name!r} given twice")
        profile = table.string("profile", name)
        balances_table = table.table("balances", required=False)
        balances = None
        if balances_table is not None:
            balances = {asset: balances_table.req_decimal(asset, ints=True) for asset in balances_table.names()}
            balances_table.done()
        depth_text = table.string("depth", "auto")
        depth = None
        if depth_text != "auto":
            try:
                depth = DepthMode(depth_text.upper())
            except ValueError:
                raise table.error("depth", f"must be auto, book, quotes or trades, got {depth_text!r}") from None
        setups.append(VenueSetup(name, profile, balances=balances, depth=depth,
                                 queue_model=table.string("queue_model", "conservative"),
                                 data_venue=table.opt_string("data_venue"), adapter=table.opt_string("adapter")))
        table.done()
    return tuple(setups)


def _engine(root: Section) -> dict[str, int]:
    section = root.table("engine", required=False)
    if section is None:
        return {}
    values: dict[str, int] = {}
    for key, target in ENGINE_KEYS.items():
        if section.has(key):
            seconds = section.req_decimal(key, ints=True)
            if seconds < 0:
                raise section.error(key, "must not be negative")
            values[target] = int(seconds * NS)
    section.done()
    return values


def _router(root: Section) -> RouterConfig | None:
    section = root.table("router", required=False)
    if section is None:
        return None
    section.names()  # RouterConfig checks its own keys
    try:
        return RouterConfig.from_mapping(section.data)
    except RouterConfigError as error:
        raise section.error("", str(error)) from None


def _faults(root: Section, venues: set[str] | None) -> tuple[FaultSpec, ...]:
    """The ``[[faults]]`` tables; ``venues`` None (a served venue's scenario): targets are not matched to venues."""
    specs: list[FaultSpec] = []
    for table in root.tables("faults"):
        name = table.string("name")
        if any(s.name == name for s in specs):
            raise table.error("name", f"fault {name!r} given twice (names seed the faults: keep them unique)")
        kind = table.string("kind")
        if kind not in FAULT_KINDS:
            raise table.error("kind", f"unknown fault kind {kind!r}; kinds: {', '.join(sorted(FAULT_KINDS))}")
        target = table.string("target")
        at = table.req_decimal("at_s", ints=True) if table.has("at_s") else Decimal(0)
        duration = table.decimal("for_s", required=False, ints=True)
        probability = table.decimal("probability", Decimal(1), ints=True)
        assert probability is not None
        trigger = None
        trigger_table = table.table("trigger", required=False)
        if trigger_table is not None:
            try:
                trigger = Trigger(trigger_table.string("on"), trigger_table.integer("nth", 1),
                                  trigger_table.integer("count", 1))
            except FaultError as error:
                raise trigger_table.error("", str(error)) from None
            trigger_table.done()
        params_table = table.table("params", required=False)
        params = {key: params_table.raw(key) for key in params_table.names()} if params_table is not None else {}
        if params_table is not None:
            params_table.done()
        table.done()
        spec = FaultSpec(name, kind, target, int(at * NS), None if duration is None else int(duration * NS),
                         probability, trigger, params, table.line())
        if venues is None:
            pass
        elif kind.startswith("fix_") != ("fix" in venues):
            raise table.error("kind", f"{kind} belongs in a {'FIX' if kind.startswith('fix_') else 'venue'} scenario "
                                      "([scenario] world)")
        elif kind != "crash" and not kind.startswith("fix_") and target.partition(".")[0] not in venues:
            raise table.error("target", f"no venue {target.partition('.')[0]!r} in this scenario "
                                        f"(venues: {', '.join(sorted(venues))})")
        try:  # build once now, so a bad target or parameter is reported with its line
            from harness.rng import SeededRng

            build_fault(name, kind, target, spec.schedule(0), SeededRng(0), params=params)
        except FaultError as error:
            raise table.error("", str(error)) from None
        specs.append(spec)
    return tuple(specs)


def _invariants(root: Section) -> tuple[str, ...]:
    section = root.table("invariants", required=False)
    if section is None:
        return tuple(INVARIANTS)
    names = section.strings("check", ["all"])
    section.done()
    if names == ["all"]:
        return tuple(INVARIANTS)
    for name in names:
        if name not in INVARIANTS:
            raise section.error("check", f"unknown invariant {name!r}; invariants: {', '.join(INVARIANTS)}")
    return tuple(names)


def _expect(root: Section) -> Expectations:
    section = root.table("expect", required=False)
    if section is None:
        return Expectations()
    min_orders_table = section.table("min_orders", required=False)
    min_orders: dict[str, int] = {}
    if min_orders_table is not None:
        min_orders = {venue: min_orders_table.integer(venue, minimum=0) for venue in min_orders_table.names()}
        min_orders_table.done()
    breaker = tuple(section.strings("breaker", []))
    for state in breaker:
        if state not in ("OPEN", "HALF_OPEN", "CLOSED"):
            raise section.error("breaker", f"unknown breaker state {state!r}")
    gap = section.decimal("feed_gap_s", required=False, ints=True)
    expect = Expectations(tuple(section.strings("events", [])), tuple(section.strings("alerts", [])), breaker,
                          tuple(section.strings("unrecovered", [])), min_orders, tuple(section.strings("stable", [])),
                          None if gap is None else int(gap * NS))
    section.done()
    return expect
