"""Typed procedure parameters with units and limits.

A procedure declares its parameters as class attributes::

    class FluenceSweep(Procedure):
        fluence_start = Float(2.0, unit="uJ/cm^2", minimum=0.01, maximum=1e4,
                              doc="first target fluence")

The same declarations build the CLI's ``--set`` parsing, the GUI's form and the JSON
queue items. A value is converted to the declared unit on the way in (``"0.05 mJ/cm2"``
becomes ``50.0``), and anything out of range raises ``ParameterError`` naming the
parameter, the value and the limit.
"""

import math
import re

from . import units
from .errors import ParameterError


class Parameter:
    """Base of all parameter kinds: a descriptor holding a validated value."""

    kind = "any"

    def __init__(self, default, *, doc="", unit=""):
        self.default, self.doc, self.unit = default, doc, unit
        self.name = None

    def __set_name__(self, owner, name):
        self.name = name

    def __get__(self, instance, owner=None):
        if instance is None:
            return self
        return instance._values[self.name]

    def __set__(self, instance, value):
        instance._values[self.name] = self.convert(value)

    def convert(self, raw):
        """Parse and validate ``raw``; return the value in the declared unit."""
        raise NotImplementedError

    def fail(self, raw, problem):
        raise ParameterError(self.name, raw, problem)

    def describe(self) -> dict:
        """Plain-data description (CLI listing, GUI form, JSON)."""
        return {"name": self.name, "kind": self.kind, "default": self.default,
                "unit": self.unit, "doc": self.doc}

    def limits_text(self) -> str:
        return ""


class Float(Parameter):
    """A real number in ``unit`` within [minimum, maximum]."""

    kind = "float"

    def __init__(self, default, *, unit="", minimum=None, maximum=None, doc=""):
        super().__init__(default, doc=doc, unit=unit)
        self.minimum, self.maximum = minimum, maximum

    def _number(self, raw):
        try:
            value = units.parse(raw, self.unit)
        except units.UnitError as exc:
            self.fail(raw, str(exc))
        if not math.isfinite(value):
            self.fail(raw, "must be a finite number")
        return value

    def _check_range(self, raw, value):
        u = f" {units.pretty(self.unit)}" if self.unit else ""
        if self.minimum is not None and value < self.minimum:
            self.fail(raw, f"below the minimum {self.minimum:g}{u}")
        if self.maximum is not None and value > self.maximum:
            self.fail(raw, f"above the maximum {self.maximum:g}{u}")

    def convert(self, raw):
        value = self._number(raw)
        self._check_range(raw, value)
        return value

    def describe(self):
        return super().describe() | {"minimum": self.minimum, "maximum": self.maximum}

    def limits_text(self):
        lo = "" if self.minimum is None else f"{self.minimum:g}"
        hi = "" if self.maximum is None else f"{self.maximum:g}"
        return f"[{lo}, {hi}] {units.pretty(self.unit)}".strip()


class Int(Float):
    """An integer within [minimum, maximum]."""

    kind = "int"

    def convert(self, raw):
        value = self._number(raw)
        if value != int(value):
            self.fail(raw, "must be a whole number")
        value = int(value)
        self._check_range(raw, value)
        return value


class FloatList(Float):
    """A list of reals in ``unit`` (``"20, 40, 57"`` or a Python list), each in range."""

    kind = "float-list"

    def __init__(self, default, *, unit="", minimum=None, maximum=None, min_length=1,
                 max_length=1000, doc=""):
        super().__init__(list(default), unit=unit, minimum=minimum, maximum=maximum, doc=doc)
        self.min_length, self.max_length = min_length, max_length

    def convert(self, raw):
        items = re.split(r"[,;]", raw) if isinstance(raw, str) else raw
        try:
            items = [item for item in items if not (isinstance(item, str) and not item.strip())]
        except TypeError:
            self.fail(raw, "must be a list of numbers")
        if not self.min_length <= len(items) <= self.max_length:
            self.fail(raw, f"needs {self.min_length} to {self.max_length} values")
        values = [self._number(item) for item in items]
        for value in values:
            self._check_range(raw, value)
        return values


class Choice(Parameter):
    """One of a fixed set of strings."""

    kind = "choice"

    def __init__(self, default, choices, *, doc=""):
        super().__init__(default, doc=doc)
        self.choices = tuple(choices)

    def convert(self, raw):
        if raw not in self.choices:
            self.fail(raw, f"must be one of {', '.join(self.choices)}")
        return raw

    def describe(self):
        return super().describe() | {"choices": list(self.choices)}

    def limits_text(self):
        return "{" + ", ".join(self.choices) + "}"


class Bool(Parameter):
    """True or False (also yes/no, on/off, 1/0 from text)."""

    kind = "bool"
    _TEXT = {"true": True, "yes": True, "on": True, "1": True,
             "false": False, "no": False, "off": False, "0": False}

    def convert(self, raw):
        if isinstance(raw, bool):
            return raw
        value = self._TEXT.get(str(raw).strip().lower())
        if value is None:
            self.fail(raw, "must be true or false")
        return value

    def limits_text(self):
        return "{true, false}"


class Text(Parameter):
    """A short free text (sample notes, a slot name)."""

    kind = "text"

    def __init__(self, default="", *, max_length=200, doc=""):
        super().__init__(default, doc=doc)
        self.max_length = max_length

    def convert(self, raw):
        if not isinstance(raw, str):
            self.fail(raw, "must be text")
        if len(raw) > self.max_length:
            self.fail(raw[:40] + "…", f"longer than {self.max_length} characters")
        return raw


def declared(cls) -> dict:
    """The parameters a class declares (its own and inherited), in declaration order."""
    found = {}
    for klass in reversed(cls.__mro__):
        for name, value in vars(klass).items():
            if isinstance(value, Parameter):
                found[name] = value
    return found
