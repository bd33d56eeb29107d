"""Run outputs stay byte-for-byte what they were: the demo's run and a replay on each venue profile.

Each case replays known data with a fixed seed and compares the content digest of its run
directory (``tests/run_digest.py``: every table's rows and the journal) with the digest kept in
``tests/golden/run_digests.json``. A restructuring or an optimisation must leave them unchanged;
a change that alters results on purpose updates the file (``UPDATE_GOLDEN=1 pytest
tests/test_run_digests.py``) and says in its commit message which tables changed and why.
"""

from __future__ import annotations

import json
import os
from decimal import Decimal
from pathlib import Path

import pytest
from run_digest import run_digest
from synthetic import write_tape

from scenarios.demo import DEMO_STRATEGY, import_sample
from scenarios.replay import VenueSetup, run_replay
from sim.venue.matching.types import DepthMode

GOLDEN = Path(__file__).parent / "golden" / "run_digests.json"
MM = "strategies.market_maker:PassiveMarketMaker"
PROFILE_SYMBOLS = {"binance": "BTCUSDT", "okx": "BTC-USDT", "bybit": "BTCUSDT", "bsdex": "BTC/EUR",
                   "coinbase": "BTC-USD", "kraken": "XBT/EUR", "bison": "BTC/EUR", "finoa": "BTC/EUR"}
"""Every shipped profile, each replayed in its own symbol."""
FIRST_BALANCES = {"USDT": Decimal(100_000), "BTC": Decimal(1), "ETH": Decimal(10)}
"""The replay's default account before defaults came from the profile: the cases that set it (and
BOOK depth) explicitly keep the digests taken before the restructuring of the simulated world
(the EUR and USD venues have no quote balance in it and only sell what BTC it holds)."""
PROFILE_PARAMS = {"bsdex": {"min_requote_ms": "1000"}}
"""Per-profile market-maker parameters: bsdex allows 10 requests a second, which quotes and
cancels every 500 ms a side (the default) would exceed."""


def _check(case: str, run_dir: Path) -> None:
    golden = json.loads(GOLDEN.read_text()) if GOLDEN.exists() else {}
    got = run_digest(run_dir)
    if os.environ.get("UPDATE_GOLDEN"):
        golden[case] = got
        GOLDEN.write_text(json.dumps(golden, indent=1, sort_keys=True) + "\n")
        return
    assert case in golden, f"no golden digest for {case}; run with UPDATE_GOLDEN=1 once"
    changed = {name: (golden[case].get(name), digest) for name, digest in got.items()
               if golden[case].get(name) != digest}
    missing = sorted(set(golden[case]) - set(got))
    assert not changed and not missing, f"{case}: changed {changed}, missing {missing}"


@pytest.mark.parametrize("case", ["demo", "demo-first-balances"])
def test_demo_run_is_unchanged(case: str, tmp_path: Path) -> None:
    results = import_sample(tmp_path / "demo-data")
    files = [r.outputs[kind] for r in results for kind in ("book", "quotes", "trades") if kind in r.outputs]
    balances = FIRST_BALANCES if case == "demo-first-balances" else None
    run = run_replay(sorted(files), [VenueSetup("binance", "binance", balances=balances)], DEMO_STRATEGY, seed=7,
                     out_dir=tmp_path / "runs", progress=False)
    _check(case, run.run_dir)


@pytest.mark.parametrize("profile", sorted(PROFILE_SYMBOLS))
def test_profile_replay_is_unchanged(profile: str, tmp_path: Path) -> None:
    symbol = PROFILE_SYMBOLS[profile]
    data = write_tape(tmp_path / "data", profile, symbol)
    setup = VenueSetup(profile, profile, balances=FIRST_BALANCES, depth=DepthMode.BOOK)
    params = {"venue": profile, "symbol": symbol, **PROFILE_PARAMS.get(profile, {})}
    run = run_replay(data, [setup], MM, params=params,
                     seed=3, out_dir=tmp_path / "runs", progress=False)
    _check(f"profile-{profile}", run.run_dir)
