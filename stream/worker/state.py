"""What the worker keeps per user in its Faust tables, and the codecs that write it to changelogs.

The buffer's own ``to_bytes`` does the heavy lifting; the envelope adds the wall-clock facts the
idle flush and state expiry need after a restart (when the last event arrived, whether the open
windows were already flushed), so a restarted worker still flushes and expires users who never
send again.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass
from typing import Any

import orjson

from stream.buffer import UserBuffer

_VERSION = 2
_HEADER = struct.Struct("<BdB")  # version, last event (Unix s, wall clock), idle-flushed flag
_LATE = struct.Struct("<d")  # version 2: the last message with late points (Unix s; 0: none)


@dataclass(slots=True)
class UserState:
    """One user's buffer plus when we last heard from them, and when last late points came
    (``UserBuffer.late`` is judged whole once they pause, ``Processor``'s tick)."""

    buffer: UserBuffer
    last_event_wall_s: float
    idle_flushed: bool = False
    late_wall_s: float = 0.0

    def to_bytes(self) -> bytes:
        header = _HEADER.pack(_VERSION, self.last_event_wall_s, int(self.idle_flushed))
        return header + _LATE.pack(self.late_wall_s) + self.buffer.to_bytes()

    @classmethod
    def from_bytes(cls, data: bytes) -> UserState:
        version, last, flushed = _HEADER.unpack_from(data)
        at = _HEADER.size
        late = 0.0
        if version == 2:
            (late,) = _LATE.unpack_from(data, at)
            at += _LATE.size
        elif version != 1:
            raise ValueError(f"unknown user state version {version}")
        return cls(UserBuffer.from_bytes(bytes(data[at:])), last, bool(flushed), late)


def encode_alerts(alerts: list[dict[str, Any]]) -> bytes:
    return orjson.dumps(alerts)


def decode_alerts(data: bytes) -> list[dict[str, Any]]:
    loaded: list[dict[str, Any]] = orjson.loads(data)
    return loaded


def register_codecs() -> None:
    """Registers ``lifeup_str``, ``lifeup_state`` and ``lifeup_alerts`` with Faust (idempotent)."""
    from faust.serializers import codecs

    class _Str(codecs.Codec):
        """Table keys as str both live and after recovery (Faust's raw codec hands back bytes)."""

        def _dumps(self, obj: Any) -> bytes:
            return obj.encode("utf-8") if isinstance(obj, str) else bytes(obj)

        def _loads(self, s: bytes) -> Any:
            return s.decode("utf-8")

    class _State(codecs.Codec):
        def _dumps(self, obj: Any) -> bytes:
            return obj.to_bytes() if isinstance(obj, UserState) else bytes(obj)

        def _loads(self, s: bytes) -> Any:
            return UserState.from_bytes(s)

    class _Alerts(codecs.Codec):
        def _dumps(self, obj: Any) -> bytes:
            return encode_alerts(obj)

        def _loads(self, s: bytes) -> Any:
            return decode_alerts(s)

    codecs.register("lifeup_str", _Str())
    codecs.register("lifeup_state", _State())
    codecs.register("lifeup_alerts", _Alerts())
