"""FIX framing on its own: BodyLength(9), CheckSum(10), splitting a byte stream into messages.

Written from the standard (``FIX44.xml`` header/trailer, ``spec/venues.md`` §3), independent of
simplefix, so the two check each other: ``9`` counts the bytes after ``9=...SOH`` up to and
including the SOH before ``10=``; ``10`` is the byte sum of everything before ``10=`` modulo 256,
written as three digits. BodyLength may be zero-padded (``9=0000113``, as Binance's server
samples are); the reader tolerates it.

``FrameReader`` cuts frames by BodyLength (so raw-data fields such as 96 may contain SOH) and
reports, for each, whether it is intact (``verify``). Bytes before a BeginString are dropped; a
message whose BodyLength does not lead to a CheckSum is reported as garbled and skipped up to
the next ``8=FIX``. ``to_text`` renders a message for logs with SOH shown as ``|``.
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["SOH", "Frame", "FrameReader", "body_length", "checksum", "to_text", "verify"]

SOH = b"\x01"
_BEGIN = b"8=FIX"
_MAX_BODY = 1 << 20


def checksum(data: bytes) -> int:
    """The FIX CheckSum of ``data`` (everything before ``10=``): byte sum modulo 256."""
    return sum(data) % 256


def body_length(raw: bytes) -> int:
    """The true BodyLength of a complete message: bytes after ``9=...SOH`` up to the SOH before ``10=``."""
    start = raw.index(SOH + b"9=") + 1
    body_start = raw.index(SOH, start) + 1
    trailer = raw.rindex(SOH + b"10=") + 1
    return trailer - body_start


def verify(raw: bytes) -> str | None:
    """``None`` if ``raw`` is one well-framed message, else what is wrong with it (a short text)."""
    if not raw.startswith(_BEGIN) or not raw.endswith(SOH):
        return "does not start with 8= or end with SOH"
    try:
        stated_len = int(raw[raw.index(SOH + b"9=") + 3: raw.index(SOH, raw.index(SOH + b"9=") + 1)])
        trailer = raw.rindex(SOH + b"10=") + 1
        stated_sum = int(raw[trailer + 3: -1])
    except ValueError:
        return "BodyLength or CheckSum missing or not a number"
    if len(raw) - 1 - (trailer + 3) != 3:
        return "CheckSum is not three digits"
    if stated_len != body_length(raw):
        return f"BodyLength {stated_len} but the body has {body_length(raw)} bytes"
    if stated_sum != checksum(raw[:trailer]):
        return f"CheckSum {stated_sum:03d} but the bytes sum to {checksum(raw[:trailer]):03d}"
    return None


def to_text(raw: bytes) -> str:
    """``raw`` for a log line: SOH shown as ``|`` (non-UTF-8 bytes escaped)."""
    return raw.replace(SOH, b"|").decode("utf-8", errors="backslashreplace")


@dataclass(frozen=True, slots=True)
class Frame:
    """One message cut from the stream; ``error`` is ``None`` when it is intact."""

    raw: bytes
    error: str | None


class FrameReader:
    """Accumulates bytes and yields complete frames, intact or not, in arrival order."""

    __slots__ = ("_buffer",)

    def __init__(self) -> None:
        self._buffer = b""

    def feed(self, data: bytes) -> list[Frame]:
        """Add ``data``; return every frame now complete (incomplete tails wait for more bytes)."""
        self._buffer += data
        frames: list[Frame] = []
        while True:
            frame = self._next()
            if frame is None:
                return frames
            frames.append(frame)

    @staticmethod
    def _begin(buf: bytes, after: int = 0) -> int:
        """Where the next message may start (``8=FIX``); used only to resynchronise after junk."""
        return buf.find(_BEGIN, after)

    def _next(self) -> Frame | None:
        buf = self._buffer
        start = self._begin(buf)
        if start < 0:
            self._buffer = buf[-(len(_BEGIN) - 1):]  # junk; keep what may start a split BeginString
            return None
        if start > 0:
            buf = self._buffer = buf[start:]
        first = buf.find(SOH)
        second = buf.find(SOH, first + 1) if first >= 0 else -1
        if second < 0:
            return None
        if buf[first + 1: first + 3] != b"9=" or not buf[first + 3: second].isdigit():
            return self._skip("no BodyLength after BeginString")
        length = int(buf[first + 3: second])
        if length > _MAX_BODY:
            return self._skip(f"BodyLength {length} exceeds {_MAX_BODY}")
        trailer = second + 1 + length
        end = buf.find(SOH, trailer)
        if end < 0:
            return None if len(buf) < trailer + 8 else self._skip("no CheckSum where BodyLength points")
        raw = buf[: end + 1]
        if buf[trailer: trailer + 3] != b"10=":
            return self._skip("no CheckSum where BodyLength points")
        self._buffer = buf[end + 1:]
        return Frame(raw, verify(raw))

    def _skip(self, why: str) -> Frame:
        """Drop the bad start of the buffer up to the next BeginString; report what was dropped."""
        buf = self._buffer
        nxt = self._begin(buf, 1)
        bad, self._buffer = (buf, b"") if nxt < 0 else (buf[:nxt], buf[nxt:])
        return Frame(bad, why)
