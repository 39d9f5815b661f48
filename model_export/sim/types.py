"""Value objects shared by the simulator's stages (profile → bouts → points → events)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

NS = 1_000_000_000
Kind = Literal["steps", "distance", "speed"]
Style = Literal["dataset", "points", "takeout", "health_connect"]


@dataclass(frozen=True, slots=True)
class LabeledSpan:
    """Ground truth: an injected cheat (``cheat=True``) or a legitimate-unusual bout."""

    user_id: str
    start_ns: int
    end_ns: int
    family: str
    cheat: bool


@dataclass(frozen=True, slots=True)
class RawPoint:
    """One point before it is dressed as a contract event.

    ``source`` is the Google Fit data source id (or Health Connect package for HC users);
    ``method`` is the Health Connect recording method the point would carry.
    """

    kind: Kind
    start_ns: int
    end_ns: int
    value: float
    source: str
    method: str = "AUTOMATICALLY_RECORDED"


@dataclass(frozen=True, slots=True)
class Sources:
    """The data source ids one phone writes; several step sources carry the same steps."""

    steps: tuple[str, ...]
    distance: tuple[str, ...]
    speed: tuple[str, ...]
    hc_origin: str


@dataclass(frozen=True, slots=True)
class UserProfile:
    """Per-user traits drawn once, so users differ the way real people (and phones) do."""

    user_id: str
    utc_offset_h: float
    stride_m: float
    run_stride_m: float
    walk_cadence: float
    run_cadence: float
    activity: float
    runs_per_week: float
    commutes: bool
    vehicle_speed_samples: bool
    vehicle_distance: bool
    pedometer_distance: bool
    speed_samples: bool
    sync_minutes: int
    style: Style
    sources: Sources
    repeat_rate: float
    shuffle: bool
    # steps/min the phone (or watch) counts in a car or bus: bumps, an arm on the wheel
    ride_steps_per_min: float = 0.0


@dataclass(slots=True)
class Bout:
    """A stretch of movement, rendered into step, distance and speed points.

    ``ground_speed`` overrides the speed implied by cadence × stride (vehicles, teleports);
    ``distance_factor`` scales distance against what the motion implies (mismatch cheats).
    """

    start_s: float
    end_s: float
    cadence: float
    cadence_cv: float
    stride_m: float
    distance: bool
    speed_samples: bool
    pauses: bool = False
    ground_speed: float | None = None
    distance_factor: float = 1.0
    speed_sample_gap_s: float = 45.0
    step_sources: tuple[str, ...] | None = None
    tag: str = "walk"
    points: list[RawPoint] = field(default_factory=list)
