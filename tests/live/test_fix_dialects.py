"""The FIX dialects on their own: Binance's documented logon reproduced byte for byte (vector F1),
the verifier accepting it, and every writer read back by its reader (round trips, both dialects)."""

from __future__ import annotations

from decimal import Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from harness.model import Liquidity, OrderRequest, OrderStatus, OrderType, Side, TimeInForce
from harness.registry import Credentials
from live.fix import FixSession, MemorySequenceStore, SessionConfig, parse
from live.fix.dialects import (
    BINANCE_FIX,
    COINBASE_FIX,
    BusinessReject,
    CancelReject,
    ExecKind,
    ExecutionReport,
    FixDialect,
    FixFieldError,
    FixKey,
    LogonRefused,
    ReplaceRequest,
    ed25519_public_pem,
)
from live.fix.messages import encode
from live.fix.orders import parse_utc_timestamp

F1_PEM = ("-----BEGIN PRIVATE KEY-----\nMC4CAQAwBQYDK2VwBCIEIIJEYWtGBrhACmb9Dvy+qa8WEf0lQOl1s4CLIAB9m89u\n"
          "-----END PRIVATE KEY-----\n")
F1_KEY = "sBRXrJx2DsOraMXOaUovEhgVRcjOvCtQwnWj8VxkOh1xqboS02SPGfKi2h8spZJb"
F1 = ("8=FIX.4.4|9=247|35=A|34=1|49=EXAMPLE|52=20240627-11:17:25.223|56=SPOT|95=88|96=4MHXelVVcpkdwuLbl6n73HQUXUf1dse2"
      "PCgT1DYqW9w8AVZ1RACFGM+5UdlGPrQHrgtS3CvsRURC1oj73j8gCA==|98=0|108=30|141=Y|553=" + F1_KEY + "|25035=2|10=227|")


def test_our_binance_logon_is_the_documented_sample_byte_for_byte() -> None:
    credentials = Credentials(F1_KEY, F1_PEM)
    config = SessionConfig("EXAMPLE", "SPOT", heartbeat_interval_s=30, reset_on_logon=True,
                           logon_hook=lambda ctx: BINANCE_FIX.logon_fields(ctx, credentials))
    session = FixSession(config, MemorySequenceStore())
    out = session.on_connected(parse_utc_timestamp("20240627-11:17:25.223"))
    assert out.outbound == [F1.replace("|", "\x01").encode()]


def test_the_venue_accepts_the_documented_logon_and_refuses_it_altered() -> None:
    keys = {F1_KEY: FixKey(ed25519_public_pem(F1_PEM))}
    raw = F1.replace("|", "\x01").encode()
    assert BINANCE_FIX.verify_logon(parse(raw), keys, 0) == F1_KEY
    altered = parse(raw.replace(b"49=EXAMPLE", b"49=EXAMPLF"))
    with pytest.raises(LogonRefused, match="Signature"):
        BINANCE_FIX.verify_logon(altered, keys, 0)


def _roundtrip(dialect: FixDialect, msg_type: str, body: list[tuple[int, str]]) -> object:
    raw = encode(begin_string=dialect.begin_string, msg_type=msg_type, seq=2, sender=dialect.venue_comp_id,
                 target="C1", sent_at="20240101-00:00:00.000", body=body)
    return parse(raw)


decimals = st.decimals(min_value=Decimal("0.00000001"), max_value=Decimal(1_000_000), places=8)


@settings(max_examples=60, deadline=None)
@given(dialect=st.sampled_from([BINANCE_FIX, COINBASE_FIX]), kind=st.sampled_from(list(ExecKind)),
       status=st.sampled_from([OrderStatus.OPEN, OrderStatus.PARTIALLY_FILLED, OrderStatus.FILLED,
                               OrderStatus.CANCELLED, OrderStatus.EXPIRED, OrderStatus.REJECTED]),
       qty=decimals, cum=decimals, price=decimals, fee=decimals, trade_id=st.integers(1, 10**9),
       side=st.sampled_from(list(Side)), taker=st.booleans(),
       ts_us=st.integers(1_600_000_000_000_000, 1_900_000_000_000_000))
def test_every_execution_report_written_is_read_back(dialect: FixDialect, kind: ExecKind, status: OrderStatus,
                                                     qty: Decimal, cum: Decimal, price: Decimal, fee: Decimal,
                                                     trade_id: int, side: Side, taker: bool, ts_us: int) -> None:
    symbol = "BTCUSDT" if dialect is BINANCE_FIX else "BTC-USD"
    trade = kind is ExecKind.TRADE
    report = ExecutionReport(kind=kind, status=status, cl_ord_id="c-1", order_id="42", exec_id="7", symbol=symbol,
                             side=side, order_type=OrderType.LIMIT, quantity=qty, cum_qty=cum, leaves_qty=qty,
                             avg_px=price, price=price, ts_ns=ts_us * 1000, time_in_force=TimeInForce.IOC,
                             last_qty=cum if trade else Decimal(0), last_px=price if trade else Decimal(0),
                             fee=fee if trade else Decimal(0), fee_asset=("BTC" if dialect is BINANCE_FIX else "USD")
                             if trade else "", liquidity=(Liquidity.TAKER if taker else Liquidity.MAKER)
                             if trade else None, trade_id=trade_id if trade else None,
                             cum_quote=cum * price, text="why")
    back = dialect.read_execution(_roundtrip(dialect, "8", dialect.execution(report)))
    assert back == report


def test_orders_cancels_replaces_and_rejects_are_read_back() -> None:
    for dialect in (BINANCE_FIX, COINBASE_FIX):
        request = OrderRequest("o-1", "v", "BTCUSDT", Side.SELL, OrderType.LIMIT, Decimal("0.5"), price=Decimal(61000),
                               time_in_force=TimeInForce.FOK, post_only=True)
        msg_type, body = dialect.new_order(request, 1_700_000_000_000_000_000)
        assert msg_type == "D" and dialect.read_new_order(_roundtrip(dialect, msg_type, body), "v") == request
        msg_type, body = dialect.cancel("x-1", "o-1", "BTCUSDT", Side.SELL, 0)
        cancel = dialect.read_cancel(_roundtrip(dialect, msg_type, body))
        assert (cancel.cl_ord_id, cancel.orig_cl_ord_id, cancel.symbol) == ("x-1", "o-1", "BTCUSDT")
        change = ReplaceRequest("o-2", "o-1", "9", "BTCUSDT", Side.BUY, OrderType.LIMIT, Decimal(2), Decimal(1))
        msg_type, body = dialect.replace(change, 0)
        assert msg_type == ("XCN" if dialect is BINANCE_FIX else "G")
        assert dialect.read_replace(_roundtrip(dialect, msg_type, body)) == change
        reject = CancelReject("x-1", "o-1", "9", OrderStatus.FILLED, True, 0, "too late")
        assert dialect.read_cancel_reject(_roundtrip(dialect, "9", dialect.cancel_reject(reject))) == reject
        business = BusinessReject("Z", 3, "ref", 12, "no")
        assert dialect.read_business_reject(_roundtrip(dialect, "j", dialect.business_reject(business))) == business


def test_unusable_fields_are_named() -> None:
    body = [(11, "o"), (38, "1"), (40, "9"), (54, "1"), (55, "X")]
    with pytest.raises(FixFieldError) as bad:
        BINANCE_FIX.read_new_order(_roundtrip(BINANCE_FIX, "D", body), "v")
    assert bad.value.tag == 40 and bad.value.reason == 5
    with pytest.raises(FixFieldError) as missing:
        BINANCE_FIX.read_new_order(_roundtrip(BINANCE_FIX, "D", [(11, "o"), (40, "1"), (54, "1"), (55, "X")]), "v")
    assert missing.value.tag == 38 and missing.value.reason == 1
