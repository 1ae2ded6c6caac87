"""Shot counters of pulsed lasers, advancing on the simulated clock.

A flashlamp or Q-switch fires ``rate`` times per second while it runs; its counters
(the lifetime total and the resettable user count) follow from the time it has run.
"""


class ShotCounter:
    """Shots of one pulse train: ``total()`` since manufacture, ``user()`` since the last
    ``reset_user()`` (or power-up). ``run(rate, shots)`` starts firing (``shots``: stop
    by itself after that many, as in a burst), ``stop()`` ends it."""

    def __init__(self, clock, total: int = 0):
        self.clock = clock
        self._banked = total          # shots of finished runs
        self._offset = total          # total at the last user reset
        self.rate = 0.0               # Hz while running
        self._since = 0.0
        self._limit = None

    def _current(self, now) -> int:
        """Shots of the run in progress."""
        if not self.rate:
            return 0
        shots = int((now - self._since) * self.rate + 1e-9)
        return shots if self._limit is None else min(shots, self._limit)

    def running(self) -> bool:
        """Whether pulses are being fired now."""
        return bool(self.rate) and (self._limit is None
                                     or self._current(self.clock.now()) < self._limit)

    def steady(self) -> bool:
        """Whether ``running()`` stays as it is until ``run`` or ``stop`` (no burst under way)."""
        return self._limit is None or not self.running()

    def run(self, rate: float, shots: int | None = None) -> None:
        """Fire at ``rate`` Hz from now on (``shots`` pulses at most)."""
        self.stop()
        self.rate, self._since, self._limit = float(rate), self.clock.now(), shots

    def stop(self) -> None:
        self._banked += self._current(self.clock.now())
        self.rate, self._limit = 0.0, None

    def shot(self) -> None:
        """One single shot."""
        self._banked += 1

    def total(self) -> int:
        return self._banked + self._current(self.clock.now())

    def user(self) -> int:
        return self.total() - self._offset

    def reset_user(self) -> None:
        self._offset = self.total()
