"""live.ws over real sockets on 127.0.0.1: reconnect with backoff, resubscribe, buffer, heartbeat,
several connections monitored on their own, and a planned rotation without a message gap."""

from __future__ import annotations

import asyncio
import json
from decimal import Decimal

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from live_testing import FAST_BACKOFF, MS, ScaledClock, until
from live_ws_server import WsServer

from harness.alerts import AlertSink
from harness.clock import NS_PER_SECOND as S
from harness.clock import WallClock
from harness.health import ConnectionMonitor
from harness.model import VenueMode
from harness.registry import SandboxViolationError
from live.ws import WsConnection, WsEvent, WsPool, WsSettings

QUIET = WsSettings(ping_interval_ns=None, max_age_ns=None)  # no heartbeat, no rotation: the test drives faults


def subscribe_msg(stream: str, n: int) -> str:
    return json.dumps({"method": "SUBSCRIBE", "params": [stream], "id": n})


def test_property_11_backoff_schedule_then_subscriptions_and_buffer_are_replayed() -> None:
    async def main() -> None:
        server = WsServer()
        await server.start()
        events: list[WsEvent] = []
        got: list[str | bytes] = []
        conn = WsConnection("market", server.url(), clock=ScaledClock(), on_message=got.append, settings=QUIET,
                            listeners=(events.append,))
        await conn.start()
        await conn.subscribe("btc", subscribe_msg("btcusdt@trade", 1))
        await until(lambda: server.open_peers() and server.open_peers()[0].subscribed, "first subscription")
        await server.stop()  # the venue goes away: the drop, then refused attempts
        await until(lambda: sum(e.kind == "backoff" for e in events) >= 7, "seven backoffs")
        assert not conn.health().connected
        assert (await conn.send("hello-1"), await conn.send("hello-2")) == (False, False)  # buffered
        assert conn.health().buffered == 2
        await server.start()  # same port
        await until(lambda: server.open_peers() and len(server.open_peers()[0].received) >= 3, "replay")
        delays = [e.delay_ns for e in events if e.kind == "backoff"][:7]
        assert delays == [1 * S, 2 * S, 4 * S, 8 * S, 16 * S, 30 * S, 30 * S]
        assert server.open_peers()[0].received == [subscribe_msg("btcusdt@trade", 1), "hello-1", "hello-2"]
        health = conn.health()
        assert health.connected and health.healthy and health.reconnects == 1 and health.buffered == 0
        kinds = [e.kind for e in events]
        assert kinds[:3] == ["connected", "disconnected", "backoff"] and kinds[-1] == "reconnected"
        await conn.close()
        await server.stop()

    asyncio.run(main())


@settings(max_examples=8, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(streams=st.lists(st.sampled_from(["btcusdt@trade", "ethusdt@depth", "bnbusdt@bookTicker", "x@kline_1m"]),
                        min_size=1, max_size=4, unique=True), drops=st.integers(1, 3))
def test_property_11_every_subscription_is_restored_after_each_server_side_drop(streams: list[str],
                                                                                 drops: int) -> None:
    async def main() -> None:
        server = WsServer()
        await server.start()
        got: list[str | bytes] = []
        conn = WsConnection("market", server.url(), clock=ScaledClock(), on_message=got.append, settings=QUIET)
        await conn.start()
        for n, stream in enumerate(streams):
            await conn.subscribe(stream, subscribe_msg(stream, n))
        for round_ in range(drops + 1):
            def restored(connections: int = round_ + 1) -> bool:
                return len(server.peers) == connections and server.peers[-1].subscribed == streams

            await until(restored, "all subscriptions on the new connection")
            await server.tick()
            await until(lambda: any(json.loads(m).get("seq") == server.seq for m in got), "a message after it")
            if round_ < drops:
                server.drop()
        assert conn.health().reconnects == drops
        assert [p.subscribed for p in server.peers] == [streams] * (drops + 1)
        await conn.close()
        await server.stop()

    asyncio.run(main())


def test_property_12_heartbeat_timeout_marks_unhealthy_and_reconnects() -> None:
    async def main() -> None:
        server = WsServer()
        await server.start()
        server.deaf_connections = 1  # the first connection never reads, so never pongs
        # a generous timeout: the deaf link always times out, a loopback pong never takes a second
        seen: list[tuple[str, bool]] = []
        conn: WsConnection

        def on_event(event: WsEvent) -> None:
            seen.append((event.kind, conn.health().healthy))

        conn = WsConnection("user", server.url(), clock=WallClock(), on_message=lambda m: None,
                            settings=WsSettings(ping_interval_ns=20 * MS, ping_timeout_ns=1 * S, max_age_ns=None,
                                                backoff=FAST_BACKOFF), listeners=(on_event,))
        await conn.start()
        await until(lambda: conn.health().reconnects == 1, "reconnect after the heartbeat timeout")
        assert ("heartbeat_timeout", False) in seen  # unhealthy when the timeout was noticed
        await until(lambda: conn.health().pongs >= 3, "pongs on the second connection", 30)
        health = conn.health()
        assert health.healthy and health.heartbeat_timeouts == 1 and health.reconnects == 1
        assert health.pings >= health.pongs >= 3
        assert [k for k, _ in seen][:4] == ["connected", "heartbeat_timeout", "disconnected", "backoff"]
        await conn.close()
        await server.stop()

    asyncio.run(main())


@settings(max_examples=6, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(n=st.integers(2, 4), data=st.data())
def test_property_12a_concurrent_connections_are_monitored_independently(n: int, data: st.DataObject) -> None:
    dropped = data.draw(st.sets(st.integers(0, n - 1), min_size=1, max_size=n - 1))

    async def main() -> None:
        server = WsServer()
        await server.start()
        clock = WallClock()
        monitor = ConnectionMonitor(clock, AlertSink(), latency_threshold_ns=S, error_rate_threshold=Decimal(1))
        pool = WsPool("binance", monitor=monitor)
        names = ["market", "user", "api", "depth"][:n]
        for index, name in enumerate(names):
            pool.add(WsConnection(name, server.url(f"/ws/{index}"), clock=clock, on_message=lambda m: None,
                                  settings=WsSettings(ping_interval_ns=None, max_age_ns=None, backoff=FAST_BACKOFF)))
        await pool.start()
        for index, name in enumerate(names):
            await pool[name].subscribe("s", subscribe_msg(f"s{index}", index))
        await until(lambda: all(server.open_peers(f"/ws/{i}") and server.open_peers(f"/ws/{i}")[0].subscribed
                                for i in range(n)), "all connections subscribed")
        for index in dropped:
            server.drop(f"/ws/{index}")
        await until(lambda: all(pool[names[i]].health().reconnects == 1 and pool[names[i]].health().connected
                                for i in dropped), "dropped connections back")
        await server.tick()
        await until(lambda: all(c.health().messages >= 2 for c in pool), "a message on every connection")
        health = pool.health()
        for index, name in enumerate(names):
            expected = 1 if index in dropped else 0
            assert health[name].reconnects == expected and health[name].connected and health[name].healthy
            assert len(server.peers_on(f"/ws/{index}")) == expected + 1
        assert {m.connection: m.reconnects for m in monitor.metrics("binance")} == \
            {name: (1 if i in dropped else 0) for i, name in enumerate(names)}
        await pool.close()
        assert not any(m.connected for m in monitor.metrics("binance"))
        await server.stop()

    asyncio.run(main())


def test_planned_rotation_opens_the_replacement_first_and_loses_no_message() -> None:
    async def main() -> None:
        server = WsServer()
        await server.start()
        seqs: list[int] = []
        events: list[WsEvent] = []

        def on_message(message: str | bytes) -> None:
            data = json.loads(message)
            if "seq" in data:
                seqs.append(data["seq"])

        conn = WsConnection("market", server.url(), clock=WallClock(), on_message=on_message,
                            settings=WsSettings(ping_interval_ns=None, max_age_ns=150 * MS, rotation_overlap_ns=2 * S,
                                                backoff=FAST_BACKOFF), listeners=(events.append,))
        await conn.start()
        await conn.subscribe("btc", subscribe_msg("btcusdt@aggTrade", 1))
        server.tick_every(0.002)
        await until(lambda: conn.health().rotations >= 2, "two rotations")
        mark = server.seq
        await until(lambda: seqs and seqs[-1] >= mark + 20, "messages after the rotations")
        await conn.close()
        await server.stop()
        first = seqs[0]
        assert set(range(first, seqs[-1] + 1)) <= set(seqs)  # no gap (duplicates of the overlap allowed)
        health = conn.health()
        assert health.reconnects == 0 and health.rotations >= 2
        assert all(p.subscribed == ["btcusdt@aggTrade"] for p in server.peers)
        kinds = [e.kind for e in events]
        assert "disconnected" not in kinds and kinds.count("rotated") == health.rotations

    asyncio.run(main())


def test_sandbox_connection_refuses_a_production_stream_host() -> None:
    try:
        WsConnection("m", "wss://stream.binance.com:9443/ws", clock=WallClock(), on_message=lambda m: None,
                     mode=VenueMode.SANDBOX)
    except SandboxViolationError:
        return
    raise AssertionError("a SANDBOX connection accepted a production host")


def test_a_failing_message_handler_is_counted_and_the_stream_goes_on() -> None:
    async def main() -> None:
        server = WsServer()
        await server.start()
        good: list[str | bytes] = []

        def handler(message: str | bytes) -> None:
            if "boom" in str(message):
                raise ValueError("cannot parse")
            good.append(message)

        conn = WsConnection("m", server.url(), clock=WallClock(), on_message=handler, settings=QUIET)
        await conn.start()
        await conn.subscribe("a", subscribe_msg("a", 1))
        await until(lambda: server.open_peers() and server.open_peers()[0].subscribed, "subscribed")
        peer = server.open_peers()[0]
        await peer.ws.send("boom")
        await peer.ws.send('{"seq": 99}')
        await until(lambda: any("99" in str(m) for m in good), "the message after the bad one")
        assert conn.health().handler_errors == 1 and conn.health().reconnects == 0
        await conn.close()
        await server.stop()

    asyncio.run(main())
