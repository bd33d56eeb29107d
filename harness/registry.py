"""The venue registry: venue configurations, their status, SANDBOX/PRODUCTION, sealed credentials.

Every venue the execution layer may trade on is registered here once, with a ``VenueConfig``
(endpoints, mode, auth method, features, rate limits, failover priority, status) and its
``Credentials``. The registry answers "may I trade on this venue now?" (``is_tradable``), keeps
every status change (and alerts on ERROR), and disables a venue when a FATAL error arrives, so
that a human has to look before it trades again.

Two safety rules are enforced where a config is built, so a bad config cannot exist at all:

* **Sandbox isolation.** A SANDBOX config may only point at the sandbox/testnet hosts of the
  venue's descriptor (``harness.venues``) or at a loopback address (the local venue). It is an allow-list:
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
import hmac
import ipaddress
import json
import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, fields, replace
from decimal import Decimal
from enum import Enum, StrEnum
from functools import cache
from pathlib import Path
from types import MappingProxyType
from typing import NoReturn, TypeVar
from urllib.parse import urlsplit

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from harness.alerts import Alert, AlertSink, Severity
from harness.clock import Clock
from harness.config import Section, line_of
from harness.errors import scrub
from harness.model import OrderType, TimeInForce, VenueCapabilities, VenueMode, VenueStatus
from harness.secrets import register_secrets
from harness.venues import VenueHosts, descriptor_for, shipped_descriptors

__all__ = ["AuthMethod", "ConfigError", "CredentialError", "CredentialVault", "Credentials", "ProductionNotAllowed",
           "ProductionNotAllowedError", "SandboxViolation", "SandboxViolationError", "StatusChange",
           "UnknownVenueError", "VenueConfig", "VenueRegistry", "check_endpoints", "is_loopback_host", "known_hosts",
           "load_venue_configs", "safe_url"]


# --------------------------------------------------------------------------- errors


class ConfigError(ValueError):
    """A venue configuration is invalid; names the field and where the config came from."""

    def __init__(self, field_name: str, message: str, source: str = "") -> None:
        self.field_name = field_name
        self.detail = message
        self.source = source
        where = f" (in {source})" if source else ""
        super().__init__(scrub(f"venue config field {field_name!r}: {message}{where}"))


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


class Credentials:
    """An API key, its secret and an optional passphrase, kept out of every text and copy.

    Their ``repr``/``str`` never show values; they are not a dataclass (``dataclasses.asdict``
    refuses them) and cannot be pickled or copied into another object; and every value is
    registered with ``harness.secrets`` on creation, so ``harness.errors.scrub`` masks it
    wherever it might appear later (a venue echoing the key in an error, a URL, a log line).
    """

    __slots__ = ("_api_key", "_passphrase", "_secret")
    _api_key: str
    _secret: str
    _passphrase: str | None

    def __init__(self, api_key: str, secret: str, passphrase: str | None = None) -> None:
        for name, value in (("api_key", api_key), ("secret", secret)):
            if not isinstance(value, str) or not value:
                raise CredentialError(f"credentials field {name!r} must be a non-empty string")
        if passphrase is not None and (not isinstance(passphrase, str) or not passphrase):
            raise CredentialError("credentials field 'passphrase' must be a non-empty string or None")
        register_secrets((api_key, secret, passphrase))
        object.__setattr__(self, "_api_key", api_key)
        object.__setattr__(self, "_secret", secret)
        object.__setattr__(self, "_passphrase", passphrase)

    @property
    def api_key(self) -> str:
        """The API key (sent in a header; a secret to everyone but the venue)."""
        return self._api_key

    @property
    def secret(self) -> str:
        """The signing secret (HMAC secret or a private key's PEM)."""
        return self._secret

    @property
    def passphrase(self) -> str | None:
        """The passphrase some venues add (Coinbase, OKX), or None."""
        return self._passphrase

    def __setattr__(self, name: str, value: object) -> None:
        raise AttributeError("Credentials are immutable")

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Credentials):
            return NotImplemented
        return all(hmac.compare_digest((a or "").encode(), (b or "").encode())
                   for a, b in ((self._api_key, other._api_key), (self._secret, other._secret),
                                (self._passphrase, other._passphrase))) and \
            (self._passphrase is None) == (other._passphrase is None)

    def __hash__(self) -> int:
        return hash((self._api_key, self._secret, self._passphrase))

    def __reduce__(self) -> NoReturn:
        raise TypeError("Credentials cannot be pickled (seal them with CredentialVault instead)")

    def __copy__(self) -> Credentials:
        return self

    def __deepcopy__(self, memo: object) -> Credentials:
        return self

    def __repr__(self) -> str:
        passphrase = "None" if self._passphrase is None else "'***'"
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


@cache
def _all_production() -> Mapping[str, str]:
    """Every production host of every shipped descriptor -> its venue."""
    return {host: d.name for d in shipped_descriptors().values() for host in d.hosts.production}


_SCHEMES = {
    "rest_endpoint": frozenset({"http", "https"}),
    "ws_endpoint": frozenset({"ws", "wss"}),
    "fix_endpoint": frozenset({"tcp", "tcp+tls", "ssl", "tls", "fix", "fixs"}),
}
_ENDPOINT_FIELDS = ("rest_endpoint", "ws_endpoint", "fix_endpoint")
PLAIN_SCHEMES = frozenset({"http", "ws", "tcp", "fix"})
"""Schemes without TLS: allowed only to a loopback address (the local venue), in every mode."""


def is_loopback_host(host: str) -> bool:
    """True for a loopback IP address (127.0.0.0/8, ::1) and the name ``localhost``: the local venue.

    Other names ending in ``.localhost`` are not trusted: whether they resolve to loopback is up
    to the resolver.
    """
    host = host.lower().rstrip(".")
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def safe_url(url: str) -> str:
    """``url`` without user info, query and fragment: what an error message may repeat of it."""
    try:
        parts = urlsplit(url)
        host = parts.hostname or ""
        port = f":{parts.port}" if parts.port else ""
    except ValueError:
        return "<malformed URL>"
    return f"{parts.scheme}://{host}{port}{parts.path}" if parts.scheme else "<URL without scheme>"


def _endpoint_host(field_name: str, url: str, source: str) -> str:
    """Validate one endpoint URL and return its lower-case host name."""
    if not isinstance(url, str) or not url:
        raise ConfigError(field_name, f"must be a non-empty URL string, got a {type(url).__name__}", source)
    try:
        parts = urlsplit(url)
        host = parts.hostname
        _ = parts.port  # raises ValueError on a malformed port
    except ValueError as exc:
        raise ConfigError(field_name, f"malformed URL {safe_url(url)!r}: {exc}", source) from None
    allowed = _SCHEMES[field_name]
    if parts.scheme.lower() not in allowed:
        raise ConfigError(field_name, f"scheme {parts.scheme!r} of {safe_url(url)!r} is not one of "
                                      f"{sorted(allowed)}", source)
    if not host:
        raise ConfigError(field_name, f"URL {safe_url(url)!r} has no host", source)
    if parts.username is not None or parts.password is not None:
        raise ConfigError(field_name, "URL must not carry user info (credentials belong in the vault)", source)
    return host.lower().rstrip(".")


def known_hosts(venue_id: str) -> VenueHosts | None:
    """The hosts the descriptor of ``venue_id`` lists, or of its leading name (``binance-futures`` -> ``binance``)."""
    descriptor = descriptor_for(venue_id)
    if descriptor is None:
        head = venue_id
        for sep in "-_.":
            head = head.split(sep, 1)[0]
        descriptor = descriptor_for(head)
    return descriptor.hosts if descriptor is not None else None


def check_endpoints(config: VenueConfig, source: str = "") -> None:
    """Refuse endpoints that do not fit the config's mode (Property 4).

    In every mode a scheme without TLS (``http``, ``ws``, plain ``tcp``) is allowed only to a
    loopback address: keys and orders never cross a network in clear text. SANDBOX: every other
    endpoint must be one of the sandbox hosts of the venue's descriptor (``harness.venues``);
    anything else raises ``SandboxViolation`` (a production host of any venue is named as such).
    PRODUCTION: an endpoint on the venue's own sandbox host is a mix-up and raises
    ``ConfigError``, and for a venue whose descriptor lists its production hosts, any other
    host is refused too.
    """
    known = known_hosts(config.venue_id)
    sandbox_hosts = known.sandbox if known else frozenset()
    production_hosts = known.production if known else frozenset()
    production = _all_production()
    for name in _ENDPOINT_FIELDS:
        url = getattr(config, name)
        if url is None:
            continue
        host = _endpoint_host(name, url, source)
        if is_loopback_host(host):
            continue
        scheme = urlsplit(url).scheme.lower()
        if scheme in PLAIN_SCHEMES:
            error = SandboxViolation if config.mode is VenueMode.SANDBOX else ConfigError
            raise error(name, f"{scheme!r} carries keys and orders in clear text; it is allowed only to a "
                              f"loopback address, not {host!r} (use the TLS scheme)", source)
        if config.mode is VenueMode.SANDBOX:
            if host in sandbox_hosts:
                continue
            if host in production:
                raise SandboxViolation(
                    name, f"SANDBOX config points at {host!r}, a PRODUCTION host of {production[host]!r}", source)
            raise SandboxViolation(
                name, f"SANDBOX config points at {host!r}, which is neither a known sandbox host of "
                f"{config.venue_id!r} ({sorted(sandbox_hosts)}) nor a loopback address", source)
        if host in sandbox_hosts:
            raise ConfigError(name, f"PRODUCTION config points at {host!r}, a sandbox host of "
                              f"{config.venue_id!r}", source)
        if production_hosts and host not in production_hosts:
            raise ConfigError(name, f"PRODUCTION config points at {host!r}, which is not a production host of "
                              f"{config.venue_id!r} ({sorted(production_hosts)})", source)


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
        return _config_from(data, lambda _field: source)


def _config_from(data: Mapping[str, object], where: Callable[[str], str],
                 lines: Mapping[str, int] | None = None) -> VenueConfig:
    """A ``VenueConfig`` read strictly (``harness.config``); ``where(field)`` names its source in errors."""
    section = Section(data, lines=lines, error=lambda key, problem, _line: ConfigError(key, problem, where(key)))
    section.only(*(f.name for f in fields(VenueConfig)))
    values = {
        "venue_id": section.string("venue_id"),
        "tenant_id": section.string("tenant_id"),
        "mode": section.choice("mode", VenueMode, VenueMode.SANDBOX),
        "rest_endpoint": section.string("rest_endpoint"),
        "ws_endpoint": section.opt_string("ws_endpoint"),
        "auth_method": section.choice("auth_method", AuthMethod),
        "supported_features": _features(section),
        "rate_limits": _rate_limits_from(section),
        "fix_endpoint": section.opt_string("fix_endpoint"),
        "priority": section.integer("priority", 0),
        "status": section.choice("status", VenueStatus, VenueStatus.ACTIVE),
        "name": section.string("name", "", allow_empty=True),
    }
    section.done()
    try:
        return VenueConfig(**values)  # type: ignore[arg-type]  # each field is checked in __post_init__
    except ConfigError as exc:
        if exc.source:
            raise
        raise type(exc)(exc.field_name, exc.detail, where(exc.field_name)) from None


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


def _rate_limits_from(section: Section) -> dict[str, tuple[object, Decimal]]:
    """``{cat = [limit, window_s]}`` or ``{cat = {limit = .., window_s = ..}}``; windows may be strings.

    Only the shapes and types are read here; ``VenueConfig`` checks that the values are positive.
    """
    table = section.table("rate_limits", required=False)
    out: dict[str, tuple[object, Decimal]] = {}
    if table is None:
        return out
    for category in table.names():
        raw = table.data[category]
        if isinstance(raw, Mapping):
            pair = table.child(category, raw)
            pair.only("limit", "window_s")
            out[category] = (pair.integer("limit"), pair.req_decimal("window_s", ints=True))
            pair.done()
        elif isinstance(raw, list | tuple) and len(raw) == 2:
            out[category] = (raw[0], table.decimal_value(category, raw[1], ints=True))
        else:
            raise table.error(category, f"must be [limit, window_s] or a table, got {raw!r}")
    return out


_E = TypeVar("_E", bound=Enum)

_CAPABILITY_FLAGS = tuple(f.name for f in fields(VenueCapabilities) if f.name not in ("order_types", "time_in_force"))


def _features(section: Section) -> VenueCapabilities | frozenset[str]:
    """A list of names gives a frozenset; a table with ``VenueCapabilities`` fields gives one."""
    raw = section.raw("supported_features", required=True)
    if isinstance(raw, VenueCapabilities):
        return raw
    if isinstance(raw, list | tuple | frozenset | set):
        if not all(isinstance(item, str) and item for item in raw):
            raise section.error("supported_features", "feature names must be non-empty strings")
        return frozenset(raw)
    if not isinstance(raw, Mapping):
        raise section.error("supported_features", f"must be a list of names or a capabilities table, got {raw!r}")
    table = section.child("supported_features", raw)
    order_types = frozenset(_members(table, "order_types", OrderType))
    tifs = frozenset(_members(table, "time_in_force", TimeInForce))
    flags = {key: table.boolean(key) for key in _CAPABILITY_FLAGS if table.has(key)}
    for key in _CAPABILITY_FLAGS:
        table.raw(key)  # known, even when absent
    table.done()
    return VenueCapabilities(order_types=order_types, time_in_force=tifs, **flags)


def _members(table: Section, name: str, enum: type[_E]) -> list[_E]:
    """The members of ``enum`` named by the list ``name`` (empty when absent)."""
    members = []
    for value in table.strings(name, []):
        try:
            members.append(enum(value))
        except ValueError:
            raise table.error(name, f"{value!r} is not one of {[m.value for m in enum]}") from None
    return members


def load_venue_configs(path: str | Path) -> list[VenueConfig]:
    """Read ``[venues.<id>]`` tables from a TOML file; each table's ``venue_id`` defaults to ``<id>``.

    Errors name the file, the line of the offending key and the venue's table.
    """
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise ConfigError("<file>", f"cannot read: {exc}", str(path)) from None
    root = Section.from_toml(text, source=str(path), allow_floats=True,
                             error=lambda key, problem, line: ConfigError(key or "<file>", problem,
                                                                          f"{path}:{line}" if line else str(path)))
    venues = root.table("venues", required=False)
    root.done()
    configs = []
    for venue_id in venues.names() if venues is not None else ():
        table = venues.data[venue_id]  # type: ignore[union-attr]  # names() is only called on a table
        prefix = f"venues.{venue_id}"
        lines = {key[len(prefix) + 1:]: line for key, line in root.lines.items() if key.startswith(prefix + ".")}
        header = root.lines.get(prefix)

        def where(field_name: str, lines: Mapping[str, int] = lines, header: int | None = header,
                  venue_id: str = venue_id) -> str:
            line = line_of(lines, field_name) or header
            return f"{path}:{line} [venues.{venue_id}]" if line else f"{path} [venues.{venue_id}]"

        if not isinstance(table, Mapping):
            raise ConfigError(venue_id, "must be a table", where(""))
        configs.append(_config_from({"venue_id": venue_id, **table}, where, lines))
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
            self.disable(venue, scrub(f"{type(error).__name__}: {error}"))

    def history(self, venue_id: str | None = None) -> builtins.list[StatusChange]:
        """Every status change (registration included), oldest first, optionally for one venue."""
        return [c for c in self._history if venue_id is None or c.venue_id == venue_id]

    def listen(self, listener: Callable[[StatusChange], None]) -> None:
        """Call ``listener`` with every status change from now on (e.g. ``journal.on_status_change``)."""
        self._listeners.append(listener)

    def _record(self, venue_id: str, previous: VenueStatus | None, status: VenueStatus, reason: str) -> StatusChange:
        change = StatusChange(self._clock.now_ns(), venue_id, previous, status, scrub(reason))
        self._history.append(change)
        for listener in self._listeners:
            listener(change)
        return change
