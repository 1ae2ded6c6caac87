"""Simulated time.

Integration times, motor moves, heater ramps and settling take their real duration in
simulated time; the wall clock spends ``scale`` times that (0 in tests, 1 in the demo and
the GUI). Twins ask the clock what time it is to evolve their state (a stage is
"moving" until its move has lasted long enough), and drivers wait through it.
"""

import threading
import time


class SimClock:
    """Virtual seconds since the bench was opened; waits cost ``scale`` × their duration."""

    def __init__(self, scale: float = 0.0):
        if scale < 0:
            raise ValueError(f"time scale must be >= 0, got {scale}")
        self.scale = float(scale)
        self._origin = time.monotonic()
        self._skipped = 0.0
        self._lock = threading.Lock()

    def now(self) -> float:
        """Simulated seconds elapsed."""
        if self.scale > 0:
            return self._skipped + (time.monotonic() - self._origin) / self.scale
        return self._skipped

    def sleep(self, seconds: float) -> None:
        """Let ``seconds`` of simulated time pass."""
        if seconds <= 0:
            return
        if self.scale > 0:
            time.sleep(seconds * self.scale)
        else:
            with self._lock:
                self._skipped += seconds
