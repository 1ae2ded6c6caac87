"""The bench's safety envelope: the one place that says what may reach an instrument.

Limits come from the ``safety`` section of the bench config, written with units
(``max_fluence: 500 uJ/cm^2``). Every setpoint path -- a procedure's dry run, a role
method called during a run, a manual command from the GUI, a script -- goes through
``Envelope.check`` before anything is written to an instrument.
"""

from dataclasses import dataclass

from . import units
from .errors import ConfigError, SafetyError


@dataclass(frozen=True)
class Quantity:
    """A quantity the envelope can bound: its config keys and canonical unit."""

    name: str
    unit: str
    symmetric: bool = False      # |value| <= max (voltages, currents)
    max_key: str | None = None
    range_key: str | None = None


#: Every quantity the envelope knows, keyed by the name procedures and roles use.
QUANTITIES = {q.name: q for q in (
    Quantity("fluence", "uJ/cm^2", max_key="max_fluence"),
    Quantity("pulse_energy", "uJ", max_key="max_pulse_energy"),
    Quantity("source_voltage", "V", symmetric=True, max_key="max_source_voltage"),
    Quantity("source_current", "A", symmetric=True, max_key="max_source_current"),
    Quantity("current_density", "A/cm^2", symmetric=True, max_key="max_current_density"),
    Quantity("duty_cycle", "", max_key="max_duty_cycle"),
    Quantity("pulse_amplitude", "V", symmetric=True, max_key="max_pulse_amplitude"),
    Quantity("temperature", "K", range_key="temperature_range"),
    Quantity("ramp_rate", "K/min", max_key="max_ramp_rate"),
)}

CONFIG_KEYS = {q.max_key or q.range_key: q for q in QUANTITIES.values()}


@dataclass(frozen=True)
class Limit:
    quantity: Quantity
    low: float | None
    high: float | None
    key: str

    def describe(self) -> str:
        u = units.pretty(self.quantity.unit)
        u = f" {u}" if u else ""
        if self.quantity.symmetric:
            return f"{self.key} = ±{self.high:g}{u}"
        if self.low is not None:
            return f"{self.key} = [{self.low:g}, {self.high:g}]{u}"
        return f"{self.key} = {self.high:g}{u}"


class Envelope:
    """Limits on setpoints, checked before any write.

    ``check("fluence", 600)`` raises ``SafetyError`` if 600 µJ/cm² is outside the
    envelope; a value in another unit can be checked with ``check(q, value, unit)``.
    A quantity with no configured limit is unbounded (only the driver's own instrument
    range then applies).
    """

    def __init__(self, limits=(), source="safety envelope", lines=None):
        self.limits = {limit.quantity.name: limit for limit in limits}
        self.source = source
        #: Per beam line (role suffix, e.g. "tunable"): {quantity: Limit} overriding the
        #: bench-wide limits for setpoints sent on that line.
        self.lines = lines or {}

    @classmethod
    def from_config(cls, section: dict, source: str) -> "Envelope":
        if not isinstance(section, dict):
            raise ConfigError(source, "safety", "must be a mapping of limits")
        lines = section.get("lines", {})
        if not isinstance(lines, dict) or not all(isinstance(v, dict) for v in lines.values()):
            raise ConfigError(source, "safety.lines", "must map beam lines to mappings of limits")
        by_line = {name: {limit.quantity.name: limit
                          for limit in cls._limits(spec, source, f"safety.lines.{name}")}
                   for name, spec in lines.items()}
        limits = cls._limits({k: v for k, v in section.items() if k != "lines"}, source, "safety")
        return cls(limits, source=f"safety envelope of {source}", lines=by_line)

    @classmethod
    def _limits(cls, section, source, where):
        out = []
        for key, raw in section.items():
            quantity = CONFIG_KEYS.get(key)
            if quantity is None:
                raise ConfigError(source, f"{where}.{key}",
                                  f"unknown limit (known: {', '.join(sorted(CONFIG_KEYS))})")
            out.append(cls._limit(quantity, key, raw, source, f"{where}.{key}"))
        return out

    @staticmethod
    def _limit(quantity, key, raw, source, where):

        def value(item):
            try:
                number = units.parse(item, quantity.unit)
            except units.UnitError as exc:
                raise ConfigError(source, where, str(exc)) from None
            if isinstance(item, (int, float)) and quantity.unit:
                raise ConfigError(source, where, f"{item!r} needs a unit "
                                  f"(e.g. '{item} {quantity.unit}')")
            if not units.is_finite(number):
                raise ConfigError(source, where, f"{item!r} is not a finite number")
            return number

        if quantity.range_key:
            if not (isinstance(raw, (list, tuple)) and len(raw) == 2):
                raise ConfigError(source, where, f"must be [min, max], got {raw!r}")
            low, high = value(raw[0]), value(raw[1])
            if low >= high:
                raise ConfigError(source, where, f"min {low:g} is not below max {high:g}")
            return Limit(quantity, low, high, key)
        high = value(raw)
        if high <= 0:
            raise ConfigError(source, where, f"must be positive, got {raw!r}")
        return Limit(quantity, None, high, key)

    def limit(self, quantity: str) -> Limit | None:
        return self.limits.get(quantity)

    def check(self, quantity: str, value: float, unit: str | None = None,
              area: float | None = None, line: str = "") -> float:
        """Raise ``SafetyError`` unless ``value`` is inside the envelope; return it in the
        quantity's canonical unit. A pulse energy with the beam ``area`` (cm²) is also
        checked as a fluence; ``line`` selects a beam line's own limits."""
        spec = QUANTITIES[quantity]
        if unit is not None and unit != spec.unit:
            value = units.convert(value, unit, spec.unit)

        def shown():
            return f"{value:g} {units.pretty(spec.unit)}".strip()
        if not units.is_finite(value):
            raise SafetyError(quantity, shown(), "not a finite number", self.source)
        limit = self.lines.get(line.lstrip("."), {}).get(quantity) or self.limits.get(quantity)
        if limit is not None:
            low = -limit.high if spec.symmetric else limit.low
            if value > limit.high or (low is not None and value < low):
                where = f"{self.source} (beam line {line.lstrip('.')})" if line.lstrip(".") in self.lines \
                    else self.source
                raise SafetyError(quantity, shown(), limit.describe(), where)
        if quantity == "pulse_energy" and area:
            self.check("fluence", value / area, line=line)
        return value

    def describe(self) -> dict:
        out = {name: limit.describe() for name, limit in self.limits.items()}
        for line, limits in self.lines.items():
            out.update({f"{name} ({line})": f"{limit.describe()} on line {line}"
                        for name, limit in limits.items()})
        return out

