"""The FIX 4.4 session layer as a state machine without I/O: bytes and ticks in, bytes and events out.

``FixSession`` is driven by four inputs, each returning an ``Output`` (messages to write, events,
application messages, whether to disconnect): ``on_connected``, ``on_data``, ``on_timer`` and
``on_disconnected``; ``send`` and ``logout`` add outbound messages. Time is the ``now_ns`` the
driver passes in (from its ``Clock``). What it does (Property 14):

* **Logon (A)**: the initiator sends it on connect (``98=0``, ``108``, ``141=Y`` when resetting,
  plus whatever the ``logon_hook`` adds, e.g. a venue's signature); the acceptor answers one.
* **Heartbeat (0) / TestRequest (1)**: a Heartbeat when nothing was sent for ``HeartBtInt``; a
  TestRequest when nothing was received for 1.2 x ``HeartBtInt``; no answer within another
  ``HeartBtInt`` disconnects. A TestRequest is answered with a Heartbeat echoing ``112``.
* **Sequence numbers**: persisted in a ``SequenceStore`` after every change. An inbound gap sends
  one ResendRequest (2) from the first missing number to infinity; messages past the gap wait and
  are processed in order once it is filled. A number below the expected one is ignored when it
  carries ``PossDupFlag=Y`` and is fatal (Logout) otherwise.
* **ResendRequest (2)** from the peer: stored application messages are resent with ``43=Y`` and
  ``122``; runs of administrative (or unknown) numbers become one SequenceReset-GapFill (4).
* **SequenceReset (4)**: gap-fill mode advances the expected number; reset mode sets it. Going
  backwards is refused with a Reject (3).
* **Reject (3)** is reported as an event; **Logout (5)** is answered with a Logout, then the
  session disconnects.

Every raw message in or out goes to the ``FixLogSink`` with its timestamp (Property 15).
"""

from __future__ import annotations

from collections.abc import Iterable

import simplefix

from live.fix.framing import FrameReader
from live.fix.log import FixLogSink
from live.fix.messages import Field, MsgType, Tag, body_fields, encode, get_int, get_str, parse, sending_time
from live.fix.resend import resend_plan
from live.fix.session_types import LogonContext, Output, SessionConfig, SessionEvent, SessionState
from live.fix.store import SequenceStore

__all__ = ["FixSession"]

_NS = 1_000_000_000


class FixSession:
    """See the module docstring."""

    def __init__(self, config: SessionConfig, store: SequenceStore, log: FixLogSink | None = None) -> None:
        self.config = config
        self._store = store
        self._log = log
        self.state = SessionState.DISCONNECTED
        self.next_sender_seq, self.next_target_seq = store.load()
        self.heartbeat_ns = config.heartbeat_interval_s * _NS
        self._reader = FrameReader()
        self._queue: dict[int, tuple[bytes, simplefix.FixMessage] | None] = {}
        self._gap_end: int | None = None
        self._last_sent_ns = 0
        self._last_received_ns = 0
        self._test_request: tuple[str, int] | None = None
        self._state_since_ns = 0
        self._out = Output()

    # ------------------------------------------------------------------ inputs

    def on_connected(self, now_ns: int) -> Output:
        """The transport is up: the initiator logs on, the acceptor waits for a Logon."""
        self._reader = FrameReader()
        self._last_received_ns = now_ns
        self._state_since_ns = now_ns
        if not self.config.initiator:
            self.state = SessionState.AWAITING_LOGON
            return self._flush()
        if self.config.reset_on_logon:
            self._reset()
        self.state = SessionState.LOGON_SENT
        self._send_logon(now_ns, reset=self.config.reset_on_logon)
        return self._flush()

    def on_data(self, data: bytes, now_ns: int) -> Output:
        """Bytes from the peer: every complete message is processed in order."""
        for frame in self._reader.feed(data):
            if self._out.disconnect:
                break
            if frame.error is not None:
                self._logged(now_ns, "IN!", frame.raw)
                self._event("garbled", frame.error)
                continue
            self._logged(now_ns, "IN", frame.raw)
            self._last_received_ns = now_ns
            try:
                message = parse(frame.raw)
            except (ValueError, simplefix.errors.ParsingError) as exc:
                self._event("garbled", str(exc))
                continue
            self._receive(frame.raw, message, now_ns)
        return self._flush()

    def on_timer(self, now_ns: int) -> Output:
        """Time passed: heartbeats, test requests, logon/logout timeouts."""
        if self.state is SessionState.ACTIVE:
            if self._test_request is not None:
                if now_ns - self._test_request[1] >= self.heartbeat_ns:
                    self._event("heartbeat_timeout", f"no answer to TestRequest {self._test_request[0]}")
                    self._out.disconnect = True
                    return self._flush()
            elif now_ns - self._last_received_ns >= self.heartbeat_ns + self.heartbeat_ns // 5:
                test_id = f"TEST-{self.next_sender_seq}"
                self._test_request = (test_id, now_ns)
                self._send(MsgType.TEST_REQUEST, [(Tag.TEST_REQ_ID, test_id)], now_ns)
                self._event("test_request_sent", test_id)
            if now_ns - self._last_sent_ns >= self.heartbeat_ns:
                self._send(MsgType.HEARTBEAT, [], now_ns)
        elif self.state is SessionState.LOGON_SENT and \
                now_ns - self._state_since_ns >= self.config.logon_timeout_s * _NS:
            self._event("logon_timeout")
            self._out.disconnect = True
        elif self.state is SessionState.LOGOUT_SENT and \
                now_ns - self._state_since_ns >= self.config.logout_timeout_s * _NS:
            self._out.disconnect = True
        return self._flush()

    def on_disconnected(self, now_ns: int) -> Output:
        """The transport is gone; sequence numbers stay persisted for the next connection."""
        self.state = SessionState.DISCONNECTED
        self._queue.clear()
        self._gap_end = None
        self._test_request = None
        self._event("disconnected")
        return self._flush()

    def send(self, msg_type: str, body: Iterable[Field], now_ns: int) -> Output:
        """Send an application message (stored for resends); refused unless the session is ACTIVE."""
        if self.state is not SessionState.ACTIVE:
            raise RuntimeError(f"cannot send {msg_type}: session is {self.state.value}")
        if msg_type in MsgType.ADMIN:
            raise ValueError(f"{msg_type} is a session message; the session sends those itself")
        self._send(msg_type, list(body), now_ns, store=True)
        return self._flush()

    def logout(self, now_ns: int, text: str = "") -> Output:
        """Start a graceful logout (the peer's Logout answer ends the session)."""
        if self.state is SessionState.ACTIVE:
            self._send(MsgType.LOGOUT, [(Tag.TEXT, text)] if text else [], now_ns)
            self.state = SessionState.LOGOUT_SENT
            self._state_since_ns = now_ns
        else:
            self._out.disconnect = True
        return self._flush()

    def test_request(self, now_ns: int, test_id: str) -> Output:
        """Send a TestRequest now (a round trip: the peer's Heartbeat echoing ``test_id`` is event
        ``heartbeat_received``, and everything the peer sent before it has been processed)."""
        if self.state is SessionState.ACTIVE:
            self._send(MsgType.TEST_REQUEST, [(Tag.TEST_REQ_ID, test_id)], now_ns)
        return self._flush()

    def reject(self, now_ns: int, ref_seq: int, reason: int, text: str, *, ref_tag: int | None = None,
               ref_msg_type: str | None = None) -> Output:
        """Send a session-level Reject (3) of the peer's message ``ref_seq``: the application found it
        malformed (``reason`` is the SessionRejectReason: 1 required tag missing, 5 value incorrect ...)."""
        fields: list[Field] = [(Tag.REF_SEQ_NUM, str(ref_seq))]
        if ref_tag is not None:
            fields.append((Tag.REF_TAG_ID, str(ref_tag)))
        if ref_msg_type is not None:
            fields.append((Tag.REF_MSG_TYPE, ref_msg_type))
        fields += [(Tag.SESSION_REJECT_REASON, str(reason)), (Tag.TEXT, text)]
        if self.state is SessionState.ACTIVE:
            self._send(MsgType.REJECT, fields, now_ns)
        return self._flush()

    # ------------------------------------------------------------------ inbound

    def _receive(self, raw: bytes, message: simplefix.FixMessage, now_ns: int) -> None:
        msg_type = get_str(message, Tag.MSG_TYPE) or ""
        seq = get_int(message, Tag.MSG_SEQ_NUM)
        if get_str(message, Tag.BEGIN_STRING) != self.config.begin_string or seq is None:
            self._fatal(now_ns, "wrong BeginString or missing MsgSeqNum")
            return
        if get_str(message, Tag.SENDER_COMP_ID) != self.config.target_comp_id or \
                get_str(message, Tag.TARGET_COMP_ID) != self.config.sender_comp_id:
            self._reject(now_ns, seq, 9, "CompID problem")
            self._fatal(now_ns, "CompID problem")
            return
        if self.state in (SessionState.AWAITING_LOGON, SessionState.LOGON_SENT) and \
                msg_type not in (MsgType.LOGON, MsgType.LOGOUT):  # a refused logon is answered with a Logout
            self._fatal(now_ns, f"first message must be a Logon, got 35={msg_type}")
            return
        if msg_type == MsgType.LOGON and get_str(message, Tag.RESET_SEQ_NUM_FLAG) == "Y":
            if not self.config.initiator:
                self._reset()
            self.next_target_seq = 1
        if msg_type == MsgType.SEQUENCE_RESET and get_str(message, Tag.GAP_FILL_FLAG) != "Y":
            self._sequence_reset(message, now_ns, seq, gap_fill=False)
            return
        expected = self.next_target_seq
        if seq < expected:
            if get_str(message, Tag.POSS_DUP_FLAG) == "Y":
                self._event("duplicate_ignored", msg_type, seq)
                return
            self._fatal(now_ns, f"MsgSeqNum too low, expecting {expected} but received {seq}", kind="seq_too_low")
            return
        if seq > expected:
            self._gap(raw, message, msg_type, seq, now_ns)
            return
        self._dispatch(message, msg_type, seq, now_ns)
        while not self._out.disconnect and self.next_target_seq in self._queue:
            queued_seq = self.next_target_seq
            queued = self._queue.pop(queued_seq)
            if queued is None:  # handled when it arrived (a Logon past the gap)
                self._advance(queued_seq + 1)
                continue
            self._dispatch(queued[1], get_str(queued[1], Tag.MSG_TYPE) or "", queued_seq, now_ns)
        if self._gap_end is not None and self.next_target_seq > self._gap_end:
            self._event("gap_filled", f"through {self._gap_end}", self._gap_end)
            self._gap_end = None

    def _gap(self, raw: bytes, message: simplefix.FixMessage, msg_type: str, seq: int, now_ns: int) -> None:
        expected = self.next_target_seq
        if msg_type in (MsgType.LOGON, MsgType.LOGOUT, MsgType.RESEND_REQUEST):
            self._handle_admin(message, msg_type, now_ns)  # acted on at once, whatever the gap
            if msg_type == MsgType.LOGOUT:
                return
            self._queue[seq] = None
        elif len(self._queue) >= self.config.max_queued:
            self._fatal(now_ns, f"more than {self.config.max_queued} messages queued behind a gap")
            return
        else:
            self._queue[seq] = (raw, message)
        if self._gap_end is None:
            self._event("gap_detected", f"expected {expected}, received {seq}", seq)
            self._send(MsgType.RESEND_REQUEST, [(Tag.BEGIN_SEQ_NO, str(expected)), (Tag.END_SEQ_NO, "0")], now_ns)
            self._gap_end = seq
        else:
            self._gap_end = max(self._gap_end, seq)

    def _dispatch(self, message: simplefix.FixMessage, msg_type: str, seq: int, now_ns: int) -> None:
        if msg_type == MsgType.SEQUENCE_RESET:
            self._sequence_reset(message, now_ns, seq, gap_fill=True)
            return
        self._advance(seq + 1)
        if msg_type in MsgType.ADMIN:
            self._handle_admin(message, msg_type, now_ns)
        else:
            self._out.app_messages.append(message)

    def _handle_admin(self, message: simplefix.FixMessage, msg_type: str, now_ns: int) -> None:
        if msg_type == MsgType.LOGON:
            self._on_logon(message, now_ns)
        elif msg_type == MsgType.TEST_REQUEST:
            self._send(MsgType.HEARTBEAT, [(Tag.TEST_REQ_ID, get_str(message, Tag.TEST_REQ_ID) or "")], now_ns)
        elif msg_type == MsgType.HEARTBEAT:
            echoed = get_str(message, Tag.TEST_REQ_ID)
            if self._test_request is not None and echoed == self._test_request[0]:
                self._test_request = None
            if echoed:
                self._event("heartbeat_received", echoed)
        elif msg_type == MsgType.RESEND_REQUEST:
            self._serve_resend(message, now_ns)
        elif msg_type == MsgType.REJECT:
            self._event("reject_received", f"{get_str(message, Tag.SESSION_REJECT_REASON) or ''}: "
                        f"{get_str(message, Tag.TEXT) or ''}", get_int(message, Tag.REF_SEQ_NUM))
        elif msg_type == MsgType.LOGOUT:
            if self.state is not SessionState.LOGOUT_SENT:
                self._send(MsgType.LOGOUT, [], now_ns)
            self._event("logged_out", get_str(message, Tag.TEXT) or "")
            self.state = SessionState.DISCONNECTED
            self._out.disconnect = True

    def _on_logon(self, message: simplefix.FixMessage, now_ns: int) -> None:
        interval = get_int(message, Tag.HEART_BT_INT)
        if not self.config.initiator:
            if interval:
                self.heartbeat_ns = interval * _NS
            self._send_logon(now_ns, reset=get_str(message, Tag.RESET_SEQ_NUM_FLAG) == "Y")
        self.state = SessionState.ACTIVE
        self._state_since_ns = now_ns
        self._event("logged_on", f"HeartBtInt={self.heartbeat_ns // _NS}")

    def _sequence_reset(self, message: simplefix.FixMessage, now_ns: int, seq: int, *, gap_fill: bool) -> None:
        new = get_int(message, Tag.NEW_SEQ_NO)
        if new is None or new < self.next_target_seq:
            self._reject(now_ns, seq, 5, f"NewSeqNo {new} is below the expected {self.next_target_seq}")
            if gap_fill:
                self._advance(seq + 1)
            return
        self._advance(new)
        self._event("sequence_reset", "gap fill" if gap_fill else "reset", new)

    def _serve_resend(self, message: simplefix.FixMessage, now_ns: int) -> None:
        begin = get_int(message, Tag.BEGIN_SEQ_NO) or 1
        end = get_int(message, Tag.END_SEQ_NO) or 0
        last = self.next_sender_seq - 1
        end = last if end == 0 or end > last else end
        for item in resend_plan(begin, end, self._store.messages(begin, end)):
            if item.raw is None:  # administrative or unknown numbers: one gap fill for the run
                self._send(MsgType.SEQUENCE_RESET, [(Tag.GAP_FILL_FLAG, "Y"), (Tag.NEW_SEQ_NO, str(item.next_seq))],
                           now_ns, seq=item.seq, orig_sending_time=sending_time(now_ns))
                continue
            original = parse(item.raw)
            self._send(get_str(original, Tag.MSG_TYPE) or "", list(body_fields(original)), now_ns, seq=item.seq,
                       orig_sending_time=get_str(original, Tag.SENDING_TIME) or sending_time(now_ns))
        self._event("resend_served", f"{begin}..{end}", begin)

    # ------------------------------------------------------------------ outbound and bookkeeping

    def _send_logon(self, now_ns: int, *, reset: bool) -> None:
        stamp = sending_time(now_ns)
        fields: list[Field] = [(Tag.ENCRYPT_METHOD, "0"), (Tag.HEART_BT_INT, str(self.heartbeat_ns // _NS))]
        if reset:
            fields.append((Tag.RESET_SEQ_NUM_FLAG, "Y"))
        if self.config.logon_hook is not None:
            fields.extend(self.config.logon_hook(LogonContext(MsgType.LOGON, self.config.sender_comp_id,
                                                              self.config.target_comp_id, self.next_sender_seq, stamp)))
        fields.sort(key=lambda f: f[0])  # a deterministic layout: the venues' samples list body tags in order
        self._send(MsgType.LOGON, fields, now_ns, sent_at=stamp)

    def _send(self, msg_type: str, body: list[Field], now_ns: int, *, store: bool = False, seq: int | None = None,
              orig_sending_time: str | None = None, sent_at: str | None = None) -> None:
        resend = seq is not None
        number = self.next_sender_seq if seq is None else seq
        raw = encode(begin_string=self.config.begin_string, msg_type=msg_type, seq=number,
                     sender=self.config.sender_comp_id, target=self.config.target_comp_id,
                     sent_at=sent_at or sending_time(now_ns), body=body, orig_sending_time=orig_sending_time)
        if not resend:
            if store:
                self._store.store_message(number, raw)
            self.next_sender_seq = number + 1
            self._store.save(self.next_sender_seq, self.next_target_seq)  # persisted before it leaves
        self._logged(now_ns, "OUT", raw)
        self._last_sent_ns = now_ns
        self._out.outbound.append(raw)

    def _reject(self, now_ns: int, ref_seq: int, reason: int, text: str) -> None:
        self._send(MsgType.REJECT, [(Tag.REF_SEQ_NUM, str(ref_seq)), (Tag.SESSION_REJECT_REASON, str(reason)),
                                    (Tag.TEXT, text)], now_ns)

    def _fatal(self, now_ns: int, text: str, *, kind: str = "protocol_error") -> None:
        self._event(kind, text)
        if self.state in (SessionState.ACTIVE, SessionState.LOGON_SENT, SessionState.AWAITING_LOGON):
            self._send(MsgType.LOGOUT, [(Tag.TEXT, text)], now_ns)
        self._out.disconnect = True

    def _advance(self, next_target: int) -> None:
        self.next_target_seq = next_target
        if self._queue:  # a gap fill may skip numbers that were queued: they are settled
            for stale in [seq for seq in self._queue if seq < next_target]:
                del self._queue[stale]
        self._store.save(self.next_sender_seq, self.next_target_seq)

    def _reset(self) -> None:
        self._store.reset()
        self.next_sender_seq, self.next_target_seq = 1, 1

    def _event(self, kind: str, detail: str = "", seq: int | None = None) -> None:
        self._out.events.append(SessionEvent(kind, detail, seq))

    def _logged(self, now_ns: int, direction: str, raw: bytes) -> None:
        if self._log is not None:
            self._log.log(now_ns, direction, raw)

    def _flush(self) -> Output:
        out, self._out = self._out, Output()
        return out
