"""The plain data of a FIX session: its configuration, states, events, outputs and the logon hook.

Kept apart from ``live.fix.session`` (the state machine) so drivers and venue dialects can
depend on these types alone.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from enum import StrEnum

import simplefix

from live.fix.messages import Field

__all__ = ["LogonContext", "LogonHook", "Output", "SessionConfig", "SessionEvent", "SessionState"]


class SessionState(StrEnum):
    """Where a session is."""

    DISCONNECTED = "DISCONNECTED"
    LOGON_SENT = "LOGON_SENT"
    AWAITING_LOGON = "AWAITING_LOGON"
    ACTIVE = "ACTIVE"
    LOGOUT_SENT = "LOGOUT_SENT"


@dataclass(frozen=True, slots=True)
class LogonContext:
    """What a logon signature covers (Binance: ``A SOH sender SOH target SOH seq SOH sending_time``)."""

    msg_type: str
    sender_comp_id: str
    target_comp_id: str
    msg_seq_num: int
    sending_time: str


LogonHook = Callable[[LogonContext], Sequence[Field]]
"""Returns the extra Logon fields of a venue dialect (credentials, signature, venue flags)."""


@dataclass(frozen=True, slots=True)
class SessionConfig:
    """One session's identity and timing. ``reset_on_logon`` sends ``141=Y`` (Binance resets at every logon)."""

    sender_comp_id: str
    target_comp_id: str
    heartbeat_interval_s: int = 30
    begin_string: str = "FIX.4.4"
    initiator: bool = True
    reset_on_logon: bool = False
    logon_hook: LogonHook | None = None
    logon_timeout_s: int = 10
    logout_timeout_s: int = 5
    max_queued: int = 100_000

    def __post_init__(self) -> None:
        if not self.sender_comp_id or not self.target_comp_id:
            raise ValueError("sender_comp_id and target_comp_id must be non-empty")
        for name in ("heartbeat_interval_s", "logon_timeout_s", "logout_timeout_s", "max_queued"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or value <= 0:
                raise ValueError(f"{name} must be a positive int, got {value!r}")


@dataclass(frozen=True, slots=True)
class SessionEvent:
    """Something the session did or saw.

    Kinds: ``logged_on``, ``logged_out``, ``gap_detected``, ``gap_filled``, ``resend_served``,
    ``sequence_reset``, ``reject_received``, ``test_request_sent``, ``heartbeat_timeout``, ``garbled``,
    ``duplicate_ignored``, ``heartbeat_received`` (detail: the echoed TestReqID), ``seq_too_low``,
    ``protocol_error``, ``logon_timeout``, ``disconnected``.
    """

    kind: str
    detail: str = ""
    seq: int | None = None


@dataclass(slots=True)
class Output:
    """What the driver must do after one input."""

    outbound: list[bytes] = field(default_factory=list)
    events: list[SessionEvent] = field(default_factory=list)
    app_messages: list[simplefix.FixMessage] = field(default_factory=list)
    disconnect: bool = False
