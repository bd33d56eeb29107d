"""Venue profiles: every shipped profile loads, and malformed ones fail naming file and key."""

from __future__ import annotations

import re
from decimal import Decimal
from pathlib import Path

import pytest

from harness.model import OrderType, TimeInForce, VenueInfo, VenueMode
from sim.venue.filters import BINANCE_ERRORS, RejectReason
from sim.venue.latency import Empirical, LogNormal
from sim.venue.profile import ProfileError, VenueProfile, available_profiles, load_profile, parse_profile

SEED_VENUES = {"binance", "coinbase", "kraken", "okx", "bybit", "bsdex", "bison", "finoa"}
DERIVATIVES = {"bybit-linear", "binance-usdm"}
"""The linear perpetual venues (profiles with a ``[futures]`` table)."""

MINIMAL = """
[venue]
name = "mini"

[fees]
maker = "0.001"
taker = "0.002"

[capabilities]
order_types = ["LIMIT", "MARKET"]
time_in_force = ["GTC"]

[symbols.ABCUSD]
base_asset = "ABC"
quote_asset = "USD"
tick_size = "0.01"
lot_size = "0.1"
min_qty = "0.1"
max_qty = "100"
min_notional = "1"

[rate_limits]

[latency.order_entry]
model = "constant"
value_ns = 1000

[latency.response]
model = "constant"
value_ns = 2000

[latency.market_data]
model = "empirical"
samples_ns = [-1_270_000_000, -1_260_000_000, -1_250_000_000]
deskew = "min"
floor_ns = 100
"""


def test_all_eight_seed_venues_and_the_derivatives_venues_ship_a_profile() -> None:
    assert set(available_profiles()) == SEED_VENUES | DERIVATIVES
    assert {name for name in available_profiles() if load_profile(name).futures is not None} == DERIVATIVES


@pytest.mark.parametrize("name", sorted(SEED_VENUES | DERIVATIVES))
def test_each_shipped_profile_loads_and_converts(name: str) -> None:
    profile = load_profile(name)
    assert isinstance(profile, VenueProfile)
    assert profile.name == name
    assert profile.symbols
    for rules in profile.symbols.values():
        assert isinstance(rules.tick_size, Decimal) and rules.tick_size > 0
        assert rules.min_qty <= rules.max_qty
    info = profile.to_venue_info(VenueMode.PRODUCTION)
    assert isinstance(info, VenueInfo)
    assert info.mode is VenueMode.PRODUCTION
    assert set(info.symbols) == set(profile.symbols)
    assert info.fees == profile.fees
    assert OrderType.LIMIT in info.capabilities.order_types
    assert profile.rate_limits.rules


def test_binance_profile_has_the_real_filters_and_limits() -> None:
    profile = load_profile("binance")
    btc = profile.symbols["BTCUSDT"]
    assert (btc.tick_size, btc.lot_size, btc.min_qty, btc.max_qty) == (
        Decimal("0.01"), Decimal("0.00001"), Decimal("0.00001"), Decimal("9000"))
    assert (btc.min_notional, btc.max_notional) == (Decimal("5"), Decimal("9000000"))
    assert profile.fees.maker == Decimal("0.001") == profile.fees.taker
    assert profile.errors is not BINANCE_ERRORS  # a copy, with the profile's notional filter name
    assert profile.errors.entries == BINANCE_ERRORS.entries
    limits = {rule.name: (rule.limit, rule.interval_s) for rule in profile.rate_limits.rules}
    assert limits["REQUEST_WEIGHT"] == (1200, 60)
    assert limits["ORDERS_10S"] == (50, 10)
    assert limits["ORDERS_1D"] == (160000, 86400)
    assert profile.rate_limits.weight_of("get_venue_info") == 20
    assert profile.rate_limits.weight_of("get_open_orders_all") == 80
    assert profile.rate_limits.weight_of("not_listed") == 1
    assert profile.rate_limits.order_requests == {"submit_order", "modify_order"}
    assert profile.rate_limits.ban is not None and profile.rate_limits.ban.first_s == 120
    tifs = frozenset({TimeInForce.GTC, TimeInForce.IOC, TimeInForce.FOK})
    assert profile.capabilities.time_in_force == tifs
    assert isinstance(profile.latency.order_entry, LogNormal)


def test_generic_profile_overrides_error_codes() -> None:
    kraken = load_profile("kraken")
    rejection = kraken.errors.reject(RejectReason.INSUFFICIENT_BALANCE)
    assert (rejection.code, rejection.message) == ("EOrder:Insufficient funds", "EOrder:Insufficient funds")
    okx = load_profile("okx")
    assert okx.errors.reject(RejectReason.INVALID_SYMBOL).code == 51001


def test_minimal_profile_parses_with_defaults_and_deskews_latency() -> None:
    profile = parse_profile(MINIMAL, source="mini.toml")
    assert profile.errors.style == "generic"
    assert profile.capabilities.native_modify is False
    recorded = profile.latency.market_data
    assert isinstance(recorded, Empirical) and recorded.samples_ns == (100, 10_000_100, 20_000_100)


def test_load_by_path(tmp_path: Path) -> None:
    path = tmp_path / "mine.toml"
    path.write_text(MINIMAL, encoding="utf-8")
    assert load_profile(path).name == "mini"
    assert load_profile(str(path)).source == str(path)


def _expect(text: str, key: str, fragment: str) -> ProfileError:
    with pytest.raises(ProfileError) as info:
        parse_profile(text, source="bad.toml")
    error = info.value
    assert error.file == "bad.toml"
    assert error.key == key
    assert fragment in str(error)
    assert error.line is not None and str(error).startswith(f"bad.toml:{error.line}: {key}: ")
    # the line named is the key's own (or, for a missing key, its table's header)
    named = text.splitlines()[error.line - 1]
    parts = re.sub(r"\[\d+\]", "", key).split(".")
    assert parts[-1] in named or (fragment == "missing" and parts[-2] in named), (key, named)
    return error


def test_unknown_key_is_named() -> None:
    _expect(MINIMAL.replace('maker = "0.001"', 'maker = "0.001"\nmakr = "0.002"'), "fees.makr", "unknown key")
    _expect(MINIMAL.replace('min_notional = "1"', 'min_notional = "1"\nstep = "1"'),
            "symbols.ABCUSD.step", "unknown key")
    _expect(MINIMAL + '\n[extra]\nx = 1\n', "extra", "unknown key")


def test_float_is_refused_with_the_fix() -> None:
    error = _expect(MINIMAL.replace('maker = "0.001"', "maker = 0.001"), "fees.maker", "TOML float")
    assert '"0.001"' in str(error)
    _expect(MINIMAL.replace('tick_size = "0.01"', "tick_size = 0.01"),
            "symbols.ABCUSD.tick_size", "TOML float")


def test_bad_decimal_and_wrong_types() -> None:
    _expect(MINIMAL.replace('taker = "0.002"', 'taker = "0.0x2"'), "fees.taker", "not a decimal")
    _expect(MINIMAL.replace('taker = "0.002"', 'taker = "NaN"'), "fees.taker", "not a finite")
    _expect(MINIMAL.replace('taker = "0.002"', "taker = 2"), "fees.taker", "as a string")
    _expect(MINIMAL.replace('taker = "0.002"', 'taker = "2"'), "fees.taker", "implausible")
    _expect(MINIMAL.replace('lot_size = "0.1"', 'lot_size = "0"'), "symbols.ABCUSD.lot_size", "> 0")
    _expect(MINIMAL.replace('["LIMIT", "MARKET"]', '["LIMIT", "ICEBERG"]'),
            "capabilities.order_types", "ICEBERG")
    _expect(MINIMAL.replace('min_notional = "1"\n', ""), "symbols.ABCUSD.min_notional", "missing")
    _expect(MINIMAL.replace("value_ns = 1000", "value_ns = 1000\nfloor_ns = 5"),
            "latency.order_entry.floor_ns", "unknown key")
    _expect(MINIMAL.replace("value_ns = 1000", 'value_ns = "1000"'),
            "latency.order_entry.value_ns", "integer")


def test_binance_style_refuses_an_errors_table_and_rules_are_checked() -> None:
    text = MINIMAL.replace('name = "mini"', 'name = "mini"\nerror_style = "binance"') + "\n[errors]\n"
    _expect(text, "errors", "built-in")
    bad_rule = MINIMAL.replace("[rate_limits]", '[rate_limits]\n[[rate_limits.rules]]\nname = "X"\n'
                               'kind = "fixed_window"\nlimit = 10\n')
    _expect(bad_rule, "rate_limits.rules[0]", "interval_s")
    bad_code = MINIMAL + '\n[errors.codes]\nlot_sise = ["X", "y"]\n'
    _expect(bad_code, "errors.codes.lot_sise", "unknown reject reason")


def test_unknown_shipped_name_lists_the_available_ones() -> None:
    with pytest.raises(ProfileError, match="available: binance"):
        load_profile("nasdaq")
