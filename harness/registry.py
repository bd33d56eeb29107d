"""The venue registry: venue configurations, their status, SANDBOX/PRODUCTION, sealed credentials.

Every venue the execution layer may trade on is registered here once, with a ``VenueConfig``
(endpoints, mode, auth method, features, rate limits, failover priority, status) and its
``Credentials``. The registry answers "may I trade on this venue now?" (``is_tradable``), keeps
every status change (and alerts on ERROR), and disables a venue when a FATAL error arrives, so
that a human has to look before it trades again.

Two safety rules are enforced where a config is built, so a bad config cannot exist at all:

* **Sandbox isolation.** A SANDBOX config may only point at the venue's known sandbox/testnet
  hosts (``KNOWN_ENDPOINTS``) or at a loopback address (the local venue). It is an allow-list:
  production hosts are refused with a message naming them, and so is any host the registry does
  not know. PRODUCTION is never a default: ``VenueConfig.from_mapping`` defaults to SANDBOX and
  ``VenueRegistry`` refuses PRODUCTION configs unless built with ``allow_production=True``.
* **Secrets stay sealed.** Credentials are encrypted (AES-256-GCM, bound to the venue id) the
  moment they are registered and only decrypted by an explicit ``credentials(venue_id)`` call.
  ``Credentials`` never show their values in ``repr``/``str``; no error or record carries them.

Cryptographic nonces come from ``os.urandom``: they must be unpredictable, so they are the one
deliberate exception to the project's seeded-randomness rule (they never influence behaviour).
"""

from __future__ import annotations

import builtins
import ipaddress
import json
import os
import tomllib
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, fields, replace
from decimal import Decimal, InvalidOperation
from enum import StrEnum
from pathlib import Path
from types import MappingProxyType
from typing import TypeVar
from urllib.parse import urlsplit

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from harness.alerts import Alert, AlertSink, Severity
from harness.clock import Clock
from harness.model import OrderType, TimeInForce, VenueCapabilities, VenueMode, VenueStatus

__all__ = [
    "KNOWN_ENDPOINTS",
    "AuthMethod",
    "ConfigError",
    "CredentialError",
    "CredentialVault",
    "Credentials",
    "ProductionNotAllowed",
    "ProductionNotAllowedError",
    "SandboxViolation",
    "SandboxViolationError",
    "StatusChange",
    "UnknownVenueError",
    "VenueConfig",
    "VenueHosts",
    "VenueRegistry",
    "check_endpoints",
    "is_loopback_host",
    "known_hosts",
    "load_venue_configs",
]


# --------------------------------------------------------------------------- errors


class ConfigError(ValueError):
    """A venue configuration is invalid; names the field and where the config came from."""

    def __init__(self, field_name: str, message: str, source: str = "") -> None:
        self.field_name = field_name
        self.detail = message
        self.source = source
        where = f" (in {source})" if source else ""
        super().__init__(f"venue config field {field_name!r}: {message}{where}")


class SandboxViolationError(ConfigError):
    """A SANDBOX config points somewhere other than a sandbox host or loopback (Property 4)."""


SandboxViolation = SandboxViolationError
"""Short name for ``SandboxViolationError``."""


class ProductionNotAllowedError(ConfigError):
    """A PRODUCTION config was offered to a registry that was not explicitly allowed production."""


ProductionNotAllowed = ProductionNotAllowedError
"""Short name for ``ProductionNotAllowedError``."""


class CredentialError(ValueError):
    """Credentials are missing, malformed or cannot be decrypted (never carries their values)."""


class UnknownVenueError(LookupError):
    """No venue with this id is registered."""


# --------------------------------------------------------------------------- enums and records


class AuthMethod(StrEnum):
    """How a venue authenticates requests (decides how an adapter signs)."""

    API_KEY = "API_KEY"  # key in a header, no signature (market data, some brokers)
    HMAC = "HMAC"  # HMAC-SHA256 signatures (Binance, Bybit, OKX, Kraken, Coinbase Exchange)
    OAUTH = "OAUTH"  # bearer tokens (Coinbase OAuth apps, custodians)
    ED25519 = "ED25519"  # Ed25519 signatures (Binance REST/WS API and FIX logon)
    RSA = "RSA"  # RSA signatures (Binance)


@dataclass(frozen=True, slots=True, repr=False)
class Credentials:
    """An API key, its secret and an optional passphrase. Their ``repr``/``str`` never show values."""

    api_key: str
    secret: str
    passphrase: str | None = None

    def __post_init__(self) -> None:
        for name in ("api_key", "secret"):
            value = getattr(self, name)
            if not isinstance(value, str) or not value:
                raise CredentialError(f"credentials field {name!r} must be a non-empty string")
        if self.passphrase is not None and (not isinstance(self.passphrase, str) or not self.passphrase):
            raise CredentialError("credentials field 'passphrase' must be a non-empty string or None")

    def __repr__(self) -> str:
        passphrase = "None" if self.passphrase is None else "'***'"
        return f"Credentials(api_key='***', secret='***', passphrase={passphrase})"

    __str__ = __repr__


@dataclass(frozen=True, slots=True)
class StatusChange:
    """One change of a venue's status: when, from what, to what, and why."""

    ts_ns: int
    venue_id: str
    previous: VenueStatus | None
    status: VenueStatus
    reason: str


# --------------------------------------------------------------------------- known hosts


@dataclass(frozen=True, slots=True)
class VenueHosts:
    """The production and sandbox/testnet host names of one venue, and where they come from."""

    production: frozenset[str]
    sandbox: frozenset[str]
    source: str


def _hosts(*names: str) -> frozenset[str]:
    return frozenset(name.lower() for name in names)


KNOWN_ENDPOINTS: Mapping[str, VenueHosts] = MappingProxyType({
    "binance": VenueHosts(
        production=_hosts(
            "api.binance.com", "api-gcp.binance.com", "api1.binance.com", "api2.binance.com",
            "api3.binance.com", "api4.binance.com", "data-api.binance.vision", "stream.binance.com",
            "ws-api.binance.com", "fix-oe.binance.com", "fix-dc.binance.com", "fix-md.binance.com",
            # futures (not in spec/venues.md; listed so that SANDBOX names them when refusing)
            "fapi.binance.com", "dapi.binance.com", "fstream.binance.com", "dstream.binance.com",
        ),
        sandbox=_hosts(
            "testnet.binance.vision", "api1.testnet.binance.vision", "stream.testnet.binance.vision",
            "ws-api.testnet.binance.vision", "fix-oe.testnet.binance.vision", "fix-dc.testnet.binance.vision",
            "fix-md.testnet.binance.vision",
            # USD-M futures testnet (seed 003)
            "testnet.binancefuture.com", "stream.binancefuture.com",
        ),
        source="spec/venues.md §1.1; futures testnet from seed 003",
    ),
    "bybit": VenueHosts(
        production=_hosts("api.bybit.com", "api.bytick.com", "stream.bybit.com"),
        sandbox=_hosts("api-testnet.bybit.com", "stream-testnet.bybit.com"),
        source="spec/venues.md §2",
    ),
    "coinbase": VenueHosts(
        production=_hosts(
            "api.coinbase.com", "advanced-trade-ws.coinbase.com", "api.exchange.coinbase.com",
            "ws-feed.exchange.coinbase.com", "ws-direct.exchange.coinbase.com", "fix-ord.exchange.coinbase.com",
            "fix-md.exchange.coinbase.com", "fix.prime.coinbase.com", "api.prime.coinbase.com",
        ),
        sandbox=_hosts(
            "api-public.sandbox.exchange.coinbase.com", "ws-feed-public.sandbox.exchange.coinbase.com",
            "ws-direct.sandbox.exchange.coinbase.com", "fix-public.sandbox.exchange.coinbase.com",
        ),
        source="Coinbase Exchange docs (not in spec/venues.md; verify before use)",
    ),
    "kraken": VenueHosts(
        production=_hosts("api.kraken.com", "ws.kraken.com", "ws-auth.kraken.com", "futures.kraken.com"),
        # Kraken spot has no public sandbox; only the futures demo environment exists.
        sandbox=_hosts("demo-futures.kraken.com"),
        source="Kraken docs (not in spec/venues.md; verify before use)",
    ),
    "okx": VenueHosts(
        # OKX demo trading uses the production REST host with an 'x-simulated-trading: 1' header, so
        # a host check cannot tell them apart: in SANDBOX, OKX REST must go to the local venue.
        production=_hosts("www.okx.com", "ws.okx.com", "aws.okx.com", "wsaws.okx.com"),
        sandbox=_hosts("wspap.okx.com", "wspap.okex.com"),
        source="OKX v5 docs (not in spec/venues.md; verify before use)",
    ),
    # No hosts recorded for these yet: in SANDBOX they may only use the local venue (loopback).
    "bsdex": VenueHosts(production=frozenset(), sandbox=frozenset(), source="none recorded"),
    "bison": VenueHosts(production=frozenset(), sandbox=frozenset(), source="none recorded"),
    "finoa": VenueHosts(production=frozenset(), sandbox=frozenset(), source="none recorded"),
})
"""Per venue id, the production and sandbox hosts (lower-case, exact names, no ports)."""

_ALL_PRODUCTION: Mapping[str, str] = MappingProxyType(
    {host: venue for venue, hosts in KNOWN_ENDPOINTS.items() for host in hosts.production})

_SCHEMES = {
    "rest_endpoint": frozenset({"http", "https"}),
    "ws_endpoint": frozenset({"ws", "wss"}),
    "fix_endpoint": frozenset({"tcp", "tcp+tls", "ssl", "tls", "fix", "fixs"}),
}
_ENDPOINT_FIELDS = ("rest_endpoint", "ws_endpoint", "fix_endpoint")


def is_loopback_host(host: str) -> bool:
    """True for ``localhost`` and loopback IP addresses (127.0.0.0/8, ::1): the local venue."""
    host = host.lower().rstrip(".")
    if host == "localhost" or host.endswith(".localhost"):
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def _endpoint_host(field_name: str, url: str, source: str) -> str:
    """Validate one endpoint URL and return its lower-case host name."""
    if not isinstance(url, str) or not url:
        raise ConfigError(field_name, f"must be a non-empty URL string, got {url!r}", source)
    try:
        parts = urlsplit(url)
        host = parts.hostname
        _ = parts.port  # raises ValueError on a malformed port
    except ValueError as exc:
        raise ConfigError(field_name, f"malformed URL {url!r}: {exc}", source) from None
    allowed = _SCHEMES[field_name]
    if parts.scheme.lower() not in allowed:
        raise ConfigError(field_name, f"scheme {parts.scheme!r} of {url!r} is not one of {sorted(allowed)}", source)
    if not host:
        raise ConfigError(field_name, f"URL {url!r} has no host", source)
    if parts.username is not None or parts.password is not None:
        raise ConfigError(field_name, "URL must not carry user info (credentials belong in the vault)", source)
    return host.lower().rstrip(".")


def known_hosts(venue_id: str) -> VenueHosts | None:
    """The known hosts of ``venue_id``, or of its leading name (``binance-futures`` -> ``binance``)."""
    if venue_id in KNOWN_ENDPOINTS:
        return KNOWN_ENDPOINTS[venue_id]
    head = venue_id
    for sep in "-_.":
        head = head.split(sep, 1)[0]
    return KNOWN_ENDPOINTS.get(head)


def check_endpoints(config: VenueConfig, source: str = "") -> None:
    """Refuse endpoints that do not fit the config's mode (Property 4).

    SANDBOX: every endpoint must be one of the venue's sandbox hosts in ``KNOWN_ENDPOINTS`` or a
    loopback address; anything else raises ``SandboxViolation`` (a production host of any venue
    is named as such). PRODUCTION: an endpoint on the venue's own sandbox host is a mix-up and
    raises ``ConfigError``.
    """
    known = known_hosts(config.venue_id)
    sandbox_hosts = known.sandbox if known else frozenset()
    for name in _ENDPOINT_FIELDS:
        url = getattr(config, name)
        if url is None:
            continue
        host = _endpoint_host(name, url, source)
        if config.mode is VenueMode.SANDBOX:
            if is_loopback_host(host) or host in sandbox_hosts:
                continue
            if host in _ALL_PRODUCTION:
                raise SandboxViolation(
                    name, f"SANDBOX config points at {host!r}, a PRODUCTION host of {_ALL_PRODUCTION[host]!r}",
                    source)
            raise SandboxViolation(
                name, f"SANDBOX config points at {host!r}, which is neither a known sandbox host of "
                f"{config.venue_id!r} ({sorted(sandbox_hosts)}) nor a loopback address", source)
        if host in sandbox_hosts:
            raise ConfigError(name, f"PRODUCTION config points at {host!r}, a sandbox host of "
                              f"{config.venue_id!r}", source)


# --------------------------------------------------------------------------- config


RateLimits = Mapping[str, tuple[int, Decimal]]
"""Category (e.g. ``"orders"``) -> (request limit, window in seconds)."""


def _valid_id(value: object) -> bool:
    return isinstance(value, str) and bool(value) and value == value.strip() and all(
        ch.isalnum() or ch in "-_." for ch in value)


@dataclass(frozen=True, slots=True)
class VenueConfig:
    """Everything the execution layer needs to know to reach one venue (no secrets).

    ``supported_features`` is either a full ``VenueCapabilities`` or a set of feature names.
    ``rate_limits`` maps a category to ``(limit, window_s)``. ``priority`` orders failover:
    lower numbers are tried first. Building one validates every field and the endpoints
    against the mode (``check_endpoints``), so an invalid or unsafe config cannot exist.
    """

    venue_id: str
    tenant_id: str
    mode: VenueMode
    rest_endpoint: str
    ws_endpoint: str | None
    auth_method: AuthMethod
    supported_features: VenueCapabilities | frozenset[str]
    rate_limits: RateLimits = field(default_factory=dict, hash=False)
    fix_endpoint: str | None = None
    priority: int = 0
    status: VenueStatus = VenueStatus.ACTIVE
    name: str = ""

    def __post_init__(self) -> None:
        self._validate("")

    def _validate(self, source: str) -> None:
        if not _valid_id(self.venue_id):
            raise ConfigError("venue_id", f"must be a non-empty id of letters, digits, '-', '_', '.', "
                              f"got {self.venue_id!r}", source)
        if not _valid_id(self.tenant_id):
            raise ConfigError("tenant_id", f"must be a non-empty id, got {self.tenant_id!r}", source)
        for name, enum in (("mode", VenueMode), ("auth_method", AuthMethod), ("status", VenueStatus)):
            if not isinstance(getattr(self, name), enum):
                raise ConfigError(name, f"must be a {enum.__name__}, got {getattr(self, name)!r}", source)
        features = self.supported_features
        if isinstance(features, frozenset):
            if not all(isinstance(f, str) and f for f in features):
                raise ConfigError("supported_features", "feature names must be non-empty strings", source)
        elif not isinstance(features, VenueCapabilities):
            raise ConfigError("supported_features", "must be VenueCapabilities or a frozenset of names", source)
        if isinstance(self.priority, bool) or not isinstance(self.priority, int):
            raise ConfigError("priority", f"must be an int, got {self.priority!r}", source)
        if not isinstance(self.name, str):
            raise ConfigError("name", f"must be a string, got {self.name!r}", source)
        object.__setattr__(self, "rate_limits", MappingProxyType(_check_rate_limits(self.rate_limits, source)))
        check_endpoints(self, source)

    @property
    def tradable(self) -> bool:
        """True when the status allows new orders (only ACTIVE does)."""
        return self.status is VenueStatus.ACTIVE

    @classmethod
    def from_mapping(cls, data: Mapping[str, object], source: str = "<mapping>") -> VenueConfig:
        """Build a config from plain data (a TOML table, JSON): unknown keys and bad values are
        refused with an error naming the field and ``source``. ``mode`` defaults to SANDBOX:
        PRODUCTION must be written out."""
        if not isinstance(data, Mapping):
            raise ConfigError("<config>", f"must be a table, got {type(data).__name__}", source)
        known = {f.name for f in fields(cls)}
        unknown = sorted(set(data) - known)
        if unknown:
            raise ConfigError(unknown[0], f"unknown key (known keys: {sorted(known)})", source)
        for required in ("venue_id", "tenant_id", "rest_endpoint", "auth_method", "supported_features"):
            if required not in data:
                raise ConfigError(required, "is required", source)
        try:
            return cls(
                venue_id=_str(data["venue_id"], "venue_id", source),
                tenant_id=_str(data["tenant_id"], "tenant_id", source),
                mode=_enum(VenueMode, "mode", data.get("mode", VenueMode.SANDBOX.value), source),
                rest_endpoint=_str(data["rest_endpoint"], "rest_endpoint", source),
                ws_endpoint=_optional_str(data.get("ws_endpoint"), "ws_endpoint", source),
                auth_method=_enum(AuthMethod, "auth_method", data["auth_method"], source),
                supported_features=_features(data["supported_features"], source),
                rate_limits=_rate_limits_from_data(data.get("rate_limits", {}), source),
                fix_endpoint=_optional_str(data.get("fix_endpoint"), "fix_endpoint", source),
                priority=_int(data.get("priority", 0), "priority", source),
                status=_enum(VenueStatus, "status", data.get("status", VenueStatus.ACTIVE.value), source),
                name=_str(data.get("name", ""), "name", source, allow_empty=True),
            )
        except ConfigError as exc:
            if exc.source:
                raise
            raise type(exc)(exc.field_name, exc.detail, source) from None


def _str(value: object, name: str, source: str, *, allow_empty: bool = False) -> str:
    if not isinstance(value, str) or (not value and not allow_empty):
        raise ConfigError(name, f"must be a non-empty string, got {value!r}", source)
    return value


def _optional_str(value: object, name: str, source: str) -> str | None:
    return None if value is None else _str(value, name, source)


def _int(value: object, name: str, source: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise ConfigError(name, f"must be an int, got {value!r}", source)
    return value


_E = TypeVar("_E", bound=StrEnum)


def _enum(enum: type[_E], name: str, value: object, source: str) -> _E:
    try:
        if not isinstance(value, str):
            raise ValueError(value)
        return enum(value)
    except ValueError:
        raise ConfigError(name, f"{value!r} is not one of {[m.value for m in enum]}", source) from None


def _check_rate_limits(limits: object, source: str) -> dict[str, tuple[int, Decimal]]:
    if not isinstance(limits, Mapping):
        raise ConfigError("rate_limits", "must be a mapping of category -> (limit, window_s)", source)
    out: dict[str, tuple[int, Decimal]] = {}
    for category, pair in limits.items():
        where = f"rate_limits.{category}"
        if not isinstance(category, str) or not category:
            raise ConfigError("rate_limits", f"category must be a non-empty string, got {category!r}", source)
        if not isinstance(pair, tuple) or len(pair) != 2:
            raise ConfigError(where, f"must be a (limit, window_s) pair, got {pair!r}", source)
        limit, window = pair
        if isinstance(limit, bool) or not isinstance(limit, int) or limit <= 0:
            raise ConfigError(where, f"limit must be a positive int, got {limit!r}", source)
        if isinstance(window, bool) or not isinstance(window, int | Decimal) or not Decimal(window).is_finite() \
                or window <= 0:
            raise ConfigError(where, f"window_s must be a positive int or Decimal, got {window!r}", source)
        out[category] = (limit, Decimal(window))
    return out


def _rate_limits_from_data(data: object, source: str) -> dict[str, tuple[int, Decimal]]:
    """Accept ``{cat = [limit, window_s]}`` or ``{cat = {limit = .., window_s = ..}}``; windows may be strings."""
    if not isinstance(data, Mapping):
        raise ConfigError("rate_limits", "must be a table of category -> [limit, window_s]", source)
    out: dict[object, object] = {}
    for category, raw in data.items():
        where = f"rate_limits.{category}"
        if isinstance(raw, Mapping):
            extra = sorted(set(raw) - {"limit", "window_s"})
            if extra:
                raise ConfigError(f"{where}.{extra[0]}", "unknown key (known: limit, window_s)", source)
            if "limit" not in raw or "window_s" not in raw:
                raise ConfigError(where, "needs both 'limit' and 'window_s'", source)
            limit, window = raw["limit"], raw["window_s"]
        elif isinstance(raw, list | tuple) and len(raw) == 2:
            limit, window = raw
        else:
            raise ConfigError(where, f"must be [limit, window_s] or a table, got {raw!r}", source)
        if isinstance(window, str):
            try:
                window = Decimal(window)
            except InvalidOperation:
                raise ConfigError(where, f"window_s {window!r} is not a number", source) from None
        if isinstance(window, float):
            raise ConfigError(where, "window_s must be an int or a decimal string, not a float", source)
        out[category] = (limit, window)
    return _check_rate_limits(out, source)


_CAPABILITY_KEYS = frozenset(f.name for f in fields(VenueCapabilities))


def _features(raw: object, source: str) -> VenueCapabilities | frozenset[str]:
    """A list of names gives a frozenset; a table with ``VenueCapabilities`` fields gives one."""
    if isinstance(raw, VenueCapabilities):
        return raw
    if isinstance(raw, list | tuple | frozenset | set):
        if not all(isinstance(item, str) and item for item in raw):
            raise ConfigError("supported_features", "feature names must be non-empty strings", source)
        return frozenset(raw)
    if isinstance(raw, Mapping):
        extra = sorted(set(raw) - _CAPABILITY_KEYS)
        if extra:
            raise ConfigError(f"supported_features.{extra[0]}", f"unknown key (known: {sorted(_CAPABILITY_KEYS)})",
                              source)
        try:
            order_types = frozenset(OrderType(str(v)) for v in _list(raw.get("order_types", [])))
            tifs = frozenset(TimeInForce(str(v)) for v in _list(raw.get("time_in_force", [])))
        except ValueError as exc:
            raise ConfigError("supported_features", str(exc), source) from None
        flags: dict[str, bool] = {}
        for key in _CAPABILITY_KEYS - {"order_types", "time_in_force"}:
            if key in raw:
                if not isinstance(raw[key], bool):
                    raise ConfigError(f"supported_features.{key}", f"must be true or false, got {raw[key]!r}",
                                      source)
                flags[key] = bool(raw[key])
        return VenueCapabilities(order_types=order_types, time_in_force=tifs, **flags)
    raise ConfigError("supported_features", f"must be a list of names or a capabilities table, got {raw!r}", source)


def _list(value: object) -> list[object]:
    return list(value) if isinstance(value, list | tuple) else [value]


def load_venue_configs(path: str | Path) -> list[VenueConfig]:
    """Read ``[venues.<id>]`` tables from a TOML file; each table's ``venue_id`` defaults to ``<id>``."""
    path = Path(path)
    with path.open("rb") as handle:
        try:
            document = tomllib.load(handle)
        except tomllib.TOMLDecodeError as exc:
            raise ConfigError("<file>", str(exc), str(path)) from None
    extra = sorted(set(document) - {"venues"})
    if extra:
        raise ConfigError(extra[0], "unknown top-level key (expected only [venues.<id>] tables)", str(path))
    venues = document.get("venues", {})
    configs = []
    for venue_id, table in venues.items():
        source = f"{path} [venues.{venue_id}]"
        if not isinstance(table, dict):
            raise ConfigError(venue_id, "must be a table", source)
        configs.append(VenueConfig.from_mapping({"venue_id": venue_id, **table}, source))
    return configs


# --------------------------------------------------------------------------- vault


class CredentialVault:
    """Seals and opens ``Credentials`` with AES-256-GCM under a 32-byte master key.

    A sealed blob is bound to a context (the registry uses the venue id): opening it under
    another context fails, so blobs cannot be swapped between venues.
    """

    __slots__ = ("_aead",)
    _VERSION = b"v1"
    _NONCE = 12

    def __init__(self, master_key: bytes) -> None:
        if not isinstance(master_key, bytes) or len(master_key) != 32:
            raise CredentialError("master_key must be 32 bytes (use CredentialVault.generate_key())")
        self._aead = AESGCM(master_key)

    @staticmethod
    def generate_key() -> bytes:
        """A fresh random 32-byte master key (store it outside the journal and the configs)."""
        return AESGCM.generate_key(bit_length=256)

    def __repr__(self) -> str:
        return "CredentialVault(<master key hidden>)"

    def seal(self, credentials: Credentials, context: str = "") -> bytes:
        """Encrypt ``credentials``; the result is safe to store anywhere."""
        if not isinstance(credentials, Credentials):
            raise CredentialError(f"can only seal Credentials, not {type(credentials).__name__}")
        plain = json.dumps({"api_key": credentials.api_key, "secret": credentials.secret,
                            "passphrase": credentials.passphrase}, sort_keys=True).encode()
        nonce = os.urandom(self._NONCE)
        return self._VERSION + nonce + self._aead.encrypt(nonce, plain, context.encode())

    def open(self, sealed: bytes, context: str = "") -> Credentials:
        """Decrypt a blob made by ``seal`` under the same master key and context."""
        head = len(self._VERSION)
        if not isinstance(sealed, bytes) or sealed[:head] != self._VERSION or len(sealed) <= head + self._NONCE:
            raise CredentialError("not a sealed credentials blob")
        nonce = sealed[head:head + self._NONCE]
        try:
            plain = self._aead.decrypt(nonce, sealed[head + self._NONCE:], context.encode())
        except InvalidTag:
            raise CredentialError("cannot open sealed credentials: wrong master key, context or corrupted data") \
                from None
        data = json.loads(plain)
        return Credentials(api_key=data["api_key"], secret=data["secret"], passphrase=data["passphrase"])


# --------------------------------------------------------------------------- registry


@dataclass(slots=True)
class _Entry:
    config: VenueConfig
    sealed: bytes


class VenueRegistry:
    """Registered venues with their configs, status history and sealed credentials.

    ``list()`` orders venues by ``priority`` (lower first), then id. Status changes are kept in
    ``history()``, passed to listeners (e.g. the journal) and alerted when a venue enters ERROR.
    """

    def __init__(self, vault: CredentialVault, clock: Clock, alerts: AlertSink, *,
                 allow_production: bool = False) -> None:
        self._vault = vault
        self._clock = clock
        self._alerts = alerts
        self._allow_production = allow_production
        self._entries: dict[str, _Entry] = {}
        self._history: list[StatusChange] = []
        self._listeners: list[Callable[[StatusChange], None]] = []

    def __repr__(self) -> str:
        return f"VenueRegistry(venues={sorted(self._entries)}, allow_production={self._allow_production})"

    # -- registration ---------------------------------------------------------------------

    def register(self, config: VenueConfig, credentials: Credentials) -> VenueConfig:
        """Add a venue (Property 2): the config is re-checked, credentials are sealed at once."""
        self._admit(config)
        if config.venue_id in self._entries:
            raise ConfigError("venue_id", f"venue {config.venue_id!r} is already registered (use update)")
        sealed = self._seal(config.venue_id, credentials)
        self._entries[config.venue_id] = _Entry(config, sealed)
        self._record(config.venue_id, None, config.status, "registered")
        return config

    def update(self, config: VenueConfig, credentials: Credentials | None = None) -> VenueConfig:
        """Replace a registered venue's config (and optionally its credentials); status changes are recorded."""
        entry = self._entry(config.venue_id)
        self._admit(config)
        sealed = entry.sealed if credentials is None else self._seal(config.venue_id, credentials)
        previous = entry.config.status
        self._entries[config.venue_id] = _Entry(config, sealed)
        if previous is not config.status:
            self._record(config.venue_id, previous, config.status, "config updated")
        return config

    def _admit(self, config: VenueConfig) -> None:
        if not isinstance(config, VenueConfig):
            raise ConfigError("<config>", f"expected a VenueConfig, got {type(config).__name__}")
        check_endpoints(config)
        if config.mode is VenueMode.PRODUCTION and not self._allow_production:
            raise ProductionNotAllowed(
                "mode", f"venue {config.venue_id!r} is PRODUCTION but this registry was not built with "
                "allow_production=True")

    def _seal(self, venue_id: str, credentials: Credentials) -> bytes:
        if not isinstance(credentials, Credentials):
            raise CredentialError(f"credentials for {venue_id!r} must be Credentials, "
                                  f"not {type(credentials).__name__}")
        return self._vault.seal(credentials, context=venue_id)

    # -- reading --------------------------------------------------------------------------

    def _entry(self, venue_id: str) -> _Entry:
        try:
            return self._entries[venue_id]
        except KeyError:
            raise UnknownVenueError(f"venue {venue_id!r} is not registered (known: {sorted(self._entries)})") \
                from None

    def get(self, venue_id: str) -> VenueConfig:
        """The current config of a venue (its ``status`` is the current status)."""
        return self._entry(venue_id).config

    def list(self, status: VenueStatus | None = None) -> list[VenueConfig]:
        """Registered configs, optionally only those with ``status``, by priority then id."""
        configs = [e.config for e in self._entries.values() if status is None or e.config.status is status]
        return sorted(configs, key=lambda c: (c.priority, c.venue_id))

    def __contains__(self, venue_id: object) -> bool:
        return venue_id in self._entries

    def credentials(self, venue_id: str) -> Credentials:
        """Decrypt and return a venue's credentials (only on this explicit request)."""
        return self._vault.open(self._entry(venue_id).sealed, context=venue_id)

    def sealed_credentials(self, venue_id: str) -> bytes:
        """The encrypted credentials blob as stored (safe to persist)."""
        return self._entry(venue_id).sealed

    def is_tradable(self, venue_id: str) -> bool:
        """False for INACTIVE, MAINTENANCE and ERROR venues and for unknown ids (Property 3)."""
        entry = self._entries.get(venue_id)
        return entry is not None and entry.config.tradable

    # -- status ---------------------------------------------------------------------------

    def set_status(self, venue_id: str, status: VenueStatus, reason: str) -> StatusChange | None:
        """Change a venue's status; recorded and sent to listeners, alerted (CRITICAL) on ERROR.

        Returns the change, or ``None`` when the venue already had that status.
        """
        if not isinstance(status, VenueStatus):
            raise ValueError(f"status must be a VenueStatus, got {status!r}")
        entry = self._entry(venue_id)
        previous = entry.config.status
        if previous is status:
            return None
        entry.config = replace(entry.config, status=status)
        change = self._record(venue_id, previous, status, reason)
        if status is VenueStatus.ERROR:
            self._alerts.raise_alert(Alert(
                ts_ns=change.ts_ns, severity=Severity.CRITICAL, source="registry", kind="venue_error",
                message=f"venue {venue_id} entered ERROR: {reason}", venue=venue_id,
                details={"previous": previous.value, "reason": reason}))
        return change

    def disable(self, venue_id: str, reason: str) -> StatusChange | None:
        """Take a venue out of trading after a FATAL error; only a manual ``set_status`` brings it back."""
        return self.set_status(venue_id, VenueStatus.ERROR, f"disabled: {reason}")

    def on_fatal(self, venue: str, error: BaseException) -> None:
        """Hook for the error handler: a FATAL error from ``venue`` disables it."""
        if venue in self._entries:
            self.disable(venue, f"{type(error).__name__}: {error}")

    def history(self, venue_id: str | None = None) -> builtins.list[StatusChange]:
        """Every status change (registration included), oldest first, optionally for one venue."""
        return [c for c in self._history if venue_id is None or c.venue_id == venue_id]

    def listen(self, listener: Callable[[StatusChange], None]) -> None:
        """Call ``listener`` with every status change from now on (e.g. ``journal.on_status_change``)."""
        self._listeners.append(listener)

    def _record(self, venue_id: str, previous: VenueStatus | None, status: VenueStatus, reason: str) -> StatusChange:
        change = StatusChange(self._clock.now_ns(), venue_id, previous, status, reason)
        self._history.append(change)
        for listener in self._listeners:
            listener(change)
        return change
