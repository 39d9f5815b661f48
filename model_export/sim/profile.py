"""Draws a user's traits: body (stride, cadence), habits (activity, runs, commute) and phone.

Ranges come from the gait literature (walking cadence 95-125 steps/min, running 150-185,
stride 0.6-0.85 m, the range Fitabase's daily distance / steps gives) and from the Takeout
sample (several step sources carrying the same steps, instantaneous speed samples).
"""

from __future__ import annotations

import zlib

import numpy as np

from model_export.sim.types import Sources, Style, UserProfile

PHONES: tuple[tuple[str, str], ...] = (
    ("Xiaomi", "M2102J20SG"),
    ("samsung", "SM-G991B"),
    ("Google", "Pixel 7"),
    ("OnePlus", "CPH2449"),
    ("motorola", "moto g54 5G"),
)
HC_ORIGINS = ("com.google.android.apps.fitness", "com.sec.android.app.shealth")
STYLES: tuple[Style, ...] = ("dataset", "points", "takeout", "health_connect")
STYLE_WEIGHTS = (0.6, 0.15, 0.1, 0.15)


def phone_sources(rng: np.random.Generator) -> Sources:
    """The sources a phone writes; a third of users carry their steps in three sources."""
    maker, model = PHONES[int(rng.integers(len(PHONES)))]
    device = f"{maker}:{model}:{rng.integers(16**12):012x}"
    top = f"derived:com.google.step_count.delta:com.google.android.fit:{device}:top_level"
    est = "derived:com.google.step_count.delta:com.google.android.gms:estimated_steps"
    merge = "derived:com.google.step_count.delta:com.google.android.gms:merge_step_deltas"
    d_merge = "derived:com.google.distance.delta:com.google.android.gms:merge_distance_delta"
    d_top = f"derived:com.google.distance.delta:com.google.android.fit:{device}:top_level"
    s_merge = "derived:com.google.speed:com.google.android.gms:merge_speed"
    s_top = f"derived:com.google.speed:com.google.android.fit:{device}:top_level"
    multi = rng.random() < 0.35
    return Sources(
        steps=(top, est, merge) if multi else ((est,) if rng.random() < 0.5 else (top,)),
        distance=(d_top, d_merge) if multi else (d_merge,),
        speed=(s_top, s_merge) if multi else (s_merge,),
        hc_origin=HC_ORIGINS[int(rng.integers(len(HC_ORIGINS)))],
    )


def draw_profile(rng: np.random.Generator, user_id: str) -> UserProfile:
    """One user's traits; every draw comes from ``rng`` so a seed fixes the user."""
    stride = float(rng.uniform(0.6, 0.85))
    style = STYLES[int(rng.choice(len(STYLES), p=STYLE_WEIGHTS))]
    return UserProfile(
        user_id=user_id,
        utc_offset_h=float(rng.choice([-8, -5, -3, 0, 1, 2, 3, 5.5, 8, 9])),
        stride_m=stride,
        run_stride_m=float(stride * rng.uniform(1.35, 1.75)),
        walk_cadence=float(rng.uniform(95, 122)),
        run_cadence=float(rng.uniform(152, 182)),
        activity=float(np.exp(rng.normal(0.0, 0.5))),
        runs_per_week=float(rng.choice([0, 0, 0, 0, 0, 1, 2, 3])),
        commutes=bool(rng.random() < 0.6),
        vehicle_speed_samples=bool(rng.random() < 0.5),
        vehicle_distance=bool(rng.random() < 0.15),
        pedometer_distance=bool(rng.random() < 0.4),
        speed_samples=bool(rng.random() < 0.85),
        sync_minutes=int(rng.choice([2, 5, 10])),
        style=style,
        sources=phone_sources(rng),
        repeat_rate=float(rng.choice([0.0, 0.0, 0.01, 0.03])),
        shuffle=bool(rng.random() < 0.3),
        ride_steps_per_min=ride_steps_per_min(user_id),
    )


def ride_steps_per_min(user_id: str) -> float:
    """Steps a user's device counts per minute of a ride: none for 40 % (a phone in a bag, a
    counter that knows a car), 0.5-6 for the rest. Drawn from the user id, not ``rng``, so that
    adding it left every other trait and day of the seeded users as it was."""
    own = np.random.default_rng(zlib.crc32(user_id.encode()))
    return 0.0 if own.random() < 0.4 else float(own.uniform(0.5, 6.0))
