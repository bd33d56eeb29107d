"""Secrets never appear in logs, audit records, alerts, the journal, reports or exceptions (issue 10.11-12).

Masking by field name catches ``apiKey=...``; masking by value catches a venue that echoes the key
inside free text. Every credential is registered when created (``harness.secrets``), so hypothesis
can push freshly generated keys through every path and look for them afterwards.
"""

from __future__ import annotations

import copy
import dataclasses
import logging
import pickle
import sqlite3
from decimal import Decimal
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from harness import secrets as secrets_module
from harness.alerts import Alert, AlertSink, Severity
from harness.audit import redact
from harness.clock import ManualClock
from harness.contract import FatalError
from harness.errors import ErrorHandler, error_from_http, scrub
from harness.journal import Journal
from harness.model import VenueMode
from harness.registry import (
    AuthMethod,
    ConfigError,
    Credentials,
    CredentialVault,
    SandboxViolation,
    VenueConfig,
    VenueRegistry,
    check_endpoints,
)
from harness.secrets import safe_logger


def venue_config(mode: VenueMode = VenueMode.SANDBOX, rest: str = "https://testnet.binance.vision",
                 ws: str | None = None) -> VenueConfig:
    """A binance config; the registry checks its endpoints when it is registered."""
    return VenueConfig(venue_id="binance", tenant_id="t1", mode=mode, rest_endpoint=rest, ws_endpoint=ws,
                       auth_method=AuthMethod.HMAC, supported_features=frozenset({"spot"}),
                       rate_limits={"orders": (10, Decimal(1))})


secrets = st.text(alphabet="ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz23456789", min_size=12,
                  max_size=64).filter(lambda s: len(set(s)) >= secrets_module.MIN_DISTINCT_CHARACTERS)
"""Keys as venues issue them: long, random, many different characters (weak values are not masked)."""


def test_scrub_masks_secret_values_by_name_in_every_notation() -> None:
    assert scrub('{"apiKey":"AKIA1234","price":"1"}') == '{"apiKey":"***","price":"1"}'
    assert scrub("Credentials(api_key='abc12345xyz', venue='x')") == "Credentials(api_key='***', venue='x')"
    assert scrub("GET /api?symbol=BTC&signature=deadbeef&x=1") == "GET /api?symbol=BTC&signature=***&x=1"
    assert scrub("X-MBX-APIKEY: zzzz9999zz") == "X-MBX-APIKEY: ***"
    assert scrub("price=100 size=2") == "price=100 size=2"


def test_redact_masks_nested_headers_and_echoed_values() -> None:
    creds = Credentials("nested-key-0123456789", "nested-secret-0123456789")
    payload = {"headers": {"X-MBX-APIKEY": creds.api_key, "Accept": "json"}, "note": f"key {creds.api_key} used"}
    redacted = redact(payload)
    assert creds.api_key not in str(redacted)
    assert '"Accept": "json"' in redacted["headers"] and "note" in redacted and "***" in redacted["note"]


def test_credentials_cannot_be_copied_out_in_plain_text() -> None:
    creds = Credentials("copy-key-0123456789", "copy-secret-0123456789", "pass-phrase-0123")
    with pytest.raises(TypeError):
        dataclasses.asdict(creds)  # type: ignore[call-overload]
    with pytest.raises(TypeError):
        pickle.dumps(creds)
    with pytest.raises(AttributeError):
        creds.secret = "other"  # type: ignore[misc]
    assert copy.deepcopy(creds) is creds and copy.copy(creds) is creds
    assert "copy-key" not in repr(creds) and "copy-secret" not in str(creds)
    assert creds == Credentials("copy-key-0123456789", "copy-secret-0123456789", "pass-phrase-0123")
    assert creds != Credentials("copy-key-0123456789", "copy-secret-0123456789")


def test_config_errors_repeat_no_url_query_or_user_info() -> None:
    with pytest.raises(ConfigError) as info:
        check_endpoints(venue_config(rest="ftp://testnet.binance.vision/api?apiKey=leaky-key-123456"))
    assert "leaky-key-123456" not in str(info.value) and "apiKey" not in str(info.value)


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(key=secrets, secret=secrets)
def test_generated_secrets_reach_no_error_log_alert_audit_or_journal(key: str, secret: str, tmp_path: Path,
                                                                     caplog: pytest.LogCaptureFixture) -> None:
    creds = Credentials(key, secret)
    clock = ManualClock(1_000)
    alerts = AlertSink()
    # an error whose text echoes the key, as a venue's 401 may
    error = error_from_http(401, venue="binance", code=-2015, message=f"Invalid API-key {key}, IP, or permissions",
                            retry_after_s=None, order_entry=False)
    assert isinstance(error, FatalError) and key not in str(error) and key not in repr(error)
    # logs: anything our modules log passes the secret filter
    with caplog.at_level(logging.INFO):
        safe_logger("harness.test").warning("venue said %s with %s", error.message, f"{key}/{secret}")
    assert key not in caplog.text and secret not in caplog.text
    # the FATAL path: the registry disables the venue; its reason, the alert and the journal stay clean
    path = tmp_path / f"j-{key[:6]}.sqlite"
    with Journal(path, clock) as journal:
        registry = VenueRegistry(CredentialVault(CredentialVault.generate_key()), clock, alerts)
        registry.listen(journal.on_status_change)
        alerts.listen(journal.on_alert)
        registry.register(venue_config(), creds)
        handler = ErrorHandler(clock, alerts, on_fatal=registry.on_fatal)
        handler.handle(FatalError(f"raw echo {key} and {secret}", venue="binance"), venue="binance",
                       endpoint="get_balances", context={"header": key})
        assert registry.history()[-1].reason.startswith("disabled: FatalError")
        alerts.raise_alert(Alert(clock.now_ns(), Severity.WARNING, "test", "echo", f"key={key} {secret}"))
        assert all(key not in a.message and secret not in str(a.details) for a in alerts.alerts)
        assert all(key not in change.reason for change in registry.history())
    with sqlite3.connect(path) as connection:
        dump = "\n".join(connection.iterdump())
    assert key not in dump and secret not in dump


@pytest.mark.parametrize(("url", "ok"), [
    ("https://testnet.binance.vision/api", True),
    ("wss://stream.testnet.binance.vision/ws", True),
    ("http://127.0.0.1:8080", True),
    ("ws://[::1]:9000/ws", True),
    ("http://127.5.6.7:1", True),
    ("http://localhost:8080", True),
    ("http://testnet.binance.vision/api", False),  # a testnet host, but in clear text
    ("ws://stream.testnet.binance.vision/ws", False),
    ("http://venue.localhost:8080", False),  # not a loopback address
    ("https://api.binance.com", False),  # production
    ("https://evil.example.com", False),
])
def test_sandbox_allows_tls_to_testnet_hosts_and_clear_text_only_to_loopback(url: str, ok: bool) -> None:
    def build() -> None:
        check_endpoints(venue_config(ws=url) if url.startswith("ws") else venue_config(rest=url))

    if ok:
        build()
    else:
        with pytest.raises(SandboxViolation):
            build()


def test_production_refuses_clear_text_and_unlisted_hosts() -> None:
    def config(url: str) -> VenueConfig:
        return venue_config(VenueMode.PRODUCTION, rest=url)
    check_endpoints(config("https://api.binance.com"))
    assert config("https://api.binance.com").mode is VenueMode.PRODUCTION
    for bad in ("http://api.binance.com", "https://evil.example.com", "https://testnet.binance.vision"):
        with pytest.raises(ConfigError):
            check_endpoints(config(bad))  # refused when built or when checked


def test_weak_values_are_not_registered_and_tests_do_not_leak_secrets() -> None:
    before = secrets_module.snapshot()
    Credentials("00000000000", "aaaabbbbaaaa")  # long enough, but too few distinct characters to mask safely
    assert secrets_module.snapshot() == before
    assert scrub("price 0.00000000010") == "price 0.00000000010"
