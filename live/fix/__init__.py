"""The FIX 4.4 session layer: framing, a session state machine without I/O, persistence, logging, drivers.

* ``framing``: BodyLength/CheckSum and stream splitting, independent of simplefix.
* ``messages``: building and reading messages with simplefix; tags and SendingTime.
* ``session``: ``FixSession``, the state machine (logon, heartbeats, gaps, resends, logout);
  ``session_types``: its configuration, events and outputs; ``resend``: the resend plan.
* ``store``: persisted sequence numbers and sent messages (SQLite or memory).
* ``log``: the raw message log (SOH shown as ``|``, credentials masked).
* ``orders``: NewOrderSingle from and to ``OrderRequest``.
* ``driver``: the asyncio TCP initiator and a minimal acceptor.
* ``order_entry``: ``FixOrderEntry``, a venue's order-entry (or drop-copy) client: request, answer;
  ``dialects/``: each venue's logon and order-entry tags (Binance FIX 4.4, Coinbase FIX 4.2).

Names are imported from their modules on first use (``harness.lazy_exports``).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from harness.lazy_exports import lazy_exports

_EXPORTS = {
    "dialects": "live.fix.dialects",
    "AppHandler": "live.fix.driver",
    "EventHandler": "live.fix.driver",
    "FixAcceptor": "live.fix.driver",
    "FixConnection": "live.fix.driver",
    "FixInitiator": "live.fix.driver",
    "OutboundFilter": "live.fix.driver",
    "Frame": "live.fix.framing",
    "FrameReader": "live.fix.framing",
    "SOH": "live.fix.framing",
    "body_length": "live.fix.framing",
    "checksum": "live.fix.framing",
    "to_text": "live.fix.framing",
    "verify": "live.fix.framing",
    "FileFixLog": "live.fix.log",
    "FixLogEntry": "live.fix.log",
    "FixLogSink": "live.fix.log",
    "MemoryFixLog": "live.fix.log",
    "SECRET_TAGS": "live.fix.log",
    "format_entry": "live.fix.log",
    "mask_secrets": "live.fix.log",
    "Field": "live.fix.messages",
    "HEADER_TAGS": "live.fix.messages",
    "MsgType": "live.fix.messages",
    "Tag": "live.fix.messages",
    "body_fields": "live.fix.messages",
    "encode": "live.fix.messages",
    "get_int": "live.fix.messages",
    "get_str": "live.fix.messages",
    "parse": "live.fix.messages",
    "sending_time": "live.fix.messages",
    "new_order_single": "live.fix.orders",
    "order_request_from_fix": "live.fix.orders",
    "parse_utc_timestamp": "live.fix.orders",
    "ResendItem": "live.fix.resend",
    "resend_plan": "live.fix.resend",
    "FixSession": "live.fix.session",
    "LogonContext": "live.fix.session_types",
    "LogonHook": "live.fix.session_types",
    "Output": "live.fix.session_types",
    "SessionConfig": "live.fix.session_types",
    "SessionEvent": "live.fix.session_types",
    "SessionState": "live.fix.session_types",
    "MemorySequenceStore": "live.fix.store",
    "SequenceStore": "live.fix.store",
    "SqliteSequenceStore": "live.fix.store",
    "Answer": "live.fix.order_entry",
    "FixEndpoint": "live.fix.order_entry",
    "FixOrderEntry": "live.fix.order_entry",
    "SessionReject": "live.fix.order_entry",
}

__all__ = [
    "HEADER_TAGS",
    "SECRET_TAGS",
    "SOH",
    "Answer",
    "AppHandler",
    "EventHandler",
    "Field",
    "FileFixLog",
    "FixAcceptor",
    "FixConnection",
    "FixEndpoint",
    "FixInitiator",
    "FixLogEntry",
    "FixLogSink",
    "FixOrderEntry",
    "FixSession",
    "Frame",
    "FrameReader",
    "LogonContext",
    "LogonHook",
    "MemoryFixLog",
    "MemorySequenceStore",
    "MsgType",
    "OutboundFilter",
    "Output",
    "ResendItem",
    "SequenceStore",
    "SessionConfig",
    "SessionEvent",
    "SessionReject",
    "SessionState",
    "SqliteSequenceStore",
    "Tag",
    "body_fields",
    "body_length",
    "checksum",
    "dialects",
    "encode",
    "format_entry",
    "get_int",
    "get_str",
    "mask_secrets",
    "new_order_single",
    "order_request_from_fix",
    "parse",
    "parse_utc_timestamp",
    "resend_plan",
    "sending_time",
    "to_text",
    "verify",
]
__getattr__, __dir__ = lazy_exports(__name__, _EXPORTS)

if TYPE_CHECKING:
    from live.fix import dialects
    from live.fix.driver import AppHandler, EventHandler, FixAcceptor, FixConnection, FixInitiator, OutboundFilter
    from live.fix.framing import SOH, Frame, FrameReader, body_length, checksum, to_text, verify
    from live.fix.log import SECRET_TAGS, FileFixLog, FixLogEntry, FixLogSink, MemoryFixLog, format_entry, mask_secrets
    from live.fix.messages import (
        HEADER_TAGS,
        Field,
        MsgType,
        Tag,
        body_fields,
        encode,
        get_int,
        get_str,
        parse,
        sending_time,
    )
    from live.fix.order_entry import Answer, FixEndpoint, FixOrderEntry, SessionReject
    from live.fix.orders import new_order_single, order_request_from_fix, parse_utc_timestamp
    from live.fix.resend import ResendItem, resend_plan
    from live.fix.session import FixSession
    from live.fix.session_types import LogonContext, LogonHook, Output, SessionConfig, SessionEvent, SessionState
    from live.fix.store import MemorySequenceStore, SequenceStore, SqliteSequenceStore
