"""Fault injection: make a simulated instrument misbehave the way real ones do.

A fault is written ``SLOT:KIND[@CONDITION][*COUNT]``, for example::

    Spectrometer:timeout@step=5          the spectrometer does not answer, once, at step 5
    PowerMeter:garbage@command=MEAS      a garbled reply to the next MEAS... query
    PumpLaser:disconnect@step=3          the laser's cable is pulled at step 3 (for good)
    Attenuator:slow=2.5@p=0.1*always     10 % of replies come 2.5 s late (seeded)

Kinds: ``timeout`` (no reply), ``disconnect`` (resource gone: every later operation
fails), ``error`` (an entry in the instrument's own error mechanism), ``garbage``
(random bytes), ``truncated`` (half a reply, no terminator), ``nan`` (numbers replaced
by NaN; binary replies by all-ones, i.e. over-range), ``slow=SECONDS`` (a late reply).
Conditions: ``step=N`` (from step N of the run on), ``command=REGEX`` (messages
matching it), ``p=P`` (each message with probability P). Count: how many times it
fires, ``*always`` for a permanent fault; default once (``disconnect``: always).
"""

import re
from dataclasses import dataclass, field

KINDS = ("timeout", "disconnect", "error", "garbage", "truncated", "nan", "slow")
_SPEC = re.compile(r"(?P<slot>[A-Za-z][\w.]*):(?P<kind>[a-z]+)(=(?P<delay>[\d.eE+-]+))?"
                   r"(@(?P<condition>step|command|p)=(?P<value>[^*]+))?(\*(?P<count>\d+|always))?")
_NUMBER = re.compile(rb"[-+]?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?")


@dataclass
class Fault:
    slot: str
    kind: str
    step: int | None = None
    command: re.Pattern | None = None
    probability: float | None = None
    count: int | None = 1              # None: every time
    delay: float = 0.0
    fired: int = field(default=0, init=False)

    @classmethod
    def parse(cls, text: str) -> "Fault":
        match = _SPEC.fullmatch(text.strip())
        if not match or match["kind"] not in KINDS:
            raise ValueError(f"fault {text!r}: expected SLOT:KIND[@step=N|@command=REGEX|@p=P]"
                             f"[*COUNT|*always] with KIND one of {', '.join(KINDS)}")
        kind, condition, value = match["kind"], match["condition"], match["value"]
        count = match["count"]
        fault = cls(match["slot"], kind,
                    count=None if count == "always" or (count is None and kind == "disconnect")
                    else int(count or 1))
        if kind == "slow":
            if match["delay"] is None:
                raise ValueError(f"fault {text!r}: slow needs a delay in seconds (slow=2.5)")
            fault.delay = float(match["delay"])
        try:
            if condition == "step":
                fault.step = int(value)
            elif condition == "command":
                fault.command = re.compile(value.encode())
            elif condition == "p":
                fault.probability = float(value)
                if not 0 < fault.probability <= 1:
                    raise ValueError
        except (ValueError, re.error):
            raise ValueError(f"fault {text!r}: bad {condition} value {value!r}") from None
        return fault

    def fires(self, slot: str, message: bytes, step, rng) -> bool:
        """Whether this fault hits ``message`` sent to ``slot`` during ``step``."""
        if slot != self.slot or (self.count is not None and self.fired >= self.count):
            return False
        if self.step is not None and (step is None or step < self.step):
            return False
        if self.command is not None and not self.command.search(message):
            return False
        if self.probability is not None and rng.random() >= self.probability:
            return False
        self.fired += 1
        return True


def corrupt(kind: str, reply: bytes, terminator: bytes, rng) -> bytes:
    """A reply as a garbage / truncated / nan fault delivers it."""
    body = reply[:-len(terminator)] if terminator and reply.endswith(terminator) else reply
    end = reply[len(body):]
    if kind == "garbage":
        return bytes(rng.integers(33, 127, max(len(body), 4), dtype="u1")) + end
    if kind == "truncated":
        return body[:len(body) // 2]
    if kind == "nan":
        if _NUMBER.search(body) and body.isascii():
            return _NUMBER.sub(b"NaN", body) + end
        return b"\xff" * len(body) + end
    return reply
