"""A raw FIX client for the acceptor tests, written without simplefix: our own encoder (BodyLength,
CheckSum computed here by the spec's rules) and our own frame splitter, over a real TCP socket."""

from __future__ import annotations

import asyncio
import base64
import datetime as dt
import hashlib
import hmac

from cryptography.hazmat.primitives.serialization import load_pem_private_key
from fix_venue_helpers import check_frame

SOH = b"\x01"


def frame(begin: str, fields: list[tuple[int, str]]) -> bytes:
    """``8=begin|9=len|<fields>|10=sum|`` with BodyLength and CheckSum computed here."""
    body = b"".join(f"{t}=".encode() + v.encode() + SOH for t, v in fields)
    head = f"8={begin}".encode() + SOH + f"9={len(body)}".encode() + SOH
    total = head + body
    return total + f"10={sum(total) % 256:03d}".encode() + SOH


def stamp(now_ns: int) -> str:
    """A UTCTimestamp with milliseconds."""
    seconds, rest = divmod(now_ns, 1_000_000_000)
    return f"{dt.datetime.fromtimestamp(seconds, tz=dt.UTC):%Y%m%d-%H:%M:%S}.{rest // 1_000_000:03d}"


class RawFixClient:
    """Sends hand-built messages and collects every frame the acceptor sends, each checked for framing."""

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter, *, begin: str = "FIX.4.4",
                 sender: str = "RAW1", target: str = "SPOT") -> None:
        self.reader, self.writer = reader, writer
        self.begin, self.sender, self.target = begin, sender, target
        self.seq = 1
        self.raw: list[bytes] = []
        self.received: list[dict[int, str]] = []
        self._buffer = b""

    @classmethod
    async def connect(cls, port: int, **kwargs: str) -> RawFixClient:
        """Open a TCP connection to 127.0.0.1:port."""
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        return cls(reader, writer, **kwargs)

    def send(self, msg_type: str, body: list[tuple[int, str]], now_ns: int, *, seq: int | None = None) -> int:
        """Write one message; returns its MsgSeqNum."""
        number = self.seq if seq is None else seq
        if seq is None:
            self.seq += 1
        header = [(35, msg_type), (34, str(number)), (49, self.sender), (52, stamp(now_ns)), (56, self.target)]
        self.writer.write(frame(self.begin, header + body))
        return number

    def logon_binance(self, api_key: str, pem: str, now_ns: int, **extra: str) -> None:
        """A Binance Logon signed with ``pem`` over ``A SOH sender SOH target SOH seq SOH time``."""
        sent = stamp(now_ns)
        payload = "\x01".join(["A", self.sender, self.target, str(self.seq), sent]).encode()
        key = load_pem_private_key(pem.encode(), None)
        signature = base64.b64encode(key.sign(payload)).decode()  # type: ignore[call-arg, union-attr]
        fields = {95: str(len(signature)), 96: signature, 98: "0", 108: "30", 141: "Y", 553: api_key, 25035: "2"}
        fields.update({int(k[1:]): v for k, v in extra.items()})
        header = [(35, "A"), (34, str(self.seq)), (49, self.sender), (52, sent), (56, self.target)]
        self.seq += 1
        self.writer.write(frame(self.begin, header + sorted((t, v) for t, v in fields.items() if v != "")))

    def logon_coinbase(self, api_key: str, secret: str, passphrase: str, now_ns: int) -> None:
        """A Coinbase FIX 4.2 Logon: base64 HMAC-SHA256 of ``time A seq key target passphrase`` (no separator)."""
        sent = stamp(now_ns)
        prehash = f"{sent}A{self.seq}{api_key}{self.target}{passphrase}".encode()
        signature = base64.b64encode(hmac.new(secret.encode(), prehash, hashlib.sha256).digest()).decode()
        header = [(35, "A"), (34, str(self.seq)), (49, self.sender), (52, sent), (56, self.target)]
        self.seq += 1
        body = [(96, signature), (98, "0"), (108, "30"), (141, "Y"), (554, passphrase), (9407, api_key)]
        self.writer.write(frame(self.begin, header + body))

    async def read_until(self, predicate: object, timeout_s: float = 10.0) -> dict[int, str]:
        """Read frames until one satisfies ``predicate(fields)``; returns it (each frame is framing-checked)."""
        assert callable(predicate)
        for fields in self.received:
            if predicate(fields):
                self.received.remove(fields)
                return fields
        async with asyncio.timeout(timeout_s):
            while True:
                while True:
                    cut = self._cut()
                    if cut is None:
                        break
                    fields = check_frame(cut)
                    self.raw.append(cut)
                    if predicate(fields):
                        return fields
                    self.received.append(fields)
                data = await self.reader.read(65536)
                if not data:
                    raise ConnectionError("closed by the acceptor")
                self._buffer += data

    async def closed(self, timeout_s: float = 10.0) -> bool:
        """True once the acceptor has closed the connection (frames before it are kept)."""
        async with asyncio.timeout(timeout_s):
            while True:
                data = await self.reader.read(65536)
                if not data:
                    while (cut := self._cut()) is not None:
                        self.raw.append(cut)
                        self.received.append(check_frame(cut))
                    return True
                self._buffer += data

    def _cut(self) -> bytes | None:
        buf = self._buffer
        start = buf.find(SOH + b"9=")
        if start < 0:
            return None
        end_len = buf.find(SOH, start + 1)
        if end_len < 0:
            return None
        length = int(buf[start + 3:end_len])
        trailer = end_len + 1 + length
        end = buf.find(SOH, trailer)
        if end < 0 or len(buf) < trailer + 7:
            return None
        raw, self._buffer = buf[:end + 1], buf[end + 1:]
        return raw

    async def close(self) -> None:
        """Close our side."""
        self.writer.close()
