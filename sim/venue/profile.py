"""Venue profiles: one TOML file per venue, loaded and validated into frozen typed objects.

A profile is everything static a simulated venue needs: fees, instruments and their filters,
supported order types and time in force, native modify and post-only support, the error style,
the exchange-side rate limits and the latency defaults. The shipped profiles live in
``sim/profiles/*.toml`` (package data) and carry comments naming their sources.

Validation is strict (``harness.config.Section``), because a typo in a profile would silently
change a backtest:

* every table accepts only its known keys; an unknown key is an error naming the file and key;
* money and rates are ``Decimal`` parsed from TOML **strings** (``maker = "0.001"``). A TOML
  float anywhere in a profile is refused: ``tomllib`` has already rounded it to binary by the
  time we see it, so its exact text is gone. Write it as a string;
* durations are integer nanoseconds; distribution parameters (``sigma``) are strings too.

Errors are ``ProfileError`` (a ``ValueError``) with ``file``, ``key`` and ``line`` attributes and
a message of the form ``<file>:<line>: <dotted.key>: <problem>`` (no line when it is unknown).

Layout of a profile (``binance.toml`` shows every table)::

    [venue]         name, display_name, error_style ("binance" | "generic"), notional_filter,
                    hold_fee_in_quote, market_buy_margin, quote_order_qty,
                    client_order_id_reuse ("never" | "after_close")
    [fees]          maker, taker
    [capabilities]  order_types, time_in_force, native_modify, post_only, websocket, fix, ...
    [symbols.X]     base_asset, quote_asset, tick_size, lot_size, min_qty, max_qty, min_notional,
                    and optionally max_notional, min_price, max_price, market_min_qty,
                    market_max_qty, market_lot_size, apply_{min,max}_notional_to_market
    [errors]        generic style only: http_status, [errors.codes] reason = [code, message]
    [rate_limits]   default_weight, order_requests, [rate_limits.weights] (both keyed by contract
                    request name: submit_order, get_order_book, ...), [[rate_limits.rules]],
                    [rate_limits.ban]
    [latency]       fifo, and [latency.order_entry|response|market_data] with model =
                    "constant" | "lognormal" | "empirical"
    [futures]       derivatives venues only (``sim.venue.futures_terms``): settle asset, leverage,
                    margin mode, funding interval and rate
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal
from importlib import resources
from pathlib import Path
from types import MappingProxyType
from typing import Any

from harness.config import Section
from harness.contract_methods import REQUEST_NAMES
from harness.model import (
    OrderRequest,
    OrderType,
    TimeInForce,
    VenueCapabilities,
    VenueFees,
    VenueInfo,
    VenueMode,
)
from sim.venue.filters import (
    BINANCE_ERRORS,
    DEFAULT_MARKET_BUY_MARGIN,
    GENERIC_ERRORS,
    ErrorCatalog,
    RejectReason,
    SymbolRules,
    VenueRejection,
    validate_order,
)
from sim.venue.futures_terms import FuturesTerms, parse_futures
from sim.venue.latency import CHANNELS, Constant, Empirical, LatencyModel, LatencyProfile, LogNormal
from sim.venue.limits import ORDER_REQUESTS, BanPolicy, LimitRule, RateLimitConfig

__all__ = [
    "ProfileError",
    "VenueProfile",
    "available_profiles",
    "load_profile",
    "parse_profile",
]

_ERROR_STYLES = ("binance", "generic")


class ProfileError(ValueError):
    """A profile file is malformed; ``file``, ``key`` and ``line`` (when known) say where, the message says what."""

    def __init__(self, file: str, key: str, problem: str, line: int | None = None) -> None:
        where = file if line is None else f"{file}:{line}"
        super().__init__(f"{where}: {key or '<top level>'}: {problem}")
        self.file = file
        self.key = key
        self.problem = problem
        self.line = line


@dataclass(frozen=True, slots=True)
class VenueProfile:
    """A validated venue profile (see the module docstring for the meaning of each part).

    ``hold_fee_in_quote`` says whether buy orders lock their taker fee with the notional
    (Coinbase, Kraken) or not (Binance takes fees from the asset received).
    """

    name: str
    display_name: str
    source: str
    fees: VenueFees
    capabilities: VenueCapabilities
    symbols: Mapping[str, SymbolRules]
    errors: ErrorCatalog
    rate_limits: RateLimitConfig
    latency: LatencyProfile
    hold_fee_in_quote: bool = False
    market_buy_margin: Decimal = DEFAULT_MARKET_BUY_MARGIN
    quote_order_qty: bool = False
    client_order_id_reuse: str = "never"
    """``never``: a client order id the venue has seen is refused forever; ``after_close``: only
    while its order is open (Binance: "orders with the same newClientOrderId can be accepted only
    when the previous one is filled")."""
    futures: FuturesTerms | None = None
    """The ``[futures]`` terms of a linear perpetual venue; None for a spot venue."""

    @property
    def fee_rate_reserve(self) -> Decimal:
        """The fee rate buy orders lock on top of their notional (0 unless ``hold_fee_in_quote``)."""
        return self.fees.taker if self.hold_fee_in_quote else Decimal(0)

    def to_venue_info(self, mode: VenueMode = VenueMode.SANDBOX) -> VenueInfo:
        """The contract's ``VenueInfo``: instruments, fees and capabilities of this venue."""
        return VenueInfo(
            venue=self.name,
            symbols={name: rules.to_symbol_info() for name, rules in self.symbols.items()},
            fees=self.fees,
            capabilities=self.capabilities,
            mode=mode,
            extra={"display_name": self.display_name, "error_style": self.errors.style,
                   "profile": self.source},
        )

    def validate_order(self, request: OrderRequest, *, reference_price: Decimal | None = None,
                       free_balances: Mapping[str, Decimal] | None = None) -> VenueRejection | None:
        """``sim.venue.filters.validate_order`` with this venue's symbols, errors, capabilities and holds."""
        return validate_order(request, self.symbols, self.errors, capabilities=self.capabilities,
                              reference_price=reference_price, free_balances=free_balances,
                              fee_rate_reserve=self.fee_rate_reserve,
                              market_buy_margin=self.market_buy_margin)


# --------------------------------------------------------------------------- loading


def _profiles_dir() -> resources.abc.Traversable:
    return resources.files("sim.venue").joinpath("profiles")


def available_profiles() -> list[str]:
    """Names of the profiles shipped with the package (``sim/profiles/*.toml``), sorted."""
    return sorted(entry.name[:-5] for entry in _profiles_dir().iterdir()
                  if entry.name.endswith(".toml") and entry.is_file())


def load_profile(name_or_path: str | Path) -> VenueProfile:
    """Load a shipped profile by name (``"binance"``) or any profile file by path, validated.

    A ``Path``, or a string that ends in ``.toml`` or contains a path separator, is a file;
    anything else is a shipped profile name.
    """
    text_name = str(name_or_path)
    if isinstance(name_or_path, Path) or text_name.endswith(".toml") or "/" in text_name or "\\" in text_name:
        path = Path(name_or_path)
        try:
            text = path.read_text(encoding="utf-8")
        except OSError as exc:
            raise ProfileError(str(path), "", f"cannot read profile: {exc}") from exc
        return parse_profile(text, source=str(path), base_dir=path.parent)
    entry = _profiles_dir().joinpath(f"{text_name}.toml")
    if not entry.is_file():
        raise ProfileError(f"{text_name}.toml", "",
                           f"no such shipped profile; available: {', '.join(available_profiles())}")
    return parse_profile(entry.read_text(encoding="utf-8"), source=f"sim/profiles/{text_name}.toml",
                         base_dir=None)


def parse_profile(text: str, *, source: str = "<string>", base_dir: Path | None = None) -> VenueProfile:
    """Parse and validate profile TOML text; ``source`` names it in errors.

    ``base_dir`` resolves relative ``parquet`` paths of empirical latency models.
    """
    def error(key: str, problem: str, line: int | None) -> ProfileError:
        return ProfileError(source, key, problem, line)

    root = Section.from_toml(text, source=source, error=error)
    profile = _build(root, source, base_dir)
    root.done()
    return profile


def _code(section: Section, name: str, default: int | str) -> int | str:
    """A venue error code: an integer or a string."""
    value = section.raw(name)
    if value is None:
        return default
    if isinstance(value, bool) or not isinstance(value, int | str):
        raise section.error(name, f"must be an integer or a string, got {value!r}")
    return value


def _enum_list(section: Section, name: str, enum: type[OrderType] | type[TimeInForce]) -> frozenset[Any]:
    values = section.strings(name)
    result = set()
    for value in values:
        try:
            result.add(enum(value))
        except ValueError:
            allowed = ", ".join(member.value for member in enum)
            raise section.error(name, f"unknown value {value!r}; allowed: {allowed}") from None
    if not result:
        raise section.error(name, "must not be empty")
    return frozenset(result)


def _build(root: Section, source: str, base_dir: Path | None) -> VenueProfile:
    venue = root.req_table("venue")
    name = venue.string("name")
    display_name = venue.string("display_name", name)
    error_style = venue.string("error_style", "generic")
    if error_style not in _ERROR_STYLES:
        raise venue.error("error_style", f"must be one of {_ERROR_STYLES}, got {error_style!r}")
    notional_filter = venue.string("notional_filter", "NOTIONAL")
    if notional_filter not in ("NOTIONAL", "MIN_NOTIONAL"):
        raise venue.error("notional_filter", "must be NOTIONAL or MIN_NOTIONAL")
    hold_fee = venue.boolean("hold_fee_in_quote", False)
    margin = venue.decimal("market_buy_margin", DEFAULT_MARKET_BUY_MARGIN)
    assert margin is not None
    if margin < 0:
        raise venue.error("market_buy_margin", "must be >= 0")
    quote_order_qty = venue.boolean("quote_order_qty", False)
    reuse = venue.string("client_order_id_reuse", "never")
    if reuse not in ("never", "after_close"):
        raise venue.error("client_order_id_reuse", f"must be 'never' or 'after_close', got {reuse!r}")
    venue.done()

    fees_section = root.req_table("fees")
    maker, taker = fees_section.req_decimal("maker"), fees_section.req_decimal("taker")
    for key, rate in (("maker", maker), ("taker", taker)):
        if not Decimal("-0.01") <= rate <= Decimal("0.05"):
            raise fees_section.error(key, f"fee rate {rate} is implausible (a fraction: 0.001 = 10 bps)")
    fees_section.done()

    caps = root.req_table("capabilities")
    capabilities = VenueCapabilities(
        order_types=_enum_list(caps, "order_types", OrderType),
        time_in_force=_enum_list(caps, "time_in_force", TimeInForce),
        native_modify=caps.boolean("native_modify", False),
        post_only=caps.boolean("post_only", True),
        websocket=caps.boolean("websocket", True),
        fix=caps.boolean("fix", False),
        futures=caps.boolean("futures", False),
        leverage=caps.boolean("leverage", False),
        margin_mode=caps.boolean("margin_mode", False),
    )
    caps.done()

    symbols_section = root.req_table("symbols")
    symbols = {sym: _symbol(symbols_section, sym) for sym in symbols_section.names()}
    if not symbols:
        raise root.error("symbols", "a profile needs at least one symbol")
    symbols_section.done()

    errors = _errors(root, error_style, notional_filter)
    rate_limits = _rate_limits(root.req_table("rate_limits"))
    latency = _latency(root.req_table("latency"), base_dir)
    futures_section = root.table("futures", required=False)
    futures = parse_futures(futures_section) if futures_section is not None else None
    if futures is not None and not capabilities.futures:
        raise root.error("futures", "a [futures] table needs capabilities.futures = true")
    if futures is None and (capabilities.futures or capabilities.leverage or capabilities.margin_mode):
        raise caps.error("futures", "futures, leverage and margin_mode need a [futures] table")

    return VenueProfile(
        name=name, display_name=display_name, source=source,
        fees=VenueFees(maker=maker, taker=taker), capabilities=capabilities,
        symbols=MappingProxyType(symbols), errors=errors, rate_limits=rate_limits, latency=latency,
        hold_fee_in_quote=hold_fee, market_buy_margin=margin, quote_order_qty=quote_order_qty,
        client_order_id_reuse=reuse, futures=futures,
    )


def _symbol(parent: Section, symbol: str) -> SymbolRules:
    section = parent.table(symbol)
    assert section is not None
    positive = ("tick_size", "lot_size", "min_qty", "max_qty")
    values = {key: section.req_decimal(key) for key in positive}
    for key in positive:
        if values[key] <= 0:
            raise section.error(key, "must be > 0")
    min_notional = section.req_decimal("min_notional")
    optional = {key: section.decimal(key, required=False)
                for key in ("max_notional", "min_price", "max_price",
                            "market_min_qty", "market_max_qty", "market_lot_size")}
    for key, value in [("min_notional", min_notional), *optional.items()]:
        if value is not None and value < 0:
            raise section.error(key, "must be >= 0")
    if values["min_qty"] > values["max_qty"]:
        raise section.error("min_qty", "is above max_qty")
    rules = SymbolRules(
        symbol=symbol,
        base_asset=section.string("base_asset"),
        quote_asset=section.string("quote_asset"),
        tick_size=values["tick_size"], lot_size=values["lot_size"],
        min_qty=values["min_qty"], max_qty=values["max_qty"], min_notional=min_notional,
        apply_min_notional_to_market=section.boolean("apply_min_notional_to_market", True),
        apply_max_notional_to_market=section.boolean("apply_max_notional_to_market", False),
        **optional,
    )
    section.done()
    return rules


def _errors(root: Section, style: str, notional_filter: str) -> ErrorCatalog:
    section = root.table("errors", required=False)
    if style == "binance":
        if section is not None:
            raise root.error("errors", "the binance error style has built-in codes; remove [errors]")
        return BINANCE_ERRORS.with_overrides({}, notional_filter=notional_filter)
    if section is None:
        return GENERIC_ERRORS
    http_status = section.integer("http_status", 400)
    overrides: dict[RejectReason, tuple[int | str, str]] = {}
    codes = section.table("codes", required=False)
    if codes is not None:
        for reason_name in codes.names():
            entry = codes.data[reason_name]
            try:
                reason = RejectReason(reason_name)
            except ValueError:
                allowed = ", ".join(r.value for r in RejectReason)
                raise codes.error(reason_name, f"unknown reject reason; allowed: {allowed}") from None
            ok = (isinstance(entry, list) and len(entry) == 2 and isinstance(entry[1], str)
                  and isinstance(entry[0], int | str) and not isinstance(entry[0], bool))
            if not ok:
                raise codes.error(reason_name, f"must be [code, message] (int or string code), not {entry!r}")
            try:
                entry[1].format(param="", filter="")
            except (KeyError, IndexError, ValueError) as exc:
                raise codes.error(reason_name, f"bad template ({exc}); only {{param}}, {{filter}}") from None
            overrides[reason] = (entry[0], entry[1])
        codes.done()
    section.done()
    return GENERIC_ERRORS.with_overrides(overrides, notional_filter=notional_filter, http_status=http_status)


def _request_name(section: Section, key: str, name: str) -> str:
    if name not in REQUEST_NAMES:
        raise section.error(key, f"unknown request {name!r}; known: {', '.join(sorted(REQUEST_NAMES))}")
    return name


def _rate_limits(section: Section) -> RateLimitConfig:
    default_weight = section.integer("default_weight", 1)
    weights: dict[str, int] = {}
    weights_section = section.table("weights", required=False)
    if weights_section is not None:
        for request in weights_section.names():
            _request_name(weights_section, request, request)
            weights[request] = weights_section.integer(request, minimum=0)
        weights_section.done()
    order_requests = ORDER_REQUESTS
    if section.has("order_requests"):
        order_requests = frozenset(_request_name(section, "order_requests", name)
                                   for name in section.strings("order_requests"))
    rules = []
    for rule_section in section.tables("rules"):
        kind = rule_section.string("kind")
        refill = rule_section.decimal("refill_per_s", required=kind == "token_bucket")
        try:
            rule = LimitRule(
                name=rule_section.string("name"),
                kind=kind,
                limit=rule_section.integer("limit"),
                interval_s=rule_section.integer("interval_s", 0),
                refill_per_s=refill if refill is not None else Decimal(0),
                counts=rule_section.string("counts", "weight"),
                applies_to=rule_section.string("applies_to", "all"),
                bans=rule_section.boolean("bans", False),
                http_status=rule_section.integer("http_status", 429),
                code=_code(rule_section, "code", 429),
                message=rule_section.string("message", "Rate limit exceeded."),
                header=rule_section.opt_string("header"),
                limit_header=rule_section.opt_string("limit_header"),
                remaining_header=rule_section.opt_string("remaining_header"),
                reset_header=rule_section.opt_string("reset_header"),
            )
        except ValueError as exc:
            if isinstance(exc, ProfileError):
                raise
            raise ProfileError(section.source, rule_section.path, str(exc), rule_section.line()) from None
        rule_section.done()
        rules.append(rule)
    ban = None
    ban_section = section.table("ban", required=False)
    if ban_section is not None:
        defaults = BanPolicy()
        ban = BanPolicy(
            strikes=ban_section.integer("strikes", defaults.strikes),
            first_s=ban_section.integer("first_s", defaults.first_s),
            max_s=ban_section.integer("max_s", defaults.max_s),
            factor=ban_section.integer("factor", defaults.factor),
            reset_after_s=ban_section.integer("reset_after_s", defaults.reset_after_s),
            http_status=ban_section.integer("http_status", defaults.http_status),
            code=_code(ban_section, "code", defaults.code),
            message=ban_section.string("message", defaults.message),
        )
        if ban.first_s <= 0 or ban.max_s < ban.first_s or ban.factor < 1 or ban.strikes < 0:
            raise ban_section.error("first_s", "first_s > 0, max_s >= first_s, factor >= 1, strikes >= 0")
        ban_section.done()
    section.done()
    return RateLimitConfig(rules=tuple(rules), weights=MappingProxyType(weights),
                           default_weight=default_weight, ban=ban, order_requests=order_requests)


def _latency(section: Section, base_dir: Path | None) -> LatencyProfile:
    fifo = section.boolean("fifo", True)
    models = {name: _latency_model(section.req_table(name), base_dir) for name in CHANNELS}
    section.done()
    return LatencyProfile(models["order_entry"], models["response"], models["market_data"], fifo=fifo)


def _latency_model(section: Section, base_dir: Path | None) -> LatencyModel:
    kind = section.string("model")
    floor_ns = section.integer("floor_ns", 0) if kind != "constant" else 0
    model: LatencyModel
    try:
        if kind == "constant":
            model = Constant(section.integer("value_ns"))
        elif kind == "lognormal":
            sigma = section.req_decimal("sigma")
            cap_ns = section.opt_integer("cap_ns")
            model = LogNormal(section.integer("median_ns"), float(sigma), floor_ns, cap_ns)
        elif kind == "empirical":
            method = section.string("deskew", "min")
            target = section.opt_integer("target_ns")
            if section.has("parquet"):
                relative = Path(section.string("parquet"))
                path = relative if relative.is_absolute() or base_dir is None else base_dir / relative
                limit = section.opt_integer("max_samples")
                model = Empirical.from_parquet(path, deskew_method=method, floor_ns=floor_ns,
                                               target_ns=target, max_samples=limit)
            else:
                raw = section.raw("samples_ns", required=True)
                if not isinstance(raw, list) or not raw or not all(
                        isinstance(v, int) and not isinstance(v, bool) for v in raw):
                    raise section.error("samples_ns", "must be a non-empty list of integer nanoseconds")
                model = Empirical.from_offsets(raw, deskew_method=method, floor_ns=floor_ns, target_ns=target)
        else:
            raise section.error("model", f"must be constant, lognormal or empirical, got {kind!r}")
    except ProfileError:
        raise
    except (ValueError, OSError) as exc:
        raise ProfileError(section.source, section.path, str(exc), section.line()) from None
    section.done()
    return model
