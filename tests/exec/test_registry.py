"""Venue registry: configs, sandbox isolation, sealed credentials, status and disablement.

Properties 2 (registration completeness) and 4 (sandbox isolation) of the seed, the registry
half of Property 3 (unavailable venues are not tradable), and a scan proving that secrets never
appear in any repr, error, alert, status record or journal file.
"""

from __future__ import annotations

import string
from dataclasses import replace
from decimal import Decimal
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from harness.alerts import AlertSink
from harness.audit import AuditRecord
from harness.contract import FatalError
from harness.journal import Journal
from harness.model import OrderType, TimeInForce, VenueCapabilities, VenueMode, VenueStatus
from harness.registry import (
    AuthMethod,
    ConfigError,
    CredentialError,
    Credentials,
    CredentialVault,
    ProductionNotAllowed,
    SandboxViolation,
    UnknownVenueError,
    VenueConfig,
    VenueRegistry,
    is_loopback_host,
    load_venue_configs,
)
from harness.venues import shipped_descriptors
from scenarios.world import SimWorld

KEY = CredentialVault.generate_key()
KNOWN_ENDPOINTS = {name: descriptor.hosts for name, descriptor in shipped_descriptors().items()}
ALL_PRODUCTION = sorted({h for hosts in KNOWN_ENDPOINTS.values() for h in hosts.production})
ALL_SANDBOX = sorted({h for hosts in KNOWN_ENDPOINTS.values() for h in hosts.sandbox})
LOOPBACKS = ["127.0.0.1", "localhost", "127.0.0.53", "[::1]"]
UNKNOWN = ["example.com", "api.binance.us", "evil.testnet.binance.vision.example.org", "10.0.0.1"]


def sandbox_config(venue: str = "binance", **changes: object) -> VenueConfig:
    base = VenueConfig(
        venue_id=venue, tenant_id="t1", mode=VenueMode.SANDBOX, rest_endpoint="http://127.0.0.1:8080",
        ws_endpoint="ws://127.0.0.1:8081/ws", auth_method=AuthMethod.HMAC,
        supported_features=frozenset({"spot"}), rate_limits={"orders": (10, Decimal(1))})
    return replace(base, **changes)  # type: ignore[arg-type]


def make_registry(world: SimWorld, *, allow_production: bool = False) -> tuple[VenueRegistry, AlertSink]:
    alerts = AlertSink()
    return VenueRegistry(CredentialVault(KEY), world.runtime.clock, alerts, allow_production=allow_production), alerts


secret_text = st.text(alphabet=string.ascii_letters + string.digits, min_size=24, max_size=40)


# --------------------------------------------------------------------------- Property 4


def _url(scheme: str, host: str) -> str:
    return f"{scheme}://{host}:9443/path"


@settings(max_examples=300)
@given(venue=st.sampled_from(sorted(KNOWN_ENDPOINTS)),
       hosts=st.lists(st.sampled_from(ALL_PRODUCTION + ALL_SANDBOX + LOOPBACKS + UNKNOWN), min_size=3, max_size=3),
       with_fix=st.booleans())
def test_property_4_sandbox_never_reaches_production(venue: str, hosts: list[str], with_fix: bool) -> None:
    rest, ws, fix = hosts
    used = [rest, ws] + ([fix] if with_fix else [])
    allowed = KNOWN_ENDPOINTS[venue].sandbox
    expect_ok = all(is_loopback_host(h) or h in allowed for h in used)

    def build() -> VenueConfig:
        return VenueConfig(
            venue_id=venue, tenant_id="t", mode=VenueMode.SANDBOX, rest_endpoint=_url("https", rest),
            ws_endpoint=_url("wss", ws), fix_endpoint=_url("tcp+tls", fix) if with_fix else None,
            auth_method=AuthMethod.HMAC, supported_features=frozenset())

    if expect_ok:
        config = build()
        assert not any(h in ALL_PRODUCTION for h in used)
        assert config.mode is VenueMode.SANDBOX
    else:
        with pytest.raises(SandboxViolation) as err:
            build()
        bad = next(h for h in used if not (is_loopback_host(h) or h in allowed))
        assert bad.strip("[]") in str(err.value) or bad in str(err.value)
        if bad in ALL_PRODUCTION:
            assert "PRODUCTION host" in str(err.value)


def test_property_4_sandbox_hosts_of_the_spec_are_accepted() -> None:
    config = VenueConfig(
        venue_id="binance", tenant_id="t", mode=VenueMode.SANDBOX, rest_endpoint="https://testnet.binance.vision/api",
        ws_endpoint="wss://stream.testnet.binance.vision/ws", fix_endpoint="tcp+tls://fix-oe.testnet.binance.vision:9000",
        auth_method=AuthMethod.ED25519, supported_features=frozenset())
    assert config.rest_endpoint.startswith("https://testnet")
    bybit = sandbox_config("bybit", rest_endpoint="https://api-testnet.bybit.com",
                           ws_endpoint="wss://stream-testnet.bybit.com/v5/public/spot")
    assert bybit.venue_id == "bybit"
    with pytest.raises(SandboxViolation, match=r"api\.bybit\.com"):
        sandbox_config("bybit", rest_endpoint="https://API.BYBIT.COM.")  # case and trailing dot do not help
    with pytest.raises(SandboxViolation, match="bybit"):  # another venue's sandbox is not this venue's
        sandbox_config("binance", rest_endpoint="https://api-testnet.bybit.com")


def test_production_must_be_asked_for_explicitly() -> None:
    data = {"venue_id": "binance", "tenant_id": "t", "rest_endpoint": "https://api.binance.com",
            "auth_method": "HMAC", "supported_features": ["spot"]}
    with pytest.raises(SandboxViolation):  # no mode given -> SANDBOX -> production host refused
        VenueConfig.from_mapping(data, "venues.toml")
    prod = VenueConfig.from_mapping({**data, "mode": "PRODUCTION"}, "venues.toml")
    assert prod.mode is VenueMode.PRODUCTION
    with SimWorld() as world:
        registry, _ = make_registry(world)
        with pytest.raises(ProductionNotAllowed, match="allow_production"):
            registry.register(prod, Credentials("k" * 20, "s" * 20))
        assert "binance" not in registry
        allowed, _ = make_registry(world, allow_production=True)
        assert allowed.register(prod, Credentials("k" * 20, "s" * 20)).mode is VenueMode.PRODUCTION
    with pytest.raises(ConfigError, match="sandbox host"):
        VenueConfig.from_mapping({**data, "mode": "PRODUCTION", "rest_endpoint": "https://testnet.binance.vision"})


def test_endpoint_urls_are_validated() -> None:
    with pytest.raises(ConfigError, match="scheme"):
        sandbox_config(rest_endpoint="ftp://127.0.0.1")
    with pytest.raises(ConfigError, match="ws_endpoint"):
        sandbox_config(ws_endpoint="https://127.0.0.1")
    with pytest.raises(ConfigError, match="user info"):
        sandbox_config(rest_endpoint="https://key:secret@127.0.0.1")
    with pytest.raises(ConfigError, match="no host"):
        sandbox_config(rest_endpoint="https://")
    with pytest.raises(SandboxViolation):  # no known sandbox hosts: only the local venue
        sandbox_config("bsdex", rest_endpoint="https://api.bsdex.de")
    assert sandbox_config("binance-futures", rest_endpoint="https://testnet.binancefuture.com").venue_id \
        == "binance-futures"


# --------------------------------------------------------------------------- from_mapping


def test_from_mapping_rejects_unknown_keys_and_bad_values_naming_field_and_source() -> None:
    good = {"venue_id": "okx", "tenant_id": "t", "rest_endpoint": "http://localhost:1", "auth_method": "HMAC",
            "supported_features": {"order_types": ["LIMIT", "MARKET"], "time_in_force": ["GTC"], "native_modify": True},
            "rate_limits": {"orders": [60, "2"], "queries": {"limit": 20, "window_s": 1}}, "priority": 2}
    config = VenueConfig.from_mapping(good, "venues.toml:3")
    assert config.supported_features == VenueCapabilities(
        order_types=frozenset({OrderType.LIMIT, OrderType.MARKET}), time_in_force=frozenset({TimeInForce.GTC}),
        native_modify=True)
    assert dict(config.rate_limits) == {"orders": (60, Decimal(2)), "queries": (20, Decimal(1))}
    cases: list[tuple[dict[str, object], str]] = [
        ({**good, "colour": "red"}, "colour"),
        ({**good, "mode": "LIVE"}, "mode"),
        ({**good, "auth_method": "PASSWORD"}, "auth_method"),
        ({**good, "priority": "high"}, "priority"),
        ({**good, "priority": True}, "priority"),
        ({**good, "rate_limits": {"orders": [60, 2.5]}}, "rate_limits.orders"),
        ({**good, "rate_limits": {"orders": [0, 1]}}, "rate_limits.orders"),
        ({**good, "rate_limits": {"orders": {"limit": 1, "window": 1}}}, "rate_limits.orders.window"),
        ({**good, "supported_features": {"order_types": ["ICEBERG"]}}, "supported_features.order_types"),
        ({**good, "supported_features": {"teleport": True}}, "supported_features.teleport"),
        ({k: v for k, v in good.items() if k != "tenant_id"}, "tenant_id"),
        ({**good, "venue_id": "o k x"}, "venue_id"),
    ]
    for data, field_name in cases:
        with pytest.raises(ConfigError) as err:
            VenueConfig.from_mapping(data, "venues.toml:3")
        assert err.value.field_name == field_name, (data, str(err.value))
        assert "venues.toml:3" in str(err.value)


def test_load_venue_configs_from_toml(tmp_path: Path) -> None:
    path = tmp_path / "venues.toml"
    path.write_text('[venues.binance]\ntenant_id = "t"\nrest_endpoint = "https://testnet.binance.vision/api"\n'
                    'auth_method = "HMAC"\nsupported_features = ["spot"]\nrate_limits = { orders = [50, 10] }\n'
                    '[venues.bybit]\ntenant_id = "t"\nrest_endpoint = "https://api.bybit.com"\n'
                    'auth_method = "HMAC"\nsupported_features = []\n')
    with pytest.raises(SandboxViolation) as err:
        load_venue_configs(path)
    assert "[venues.bybit]" in str(err.value) and str(path) in str(err.value)
    path.write_text(path.read_text().replace("https://api.bybit.com", "https://api-testnet.bybit.com"))
    configs = load_venue_configs(path)
    assert [c.venue_id for c in configs] == ["binance", "bybit"]
    assert configs[0].rate_limits["orders"] == (50, Decimal(10))


def test_load_venue_configs_names_the_line_of_a_bad_key(tmp_path: Path) -> None:
    path = tmp_path / "venues.toml"
    path.write_text('[venues.binance]\ntenant_id = "t"\nrest_endpoint = "https://testnet.binance.vision/api"\n'
                    'auth_method = "HMAC"\nsupported_features = ["spot"]\npriorty = 2\n')
    with pytest.raises(ConfigError) as err:
        load_venue_configs(path)
    assert err.value.field_name == "priorty" and f"{path}:6 [venues.binance]" in str(err.value)
    path.write_text(path.read_text().replace("priorty = 2", 'rate_limits = { orders = [50, 1.5] }'))
    with pytest.raises(ConfigError) as err:
        load_venue_configs(path)
    assert err.value.field_name == "rate_limits.orders" and f"{path}:6 " in str(err.value)
    assert "float 1.5" in str(err.value)
    path.write_text(path.read_text() + "[other]\n")
    with pytest.raises(ConfigError, match=r"other.*unknown key"):
        load_venue_configs(path)


# --------------------------------------------------------------------------- Property 2


configs = st.builds(
    lambda venue, tenant, auth, features, limits, priority, host: VenueConfig(
        venue_id=venue, tenant_id=tenant, mode=VenueMode.SANDBOX, rest_endpoint=f"https://{host}",
        ws_endpoint=f"wss://{host}/ws", auth_method=auth, supported_features=features, rate_limits=limits,
        priority=priority),
    venue=st.sampled_from(sorted(KNOWN_ENDPOINTS)),
    tenant=st.text(alphabet=string.ascii_lowercase + string.digits + "-_", min_size=1, max_size=12),
    auth=st.sampled_from(list(AuthMethod)),
    features=st.frozensets(st.sampled_from(["spot", "futures", "fix", "websocket", "modify"])),
    limits=st.dictionaries(st.sampled_from(["orders", "queries", "websocket", "weight"]),
                           st.tuples(st.integers(1, 10_000), st.integers(1, 86_400).map(Decimal))),
    priority=st.integers(-5, 5),
    host=st.sampled_from(LOOPBACKS),
)


@settings(max_examples=60, deadline=None)
@given(batch=st.lists(configs, min_size=1, max_size=6, unique_by=lambda c: c.venue_id),
       key=secret_text, secret=secret_text, passphrase=st.none() | secret_text)
def test_property_2_registered_config_complete_and_retrievable(batch: list[VenueConfig], key: str, secret: str,
                                                               passphrase: str | None) -> None:
    with SimWorld() as world:
        registry, _ = make_registry(world)
        for config in batch:
            registry.register(config, Credentials(key + config.venue_id, secret, passphrase))
        for config in batch:
            got = registry.get(config.venue_id)
            assert got == config
            for name in ("venue_id", "tenant_id", "mode", "rest_endpoint", "auth_method", "supported_features"):
                assert getattr(got, name) == getattr(config, name)
            assert dict(got.rate_limits) == dict(config.rate_limits)
            creds = registry.credentials(config.venue_id)
            assert (creds.api_key, creds.secret, creds.passphrase) == (key + config.venue_id, secret, passphrase)
            assert secret.encode() not in registry.sealed_credentials(config.venue_id)
        listed = registry.list()
        assert sorted(c.venue_id for c in listed) == sorted(c.venue_id for c in batch)
        assert [(c.priority, c.venue_id) for c in listed] == sorted((c.priority, c.venue_id) for c in listed)
        with pytest.raises(ConfigError, match="already registered"):
            registry.register(batch[0], Credentials(key, secret))


def test_register_refuses_missing_credentials() -> None:
    with pytest.raises(CredentialError, match="secret"):
        Credentials("key-123", "")
    with SimWorld() as world:
        registry, _ = make_registry(world)
        with pytest.raises(CredentialError):
            registry.register(sandbox_config(), "key:secret")  # type: ignore[arg-type]
        assert registry.list() == []
        with pytest.raises(UnknownVenueError, match="nope"):
            registry.get("nope")


# --------------------------------------------------------------------------- vault


def test_vault_round_trip_and_refusals() -> None:
    vault = CredentialVault(KEY)
    creds = Credentials("AKIAEXAMPLEKEY123456", "sUpErSeCrEtVaLuE9876543210", "pass-phrase-xyz")
    sealed = vault.seal(creds, context="binance")
    assert vault.open(sealed, context="binance") == creds
    assert vault.seal(creds, context="binance") != sealed  # fresh nonce every time
    other = CredentialVault(CredentialVault.generate_key())
    tampered = sealed[:-1] + bytes([sealed[-1] ^ 1])
    cases: list[tuple[CredentialVault, bytes, str]] = [
        (vault, sealed, "okx"), (other, sealed, "binance"), (vault, tampered, "binance"), (vault, b"garbage", "")]
    for opener, blob, context in cases:
        with pytest.raises(CredentialError) as err:
            opener.open(blob, context=context)
        assert creds.secret not in str(err.value)
    with pytest.raises(CredentialError, match="32 bytes"):
        CredentialVault(b"short")


# --------------------------------------------------------------------------- status


@settings(max_examples=40, deadline=None)
@given(statuses=st.lists(st.sampled_from(list(VenueStatus)), min_size=1, max_size=12))
def test_property_3_registry_half_only_active_is_tradable(statuses: list[VenueStatus]) -> None:
    with SimWorld() as world:
        registry, alerts = make_registry(world)
        registry.register(sandbox_config(), Credentials("key-123", "secret-456"))
        current = VenueStatus.ACTIVE
        changes = 0
        errors = 0
        for i, status in enumerate(statuses):
            world.runtime.run_until(world.runtime.now_ns() + 1_000)
            change = registry.set_status("binance", status, f"step {i}")
            if status is current:
                assert change is None
            else:
                assert change is not None and change.previous is current and change.status is status
                assert change.ts_ns == world.runtime.now_ns()
                changes += 1
                errors += status is VenueStatus.ERROR
            current = status
            assert registry.is_tradable("binance") == (status is VenueStatus.ACTIVE)
            assert registry.get("binance").status is status
        assert len(registry.history("binance")) == 1 + changes  # registration + each change
        assert len(alerts.of_kind("venue_error")) == errors
        assert [c.venue_id for c in registry.list(status=current)] == ["binance"]
        assert not registry.is_tradable("unknown-venue")


def test_fatal_error_disables_until_manual_reactivation() -> None:
    with SimWorld() as world:
        registry, alerts = make_registry(world)
        registry.register(sandbox_config(), Credentials("key-123", "secret-456"))
        registry.on_fatal("binance", FatalError("API key revoked", venue="binance", code=-2015))
        assert registry.get("binance").status is VenueStatus.ERROR
        assert not registry.is_tradable("binance")
        (alert,) = alerts.of_kind("venue_error")
        assert alert.venue == "binance" and "revoked" in alert.message
        assert registry.history("binance")[-1].reason.startswith("disabled: FatalError")
        registry.set_status("binance", VenueStatus.ACTIVE, "operator re-enabled after key rotation")
        assert registry.is_tradable("binance")


# --------------------------------------------------------------------------- secrets never leak


@settings(max_examples=15, deadline=None)
@given(key=secret_text, secret=secret_text, passphrase=secret_text)
def test_secrets_never_appear_in_reprs_errors_records_or_journal(tmp_path_factory: pytest.TempPathFactory,
                                                                 key: str, secret: str, passphrase: str) -> None:
    creds = Credentials(key, secret, passphrase)
    path = tmp_path_factory.mktemp("journal") / "journal.db"
    with SimWorld() as world:
        registry, alerts = make_registry(world)
        journal = Journal(path, world.runtime.clock)
        alerts.listen(journal.on_alert)
        registry.listen(journal.on_status_change)
        config = registry.register(sandbox_config(), creds)
        registry.set_status("binance", VenueStatus.MAINTENANCE, "scheduled")
        registry.disable("binance", "auth failure")
        journal.audit(AuditRecord(ts_ns=1, venue="binance", endpoint="POST /api/v3/order", phase="intent",
                                  request={"symbol": "BTCUSDT", "apiKey": key, "signature": secret,
                                           "passphrase": passphrase}))
        errors: list[str] = []
        try:
            registry.register(config, creds)
        except ConfigError as exc:
            errors.append(f"{exc!r} {exc}")
        try:
            CredentialVault(CredentialVault.generate_key()).open(registry.sealed_credentials("binance"), "binance")
        except CredentialError as exc:
            errors.append(f"{exc!r} {exc}")
        assert len(errors) == 2
        stored = [repr(journal.table(name)) for name in ("audit", "alerts", "venue_status")]
        journal.close()
        texts = [repr(creds), str(creds), f"{creds}", repr(config), repr(registry), str(registry),
                 repr(CredentialVault(KEY)), repr(registry.history()), repr(alerts.alerts), *errors, *stored]
        blobs = [registry.sealed_credentials("binance"), path.read_bytes()]
        for wal in path.parent.glob("journal.db*"):
            blobs.append(wal.read_bytes())
        assert registry.credentials("binance") == creds  # still retrievable on explicit request
    for value in (key, secret, passphrase):
        for text in texts:
            assert value not in text
        for blob in blobs:
            assert value.encode() not in blob


def test_update_replaces_config_keeps_or_rotates_credentials() -> None:
    with SimWorld() as world:
        registry, _ = make_registry(world)
        registry.register(sandbox_config(), Credentials("key-one-123", "secret-one-456"))
        registry.update(sandbox_config(priority=3, status=VenueStatus.MAINTENANCE))
        assert registry.get("binance").priority == 3
        assert registry.credentials("binance") == Credentials("key-one-123", "secret-one-456")
        assert registry.history("binance")[-1].status is VenueStatus.MAINTENANCE
        registry.update(sandbox_config(priority=3, status=VenueStatus.MAINTENANCE),
                        Credentials("key-two-789", "secret-two-000"))
        assert registry.credentials("binance").api_key == "key-two-789"
        assert len(registry.history("binance")) == 2  # no status change, nothing recorded
        with pytest.raises(UnknownVenueError):
            registry.update(sandbox_config("okx"))
