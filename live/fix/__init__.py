"""The FIX 4.4 session layer: framing, a session state machine without I/O, persistence, logging, drivers.

* ``framing``: BodyLength/CheckSum and stream splitting, independent of simplefix.
* ``messages``: building and reading messages with simplefix; tags and SendingTime.
* ``session``: ``FixSession``, the state machine (logon, heartbeats, gaps, resends, logout);
  ``session_types``: its configuration, events and outputs; ``resend``: the resend plan.
* ``store``: persisted sequence numbers and sent messages (SQLite or memory).
* ``log``: the raw message log (SOH shown as ``|``, credentials masked).
* ``orders``: NewOrderSingle from and to ``OrderRequest``.
* ``driver``: the asyncio TCP initiator and a minimal acceptor.
"""

from live.fix.driver import AppHandler, EventHandler, FixAcceptor, FixConnection, FixInitiator, OutboundFilter
from live.fix.framing import Frame, FrameReader, body_length, checksum, to_text, verify
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
from live.fix.orders import new_order_single, order_request_from_fix, parse_utc_timestamp
from live.fix.resend import ResendItem, resend_plan
from live.fix.session import FixSession
from live.fix.session_types import LogonContext, LogonHook, Output, SessionConfig, SessionEvent, SessionState
from live.fix.store import MemorySequenceStore, SequenceStore, SqliteSequenceStore

__all__ = [
    "HEADER_TAGS",
    "SECRET_TAGS",
    "AppHandler",
    "EventHandler",
    "Field",
    "FileFixLog",
    "FixAcceptor",
    "FixConnection",
    "FixInitiator",
    "FixLogEntry",
    "FixLogSink",
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
    "SessionState",
    "SqliteSequenceStore",
    "Tag",
    "body_fields",
    "body_length",
    "checksum",
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
