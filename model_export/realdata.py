"""The real Fitabase users as contract events, and real days with cheats injected.

Fitabase (``minuteStepsWide.csv``) holds per-minute steps of 22 Fitbit users for a month. They
become 1-minute step deltas. Fitbit gives distance only per day (``dailyActivity.csv``), so each
user's stride is their median daily distance / steps, and the per-minute distance is **derived**:
steps × stride. No speed samples are derived (a constant-stride speed would carry no information
beyond the steps). Fitabase times are local wall-clock times without a zone; they are read as UTC.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
import pandas as pd

from model_export.sim.emit import Message, emit
from model_export.sim.normal import MINUTE
from model_export.sim.render import render
from model_export.sim.types import NS, Bout, LabeledSpan, RawPoint, Sources, UserProfile
from model_export.sim.unusual import CHEATS, LEGIT_UNUSUAL, Context, Injection

DATA_ROOT = Path(__file__).resolve().parents[1].parent / "shared" / "data"
STEP_SOURCE = "derived:com.google.step_count.delta:com.fitbit:fitabase:minute_steps"
DISTANCE_SOURCE = "derived:com.google.distance.delta:com.fitbit:fitabase:stride_x_steps"
SPEED_SOURCE = "derived:com.google.speed:com.fitbit:fitabase:none"
FloatArray = npt.NDArray[np.float64]


@dataclass(slots=True)
class RealUser:
    """One Fitabase user: per-minute steps from ``start`` (UTC midnight), and the stride."""

    user_id: str
    start: datetime
    steps: FloatArray  # minutes since start; NaN where the hour is missing
    stride_m: float

    @property
    def start_ns(self) -> int:
        return int(self.start.timestamp()) * NS

    def days(self) -> list[FloatArray]:
        """Complete days (no missing hour) as 1440-minute arrays."""
        n = self.steps.shape[0] // 1440
        out = [self.steps[i * 1440 : (i + 1) * 1440] for i in range(n)]
        return [d for d in out if not np.isnan(d).any()]


def fitabase_dir(root: Path | None = None) -> Path:
    return (root or DATA_ROOT) / "fitabase"


def available(root: Path | None = None) -> bool:
    d = fitabase_dir(root)
    return (d / "minuteStepsWide.csv").is_file() and (d / "dailyActivity.csv").is_file()


def load_fitabase(root: Path | None = None) -> list[RealUser]:
    """All users; raises FileNotFoundError when the data is absent (check ``available``)."""
    d = fitabase_dir(root)
    wide = pd.read_csv(d / "minuteStepsWide.csv")
    daily = pd.read_csv(d / "dailyActivity.csv")
    daily = daily[daily.TotalSteps > 0]
    strides = (daily.TotalDistance * 1000 / daily.TotalSteps).groupby(daily.Id).median()
    wide["hour"] = pd.to_datetime(wide.ActivityHour, format="%m/%d/%Y %H:%M").dt.tz_localize(UTC)
    cols = [f"Steps{i:02d}" for i in range(60)]
    users: list[RealUser] = []
    for uid, g in wide.groupby("Id"):
        g = g.drop_duplicates("hour").sort_values("hour")
        first = g.hour.iloc[0].normalize()
        hours = ((g.hour - first).dt.total_seconds() // 3600).astype(int).to_numpy()
        total_hours = int(np.ceil((hours.max() + 1) / 24) * 24)
        grid = np.full((total_hours, 60), np.nan)
        grid[hours] = g[cols].to_numpy(dtype=float)
        users.append(
            RealUser(
                user_id=f"fitabase-{uid}",
                start=first.to_pydatetime(),
                steps=grid.ravel(),
                stride_m=float(strides.get(uid, 0.7)),
            )
        )
    return users


def profile_for(user: RealUser) -> UserProfile:
    """A profile so real users go through the simulator's emitter and cheat generators."""
    active = user.steps[np.nan_to_num(user.steps) >= 60]
    cadence = float(np.median(active)) if active.size else 100.0
    return UserProfile(
        user_id=user.user_id,
        utc_offset_h=0.0,
        stride_m=user.stride_m,
        run_stride_m=user.stride_m * 1.5,
        walk_cadence=cadence,
        run_cadence=165.0,
        activity=1.0,
        runs_per_week=0.0,
        commutes=False,
        vehicle_speed_samples=False,
        vehicle_distance=False,
        pedometer_distance=True,
        speed_samples=False,
        sync_minutes=10,
        style="dataset",
        sources=Sources(
            (STEP_SOURCE,), (DISTANCE_SOURCE,), (SPEED_SOURCE,), "com.fitbit.FitbitMobile"
        ),
        repeat_rate=0.0,
        shuffle=False,
    )


def minute_points(user: RealUser, steps: FloatArray) -> list[RawPoint]:
    """1-minute step deltas and the derived distance deltas of every minute with steps."""
    out: list[RawPoint] = []
    for m in np.flatnonzero(np.nan_to_num(steps) > 0):
        s = user.start_ns + int(m) * 60 * NS
        e = s + 60 * NS
        v = float(steps[m])
        out.append(RawPoint("steps", s, e, v, STEP_SOURCE))
        out.append(RawPoint("distance", s, e, round(v * user.stride_m, 3), DISTANCE_SOURCE))
    return out


def real_walks(user: RealUser, points: list[RawPoint], min_minutes: int = 8) -> list[Bout]:
    """Runs of ≥ ``min_minutes`` minutes at ≥ 60 steps/min, with their points (for replays)."""
    active = np.concatenate([[0], (np.nan_to_num(user.steps) >= 60).astype(np.int8), [0]])
    edges = np.diff(active)
    walks: list[Bout] = []
    for a, b in zip(np.flatnonzero(edges == 1), np.flatnonzero(edges == -1), strict=True):
        if b - a < min_minutes:
            continue
        lo, hi = user.start_ns + int(a) * 60 * NS, user.start_ns + int(b) * 60 * NS
        bout = Bout(lo / NS, hi / NS, 0.0, 0.0, user.stride_m, True, False)
        bout.points = [p for p in points if lo <= p.start_ns < hi]
        walks.append(bout)
    return walks


@dataclass(slots=True)
class RealBenchmark:
    events: list[Message]
    spans: list[LabeledSpan]
    user_days: float
    users: list[RealUser] = field(default_factory=list)


def to_events(user: RealUser, points: list[RawPoint]) -> list[tuple[int, Message]]:
    return emit(np.random.default_rng(0), profile_for(user), points)


def inject_cheats(
    users: list[RealUser],
    seed: int,
    day_rate: float = 0.5,
    families: tuple[str, ...] | None = None,
    legit_rate: float = 0.0,
) -> RealBenchmark:
    """Real days with cheats injected on a share of user-days (and, at ``legit_rate``, a
    legitimate-unusual bout on other days); the real minutes around an injected span are
    removed so the label covers only what was injected.

    Only complete days count as user-days; injections land on those.
    """
    names = families or tuple(CHEATS)
    timed: list[tuple[int, int, int, Message]] = []
    spans: list[LabeledSpan] = []
    user_days = 0
    for ui, user in enumerate(users):
        rng = np.random.default_rng([seed, ui])
        profile = profile_for(user)
        steps = user.steps.copy()
        extra: list[RawPoint] = []
        n_days = steps.shape[0] // 1440
        walks = real_walks(user, minute_points(user, steps))
        for day in range(n_days):
            if np.isnan(steps[day * 1440 : (day + 1) * 1440]).any():
                continue
            user_days += 1
            draw = rng.random()
            if draw < day_rate:
                generators, cheat = CHEATS, True
                family = names[int(rng.integers(len(names)))]
            elif draw < day_rate + legit_rate:
                generators, cheat = LEGIT_UNUSUAL, False
                family = list(LEGIT_UNUSUAL)[int(rng.integers(len(LEGIT_UNUSUAL)))]
            else:
                continue
            day_start = user.start.timestamp() + day * 86_400
            ctx = Context(profile, day_start, tuple(w for w in walks if w.end_s < day_start))
            inj = generators[family](rng, ctx)
            if inj is None:
                continue
            clear_minutes(steps, user, inj)
            extra += injected_points(rng, inj, profile)
            lo, hi = inj.span or (inj.start_s, inj.end_s)
            spans.append(LabeledSpan(user.user_id, int(lo * NS), int(hi * NS), family, cheat))
        points = minute_points(user, steps) + extra
        for seq, (sent, message) in enumerate(emit(rng, profile, points)):
            timed.append((sent, ui, seq, message))
    timed.sort(key=lambda x: (x[0], x[1], x[2]))
    return RealBenchmark([m for *_, m in timed], spans, float(user_days), users)


def clear_minutes(steps: FloatArray, user: RealUser, inj: Injection, margin_s: float = 120) -> None:
    t0 = user.start.timestamp()
    lo = max(0, int((inj.start_s - margin_s - t0) // MINUTE))
    hi = min(steps.shape[0], int(np.ceil((inj.end_s + margin_s - t0) / MINUTE)))
    steps[lo:hi] = np.where(np.isnan(steps[lo:hi]), np.nan, 0.0)


def injected_points(
    rng: np.random.Generator, inj: Injection, profile: UserProfile
) -> list[RawPoint]:
    out = list(inj.points)
    for b in inj.bouts:
        out += render(rng, b, profile)
    return out


def normal_events(users: list[RealUser]) -> list[Message]:
    """The real users untouched, merged in sync order (for training and false-alert counts)."""
    timed: list[tuple[int, int, int, Any]] = []
    for ui, user in enumerate(users):
        for seq, (sent, m) in enumerate(to_events(user, minute_points(user, user.steps))):
            timed.append((sent, ui, seq, m))
    timed.sort(key=lambda x: (x[0], x[1], x[2]))
    return [m for *_, m in timed]
