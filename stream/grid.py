"""The event-time grid: bin width, window length and hop, lateness and gap limits.

Defaults and the reasons for them are in the README ("The grid"). A ``GridSpec`` is stored in the
ONNX model's metadata, so a model is only ever fed windows of the shape it was trained on.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, replace
from typing import Any

NS_PER_S = 1_000_000_000


@dataclass(frozen=True, slots=True)
class GridSpec:
    """Bins of ``bin_s`` seconds; windows of ``window_bins`` bins every ``hop_bins`` bins.

    Windows are aligned to the Unix epoch (hour windows start on the hour, UTC).
    A point is accepted while its window is open: until the user's event-time watermark (the
    latest point end seen) passes ``window end + lateness_s``. Speed is interpolated across gaps
    of at most ``speed_gap_s`` between samples; longer gaps stay missing.
    """

    bin_s: int = 60
    window_bins: int = 60
    hop_bins: int = 60
    lateness_s: int = 900
    speed_gap_s: int = 300

    @property
    def bin_ns(self) -> int:
        return self.bin_s * NS_PER_S

    @property
    def window_ns(self) -> int:
        return self.window_bins * self.bin_ns

    @property
    def hop_ns(self) -> int:
        return self.hop_bins * self.bin_ns

    @property
    def lateness_ns(self) -> int:
        return self.lateness_s * NS_PER_S

    def first_window(self, t_ns: Any) -> Any:
        """The number of the earliest window holding instant ``t_ns`` (an int, or a numpy array
        of them): windows start at multiples of the hop since the epoch, window k at k hops."""
        return (t_ns - self.window_ns) // self.hop_ns + 1

    def closes_at(self, t_ns: int) -> int:
        """The event time at which the first window holding instant ``t_ns`` closes (its end
        plus the lateness): a point starting at ``t_ns`` is late, in part, once the watermark
        gets there."""
        k: int = self.first_window(t_ns)
        return k * self.hop_ns + self.window_ns + self.lateness_ns

    def covering(self, span_ns: int) -> GridSpec:
        """This grid with a lateness covering ``span_ns`` of points and a window more, so that
        points arriving together (a request, a message's late points) are never late to each
        other, whatever their order."""
        lateness_s = -(-span_ns // NS_PER_S) + self.window_bins * self.bin_s
        return replace(self, lateness_s=max(self.lateness_s, lateness_s))

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> GridSpec:
        return cls(**{k: int(v) for k, v in data.items() if k in cls.__dataclass_fields__})


DEFAULT_GRID = GridSpec()
