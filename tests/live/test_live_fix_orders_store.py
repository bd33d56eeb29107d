"""live.fix.orders (Property 13: NewOrderSingle round trip) and live.fix.store (persisted numbers)."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from harness.contract import InvalidRequestError, NotSupportedError
from harness.model import OrderRequest, OrderType, Side, TimeInForce
from live.fix.framing import FrameReader
from live.fix.messages import encode, parse
from live.fix.orders import new_order_single, order_request_from_fix, parse_utc_timestamp
from live.fix.store import MemorySequenceStore, SqliteSequenceStore

NS_PER_MS = 1_000_000
decimals = st.decimals(min_value=Decimal("0.00000001"), max_value=Decimal("1000000"), places=8, allow_nan=False,
                       allow_infinity=False)
client_ids = st.text("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_", min_size=1, max_size=36)


@st.composite
def order_requests(draw: st.DrawFn) -> OrderRequest:
    order_type = draw(st.sampled_from([OrderType.MARKET, OrderType.LIMIT, OrderType.STOP_MARKET,
                                       OrderType.STOP_LIMIT]))
    tif = draw(st.sampled_from(list(TimeInForce)))
    return OrderRequest(
        client_order_id=draw(client_ids), venue="binance", symbol=draw(st.sampled_from(["BTCUSDT", "LTCBNB"])),
        side=draw(st.sampled_from(list(Side))), order_type=order_type, quantity=draw(decimals),
        price=draw(decimals) if order_type in (OrderType.LIMIT, OrderType.STOP_LIMIT) else None,
        stop_price=draw(decimals) if order_type in (OrderType.STOP_MARKET, OrderType.STOP_LIMIT) else None,
        time_in_force=tif,
        expire_at_ns=draw(st.integers(1_600_000_000_000, 2_000_000_000_000)) * NS_PER_MS
        if tif is TimeInForce.GTD else None,
        post_only=draw(st.booleans()), reduce_only=draw(st.booleans()))


@given(request=order_requests(), transact_ms=st.integers(1_600_000_000_000, 2_000_000_000_000))
def test_property_13_new_order_single_round_trip_preserves_the_order(request: OrderRequest, transact_ms: int) -> None:
    body = new_order_single(request, transact_time_ns=transact_ms * NS_PER_MS)
    raw = encode(begin_string="FIX.4.4", msg_type="D", seq=2, sender="CLIENT", target="SPOT",
                 sent_at="20240611-09:01:46.228", body=body)
    [frame] = FrameReader().feed(raw)
    assert frame.error is None
    back = order_request_from_fix(parse(frame.raw), venue="binance")
    assert back == request
    assert (back.client_order_id, back.side, back.quantity, back.price, back.order_type) == \
        (request.client_order_id, request.side, request.quantity, request.price, request.order_type)
    assert all("E" not in value.upper() for tag, value in body if tag in (38, 44, 99))  # plain decimals only


def test_new_order_single_fields_follow_fix44() -> None:
    request = OrderRequest("1718096506197867067", "binance", "LTCBNB", Side.BUY, OrderType.LIMIT, Decimal(5),
                           price=Decimal(10), time_in_force=TimeInForce.FOK)
    body = new_order_single(request, transact_time_ns=1_718_096_506_228 * NS_PER_MS)
    assert body == [(11, "1718096506197867067"), (55, "LTCBNB"), (54, "1"), (60, "20240611-09:01:46.228"),
                    (38, "5"), (40, "2"), (44, "10"), (59, "4")]


def test_unsupported_and_incomplete_orders_are_refused() -> None:
    base = OrderRequest("c", "binance", "BTCUSDT", Side.SELL, OrderType.TRAILING_STOP, Decimal(1))
    with pytest.raises(NotSupportedError):
        new_order_single(base, transact_time_ns=0)
    with pytest.raises(InvalidRequestError, match="price"):
        new_order_single(OrderRequest("c", "binance", "BTCUSDT", Side.SELL, OrderType.LIMIT, Decimal(1)),
                         transact_time_ns=0)
    with pytest.raises(InvalidRequestError, match="stop"):
        new_order_single(OrderRequest("c", "binance", "BTCUSDT", Side.SELL, OrderType.STOP_MARKET, Decimal(1)),
                         transact_time_ns=0)
    heartbeat = parse(encode(begin_string="FIX.4.4", msg_type="0", seq=1, sender="A", target="B",
                             sent_at="20240101-00:00:00.000", body=[]))
    with pytest.raises(InvalidRequestError, match="not a NewOrderSingle"):
        order_request_from_fix(heartbeat, venue="binance")
    missing = parse(encode(begin_string="FIX.4.4", msg_type="D", seq=1, sender="A", target="B",
                           sent_at="20240101-00:00:00.000", body=[(11, "c")]))
    with pytest.raises(InvalidRequestError, match="required"):
        order_request_from_fix(missing, venue="binance")


def test_parse_utc_timestamp() -> None:
    assert parse_utc_timestamp("20240611-09:01:46.228950") == 1_718_096_506_228_950_000
    assert parse_utc_timestamp("19700101-00:00:01") == 1_000_000_000
    with pytest.raises(ValueError):
        parse_utc_timestamp("20240611-09:01:46.x")


@pytest.mark.parametrize("kind", ["memory", "sqlite"])
def test_store_contract(kind: str, tmp_path: Path) -> None:
    store = MemorySequenceStore() if kind == "memory" else SqliteSequenceStore(tmp_path / "s.db", "CLIENT-VENUE")
    assert store.load() == (1, 1)
    store.save(5, 9)
    store.store_message(3, b"three")
    store.store_message(4, b"four")
    assert store.load() == (5, 9)
    assert store.messages(4, 10) == {4: b"four"} and store.messages(1, 3) == {3: b"three"}
    store.reset()
    assert store.load() == (1, 1) and store.messages(1, 10) == {}


def test_sqlite_store_survives_reopening_and_keeps_sessions_apart(tmp_path: Path) -> None:
    path = tmp_path / "seq.db"
    first = SqliteSequenceStore(path, "A")
    first.save(12, 7)
    first.store_message(11, b"eleven")
    first.close()
    again, other = SqliteSequenceStore(path, "A"), SqliteSequenceStore(path, "B")
    assert again.load() == (12, 7) and again.messages(1, 20) == {11: b"eleven"}
    assert other.load() == (1, 1) and other.messages(1, 20) == {}
