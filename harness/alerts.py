"""Alerts: the one channel by which the shared layer asks a human (or a scenario check) to look.

Reconciliation discrepancies, EXCHANGE_ERROR responses, FATAL venue disablement, circuit-breaker
transitions, stuck orders and connection-quality breaches all raise an ``Alert`` on an
``AlertSink``. The sink keeps every alert in order (runs write them to the run directory and the
journal) and fans them out to listeners (the dashboard, a pager, a test). Alerts carry no secrets:
callers pass only identifiers, codes and values.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from enum import StrEnum

from harness.secrets import mask_secrets

__all__ = ["Alert", "AlertSink", "Severity"]


class Severity(StrEnum):
    """How urgently a human should look."""

    INFO = "INFO"
    WARNING = "WARNING"
    CRITICAL = "CRITICAL"


@dataclass(frozen=True, slots=True)
class Alert:
    """One alert: when, how bad, which component and venue, what kind, and the values involved."""

    ts_ns: int
    severity: Severity
    source: str
    kind: str
    message: str
    venue: str = ""
    details: Mapping[str, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        # the one place every alert passes: registered secrets never reach a sink, a listener,
        # a run directory or the journal, whatever the caller put in the text
        object.__setattr__(self, "message", mask_secrets(self.message))
        object.__setattr__(self, "details", {k: mask_secrets(str(v)) for k, v in self.details.items()})


class AlertSink:
    """Collects alerts in the order raised and forwards each to the registered listeners."""

    def __init__(self) -> None:
        self._alerts: list[Alert] = []
        self._listeners: list[Callable[[Alert], None]] = []

    def raise_alert(self, alert: Alert) -> None:
        """Record ``alert`` and hand it to every listener."""
        self._alerts.append(alert)
        for listener in self._listeners:
            listener(alert)

    def listen(self, listener: Callable[[Alert], None]) -> None:
        """Call ``listener`` for every alert raised from now on."""
        self._listeners.append(listener)

    @property
    def alerts(self) -> tuple[Alert, ...]:
        """Every alert raised so far, oldest first."""
        return tuple(self._alerts)

    def of_kind(self, kind: str) -> list[Alert]:
        """The alerts of one kind (e.g. ``"position_discrepancy"``), oldest first."""
        return [a for a in self._alerts if a.kind == kind]
