"""The worker's scorer, parser and alert factory: the same ones ``lifeup score`` uses."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from stream.alerts import Span, make_alert
from stream.grid import DEFAULT_GRID, GridSpec
from stream.parsing import parse_message
from stream.points import ParseResult
from stream.scoring.base import WindowScore, WindowScorer
from stream.settings import Settings


@dataclass(frozen=True, slots=True)
class Scoring:
    scorer: WindowScorer
    model_version: str
    grid: GridSpec

    @staticmethod
    def parse(max_bytes: int) -> Callable[[bytes, bytes | None], ParseResult]:
        def parse(raw: bytes, key: bytes | None) -> ParseResult:
            return parse_message(raw, key, max_bytes=max_bytes)

        return parse


def load_scoring(
    settings: Settings, scorer: WindowScorer | None = None, grid: GridSpec | None = None
) -> Scoring:
    """The shipped (or configured) detector, unless a scorer is given (benchmarks, tests)."""
    if scorer is None:
        from stream.scoring.detector import load_detector

        detector = load_detector(settings.model_path)
        return Scoring(detector, detector.version, grid or detector.grid)
    version = str(getattr(scorer, "version", getattr(scorer, "name", "custom")))
    own_grid: GridSpec = getattr(scorer, "grid", DEFAULT_GRID)
    return Scoring(scorer, version, grid or own_grid)


class AlertFactory:
    """Alert dicts in the contract's shape, ids deterministic per (user, window, model)."""

    def __init__(self, model_version: str) -> None:
        self.model_version = model_version

    def __call__(self, window: Span, verdict: WindowScore) -> dict[str, Any]:
        return make_alert(window, verdict, self.model_version).to_dict()
