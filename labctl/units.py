"""Physical units: one pint registry, parsing of user input, pretty printing.

Units are written in code as pint strings (``"uJ/cm^2"``); users may type them the way
they write them on paper (``µJ/cm²``, ``uJ/cm2``). Numbers inside labctl are plain floats
in a declared unit; pint is used at the boundaries (config files, CLI, GUI).
"""

import math
import re
from functools import lru_cache

import pint

ureg = pint.UnitRegistry()
ureg.define("counts = [] = count")

_SUPERSCRIPTS = str.maketrans({"²": "^2", "³": "^3", "⁻": "^-", "¹": "1", "µ": "u", "μ": "u"})
_BARE_POWER = re.compile(r"(?<=[a-zA-Z])([23])\b")  # cm2 -> cm^2


class UnitError(ValueError):
    """A value has no unit, the wrong unit, or cannot be parsed."""


def normalize(text: str) -> str:
    """Turn a hand-written unit expression into pint syntax (``µJ/cm²`` -> ``uJ/cm^2``)."""
    return _BARE_POWER.sub(r"^\1", text.strip().translate(_SUPERSCRIPTS))


@lru_cache(maxsize=256)
def unit(text: str) -> pint.Unit:
    """The pint unit for a unit string ("" is dimensionless)."""
    return ureg.Unit(normalize(text)) if text else ureg.dimensionless


def pretty(text: str) -> str:
    """Unit string for display: ``uJ/cm^2`` -> ``µJ/cm²``."""
    text = re.sub(r"\bu(?=[A-Za-z])", "µ", text)
    return text.replace("^2", "²").replace("^3", "³").replace("deg", "°")


def convert(value: float, from_unit: str, to_unit: str) -> float:
    """Convert a float between two compatible units."""
    if from_unit == to_unit:
        return float(value)
    factor = _factor(from_unit, to_unit)
    if factor is not None:
        return float(value) * factor
    return float(ureg.Quantity(value, unit(from_unit)).to(unit(to_unit)).magnitude)


@lru_cache(maxsize=256)
def _factor(from_unit: str, to_unit: str) -> float | None:
    """The factor between two multiplicative units (None for offset units such as
    degC): a setpoint check then costs a multiplication instead of pint's ~20 µs."""
    if ureg.Quantity(0.0, unit(from_unit)).to(unit(to_unit)).magnitude != 0.0:
        return None
    try:
        return float(ureg.Quantity(1.0, unit(from_unit)).to(unit(to_unit)).magnitude)
    except pint.errors.OffsetUnitCalculusError:
        return None


def parse(value, to_unit: str) -> float:
    """Parse a number or a quantity string into a float in ``to_unit``.

    A bare number is taken to be in ``to_unit`` already. ``"57 uJ/cm2"`` is converted;
    a quantity of the wrong dimension raises ``UnitError`` naming both units.
    """
    if isinstance(value, bool):
        raise UnitError(f"{value!r} is not a number")
    if isinstance(value, (int, float)):
        return float(value)
    if isinstance(value, pint.Quantity):
        quantity = value
    else:
        text = normalize(str(value))
        try:
            return float(text)
        except ValueError:
            pass
        try:
            quantity = ureg.Quantity(text)
        except Exception as exc:
            raise UnitError(f"cannot read {value!r} as a quantity in {pretty(to_unit) or 'no unit'}") from exc
        if not isinstance(quantity, pint.Quantity):  # e.g. "pi"
            return float(quantity)
    target = unit(to_unit)
    if quantity.dimensionless and quantity.units == ureg.dimensionless:
        return float(quantity.magnitude)
    if not quantity.is_compatible_with(target):
        raise UnitError(
            f"{value!r} has units of {quantity.units:~P}, which cannot be converted to "
            f"{pretty(to_unit) or 'a plain number'}")
    return float(quantity.to(target).magnitude)


def is_finite(value: float) -> bool:
    return isinstance(value, (int, float)) and math.isfinite(value)
