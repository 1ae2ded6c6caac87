"""Helpers shared by the drivers."""

import time

from pymeasure.instruments import Instrument


class PlainAttributes:
    """Attribute reads straight from the object, without pymeasure's guard (put it first
    among a driver's bases).

    ``CommonBase.__getattribute__`` checks every attribute read against the reserved names
    of dynamic properties -- three Python calls per read, some twenty reads per query: a
    fifth of a query's cost on the simulated bench. pymeasure's ``__setattr__`` stores
    those names under a reserved prefix, so a read by the bare name still fails with
    AttributeError."""

    __getattribute__ = object.__getattribute__


class DeviceError(RuntimeError):
    """The instrument reported an error (its own error queue, status or reply)."""


class ReplyError(DeviceError):
    """A reply that could not be understood: garbled, truncated, of the wrong type or
    length. Usually transient (noise on a line): worth one more try."""


def flag(value) -> bool:
    """A 0/1 reply as a bool (``get_process=flag``). Anything else -- a garbled, NaN or
    over-range reply -- raises ReplyError: pymeasure's ``cast=bool`` would read "nan"
    (and any text it cannot cast) as True, which for an interlock is the unsafe answer."""
    if isinstance(value, str):
        value = value.strip()
    if not isinstance(value, bool) and value in (0, 1, "0", "1"):
        return value in (1, "1")
    raise ReplyError(f"expected 0 or 1, got {value!r:.40}")


def integer(value) -> int:
    """An integer reply (``cast=int, get_process=integer``). pymeasure keeps a reply it
    cannot cast as its text; a garbled or NaN state code raises ReplyError instead of
    reaching a comparison as a string."""
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    raise ReplyError(f"expected an integer, got {value!r:.40}")


def remembered(control: str, doc: str) -> property:
    """A property over the pymeasure control named ``control`` that also keeps the value
    last set or read in ``instrument.known[control]``: for settings the instrument
    changes only when told to, so that a driver need not ask for them again."""
    def fget(self):
        self.known[control] = getattr(self, control)
        return self.known[control]

    def fset(self, value):
        setattr(self, control, value)
        self.known[control] = value
    return property(fget, fset, doc=doc)


def _sim(instrument: Instrument):
    connection = getattr(instrument.adapter, "connection", None)
    return getattr(getattr(connection, "visalib", None), "sim", None)


def wait(instrument: Instrument, seconds: float) -> None:
    """Wait ``seconds`` between polls of an instrument.

    On a real bench this is ``time.sleep``; on the simulated bench the VISA library
    brings its own clock, so that moves and settling take simulated time.
    """
    sim = _sim(instrument)
    if sim is not None:
        sim.clock.sleep(seconds)
    else:
        time.sleep(seconds)


def now(instrument: Instrument) -> float:
    """Seconds on the clock ``wait`` runs on (for durations)."""
    sim = _sim(instrument)
    value = sim.clock.now() if sim is not None else None
    return value if isinstance(value, float) else time.monotonic()   # (a protocol-test mock)


FINE = 0.001     # s between polls around the expected end of an operation


def poll(instrument: Instrument, done, timeout: float, interval: float = 0.05,
         what: str = "operation", expected: float = 0.0) -> None:
    """Poll ``done()`` every ``interval`` s until it is true; raise after ``timeout`` s.

    ``expected``: how long the operation should take (a move's distance over its speed).
    It is waited first, then ``done()`` is polled every ``FINE`` s for up to ``interval``
    s, then every ``interval`` s: the end is noticed within milliseconds instead of up to
    ``interval`` late, while the instrument sits idle waiting for software.
    """
    waited = 0.0
    if expected > 0:
        waited = min(expected, timeout)
        wait(instrument, waited)
    fine_until = waited + interval if expected > 0 else 0.0
    while not done():
        if waited >= timeout:
            raise DeviceError(f"{what} did not finish within {timeout:g} s")
        step = FINE if waited < fine_until else interval
        wait(instrument, step)
        waited += step
