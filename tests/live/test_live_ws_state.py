"""live.ws.state without sockets: backoff schedule, subscription replay, buffer, heartbeat, rotation."""

from __future__ import annotations

import random
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from harness.clock import NS_PER_SECOND as S
from harness.errors import RetryPolicy
from harness.rng import SeededRng
from live.ws.state import BufferFullError, ConnectionState, LinkState, WsSettings


def test_default_backoff_is_1_2_4_8_capped_at_30_s() -> None:
    state = ConnectionState("market")
    delays = [state.dropped("refused") for _ in range(9)]
    assert delays == [1 * S, 2 * S, 4 * S, 8 * S, 16 * S, 30 * S, 30 * S, 30 * S, 30 * S]
    assert state.state is LinkState.BACKOFF and state.last_error == "refused"


def test_backoff_restarts_after_a_connection_opens() -> None:
    state = ConnectionState("market")
    state.dropped("a")
    state.dropped("b")
    state.opened(10)
    assert state.dropped("c") == 1 * S


def test_seeded_jitter_stays_within_bounds_and_replays() -> None:
    policy = RetryPolicy(initial_delay_ns=S, multiplier=Decimal(2), max_delay_ns=30 * S, max_retries=0,
                         jitter=Decimal("0.2"))

    def run() -> list[int]:
        state = ConnectionState("m", WsSettings(backoff=policy), SeededRng(7).stream("ws.market"))
        return [state.dropped("x") for _ in range(8)]

    first, second = run(), run()
    assert first == second
    for n, delay in enumerate(first):
        base = min(30 * S, S * 2**n)
        assert base * 8 // 10 <= delay <= min(30 * S, base * 12 // 10)
    assert first != [min(30 * S, S * 2**n) for n in range(8)]


@given(keys=st.lists(st.text(min_size=1, max_size=6), min_size=1, max_size=8, unique=True),
       sends=st.lists(st.text(max_size=6), max_size=8), drops=st.integers(1, 4))
def test_property_11_state_replays_every_subscription_then_the_buffer(keys: list[str], sends: list[str],
                                                                       drops: int) -> None:
    state = ConnectionState("market")
    for key in keys:
        assert not state.subscribe(key, f"sub:{key}")  # not open yet: registered, not sent
    first = state.opened(0)
    assert first == [f"sub:{k}" for k in keys]
    for n in range(drops):
        state.dropped("drop")
        assert state.state is LinkState.BACKOFF and not state.healthy
        for message in sends:
            assert not state.outgoing(message)
        replay = state.opened(n + 1)
        assert replay == [f"sub:{k}" for k in keys] + sends  # subscriptions first, then the buffer, in order
        assert state.buffered == 0 and state.healthy
    assert state.reconnects == drops


def test_subscribe_while_open_sends_now_and_unsubscribe_forgets() -> None:
    state = ConnectionState("market")
    state.opened(0)
    assert state.subscribe("a", "A1")
    assert state.subscribe("b", "B")
    assert state.subscribe("a", "A2")  # replaced, moved to the end
    both = state.subscriptions  # a name of its own: mypy would keep two items as the property's type below
    assert both == ("B", "A2")
    assert state.unsubscribe("b") and not state.unsubscribe("zzz")
    assert state.subscriptions == ("A2",)
    assert state.outgoing("now")  # open: no buffering


def test_buffer_is_bounded_and_requeue_puts_back_at_the_head() -> None:
    state = ConnectionState("market", WsSettings(buffer_limit=2))
    state.outgoing("1")
    state.outgoing("2")
    with pytest.raises(BufferFullError):
        state.outgoing("3")
    state.requeue("0")
    assert state.opened(5) == ["0", "1", "2"]


@given(sent=st.integers(0, 10**12), waited=st.integers(0, 30 * S), timeout=st.integers(1, 20 * S))
def test_property_12_ping_is_overdue_exactly_after_the_timeout(sent: int, waited: int, timeout: int) -> None:
    state = ConnectionState("m", WsSettings(ping_timeout_ns=timeout))
    state.opened(0)
    assert not state.ping_overdue(sent + waited)  # nothing outstanding
    state.ping_sent(sent)
    assert state.ping_overdue(sent + waited) is (waited >= timeout)
    state.pong_received()
    assert not state.ping_overdue(sent + waited) and state.healthy


def test_heartbeat_timeout_marks_unhealthy_once_until_reconnected() -> None:
    state = ConnectionState("m")
    state.opened(0)
    state.ping_sent(1)
    state.heartbeat_timeout()
    state.heartbeat_timeout()
    health = state.health()
    assert not health.healthy and health.heartbeat_timeouts == 1 and health.connected
    state.dropped("heartbeat timeout")
    state.opened(2)
    assert state.health().healthy and state.reconnects == 1


def test_rotation_is_due_at_max_age_and_restarts_on_rotation() -> None:
    state = ConnectionState("m", WsSettings(max_age_ns=100))
    assert state.rotation_due_at() is None
    state.opened(1_000)
    assert state.rotation_due_at() == 1_100
    state.subscribe("a", "A")
    assert state.rotated(1_100) == ["A"]
    assert state.rotation_due_at() == 1_200 and state.rotations == 1 and state.reconnects == 0
    assert ConnectionState("m", WsSettings(max_age_ns=None)).rotation_due_at() is None


def test_health_snapshot_tracks_messages() -> None:
    state = ConnectionState("user")
    state.opened(5)
    state.received(7)
    state.received(9)
    health = state.health()
    assert (health.name, health.messages, health.last_message_ns, health.connected_since_ns) == ("user", 2, 9, 5)
    state.closed()
    assert state.health().state is LinkState.CLOSED and not state.health().connected


@pytest.mark.parametrize("kw", [{"ping_interval_ns": 0}, {"ping_timeout_ns": -1}, {"max_age_ns": True},
                                {"buffer_limit": 0}])
def test_settings_validate(kw: dict[str, object]) -> None:
    with pytest.raises(ValueError):
        WsSettings(**kw)  # type: ignore[arg-type]


def test_rng_is_only_drawn_with_jitter() -> None:
    rng = random.Random(1)
    state = ConnectionState("m", WsSettings(), rng)
    before = rng.getstate()
    state.dropped("x")
    assert rng.getstate() == before
