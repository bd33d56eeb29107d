"""Scenario files are validated strictly: every mistake names the file, the line and the key."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import pytest

from scenarios.scenario_file import ScenarioError, load_scenario, parse_scenario

GOOD = """\
[scenario]
name = "t"
description = "a test"
seed = 4

[data.synthetic]
minutes = 2

[strategy]
path = "scenarios.probe_strategies:RestingLadder"
params = { size = "0.001" }

[engine]
reconcile_interval_s = 30

[[faults]]
name = "drop-fills"
kind = "drop"
target = "binance.user"
at_s = "12.5"
for_s = 10
probability = "0.25"
trigger = { on = "fill", nth = 2 }

[expect]
events = ["binance:user:down"]
"""


def parse(text: str) -> object:
    return parse_scenario(text, source="t.toml", base_dir=Path("."))


def test_a_good_file_reads_into_a_spec() -> None:
    spec = parse_scenario(GOOD, source="t.toml", base_dir=Path("."))
    assert (spec.name, spec.seed, spec.settle_ns) == ("t", 4, 30 * 10**9)
    fault = spec.faults[0]
    assert (fault.at_ns, fault.for_ns, fault.probability) == (12_500_000_000, 10 * 10**9, Decimal("0.25"))
    assert fault.trigger is not None and (fault.trigger.on, fault.trigger.nth) == ("fill", 2)
    assert spec.engine == {"reconcile_interval_ns": 30 * 10**9}
    assert spec.venues[0].name == "binance" and spec.data.synthetic is not None
    assert spec.data.synthetic.minutes == 2


@pytest.mark.parametrize(("change", "message"), [
    (("seed = 4", "seed = 4\nsede = 5"), r"t\.toml:5: scenario\.sede: unknown key"),
    (('kind = "drop"', 'kind = "explode"'), r"t\.toml:18: faults\[0\]\.kind: unknown fault kind 'explode'"),
    (('target = "binance.user"', 'target = "okx.user"'), r"t\.toml:19: faults\[0\]\.target: no venue 'okx'"),
    (('target = "binance.user"', 'target = "binance"'), r"t\.toml:16: faults\[0\]: .*must be VENUE\.market or"),
    (('probability = "0.25"', "probability = 0.25"), r"t\.toml:22: faults\[0\]\.probability: TOML float"),
    (("minutes = 2", "minutes = 0"), r"t\.toml:6: data\.synthetic: synthetic tape: minutes must be >= 1"),
    (('events = ["binance:user:down"]', 'events = ["binance:user:down"]\nbreaker = ["AJAR"]'),
     r"t\.toml:27: expect\.breaker: unknown breaker state 'AJAR'"),
    (("reconcile_interval_s = 30", "reconcile_every = 30"), r"t\.toml:14: engine\.reconcile_every: unknown key"),
    (('trigger = { on = "fill", nth = 2 }', 'trigger = { on = "fill", nth = 0 }'),
     r"t\.toml:23: faults\[0\]\.trigger: trigger\.nth and trigger\.count must be >= 1"),
    (("[data.synthetic]\nminutes = 2", '[data]\nsample = "nope"'), r"t\.toml:7: data\.sample: unknown sample 'nope'"),
])
def test_mistakes_name_the_line_and_the_key(change: tuple[str, str], message: str) -> None:
    with pytest.raises(ScenarioError, match=message):
        parse(GOOD.replace(*change))


def test_unknown_fault_parameters_and_invariants_are_refused() -> None:
    with pytest.raises(ScenarioError, match=r"faults\[0\]: fault 'drop-fills' \(drop\): unknown parameter 'gap_ms'"):
        parse(GOOD.replace("trigger = {", "params = { gap_ms = 3 }\ntrigger = {"))
    with pytest.raises(ScenarioError, match=r"invariants\.check: unknown invariant 'no_bugs'"):
        parse(GOOD + '\n[invariants]\ncheck = ["no_bugs"]\n')
    with pytest.raises(ScenarioError, match="exactly one of sample, files"):
        parse(GOOD.replace("[data.synthetic]", '[data]\nsample = "binance-btcusdt"\n[data.synthetic]'))


def test_every_catalog_file_is_valid() -> None:
    catalog = sorted((Path(__file__).parents[2] / "scenarios" / "catalog").glob("*.toml"))
    assert catalog
    names = [load_scenario(path).name for path in catalog]
    assert names == [path.stem for path in catalog]  # a scenario is named after its file
