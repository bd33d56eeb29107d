"""pybit with ``category="linear"`` against ``harness venue serve --profile bybit-linear`` (a process).

The local venue replays a synthetic tape as a USDT perpetual over Bybit v5 (credentials from
``BYBIT_API_KEY`` / ``BYBIT_API_SECRET``). pybit, Bybit's own client with its endpoints pointed
at it, sets the leverage (and hears 110043 when it is already set), places and cancels a limit
order, opens a position with a market order, reads it from ``/v5/position/list`` and closes it
reduce-only, and hears the ``position`` topic on its private WebSocket; the wallet shows the
margin account. Nothing is asserted against numbers the venue did not send first: the position's
entry price is the execution's price, its margin the position's ``positionIM``.
"""

from __future__ import annotations

import os
import signal
import time
from collections.abc import Callable
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from synthetic import write_tape
from test_paper_record import ROOT, _read_until, _start

ut = pytest.importorskip("pybit.unified_trading")
exceptions = pytest.importorskip("pybit.exceptions")

KEY, SECRET = "pybit-linear-key-0123456789", "pybit-linear-secret-0123456789abcdefghij"
S = "BTCUSDT"


def _wait(condition: Callable[[], bool], what: str, timeout_s: float = 30.0) -> None:
    deadline = time.monotonic() + timeout_s
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.02)


def test_pybit_trades_a_linear_perpetual_on_the_served_venue(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    write_tape(tmp_path / "data", "bybit", S, n=3000, seed=3)
    env = {**os.environ, "BYBIT_API_KEY": KEY, "BYBIT_API_SECRET": SECRET, "PYTHONPATH": str(ROOT)}
    venue = _start(["venue", "serve", "--profile", "bybit-linear", "--data", str(tmp_path / "data")], env)
    private: Any = None
    try:
        out: list[str] = []
        _read_until(venue, lambda lines: "local venue" in lines[-1], out)
        assert "category linear" in out[-1] and "/v5/public/linear" in out[-1], out[-1]
        url = out[-1].split(" on ", 1)[1].split(" ", 1)[0]
        ws = url.replace("http://", "ws://")
        monkeypatch.setattr(ut, "PUBLIC_WSS", f"{ws}/v5/public/{{CHANNEL_TYPE}}")
        monkeypatch.setattr(ut, "PRIVATE_WSS", f"{ws}/v5/private")
        session = ut.HTTP(testnet=True, api_key=KEY, api_secret=SECRET, max_retries=1)
        session.endpoint = url
        positions: list[dict[str, Any]] = []
        private = ut.WebSocket(testnet=True, channel_type="private", api_key=KEY, api_secret=SECRET)
        private.position_stream(lambda m: positions.extend(m["data"]))

        [instrument] = session.get_instruments_info(category="linear", symbol=S)["result"]["list"]
        assert (instrument["contractType"], instrument["settleCoin"]) == ("LinearPerpetual", "USDT")
        assert session.set_leverage(category="linear", symbol=S, buyLeverage="4", sellLeverage="4")["retCode"] == 0
        with pytest.raises(exceptions.InvalidRequestError) as unchanged:
            session.set_leverage(category="linear", symbol=S, buyLeverage="4", sellLeverage="4")
        assert unchanged.value.status_code == 110043

        _wait(lambda: session.get_tickers(category="linear", symbol=S)["result"]["list"][0]["bid1Price"] != "0",
              "the replay's first quote")
        placed = session.place_order(category="linear", symbol=S, side="Buy", orderType="Limit", qty="0.001",
                                     price="10000", orderLinkId="pybit-lin-1")
        assert placed["retCode"] == 0
        [resting] = session.get_open_orders(category="linear", symbol=S)["result"]["list"]
        assert (resting["orderLinkId"], resting["orderStatus"], resting["reduceOnly"]) == ("pybit-lin-1", "New", False)
        session.cancel_order(category="linear", symbol=S, orderLinkId="pybit-lin-1")
        assert session.get_open_orders(category="linear", symbol=S)["result"]["list"] == []

        session.place_order(category="linear", symbol=S, side="Buy", orderType="Market", qty="0.002",
                            orderLinkId="pybit-lin-2")
        executions = session.get_executions(category="linear", symbol=S)["result"]["list"]
        bought = [e for e in executions if e["orderLinkId"] == "pybit-lin-2"]
        assert bought and sum(Decimal(e["execQty"]) for e in bought) == Decimal("0.002")
        [row] = session.get_positions(category="linear", symbol=S)["result"]["list"]
        assert (row["side"], row["size"], row["leverage"], row["tradeMode"]) == ("Buy", "0.002", "4", 0)
        cost = sum(Decimal(e["execPrice"]) * Decimal(e["execQty"]) for e in bought)
        assert Decimal(row["avgPrice"]) == cost / Decimal("0.002")
        assert Decimal(row["positionIM"]) >= cost / 4
        [account] = session.get_wallet_balance(accountType="UNIFIED", coin="USDT")["result"]["list"]
        assert Decimal(account["coin"][0]["totalPositionIM"]) == Decimal(row["positionIM"])

        with pytest.raises(exceptions.InvalidRequestError) as too_much:
            session.place_order(category="linear", symbol=S, side="Sell", orderType="Market", qty="0.003",
                                reduceOnly=True, orderLinkId="pybit-lin-3")
        assert too_much.value.status_code == 110017
        session.place_order(category="linear", symbol=S, side="Sell", orderType="Market", qty="0.002",
                            reduceOnly=True, orderLinkId="pybit-lin-4")
        [flat] = session.get_positions(category="linear", symbol=S)["result"]["list"]
        assert (flat["side"], flat["size"]) == ("", "0")
        _wait(lambda: any(p["size"] == "0.002" for p in positions) and positions[-1]["size"] == "0",
              "the position pushes")
        assert all(p["symbol"] == S and p["category"] == "linear" for p in positions)
    finally:
        if private is not None:
            private.exit()
        venue.send_signal(signal.SIGINT)
        rest, _ = venue.communicate(timeout=30)
        assert SECRET not in rest
