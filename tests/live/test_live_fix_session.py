"""live.fix.session as a pure state machine: two sessions wired back to back, no sockets (Property 14, 15)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass, field

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from live_fix_samples import LOGON

from live.fix.framing import verify
from live.fix.log import MemoryFixLog
from live.fix.messages import encode, get_int, get_str, parse
from live.fix.resend import ResendItem, resend_plan
from live.fix.session import FixSession
from live.fix.session_types import LogonContext, Output, SessionConfig, SessionState
from live.fix.store import MemorySequenceStore
from live.signing import binance_fix_logon_payload, ed25519_sign_b64, load_ed25519_key

S = 1_000_000_000
T0 = 1_718_096_506 * S
Drop = Callable[[str, bytes], bool]


def fields_of(raw: bytes) -> dict[int, str]:
    return {int(t): v for t, v in (p.split("=", 1) for p in raw.decode().split("\x01") if p)}


@dataclass
class Wire:
    """An initiator and an acceptor connected back to back; ``drop(side, raw)`` loses messages in flight."""

    ini: FixSession
    acc: FixSession
    drop: Drop = lambda side, raw: False
    now: int = T0
    apps: dict[str, list[bytes]] = field(default_factory=lambda: {"ini": [], "acc": []})
    events: dict[str, list[str]] = field(default_factory=lambda: {"ini": [], "acc": []})
    sent: dict[str, list[bytes]] = field(default_factory=lambda: {"ini": [], "acc": []})
    disconnected: set[str] = field(default_factory=set)

    def session(self, side: str) -> FixSession:
        return self.ini if side == "ini" else self.acc

    def run(self, side: str, out: Output) -> None:
        """Deliver ``out`` (produced by ``side``) and everything it provokes, until quiet."""
        queue = [(side, out)]
        while queue:
            origin, output = queue.pop(0)
            self.events[origin] += [e.kind for e in output.events]
            self.apps[origin] += [m.encode() for m in output.app_messages]
            other = "acc" if origin == "ini" else "ini"
            for raw in output.outbound:  # written before the socket closes, as the driver does
                self.sent[origin].append(raw)
                if self.drop(origin, raw) or origin in self.disconnected or other in self.disconnected:
                    continue
                queue.append((other, self.session(other).on_data(raw, self.now)))
            if output.disconnect:
                self.disconnected.add(origin)

    def connect(self) -> None:
        self.run("acc", self.acc.on_connected(self.now))
        self.run("ini", self.ini.on_connected(self.now))

    def app(self, side: str, text: str) -> None:
        self.run(side, self.session(side).send("8", [(58, text)], self.now))


def pair(*, reset: bool = False, hb: int = 30, ini_store: MemorySequenceStore | None = None,
         acc_store: MemorySequenceStore | None = None, drop: Drop | None = None,
         log: MemoryFixLog | None = None) -> Wire:
    ini = FixSession(SessionConfig("CLIENT", "VENUE", heartbeat_interval_s=hb, reset_on_logon=reset),
                     ini_store or MemorySequenceStore(), log)
    acc = FixSession(SessionConfig("VENUE", "CLIENT", heartbeat_interval_s=hb, initiator=False),
                     acc_store or MemorySequenceStore())
    return Wire(ini, acc, drop or (lambda side, raw: False))


def texts(raws: list[bytes]) -> list[str]:
    return [fields_of(r).get(58, "") for r in raws]


def test_property_14_logon_heartbeat_and_logout() -> None:
    wire = pair(hb=5)
    wire.connect()
    assert wire.ini.state is SessionState.ACTIVE and wire.acc.state is SessionState.ACTIVE
    logon = fields_of(wire.sent["ini"][0])
    assert (logon[35], logon[34], logon[98], logon[108]) == ("A", "1", "0", "5") and 141 not in logon
    assert fields_of(wire.sent["acc"][0])[35] == "A"
    assert wire.events["ini"] == ["logged_on"] and wire.events["acc"] == ["logged_on"]
    wire.now += 5 * S  # nothing sent for HeartBtInt: both sides heartbeat
    wire.run("ini", wire.ini.on_timer(wire.now))
    wire.run("acc", wire.acc.on_timer(wire.now))
    assert fields_of(wire.sent["ini"][-1])[35] == "0" and fields_of(wire.sent["acc"][-1])[35] == "0"
    wire.run("ini", wire.ini.logout(wire.now, "bye"))
    assert [fields_of(r)[35] for r in wire.sent["ini"][-1:]] == ["5"]
    assert fields_of(wire.sent["acc"][-1])[35] == "5"  # the reply to a Logout is a Logout
    assert "logged_out" in wire.events["acc"] and "logged_out" in wire.events["ini"]
    assert wire.disconnected == {"ini", "acc"}
    assert all(verify(raw) is None for side in ("ini", "acc") for raw in wire.sent[side])


def test_test_request_is_answered_and_silence_disconnects() -> None:
    wire = pair(hb=10)
    wire.connect()
    wire.now += 12 * S  # 1.2 x HeartBtInt with nothing received
    wire.run("ini", wire.ini.on_timer(wire.now))
    request = fields_of(wire.sent["ini"][-1])
    assert request[35] == "1" and "test_request_sent" in wire.events["ini"]
    answer = fields_of(wire.sent["acc"][-1])
    assert answer[35] == "0" and answer[112] == request[112]  # the heartbeat echoes TestReqID
    wire.now += 10 * S
    wire.run("ini", wire.ini.on_timer(wire.now))
    assert "heartbeat_timeout" not in wire.events["ini"]  # answered: no timeout
    silent = pair(hb=10, drop=lambda side, raw: side == "acc" and fields_of(raw)[35] == "0")
    silent.connect()
    silent.now += 12 * S
    silent.run("ini", silent.ini.on_timer(silent.now))
    silent.now += 10 * S
    silent.run("ini", silent.ini.on_timer(silent.now))
    assert "heartbeat_timeout" in silent.events["ini"] and "ini" in silent.disconnected


@settings(max_examples=60)
@given(count=st.integers(1, 12), lost=st.sets(st.integers(0, 11)), data=st.data())
def test_property_14_gaps_are_detected_resent_and_delivered_once_in_order(count: int, lost: set[int],
                                                                          data: st.DataObject) -> None:
    first_time: set[int] = set()

    def drop(side: str, raw: bytes) -> bool:
        f = fields_of(raw)
        if side != "acc" or f[35] != "8" or f.get(43) == "Y" or not f[58].isdigit():
            return False  # only first transmissions of the acceptor's application messages are lost
        n = int(f[58])
        if n in lost and n not in first_time:
            first_time.add(n)
            return True
        return False

    wire = pair(drop=drop)
    wire.connect()
    heartbeat_every = data.draw(st.integers(1, 5))
    for n in range(count):
        wire.app("acc", str(n))
        if n % heartbeat_every == 0:
            wire.now += 30 * S
            wire.run("acc", wire.acc.on_timer(wire.now))  # admin traffic interleaved (gap-filled, never resent)
    if lost & set(range(count)) and max(lost & set(range(count))) == count - 1:
        wire.run("acc", wire.acc.send("8", [(58, "tail")], wire.now))  # a later message reveals a trailing gap
        expected = [*map(str, range(count)), "tail"]
    else:
        expected = list(map(str, range(count)))
    assert texts(wire.apps["ini"]) == expected
    assert wire.ini.next_target_seq == wire.acc.next_sender_seq
    if lost & set(range(count)):
        assert "gap_detected" in wire.events["ini"] and "gap_filled" in wire.events["ini"]
        requests = [fields_of(r) for r in wire.sent["ini"] if fields_of(r)[35] == "2"]
        assert requests and all(r[16] == "0" for r in requests)
    assert "protocol_error" not in wire.events["ini"] and not wire.disconnected


def test_admin_runs_are_gap_filled_and_application_messages_resent() -> None:
    def drop(side: str, raw: bytes) -> bool:
        f = fields_of(raw)
        return side == "acc" and f.get(43) != "Y" and (f[35] == "0" or f.get(58) == "x")

    wire = pair(drop=drop)
    wire.connect()
    wire.now += 30 * S
    wire.run("acc", wire.acc.on_timer(wire.now))  # heartbeat, seq 2: lost
    wire.app("acc", "x")  # seq 3: lost
    wire.app("acc", "y")  # seq 4: reveals the gap
    request = [fields_of(r) for r in wire.sent["ini"] if fields_of(r)[35] == "2"]
    assert [(r[7], r[16]) for r in request] == [("2", "0")]
    resent = [fields_of(r) for r in wire.sent["acc"] if fields_of(r).get(43) == "Y"]
    assert [(r[35], r[34]) for r in resent] == [("4", "2"), ("8", "3"), ("8", "4")]
    assert (resent[0][36], resent[0][123]) == ("3", "Y")
    assert all(122 in r for r in resent)  # OrigSendingTime on every resend
    assert texts(wire.apps["ini"]) == ["x", "y"] and wire.ini.next_target_seq == 5
    assert wire.events["ini"].count("duplicate_ignored") == 1  # the resent y, already processed


def test_seq_too_low_without_possdup_logs_out() -> None:
    wire = pair()
    wire.connect()
    wire.acc.next_sender_seq = 1  # the acceptor forgot its numbers
    wire.app("acc", "again")
    assert "seq_too_low" in wire.events["ini"] and "ini" in wire.disconnected
    logout = fields_of(wire.sent["ini"][-1])
    assert logout[35] == "5" and "MsgSeqNum too low, expecting 2 but received 1" in logout[58]


def test_sequence_reset_modes_and_backwards_reset_is_rejected() -> None:
    wire = pair()
    wire.connect()
    reset = encode(begin_string="FIX.4.4", msg_type="4", seq=99, sender="VENUE", target="CLIENT",
                   sent_at="20240101-00:00:00.000", body=[(36, "10")])
    wire.run("acc", Output(outbound=[reset]))
    assert wire.ini.next_target_seq == 10 and "sequence_reset" in wire.events["ini"]
    back = encode(begin_string="FIX.4.4", msg_type="4", seq=10, sender="VENUE", target="CLIENT",
                  sent_at="20240101-00:00:00.000", body=[(36, "5")])
    wire.run("acc", Output(outbound=[back]))
    reject = fields_of(wire.sent["ini"][-1])
    assert reject[35] == "3" and reject[45] == "10" and reject[373] == "5"
    assert wire.ini.next_target_seq == 10


def test_reject_is_reported_and_compid_mismatch_is_refused() -> None:
    wire = pair()
    wire.connect()
    reject = encode(begin_string="FIX.4.4", msg_type="3", seq=2, sender="VENUE", target="CLIENT",
                    sent_at="20240101-00:00:00.000", body=[(45, "7"), (373, "1"), (58, "Required tag missing")])
    wire.run("acc", Output(outbound=[reject]))
    assert "reject_received" in wire.events["ini"] and wire.ini.next_target_seq == 3
    stranger = encode(begin_string="FIX.4.4", msg_type="0", seq=3, sender="OTHER", target="CLIENT",
                      sent_at="20240101-00:00:00.000", body=[])
    wire.run("acc", Output(outbound=[stranger]))
    assert [fields_of(r)[35] for r in wire.sent["ini"][-2:]] == ["3", "5"] and "ini" in wire.disconnected


def test_garbled_frame_is_ignored_without_consuming_a_number() -> None:
    wire = pair()
    wire.connect()
    out = wire.acc.send("8", [(58, "ok")], wire.now)
    good = out.outbound[0]
    broken = good[:-4] + b"000\x01" if not good.endswith(b"=000\x01") else good[:-4] + b"001\x01"
    result = wire.ini.on_data(broken, wire.now)
    assert [e.kind for e in result.events] == ["garbled"] and wire.ini.next_target_seq == 2
    assert [m.get(58) for m in wire.ini.on_data(good, wire.now).app_messages] == [b"ok"]


def test_first_message_must_be_a_logon() -> None:
    acc = FixSession(SessionConfig("VENUE", "CLIENT", initiator=False), MemorySequenceStore())
    acc.on_connected(T0)
    out = acc.on_data(encode(begin_string="FIX.4.4", msg_type="0", seq=1, sender="CLIENT", target="VENUE",
                             sent_at="20240101-00:00:00.000", body=[]), T0)
    assert out.disconnect and [e.kind for e in out.events] == ["protocol_error"]


def test_reset_on_logon_restarts_both_sides_at_one() -> None:
    ini_store, acc_store = MemorySequenceStore(), MemorySequenceStore()
    ini_store.save(40, 50)
    acc_store.save(50, 40)
    wire = pair(reset=True, ini_store=ini_store, acc_store=acc_store)
    wire.connect()
    logon = fields_of(wire.sent["ini"][0])
    answer = fields_of(wire.sent["acc"][0])
    assert (logon[34], logon[141], answer[34], answer[141]) == ("1", "Y", "1", "Y")
    assert wire.ini.state is SessionState.ACTIVE and (wire.ini.next_sender_seq, wire.ini.next_target_seq) == (2, 2)


def test_logon_hook_reproduces_the_binance_f1_logon_exactly() -> None:
    pem = "MC4CAQAwBQYDK2VwBCIEIIJEYWtGBrhACmb9Dvy+qa8WEf0lQOl1s4CLIAB9m89u"
    key = load_ed25519_key(f"-----BEGIN PRIVATE KEY-----\n{pem}\n-----END PRIVATE KEY-----\n")
    api_key = "sBRXrJx2DsOraMXOaUovEhgVRcjOvCtQwnWj8VxkOh1xqboS02SPGfKi2h8spZJb"

    def binance_logon(ctx: LogonContext) -> list[tuple[int, str]]:
        signature = ed25519_sign_b64(key, binance_fix_logon_payload(
            ctx.msg_type, ctx.sender_comp_id, ctx.target_comp_id, ctx.msg_seq_num, ctx.sending_time))
        return [(95, str(len(signature))), (96, signature), (553, api_key), (25035, "2")]

    session = FixSession(SessionConfig("EXAMPLE", "SPOT", reset_on_logon=True, logon_hook=binance_logon),
                         MemorySequenceStore())
    at = int(dt.datetime(2024, 6, 27, 11, 17, 25, 223000, tzinfo=dt.UTC).timestamp() * 1000) * 1_000_000
    [logon] = session.on_connected(at).outbound
    assert logon == LOGON.replace("|", "\x01").encode()  # spec/venues.md §1.10, 9=247 and 10=227


def test_property_15_every_message_is_logged_with_its_time_and_credentials_masked() -> None:
    log = MemoryFixLog()
    wire = pair(log=log)
    wire.connect()
    wire.now += 7
    wire.app("acc", "fill")
    wire.run("ini", wire.ini.send("D", [(11, "cid"), (553, "my-api-key")], wire.now))
    ins = [e for e in log.entries if e.direction == "IN"]
    outs = [e for e in log.entries if e.direction == "OUT"]
    assert len(outs) == len(wire.sent["ini"]) and len(ins) == len(wire.sent["acc"])
    assert [e.ts_ns for e in log.entries] == [T0, T0, T0 + 7, T0 + 7]
    assert all("\x01" not in e.text and e.text.startswith("8=FIX.4.4|9=") for e in log.entries)
    assert "553=***" in outs[-1].text and "my-api-key" not in outs[-1].text
    assert ins[-1].text == wire.sent["acc"][-1].decode().replace("\x01", "|")


def test_send_refuses_admin_types_and_inactive_sessions() -> None:
    wire = pair()
    with pytest.raises(RuntimeError, match="DISCONNECTED"):
        wire.ini.send("D", [], T0)
    wire.connect()
    with pytest.raises(ValueError, match="session message"):
        wire.ini.send("0", [], T0)


@pytest.mark.parametrize(("begin", "end", "stored", "plan"), [
    (1, 5, {}, [ResendItem(1, None, 6)]),
    (2, 6, {3: b"c", 4: b"d"}, [ResendItem(2, None, 3), ResendItem(3, b"c", 4), ResendItem(4, b"d", 5),
                                ResendItem(5, None, 7)]),
    (3, 3, {3: b"c"}, [ResendItem(3, b"c", 4)]),
    (5, 4, {}, []),
])
def test_resend_plan(begin: int, end: int, stored: dict[int, bytes], plan: list[ResendItem]) -> None:
    assert resend_plan(begin, end, stored) == plan


def test_parse_helpers() -> None:
    message = parse(b"8=FIX.4.4\x019=5\x0135=0\x0110=000\x01")
    assert get_str(message, 35) == "0" and get_int(message, 35) == 0 and get_int(message, 34) is None
