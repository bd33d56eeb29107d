"""live.fix.framing against spec/fix_framing_vectors.py, independently of simplefix; and our encoder."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st
from live_fix_samples import API_KEY, EXEC_REPORT, LOGON, NEW_ORDER, SIG

from live.fix.framing import FrameReader, body_length, checksum, to_text, verify
from live.fix.messages import encode, parse


def wire(text: str) -> bytes:
    return text.replace("|", "\x01").encode()


def test_logon_sample_is_consistent() -> None:
    raw = wire(LOGON)
    assert body_length(raw) == 247
    assert checksum(raw[: raw.rindex(b"10=")]) == 227
    assert verify(raw) is None


def test_d_and_8_samples_have_right_length_but_a_checksum_off_by_32() -> None:
    # the vectors file prints: D "doc 10= 016 calc 048", 8 "doc 10= 095 calc 127"
    for text, length, documented, actual in ((NEW_ORDER, 114, 16, 48), (EXEC_REPORT, 330, 95, 127)):
        raw = wire(text)
        assert body_length(raw) == length
        assert checksum(raw[: raw.rindex(b"10=")]) == actual == documented + 32
        assert verify(raw) == f"CheckSum {documented:03d} but the bytes sum to {actual:03d}"
        fixed = raw[: raw.rindex(b"10=")] + f"10={actual:03d}\x01".encode()
        assert verify(fixed) is None


def test_our_encoder_reproduces_the_logon_sample_byte_for_byte() -> None:
    body = [(95, "88"), (96, SIG), (98, "0"), (108, "30"), (141, "Y"), (553, API_KEY), (25035, "2")]
    raw = encode(begin_string="FIX.4.4", msg_type="A", seq=1, sender="EXAMPLE", target="SPOT",
                 sent_at="20240627-11:17:25.223", body=body)
    assert raw == wire(LOGON)


def test_zero_padded_body_length_is_tolerated() -> None:
    body = b"35=0\x0134=2\x0149=SPOT\x0152=20240611-09:01:46.228\x0156=X\x01"
    head = b"8=FIX.4.4\x019=" + f"{len(body):07d}".encode() + b"\x01"
    raw = head + body + f"10={checksum(head + body):03d}\x01".encode()
    assert b"9=00000" in raw and verify(raw) is None
    [frame] = FrameReader().feed(raw)
    assert frame.error is None and frame.raw == raw


def test_reader_reports_a_bad_frame_and_keeps_the_next_one() -> None:
    bad = wire(NEW_ORDER)  # its documented checksum is wrong
    good = wire(LOGON)
    frames = FrameReader().feed(b"noise" + bad + good)
    assert [f.error is None for f in frames] == [False, True]
    assert frames[1].raw == good


def test_reader_skips_a_body_length_that_points_nowhere() -> None:
    broken = wire(LOGON).replace(b"9=247", b"9=240")
    frames = FrameReader().feed(broken + wire(LOGON))
    assert frames[0].error is not None and frames[-1].raw == wire(LOGON) and frames[-1].error is None


# tags 5000-9999 hold no raw-data length tag (simplefix would read the value as a length)
fields = st.lists(st.tuples(st.integers(5000, 9999), st.text("abcdefghij0123456789.-:=", min_size=1, max_size=20)),
                  max_size=8)


@given(bodies=st.lists(fields, min_size=1, max_size=4), cuts=st.lists(st.integers(0, 2000), max_size=6))
def test_simplefix_encoding_agrees_with_our_framing_and_survives_any_split(bodies: list[list[tuple[int, str]]],
                                                                         cuts: list[int]) -> None:
    messages = [encode(begin_string="FIX.4.4", msg_type="0", seq=n + 1, sender="A", target="B",
                       sent_at="20240101-00:00:00.000", body=body) for n, body in enumerate(bodies)]
    for raw in messages:
        assert verify(raw) is None
        stated = int(raw.split(b"\x01")[1][2:])
        assert stated == body_length(raw)
        assert parse(raw).get(34) is not None
    stream = b"".join(messages)
    reader, frames, last = FrameReader(), [], 0
    for cut in sorted(c % (len(stream) + 1) for c in cuts):
        frames += reader.feed(stream[last:cut])
        last = cut
    frames += reader.feed(stream[last:])
    assert [f.raw for f in frames] == messages and all(f.error is None for f in frames)


def test_to_text_shows_soh_as_pipe() -> None:
    assert to_text(wire(LOGON)) == LOGON
