"""The run layer: building simulated worlds, replay runs and their CLI, the demo, sweeps and
what ships (strategies, profiles). It imports every other package; nothing imports it.

Names are imported from their modules on first use (``harness.lazy_exports``).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from harness.lazy_exports import lazy_exports

_EXPORTS = {
    "DEMO_STRATEGY": "scenarios.demo",
    "ReplayTally": "scenarios.demo",
    "SAMPLE_FILES": "scenarios.demo",
    "import_sample": "scenarios.demo",
    "replay_files": "scenarios.demo",
    "run_demo": "scenarios.demo",
    "sample_paths": "scenarios.demo",
    "DataInventory": "scenarios.inventory",
    "take_inventory": "scenarios.inventory",
    "profile_lines": "scenarios.listing",
    "strategy_lines": "scenarios.listing",
    "NS": "scenarios.replay",
    "POLL_NS": "scenarios.replay",
    "RunFailedError": "scenarios.replay",
    "RunResult": "scenarios.replay",
    "data_locations": "scenarios.replay",
    "data_time_range": "scenarios.replay",
    "poll_step": "scenarios.replay",
    "profile_sha256": "scenarios.replay",
    "run_id_for": "scenarios.replay",
    "run_replay": "scenarios.replay",
    "ReplayArgumentError": "scenarios.replay_cli",
    "data_files": "scenarios.replay_cli",
    "parse_router": "scenarios.replay_cli",
    "parse_venues": "scenarios.replay_cli",
    "replay_command": "scenarios.replay_cli",
    "PointResult": "scenarios.sweep",
    "SweepError": "scenarios.sweep",
    "SweepKind": "scenarios.sweep",
    "SweepPlan": "scenarios.sweep",
    "SweepPoint": "scenarios.sweep",
    "call_worker": "scenarios.sweep",
    "register_sweep_kind": "scenarios.sweep",
    "run_sweep": "scenarios.sweep",
    "sweep_id": "scenarios.sweep",
    "sweep_kind_for": "scenarios.sweep",
    "split_sweep_options": "scenarios.sweep_cli",
    "sweep_command": "scenarios.sweep_cli",
    "ReplaySweep": "scenarios.sweep_replay",
    "run_replay_point": "scenarios.sweep_replay",
    "split_axes": "scenarios.sweep_replay",
    "DEFAULT_START_NS": "scenarios.world",
    "SimWorld": "scenarios.world",
    "SimulatedVenue": "scenarios.world",
    "VenueSetup": "scenarios.world",
    "build_venue": "scenarios.world",
    "default_balances": "scenarios.world",
    "depth_for": "scenarios.world",
    "symbol_map_between": "scenarios.world",
}

__all__ = [
    "DEFAULT_START_NS",
    "DEMO_STRATEGY",
    "NS",
    "POLL_NS",
    "SAMPLE_FILES",
    "DataInventory",
    "PointResult",
    "ReplayArgumentError",
    "ReplaySweep",
    "ReplayTally",
    "RunFailedError",
    "RunResult",
    "SimWorld",
    "SimulatedVenue",
    "SweepError",
    "SweepKind",
    "SweepPlan",
    "SweepPoint",
    "VenueSetup",
    "build_venue",
    "call_worker",
    "data_files",
    "data_locations",
    "data_time_range",
    "default_balances",
    "depth_for",
    "import_sample",
    "parse_router",
    "parse_venues",
    "poll_step",
    "profile_lines",
    "profile_sha256",
    "register_sweep_kind",
    "replay_command",
    "replay_files",
    "run_demo",
    "run_id_for",
    "run_replay",
    "run_replay_point",
    "run_sweep",
    "sample_paths",
    "split_axes",
    "split_sweep_options",
    "strategy_lines",
    "sweep_command",
    "sweep_id",
    "sweep_kind_for",
    "symbol_map_between",
    "take_inventory",
]
__getattr__, __dir__ = lazy_exports(__name__, _EXPORTS)

if TYPE_CHECKING:
    from scenarios.demo import (
        DEMO_STRATEGY,
        SAMPLE_FILES,
        ReplayTally,
        import_sample,
        replay_files,
        run_demo,
        sample_paths,
    )
    from scenarios.inventory import DataInventory, take_inventory
    from scenarios.listing import profile_lines, strategy_lines
    from scenarios.replay import (
        NS,
        POLL_NS,
        RunFailedError,
        RunResult,
        data_locations,
        data_time_range,
        poll_step,
        profile_sha256,
        run_id_for,
        run_replay,
    )
    from scenarios.replay_cli import ReplayArgumentError, data_files, parse_router, parse_venues, replay_command
    from scenarios.sweep import (
        PointResult,
        SweepError,
        SweepKind,
        SweepPlan,
        SweepPoint,
        call_worker,
        register_sweep_kind,
        run_sweep,
        sweep_id,
        sweep_kind_for,
    )
    from scenarios.sweep_cli import split_sweep_options, sweep_command
    from scenarios.sweep_replay import ReplaySweep, run_replay_point, split_axes
    from scenarios.world import (
        DEFAULT_START_NS,
        SimulatedVenue,
        SimWorld,
        VenueSetup,
        build_venue,
        default_balances,
        depth_for,
        symbol_map_between,
    )
