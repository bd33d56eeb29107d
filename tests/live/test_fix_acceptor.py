"""The local venue's FIX acceptor over a real socket, checked without simplefix: framing of every
message it sends, logon signatures, order entry, resend and gap fill, drop copy, malformed input."""

from __future__ import annotations

import asyncio
from decimal import Decimal

from fix_venue_helpers import FIX_KEY, FIX_PEM, OTHER_PEM, check_frame, fix_adapter, fix_venue
from raw_fix_client import RawFixClient

from harness.model import OrderRequest, OrderStatus, OrderType, Side
from harness.registry import Credentials
from live.fix.dialects import BINANCE_FIX
from live.fix.order_entry import FixEndpoint, FixOrderEntry
from live.serve import LocalVenue

F1 = ("8=FIX.4.4|9=247|35=A|34=1|49=EXAMPLE|52=20240627-11:17:25.223|56=SPOT|95=88|96=4MHXelVVcpkdwuLbl6n73HQUXUf1dse2"
      "PCgT1DYqW9w8AVZ1RACFGM+5UdlGPrQHrgtS3CvsRURC1oj73j8gCA==|98=0|108=30|141=Y|553=sBRXrJx2DsOraMXOaUovEhgVRcjOvCtQwn"
      "Wj8VxkOh1xqboS02SPGfKi2h8spZJb|25035=2|10=227|")
BROKEN_D = "8=FIX.4.4|9=114|35=D|34=2|49=qNXO12fH|52=20240611-09:01:46.228|56=SPOT|11=1718096506197867067|38=5|40=2|" \
           "44=10|54=1|55=LTCBNB|59=4|10=016|"  # a documented sample off by 32 (spec/fix_framing_vectors.py)



async def _logged_on(venue: LocalVenue) -> RawFixClient:
    """A raw client on the venue's order-entry port, logged on with the test key (the venue's Logon read)."""
    assert venue.fix is not None
    client = await RawFixClient.connect(venue.fix.port)
    client.logon_binance(FIX_KEY, FIX_PEM, venue.clock.now_ns())
    await client.read_until(lambda f: f[35] == "A")
    return client

def test_our_parser_holds_the_documented_vectors() -> None:
    """The checker used on the acceptor agrees with spec/fix_framing_vectors.py: F1 is consistent, D is not."""
    fields = check_frame(F1.replace("|", "\x01").encode())
    assert fields[9] == "247" and fields[10] == "227" and fields[553].startswith("sBRX")
    try:
        check_frame(BROKEN_D.replace("|", "\x01").encode())
    except AssertionError:
        pass
    else:
        raise AssertionError("the inconsistent D sample must fail the check")


def _order(coid: str, side: str, qty: str, ord_type: str = "2", price: str = "59999") -> list[tuple[int, str]]:
    fields = [(11, coid), (38, qty), (40, ord_type), (54, side), (55, "BTCUSDT")]
    if ord_type == "2":
        fields += [(44, price), (59, "1")]
    return sorted(fields)


def test_logon_order_entry_and_every_message_framed_by_the_standard() -> None:
    async def main() -> None:
        async with fix_venue() as venue:
            assert venue.fix is not None
            now = venue.clock.now_ns
            client = await RawFixClient.connect(venue.fix.port)
            client.logon_binance(FIX_KEY, FIX_PEM, now())
            logon = await client.read_until(lambda f: f[35] == "A")
            assert logon[49] == "SPOT" and logon[56] == "RAW1" and logon[34] == "1" and logon[98] == "0"
            assert logon[108] == "30" and logon[141] == "Y" and len(logon[25037]) == 36
            client.send("D", _order("raw-1", "1", "0.01"), now())
            new = await client.read_until(lambda f: f[35] == "8" and f[11] == "raw-1")
            assert (new[150], new[39], new[14], new[151], new[636]) == ("0", "0", "0", "0.01", "Y")
            client.send("D", _order("raw-2", "1", "0.01", ord_type="1"), now())
            first = await client.read_until(lambda f: f[35] == "8" and f[11] == "raw-2")
            trade = await client.read_until(lambda f: f[35] == "8" and f[11] == "raw-2")
            assert first[150] == "0" and (trade[150], trade[39], trade[1057]) == ("F", "2", "Y")
            assert Decimal(trade[31]) == Decimal("60000.10") and Decimal(trade[32]) == Decimal("0.01")
            assert trade[138] == "BTC" and Decimal(trade[137]) > 0 and trade[1003] == "1"
            client.send("F", [(11, "cxl-1"), (41, "raw-1"), (55, "BTCUSDT")], now())
            cancelled = await client.read_until(lambda f: f[35] == "8" and f[11] == "cxl-1")
            assert (cancelled[150], cancelled[39], cancelled[41]) == ("4", "4", "raw-1")
            client.send("F", [(11, "cxl-2"), (41, "raw-1"), (55, "BTCUSDT")], now())
            too_late = await client.read_until(lambda f: f[35] == "9")
            assert (too_late[11], too_late[434], too_late[102]) == ("cxl-2", "1", "0")
            client.send("D", _order("raw-3", "1", "0.01", price="59999.001"), now())
            rejected = await client.read_until(lambda f: f[35] == "8" and f[11] == "raw-3")
            assert (rejected[150], rejected[39], rejected[25016]) == ("8", "8", "-1013") and "PRICE" in rejected[58]
            client.send("5", [], now())
            await client.read_until(lambda f: f[35] == "5")
            assert await client.closed()
            assert len(client.raw) == 8  # A, New, New, Trade, Canceled, cancel reject, Rejected, Logout
            for raw in client.raw:  # header order as Binance's client samples: 8, 9, 35, 34, 49, 52, 56
                tags = [int(p.split(b"=")[0]) for p in raw.split(b"\x01")[:7]]
                assert tags == [8, 9, 35, 34, 49, 52, 56]
            seqs = [int(check_frame(raw)[34]) for raw in client.raw]
            assert seqs == list(range(1, len(seqs) + 1))

    asyncio.run(main())


def test_a_logon_with_a_bad_signature_or_unknown_key_is_refused_with_a_logout() -> None:
    async def main() -> None:
        async with fix_venue() as venue:
            assert venue.fix is not None
            for key, pem, extra, reason in ((FIX_KEY, OTHER_PEM, {}, "Signature"),
                                            ("no-such-key", FIX_PEM, {}, "API-key"),
                                            (FIX_KEY, FIX_PEM, {"t141": ""}, "141")):
                client = await RawFixClient.connect(venue.fix.port)
                client.logon_binance(key, pem, venue.clock.now_ns(), **extra)
                logout = await client.read_until(lambda f: f[35] == "5")
                assert reason in logout[58]
                assert await client.closed()
            assert not venue.venue.orders and len(venue.fix.refusals) == 3

    asyncio.run(main())


def test_resend_request_is_answered_with_possdup_resends_and_gap_fills_over_a_socket() -> None:
    async def main() -> None:
        async with fix_venue() as venue:
            assert venue.fix is not None
            now = venue.clock.now_ns
            client = await _logged_on(venue)  # venue seq 1
            client.send("1", [(112, "probe")], now())
            await client.read_until(lambda f: f[35] == "0" and f.get(112) == "probe")  # venue seq 2 (admin)
            for i in range(3):
                client.send("D", _order(f"gap-{i}", "1", "0.01", price=str(59990 - i)), now())
            reports = [await client.read_until(lambda f, i=i: f[35] == "8" and f[11] == f"gap-{i}") for i in range(3)]
            assert [int(r[34]) for r in reports] == [3, 4, 5]
            # the client "lost" everything from 2 on: it asks for it again
            client.send("2", [(7, "2"), (16, "0")], now())
            gap_fill = await client.read_until(lambda f: f[35] == "4")
            assert (gap_fill[34], gap_fill[36], gap_fill[123], gap_fill[43]) == ("2", "3", "Y", "Y")
            resent = [await client.read_until(lambda f: f[35] == "8" and f.get(43) == "Y") for _ in range(3)]
            assert [r[34] for r in resent] == ["3", "4", "5"] and [r[11] for r in resent] == ["gap-0", "gap-1", "gap-2"]
            assert all(r[122] and r[17] == o[17] for r, o in zip(resent, reports, strict=True))
            client.send("1", [(112, "after")], now())
            after = await client.read_until(lambda f: f[35] == "0" and f.get(112) == "after")
            assert after[34] == "6"  # resends reuse their numbers; the sequence goes on from 6
            await client.close()

    asyncio.run(main())


def test_malformed_messages_get_a_reject_and_never_break_the_session() -> None:
    async def main() -> None:
        async with fix_venue() as venue:
            assert venue.fix is not None
            now = venue.clock.now_ns
            client = await _logged_on(venue)
            seq = client.send("D", [(11, "bad-1"), (38, "0.01"), (40, "2"), (44, "59999"), (54, "1")], now())
            missing = await client.read_until(lambda f: f[35] == "3")
            assert (missing[45], missing[371], missing[372], missing[373]) == (str(seq), "55", "D", "1")
            client.send("D", _order("bad-2", "1", "lots"), now())
            bad_value = await client.read_until(lambda f: f[35] == "3")
            assert (bad_value[371], bad_value[373]) == ("38", "5")
            client.send("D", _order("bad-3", "7", "0.01"), now())
            assert (await client.read_until(lambda f: f[35] == "3"))[371] == "54"
            client.send("Z", [(58, "what is this")], now())
            unsupported = await client.read_until(lambda f: f[35] == "j")
            assert (unsupported[372], unsupported[380]) == ("Z", "3")
            client.writer.write(b"8=FIX.4.4\x019=5\x0135=0\x0110=000\x01garbage")  # garbled: ignored
            client.send("1", [(112, "alive")], now())
            alive = await client.read_until(lambda f: f[35] == "0" and f.get(112) == "alive")
            assert alive[35] == "0" and not venue.venue.orders
            await client.close()

    asyncio.run(main())


def test_drop_copy_sessions_get_every_execution_and_place_nothing() -> None:
    async def main() -> None:
        async with fix_venue() as venue:
            assert venue.fix is not None
            now = venue.clock.now_ns
            copy = await RawFixClient.connect(venue.fix.drop_copy_port, sender="DC1")
            copy.logon_binance(FIX_KEY, FIX_PEM, now())
            await copy.read_until(lambda f: f[35] == "A")
            client = await _logged_on(venue)
            client.send("D", _order("dc-1", "2", "0.02", ord_type="1"), now())
            copied = [await copy.read_until(lambda f: f[35] == "8" and f[11] == "dc-1") for _ in range(2)]
            assert [c[150] for c in copied] == ["0", "F"] and copied[1][39] == "2"
            copy.send("D", _order("dc-2", "1", "0.01"), now())
            refused = await copy.read_until(lambda f: f[35] == "j")
            assert refused[380] == "4" and "dc-2" not in venue.venue.orders
            await client.close()
            await copy.close()

    asyncio.run(main())


def test_binance_xcn_cancels_the_order_and_places_the_new_one() -> None:
    async def main() -> None:
        async with fix_venue() as venue:
            assert venue.fix is not None
            now = venue.clock.now_ns
            client = await _logged_on(venue)
            client.send("D", _order("old-1", "1", "0.01", price="59990"), now())
            await client.read_until(lambda f: f[35] == "8" and f[11] == "old-1")
            client.send("XCN", [*_order("new-1", "1", "0.02", price="59991"), (41, "old-1"), (25033, "1"),
                                (25034, "cxl-old-1")], now())
            cancelled = await client.read_until(lambda f: f[35] == "8" and f[150] == "4")
            placed = await client.read_until(lambda f: f[35] == "8" and f[11] == "new-1")
            assert (cancelled[11], cancelled[41]) == ("cxl-old-1", "old-1") and placed[150] == "0"
            assert venue.venue.orders["old-1"].status is OrderStatus.CANCELLED
            assert venue.venue.orders["new-1"].request.price == Decimal(59991)
            client.send("XCN", [*_order("new-2", "1", "0.02"), (41, "no-such"), (25033, "1")], now())
            reject = await client.read_until(lambda f: f[35] == "9")
            assert (reject[434], reject[102]) == ("2", "1")
            await client.close()

    asyncio.run(main())


def test_a_connection_that_never_logs_on_is_closed_and_junk_before_a_logon_refused() -> None:
    async def main() -> None:
        async with fix_venue(speed=20) as venue:
            assert venue.fix is not None
            silent = await RawFixClient.connect(venue.fix.port)
            assert await silent.closed(timeout_s=30)  # 10 s of venue time without a Logon
            assert "no Logon in time" in check_frame(silent.raw[-1])[58]
            noisy = await RawFixClient.connect(venue.fix.port)
            noisy.writer.write(b"x" * 70_000)
            assert await noisy.closed()
            assert venue.fix.refusals[-1].startswith("no Logon in the first")
            assert "secret" not in repr(venue.fix.keys) and "BEGIN PUBLIC KEY" not in repr(venue.fix.keys)

    asyncio.run(main())


def test_a_drop_copy_client_session_copies_what_the_order_entry_session_did() -> None:
    async def main() -> None:
        async with fix_venue(speed=20) as venue:
            assert venue.fix is not None
            copy = FixOrderEntry(BINANCE_FIX, Credentials(FIX_KEY, FIX_PEM),
                                 FixEndpoint("127.0.0.1", venue.fix.drop_copy_port, "DCOPY"), venue.clock,
                                 venue="binance", role="drop_copy")
            await copy.start()
            adapter = fix_adapter(venue)
            await adapter.connect()
            try:
                await adapter.submit_order(OrderRequest("dcx-1", "binance", "BTCUSDT", Side.SELL, OrderType.MARKET,
                                                        Decimal("0.01")))
                await adapter.sync_streams()
                assert await copy.round_trip()
                mine = [(r.exec_id, r.kind) for r in adapter.fix.reports]
                assert mine and [(r.exec_id, r.kind) for r in copy.reports] == mine
            finally:
                await adapter.disconnect()
                await copy.stop()

    asyncio.run(main())


def test_values_the_venue_cannot_take_are_refused_and_the_session_lives_on() -> None:
    async def main() -> None:
        async with fix_venue() as venue:
            assert venue.fix is not None
            now = venue.clock.now_ns
            client = await _logged_on(venue)
            for i, (qty, price) in enumerate((("1E+400", "59999"), ("0.01", "1E+400"), ("-1", "59999"),
                                              ("0.01", "NaN"), ("0.01", "59999.000000000000000001"))):
                client.send("D", _order(f"odd-{i}", "1", qty, price=price), now())
                answer = await client.read_until(lambda f: f[35] in ("3", "j", "8"))
                assert answer[35] in ("3", "j") or answer[150] == "8", answer
            client.send("1", [(112, "still-here")], now())
            assert (await client.read_until(lambda f: f[35] == "0"))[112] == "still-here"
            assert not [o for o in venue.venue.orders if o.startswith("odd-")]
            await client.close()

    asyncio.run(main())
