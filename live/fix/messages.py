"""FIX 4.4 message building and reading on simplefix: tags, SendingTime, header order, body fields.

Outbound messages are laid out as the Binance client samples are (``spec/venues.md`` §1.10):
``8, 9, 35, 34, 49, 52, 56`` then (for resends) ``43, 122``, then the body, then ``10``;
simplefix computes BodyLength and CheckSum, and ``live.fix.framing`` checks them independently.
Inbound messages are parsed by simplefix from frames the framing layer has already verified.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Sequence

import simplefix

__all__ = [
    "HEADER_TAGS",
    "Field",
    "MsgType",
    "Tag",
    "body_fields",
    "encode",
    "get_int",
    "get_str",
    "parse",
    "sending_time",
]

Field = tuple[int, str]
"""One ``tag=value`` pair of a message body."""


class MsgType:
    """Session-level message types (``35``) and the order-entry ones this package builds."""

    HEARTBEAT = "0"
    TEST_REQUEST = "1"
    RESEND_REQUEST = "2"
    REJECT = "3"
    SEQUENCE_RESET = "4"
    LOGOUT = "5"
    LOGON = "A"
    NEW_ORDER_SINGLE = "D"
    EXECUTION_REPORT = "8"
    ADMIN = frozenset({"0", "1", "2", "3", "4", "5", "A"})


class Tag:
    """Tag numbers used by the session layer and the order translator."""

    BEGIN_STRING = 8
    BODY_LENGTH = 9
    MSG_TYPE = 35
    MSG_SEQ_NUM = 34
    SENDER_COMP_ID = 49
    TARGET_COMP_ID = 56
    SENDING_TIME = 52
    POSS_DUP_FLAG = 43
    ORIG_SENDING_TIME = 122
    CHECKSUM = 10
    BEGIN_SEQ_NO = 7
    END_SEQ_NO = 16
    NEW_SEQ_NO = 36
    GAP_FILL_FLAG = 123
    TEST_REQ_ID = 112
    TEXT = 58
    REF_SEQ_NUM = 45
    REF_TAG_ID = 371
    REF_MSG_TYPE = 372
    SESSION_REJECT_REASON = 373
    ENCRYPT_METHOD = 98
    HEART_BT_INT = 108
    RESET_SEQ_NUM_FLAG = 141


HEADER_TAGS = frozenset({8, 9, 35, 34, 49, 56, 52, 43, 97, 122, 115, 128, 50, 57, 142, 143, 116, 129, 144, 145, 10})
"""Standard header and trailer tags: everything else of a message is its body."""

_NS_PER_MS = 1_000_000


def sending_time(now_ns: int) -> str:
    """UTC ``YYYYMMDD-HH:MM:SS.sss`` for ``now_ns`` (SendingTime, TransactTime), truncated to ms."""
    seconds, rest = divmod(now_ns, 1_000_000_000)
    stamp = dt.datetime.fromtimestamp(seconds, tz=dt.UTC)
    return f"{stamp:%Y%m%d-%H:%M:%S}.{rest // _NS_PER_MS:03d}"


def encode(*, begin_string: str, msg_type: str, seq: int, sender: str, target: str, sent_at: str,
           body: Iterable[Field], orig_sending_time: str | None = None) -> bytes:
    """One framed message; ``orig_sending_time`` marks a resend (``43=Y``, ``122``)."""
    message = simplefix.FixMessage()
    message.append_pair(Tag.BEGIN_STRING, begin_string, header=True)
    message.append_pair(Tag.MSG_TYPE, msg_type, header=True)
    message.append_pair(Tag.MSG_SEQ_NUM, seq, header=True)
    message.append_pair(Tag.SENDER_COMP_ID, sender, header=True)
    message.append_pair(Tag.SENDING_TIME, sent_at, header=True)
    message.append_pair(Tag.TARGET_COMP_ID, target, header=True)
    if orig_sending_time is not None:
        message.append_pair(Tag.POSS_DUP_FLAG, "Y", header=True)
        message.append_pair(Tag.ORIG_SENDING_TIME, orig_sending_time, header=True)
    for tag, value in body:
        message.append_pair(tag, value)
    encoded: bytes = message.encode()
    return encoded


def parse(raw: bytes) -> simplefix.FixMessage:
    """Parse one complete, verified frame with simplefix."""
    parser = simplefix.FixParser()
    parser.append_buffer(raw)
    message = parser.get_message()
    if message is None:
        raise ValueError("not a complete FIX message")
    return message


def get_str(message: simplefix.FixMessage, tag: int) -> str | None:
    """The value of ``tag`` as text, or ``None`` when absent."""
    value = message.get(tag)
    return None if value is None else bytes(value).decode("utf-8", errors="replace")


def get_int(message: simplefix.FixMessage, tag: int) -> int | None:
    """The value of ``tag`` as an int; ``None`` when absent or not a number."""
    value = get_str(message, tag)
    if value is None or not value.isdigit():
        return None
    return int(value)


def body_fields(message: simplefix.FixMessage) -> Sequence[Field]:
    """The body of ``message`` (every non-header, non-trailer field), in order."""
    return [(int(tag), bytes(value).decode("utf-8", errors="replace"))
            for tag, value in message if int(tag) not in HEADER_TAGS]
